//! Tests of [`parse`] as a whole: every row of the shared corpus, real wordings collected from public
//! forwarder projects (each marked with where it was seen), hostile input, and properties.

use std::fs;
use std::path::Path;

use proptest::prelude::*;

use super::*;

/// `(amount, sender, reference)` of each payment.
type Read = Vec<(u64, Option<String>, Option<String>)>;

fn verdict(app: &str, title: &str, text: &str) -> Verdict {
    parse(&Notification {
        app,
        title,
        text,
        big_text: None,
    })
}

/// The payments read from an incoming notification; panics with the verdict otherwise.
fn paid(app: &str, title: &str, text: &str) -> Read {
    match verdict(app, title, text) {
        Verdict::Incoming { payments, .. } => payments
            .into_iter()
            .map(|p| (p.amount, p.sender, p.reference))
            .collect(),
        other => panic!("{app} {title:?} {text:?}: expected incoming, got {other:?}"),
    }
}

fn one(amount: u64, sender: Option<&str>, reference: Option<&str>) -> Read {
    vec![(
        amount,
        sender.map(str::to_owned),
        reference.map(str::to_owned),
    )]
}

/// The reason a notification is not incoming; panics if it is read as incoming.
fn refused(app: &str, title: &str, text: &str) -> Reason {
    match verdict(app, title, text) {
        Verdict::NotIncoming { reason } => reason,
        other => panic!("{app} {title:?} {text:?}: expected not incoming, got {other:?}"),
    }
}

mod corpus {
    use super::*;

    /// One row of `tests/corpus/notifications.tsv`.
    pub(super) struct Row {
        pub line: usize,
        pub expect: String,
        pub amounts: Vec<u64>,
        pub sender: Option<String>,
        pub references: Vec<String>,
        pub app: String,
        pub title: String,
        pub text: String,
        /// `A` captured on a device, `B` very likely real, `C` illustrative, `spec` the WebQRIS document.
        pub grade: String,
    }

    pub(super) fn rows() -> Vec<Row> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/notifications.tsv");
        let content = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        };
        content
            .lines()
            .enumerate()
            .filter(|(_, l)| {
                !l.starts_with('#') && !l.starts_with("expect\t") && !l.trim().is_empty()
            })
            .map(|(i, l)| {
                let cols: Vec<&str> = l.split('\t').collect();
                assert!(cols.len() >= 7, "line {}: {} columns", i + 1, cols.len());
                Row {
                    line: i + 1,
                    expect: cols[0].to_owned(),
                    amounts: list(cols[1])
                        .iter()
                        .map(|a| {
                            a.parse()
                                .unwrap_or_else(|e| panic!("line {}: amount {a}: {e}", i + 1))
                        })
                        .collect(),
                    sender: Some(cols[2].to_owned()).filter(|s| !s.is_empty()),
                    references: list(cols[3]),
                    app: cols[4].to_owned(),
                    title: cols[5].to_owned(),
                    text: cols[6].replace("\\n", "\n"),
                    grade: cols.get(7).copied().unwrap_or_default().to_owned(),
                }
            })
            .collect()
    }

    #[test]
    fn the_corpus_has_both_kinds_of_rows() {
        let rows = rows();
        assert!(rows.iter().filter(|r| r.expect == "paid").count() >= 15);
        assert!(rows.iter().filter(|r| r.expect == "ignore").count() >= 15);
        assert!(
            rows.iter()
                .all(|r| r.expect == "paid" || r.expect == "ignore")
        );
    }

    #[test]
    fn paid_rows_yield_exactly_their_amounts_senders_and_references_in_order() {
        for row in rows().iter().filter(|r| r.expect == "paid") {
            let got = paid(&row.app, &row.title, &row.text);
            let amounts: Vec<u64> = got.iter().map(|p| p.0).collect();
            assert_eq!(amounts, row.amounts, "line {}: amounts", row.line);
            for (i, (_, sender, reference)) in got.iter().enumerate() {
                assert_eq!(
                    sender, &row.sender,
                    "line {}: sender of payment {i}",
                    row.line
                );
                assert_eq!(
                    reference.as_deref(),
                    row.references.get(i).map(String::as_str),
                    "line {}: reference of payment {i}",
                    row.line
                );
            }
        }
    }

    /// The reason each ignore row must give, keyed by the start of its text.
    const EXPECTED_REASONS: &[(&str, Reason)] = &[
        ("Financial Diary: Pengeluaran", Reason::Outgoing),
        ("Rp500.000 udah dikirim ke", Reason::Outgoing),
        // Both outgoing and still in progress; in progress says more.
        ("Kami lagi memproses pengiriman", Reason::Pending),
        (
            "Transfer Rp500.000 ke BCA Virtual Account sebelum",
            Reason::Pending,
        ),
        ("Transferan ke sesama GoPay", Reason::Promo),
        ("Kamu telah melakukan transfer Rp10.000", Reason::Outgoing),
        ("Kamu telah membayar Rp 15.000", Reason::Outgoing),
        ("Kamu baru melakukan transfer real-time", Reason::Outgoing),
        (
            "Kamu telah melakukan transfer virtual account",
            Reason::Outgoing,
        ),
        ("Top up sebesar Rp100.000", Reason::Topup),
        // The fee of the owner's own top-up.
        (
            "Rp1.000 telah dipotong dari OVO Cash untuk biaya top up",
            Reason::Topup,
        ),
        ("Top up saldo sebesar Rp10.000", Reason::Topup),
        // The owner topping up another wallet from BRI.
        ("08/12/2022 11:23:48 - Transaksi Top Up OVO", Reason::Topup),
        ("JANGAN BERIKAN KODE OTP", Reason::Otp),
        ("Promo cashback Rp50.000", Reason::Promo),
        ("Pembayaran QRIS gagal", Reason::Failed),
    ];

    #[test]
    fn ignore_rows_are_not_incoming_for_the_right_reason() {
        for row in rows().iter().filter(|r| r.expect == "ignore") {
            let expected = EXPECTED_REASONS
                .iter()
                .find(|(start, _)| row.text.starts_with(start))
                .map(|(_, reason)| *reason)
                .unwrap_or_else(|| {
                    panic!("line {}: no expected reason for {:?}", row.line, row.text)
                });
            assert_eq!(
                refused(&row.app, &row.title, &row.text),
                expected,
                "line {}: {:?}",
                row.line,
                row.text
            );
        }
    }
}

/// Wordings seen in public forwarder and finance projects (not in the corpus). Each case names its source.
mod real_world {
    use super::*;

    #[test]
    fn dana() {
        // payhook DANA Bisnis relay, sender parser doc comment.
        assert_eq!(
            paid(
                "id.dana",
                "Pembayaran Masuk",
                "Rp1.000 dari PT BANK JAGO TBK berhasil diterima DANA Bisnis."
            ),
            one(1_000, Some("PT BANK JAGO TBK"), None)
        );
        // qrisku PoC / landing-page sample of DANA Bisnis.
        assert_eq!(
            paid(
                "id.dana",
                "Pembayaran Masuk",
                "Rp15.445 diterima DANA Bisnis."
            ),
            one(15_445, None, None)
        );
        // NotiForwarder's DANA pattern.
        assert_eq!(
            paid(
                "id.dana",
                "Kamu berhasil menerima",
                "Kamu berhasil menerima Rp99.947 dari Sakti Alamsyah"
            ),
            one(99_947, Some("Sakti Alamsyah"), None)
        );
        // BoonTrack reader's listed DANA Bisnis format.
        assert_eq!(
            paid(
                "id.dana",
                "DANA Bisnis",
                "DANA Bisnis: Kamu menerima pembayaran sebesar Rp1.771 dari Sakti Alamsyah"
            ),
            one(1_771, Some("Sakti Alamsyah"), None)
        );
        // K12 Stockroom's DANA bridge payload (person to person, no sender), and the same with one.
        assert_eq!(
            paid("id.dana", "Pembayaran diterima", "Kamu menerima Rp25.347"),
            one(25_347, None, None)
        );
        assert_eq!(
            paid(
                "id.dana",
                "DANA",
                "Kamu menerima Rp25.000 dari BUDI SANTOSO via BCA."
            ),
            one(25_000, Some("BUDI SANTOSO"), None)
        );
        // Both corpus wordings at once (sender, then the paying wallet).
        assert_eq!(
            paid(
                "id.dana",
                "DANA",
                "Kamu berhasil menerima Rp 25.500 dari Toko Sebelah via OVO ke akunmu. Cek yuk!"
            ),
            one(25_500, Some("Toko Sebelah"), None)
        );
        // catatkeuangan parser (DANA outgoing), Moneytoring dataset (DANA top-up), K12 Stockroom tests (promo).
        assert_eq!(
            refused("id.dana", "DANA", "Rp50.000 telah dikirim ke BUDI SANTOSO."),
            Reason::Outgoing
        );
        assert_eq!(
            refused(
                "id.dana",
                "DANA",
                "Berhasil top up saldo Rp20.000 dari BRI BANK RAKYAT INDONESIA. Lihat detailnya di sini!"
            ),
            Reason::Topup
        );
        assert_eq!(
            refused("id.dana", "Promo DANA", "Voucher dan cashback Rp25.000"),
            Reason::Promo
        );
        // A received cashback is promo, never a payment.
        assert_eq!(
            refused("id.dana", "DANA", "Kamu dapat cashback Rp5.000"),
            Reason::Promo
        );
    }

    #[test]
    fn gopay_and_gopay_merchant() {
        // akbarryyan/gopay-notifications capture policy test.
        assert_eq!(
            paid(
                "com.gojek.gopaymerchant",
                "Pembayaran QRIS statis diterima",
                "Rp 1 di AKBAR RAYYAN AL GHIFARI, Digital & Kreatif."
            ),
            one(1, None, None)
        );
        // A notification forwarder's README payload (title and text joined in the text).
        assert_eq!(
            paid(
                "com.gojek.gopaymerchant",
                "GoPay Merchant",
                "Pembayaran QRIS statis diterima: Rp 18.017 di J Store."
            ),
            one(18_017, None, None)
        );
        // gopay-notifications API contract sample.
        assert_eq!(
            paid(
                "com.gojek.gopay",
                "Transfer masuk",
                "Rp25.000 dari icaangg udah masuk ke GoPay kamu."
            ),
            one(25_000, Some("icaangg"), None)
        );
        // Personal-finance parser's GoPay inbound sample.
        assert_eq!(
            paid(
                "com.gojek.gopay",
                "GoPay",
                "Anda telah menerima Tabungan by Jago sebanyak Rp500.000."
            ),
            one(500_000, Some("Tabungan by Jago"), None)
        );
        // universal paymentlistener test (promo with an amount), finance parser (transfer confirmation).
        assert_eq!(
            refused("com.gojek.gopaymerchant", "Promo", "Cashback Rp 10.000"),
            Reason::Promo
        );
        assert_eq!(
            refused(
                "com.gojek.gopay",
                "GoPay",
                "Kamu berhasil transfer ke TABUNGAN BY JAGO"
            ),
            Reason::Outgoing
        );
        // The merchant title alone does not make any text a payment.
        assert_eq!(
            refused(
                "com.gojek.gopaymerchant",
                "Pembayaran QRIS statis diterima",
                "Lihat detail transaksimu"
            ),
            Reason::Unrecognized
        );
    }

    #[test]
    fn gobiz() {
        // payment-mvp webhook docs (two captured payloads).
        assert_eq!(
            paid(
                "com.gojek.resto",
                "Pembayaran QRIS diterima!",
                "Rp15.000 berhasil diterima. ID transaksi: ABC123"
            ),
            one(15_000, None, Some("ABC123"))
        );
        assert_eq!(
            paid(
                "com.gojek.resto",
                "Pembayaran QRIS diterima!",
                "Rp1 berhasil diterima. ID transaksi: tKT82AID"
            ),
            one(1, None, Some("tKT82AID"))
        );
        // A grouped text with one line we cannot read is refused whole, not read in part.
        assert_eq!(
            refused(
                "com.gojek.resto",
                "Pembayaran QRIS diterima!",
                "Rp6.000 berhasil diterima. ID transaksi: A1\nRp1.000,50 berhasil diterima. ID transaksi: B2"
            ),
            Reason::Unrecognized
        );
    }

    #[test]
    fn shopeepay_and_shopee_partner() {
        // fgteam paymentobserver tests.
        assert_eq!(
            paid(
                "com.shopeepay.id",
                "Saldo ShopeePay Diterima",
                "Rp10.000 telah diterima dari ANANDA."
            ),
            one(10_000, Some("ANANDA"), None)
        );
        // Moneytoring dataset: ShopeePay top-up (with the balance as a second amount).
        assert_eq!(
            refused(
                "com.shopee.id",
                "Isi saldo",
                "Isi saldo\nGSJGDJHGSJDGJSDGSDJGHSJ sebesar Rp10.000 telah ditambahkan ke\nShopeePay-mu. Saldo saat ini Rp140.329"
            ),
            Reason::Topup
        );
        // K12 Stockroom bridge tests (alphanumeric id, pending, summaries).
        assert_eq!(
            paid(
                "com.shopeepay.merchant.id",
                "Shopee Partner",
                "Pembayaran sebesar Rp25.347 telah diterima pada transaksi 240823ABCDEF."
            ),
            one(25_347, None, Some("240823ABCDEF"))
        );
        assert_eq!(
            refused(
                "com.shopeepay.merchant.id",
                "Pembayaran berhasil",
                "Pembayaran sebesar Rp3.500 sedang diproses pada transaksi 120009123456."
            ),
            Reason::Pending
        );
        assert_eq!(
            refused(
                "com.shopeepay.merchant.id",
                "Ringkasan transaksi",
                "Hari ini kamu menerima 3 pembayaran."
            ),
            Reason::Unrecognized
        );
        assert_eq!(
            refused("com.shopeepay.merchant.id", "2 pembayaran baru", ""),
            Reason::Unrecognized
        );
    }

    #[test]
    fn bca_financial_diary() {
        // Expense trackers' tests of real myBCA texts (full and truncated by the app).
        assert_eq!(
            paid(
                "com.bca.mybca.omni.android",
                "Financial Diary",
                "You received IDR 43,000.00 from ****LIN VALE**IA P at Account Transfer category."
            ),
            one(43_000, Some("****LIN VALE**IA P"), None)
        );
        assert_eq!(
            paid(
                "com.bca.mybca.omni.android",
                "Financial Diary",
                "You received IDR 53,000.00 from **NDA ***ANA **AIR at Account Transfe..."
            ),
            one(53_000, Some("**NDA ***ANA **AIR"), None)
        );
        assert_eq!(
            refused(
                "com.bca.mybca.omni.android",
                "Financial Diary",
                "You spent IDR 5,000.00 at Account Transfer."
            ),
            Reason::Outgoing
        );
        // Investment account earnings are not a customer's payment.
        assert_eq!(
            refused(
                "com.bca.mybca.omni.android",
                "Financial Diary",
                "RDN earning of IDR 5,000.00 at Account Transfer category."
            ),
            Reason::Unrecognized
        );
    }

    #[test]
    fn brimo() {
        // Logged by BRImo listeners (TypeScript and Kotlin projects' tests).
        assert_eq!(
            paid(
                "id.co.bri.brimo",
                "BRImo",
                "Sobat BRI! Dana Rp19.000 masuk ke rekening 790001009621533 pada 06/05/2026 22:53:10 KET.:DANA20260506031725979066Bashor"
            ),
            one(19_000, None, None)
        );
        assert_eq!(
            paid(
                "id.co.bri.brimo",
                "BRImo",
                "Sobat BRI! Dana Rp1.000.451 masuk ke rekening 736901035288537 pada 05/12/2025 11:14:59 KET.:TRANSFER DARI JANE DOE"
            ),
            one(1_000_451, None, None)
        );
    }

    #[test]
    fn bni_merchant() {
        // fgteam paymentobserver tests.
        assert_eq!(
            refused(
                "id.co.bni.merchant",
                "BNI Merchant",
                "Transaksi Sebesar Rp 1.000 tidak berhasil"
            ),
            Reason::Failed
        );
    }

    #[test]
    fn jago() {
        // K12 Stockroom bridge tests.
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "MUHAMMAD RIZKI YANTO telah mengirim Rp25.000 ke kamu. Buka aplikasi Jago untuk melihat detailnya."
            ),
            one(25_000, Some("MUHAMMAD RIZKI YANTO"), None)
        );
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "Kamu menerima kiriman Rp35.098 dari SHADIQ HAIRWIZ"
            ),
            one(35_098, Some("SHADIQ HAIRWIZ"), None)
        );
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "Kamu menerima Rp10.565 dari GoPay"
            ),
            one(10_565, Some("GoPay"), None)
        );
        // The same wording with "telah", as other Jago texts use it.
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "Kamu telah menerima Rp10.000 dari BUDI."
            ),
            one(10_000, Some("BUDI"), None)
        );
        assert_eq!(
            refused(
                "com.jago.digitalBanking",
                "Jago",
                "Kamu telah mengirim Rp25.000 ke MUHAMMAD RIZKI YANTO. Transfer berhasil."
            ),
            Reason::Outgoing
        );
        assert_eq!(
            refused(
                "com.jago.digitalBanking",
                "Jago",
                "Kamu telah membayar Rp22.000 ke TOKO CONTOH"
            ),
            Reason::Outgoing
        );
        assert_eq!(
            refused(
                "com.jago.digitalBanking",
                "Jago",
                "Pengembalian dana Rp25.000 telah masuk ke Kantong Utama."
            ),
            Reason::Unrecognized
        );
        assert_eq!(
            refused(
                "com.jago.digitalBanking",
                "Promo Jago",
                "Dapatkan cashback Rp25.000 hari ini."
            ),
            Reason::Promo
        );
        // English app language (finance parsers' samples).
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "Alfonsus Enrico Soebijanto has sent Rp500.050 to you. Need help? Contact Tanya Jago at 1500 746."
            ),
            one(500_050, Some("Alfonsus Enrico Soebijanto"), None)
        );
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "You've received Rp200.000 from MIRANDA AMBAR SARI"
            ),
            one(200_000, Some("MIRANDA AMBAR SARI"), None)
        );
        for outgoing in [
            "Rp500.000 has been moved from your Main Pocket Pocket to your GoPay Tabungan Pocket.",
            "You've moved Rp500.000 into your Dana Darurat Pocket.",
            "You've paid Rp125.000 to Kedai Awan",
            "You've sent Rp1.500.000 to ALFONSUS ENRICO SOEBIJANTO.",
        ] {
            assert_eq!(
                refused("com.jago.digitalBanking", "Jago", outgoing),
                Reason::Outgoing,
                "{outgoing}"
            );
        }
    }

    #[test]
    fn interactive_qris() {
        // qrishook tests.
        assert_eq!(
            paid(
                "com.interactive.qrisid",
                "Pembayaran QRIS berhasil",
                "Pembayaran QRIS sebesar Rp. 10.000 BUDI - BCA telah diterima"
            ),
            one(10_000, Some("BUDI - BCA"), None)
        );
        assert_eq!(
            paid(
                "com.interactive.qrisid",
                "Transaksi InterActive QRIS",
                "Pembayaran QRIS sebesar Rp 1 telah diterima"
            ),
            one(1, None, None)
        );
        assert_eq!(
            refused(
                "com.interactive.qrisid",
                "Pembayaran QRIS gagal",
                "Transaksi Rp10.000 dibatalkan"
            ),
            Reason::Failed
        );
        assert_eq!(
            refused(
                "com.interactive.qrisid",
                "Refund QRIS",
                "Refund Rp10.000 berhasil"
            ),
            Reason::Unrecognized
        );
        assert_eq!(
            refused(
                "com.interactive.qrisid",
                "Pembayaran QRIS berhasil",
                "QRIS dibayar Rp10.000"
            ),
            Reason::Unrecognized
        );
    }

    #[test]
    fn ovo_and_blu() {
        // Moneytoring dataset (OVO): a malformed amount in an outgoing text, and a top-up.
        assert_eq!(
            refused(
                "ovo.id",
                "OVO",
                "Transfer Rp100.000.00 ke HAXIM berhasil. Kamu dikenakan biaya transaksi Rp5.000"
            ),
            Reason::Outgoing
        );
        assert_eq!(
            refused(
                "ovo.id",
                "OVO",
                "Top up Rp 10.000 dari BSI - TOP UP telah berhasil"
            ),
            Reason::Topup
        );
        // A Go finance app's blu tests: a purchase and a refund with cents.
        assert_eq!(
            refused(
                "com.bcadigital.blu",
                "Hore, Transaksi di Klik Indomaret berhasil!",
                "Pembayaran Payment BluXKlik di Klik Indomaret Rp 39.800 telah berhasil!"
            ),
            Reason::Outgoing
        );
        assert_eq!(
            refused(
                "com.bcadigital.blu",
                "Pengembalian Dana Berhasil",
                "Pengembalian dana Rp 18.094,80 untuk refund transaksi masuk ke bluAccount"
            ),
            Reason::Unrecognized
        );
    }
}

/// Not-incoming words inside a located name (issue 8: "Rp25.042 dari TOKO PROMO JAYA" is a payment), and
/// grouped texts with a failed line.
mod names_and_groups {
    use super::*;

    #[test]
    fn promotion_and_top_up_words_in_a_sender_or_shop_name_do_not_refuse_the_payment() {
        assert_eq!(
            paid(
                "id.dana",
                "Pembayaran Masuk",
                "Rp25.042 dari TOKO PROMO JAYA berhasil diterima DANA Bisnis."
            ),
            one(25_042, Some("TOKO PROMO JAYA"), None)
        );
        assert_eq!(
            paid(
                "com.shopee.id",
                "Saldo ShopeePay Diterima",
                "Rp10 telah diterima dari HADIAH CELL. Klik untuk cek rinciannya"
            ),
            one(10, Some("HADIAH CELL"), None)
        );
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "TOP UP CELL BONUS MART telah mengirim Rp10.000 ke kamu."
            ),
            one(10_000, Some("TOP UP CELL BONUS MART"), None)
        );
        assert_eq!(
            paid(
                "com.gojek.gopaymerchant",
                "Pembayaran QRIS statis diterima",
                "Rp 25.042 di TOKO PROMO JAYA, Makanan & Minuman."
            ),
            one(25_042, None, None),
            "the merchant's own outlet name"
        );
    }

    #[test]
    fn the_same_words_outside_the_name_still_refuse() {
        assert_eq!(
            refused(
                "id.dana",
                "Pembayaran Masuk",
                "Rp25.042 dari TOKO JAYA berhasil diterima DANA Bisnis. Promo cashback menanti!"
            ),
            Reason::Promo
        );
        assert_eq!(
            refused(
                "com.gojek.gopaymerchant",
                "Pembayaran QRIS statis diterima",
                "Rp 25.042 di TOKO JAYA, dapatkan cashback sekarang"
            ),
            Reason::Promo
        );
        assert_eq!(
            refused(
                "id.dana",
                "Promo DANA",
                "Rp25.042 dari TOKO JAYA berhasil diterima DANA Bisnis."
            ),
            Reason::Promo,
            "a title is never a name"
        );
        // Without a family wording no name is located: the generic rule sees every word.
        assert_eq!(
            refused(
                "com.example.wallet",
                "Info",
                "Dana masuk Rp25.042 dari TOKO PROMO JAYA"
            ),
            Reason::Promo
        );
    }

    #[test]
    fn failure_words_count_even_where_a_name_would_be() {
        assert_eq!(
            refused(
                "id.dana",
                "Pembayaran Masuk",
                "Rp1.000 dari BUDI gagal diterima DANA Bisnis."
            ),
            Reason::Failed
        );
        assert_eq!(
            refused(
                "id.dana",
                "Pembayaran Masuk",
                "Rp1.000 dari BUDI tidak berhasil diterima DANA Bisnis."
            ),
            Reason::Failed
        );
    }

    #[test]
    fn a_gobiz_group_with_one_failed_line_pays_its_other_lines() {
        assert_eq!(
            paid(
                "com.gojek.resto",
                "Pembayaran QRIS diterima!",
                "Rp6.000 berhasil diterima. ID transaksi: plk0FZID\nRp1.000 gagal diterima. ID transaksi: XQdGyuID\nRp2.000 berhasil diterima. ID transaksi: rVWbDXID"
            ),
            vec![
                (6_000, None, Some("plk0FZID".into())),
                (2_000, None, Some("rVWbDXID".into()))
            ]
        );
        assert_eq!(
            refused(
                "com.gojek.resto",
                "Pembayaran QRIS diterima!",
                "Rp1.000 gagal diterima. ID transaksi: XQdGyuID"
            ),
            Reason::Failed,
            "nothing left to pay"
        );
        assert_eq!(
            refused(
                "com.gojek.resto",
                "Pembayaran QRIS diterima!",
                "Rp6.000 berhasil diterima. ID transaksi: A1\nRp1.000 masih belum jelas"
            ),
            Reason::Unrecognized,
            "an amount no line accounts for refuses the group"
        );
        assert_eq!(
            refused(
                "com.gojek.resto",
                "Transaksi gagal",
                "Rp6.000 berhasil diterima. ID transaksi: A1"
            ),
            Reason::Failed,
            "the title speaks for every line"
        );
    }
}

#[test]
fn reasons_are_spelled_as_they_serialise() {
    for reason in [
        Reason::Outgoing,
        Reason::Topup,
        Reason::Promo,
        Reason::Otp,
        Reason::Pending,
        Reason::Failed,
        Reason::Redacted,
        Reason::Unrecognized,
    ] {
        assert_eq!(
            serde_json::to_value(reason).expect("serialises"),
            serde_json::Value::from(reason.as_str())
        );
    }
}

mod redaction_and_empty_texts {
    use super::*;

    #[test]
    fn the_system_placeholder_is_redacted_in_english_and_indonesian() {
        assert_eq!(
            refused("id.dana", "DANA", "Sensitive notification content hidden"),
            Reason::Redacted
        );
        assert_eq!(
            refused(
                "com.gojek.gopaymerchant",
                "GoPay Merchant",
                "Konten notifikasi sensitif disembunyikan"
            ),
            Reason::Redacted
        );
    }

    #[test]
    fn an_empty_text_is_unrecognized_not_redacted() {
        assert_eq!(
            refused("id.dana", "Pembayaran Masuk", ""),
            Reason::Unrecognized
        );
        assert_eq!(
            refused("id.dana", "Pembayaran Masuk", " \u{200B} "),
            Reason::Unrecognized
        );
    }

    #[test]
    fn the_big_text_is_read_when_present() {
        let verdict = parse(&Notification {
            app: "id.dana",
            title: "Pembayaran Masuk",
            text: "",
            big_text: Some("Rp10 diterima DANA Bisnis."),
        });
        assert!(
            matches!(verdict, Verdict::Incoming { ref payments, .. } if payments[0].amount == 10)
        );
    }
}

mod unknown_apps {
    use super::*;

    #[test]
    fn the_generic_rule_reads_one_received_amount_without_guessing_a_sender() {
        let verdict = verdict(
            "com.example.wallet",
            "Dana masuk",
            "Dana masuk Rp 150.237 dari rekening lain.",
        );
        assert_eq!(
            verdict,
            Verdict::Incoming {
                kind: PaymentKind::Transfer,
                payments: vec![ParsedPayment {
                    amount: 150_237,
                    sender: None,
                    reference: None
                }]
            }
        );
        // A known app with wording its grammar does not know falls back to the same rule.
        assert_eq!(
            paid(
                "com.telkom.mwallet",
                "LinkAja",
                "Kamu menerima Rp50.000 dari 0812345678"
            ),
            one(50_000, None, None)
        );
    }

    #[test]
    fn the_generic_rule_refuses_balances_two_amounts_and_no_received_wording() {
        assert_eq!(
            refused("com.example.wallet", "Info", "Saldo kamu Rp1.234.567"),
            Reason::Unrecognized
        );
        assert_eq!(
            refused(
                "com.example.wallet",
                "Info",
                "Kamu menerima Rp10.000 dari A. Saldo kamu Rp50.000"
            ),
            Reason::Unrecognized
        );
        assert_eq!(
            refused("com.example.wallet", "Info", "Rp10.000 untuk kamu"),
            Reason::Unrecognized
        );
    }

    #[test]
    fn messages_anyone_can_write_are_never_incoming() {
        assert_eq!(
            refused("com.whatsapp", "Budi", "Rp25.042 diterima DANA Bisnis."),
            Reason::Unrecognized
        );
        assert_eq!(
            refused(
                "com.google.android.apps.messaging",
                "BRI",
                "Sobat BRI! Dana Rp19.000 masuk ke rekening 1"
            ),
            Reason::Unrecognized
        );
    }
}

mod hostile_input {
    use super::*;

    const DANA: &str = "id.dana";

    #[test]
    fn no_break_and_zero_width_characters_inside_amounts_read_as_displayed() {
        for text in [
            "Rp\u{00A0}25.042 diterima DANA Bisnis.",
            "Rp25\u{200B}.042 diterima DANA Bisnis.",
            "Rp2\u{200D}5.0\u{FEFF}42 diterima DANA Bisnis.",
            "\u{200F}Rp25.042\u{200E} diterima\u{00A0}DANA Bisnis.",
        ] {
            assert_eq!(
                paid(DANA, "Pembayaran Masuk", text),
                one(25_042, None, None),
                "{text:?}"
            );
        }
    }

    #[test]
    fn ambiguous_and_fractional_amounts_are_refused() {
        for text in [
            "Rp 25 042 diterima DANA Bisnis.",
            "Rp25.042,50 diterima DANA Bisnis.",
            "Rp25.04 diterima DANA Bisnis.",
            "Rp25.0420 diterima DANA Bisnis.",
            "Rp25rb diterima DANA Bisnis.",
        ] {
            assert_eq!(
                refused(DANA, "Pembayaran Masuk", text),
                Reason::Unrecognized,
                "{text:?}"
            );
        }
    }

    #[test]
    fn senders_keep_digits_and_emoji_and_lose_bidi_marks() {
        assert_eq!(
            paid(
                DANA,
                "DANA",
                "Kamu berhasil menerima Rp10.000 dari \u{202E}JOHN\u{202C} DOE"
            ),
            one(10_000, Some("JOHN DOE"), None)
        );
        assert_eq!(
            paid(
                "com.shopee.id",
                "Saldo ShopeePay Diterima",
                "Rp10 telah diterima dari 🐱 KUCING 99. Klik untuk cek"
            ),
            one(10, Some("🐱 KUCING 99"), None)
        );
        assert_eq!(
            paid(
                "com.jago.digitalBanking",
                "Jago",
                "TOKO 24 JAM telah mengirim Rp10.000 ke kamu."
            ),
            one(10_000, Some("TOKO 24 JAM"), None)
        );
    }

    #[test]
    fn control_characters_are_spaces() {
        assert_eq!(
            paid(
                DANA,
                "Pembayaran\u{0}Masuk",
                "Rp10\u{0} diterima\tDANA\u{7} Bisnis.\u{1b}"
            ),
            one(10, None, None)
        );
    }

    #[test]
    fn over_long_texts_are_not_read() {
        let long = format!("Rp10 diterima DANA Bisnis.{}", " x".repeat(MAX_TEXT_BYTES));
        assert_eq!(
            refused(DANA, "Pembayaran Masuk", &long),
            Reason::Unrecognized
        );
        let long_title = "P".repeat(MAX_TEXT_BYTES + 1);
        assert_eq!(
            refused(DANA, &long_title, "Rp10 diterima DANA Bisnis."),
            Reason::Unrecognized
        );
    }

    #[test]
    fn forged_amount_markers_are_neutralised() {
        assert_eq!(
            refused(
                DANA,
                "Pembayaran Masuk",
                "\u{E000}0\u{E001} diterima DANA Bisnis."
            ),
            Reason::Unrecognized
        );
    }

    #[test]
    fn pathological_texts_finish() {
        let many_amounts = "Rp1.000 ".repeat(500);
        assert_eq!(refused(DANA, "x", &many_amounts), Reason::Unrecognized);
        let many_separators = format!("Rp1{} diterima", ".000".repeat(900));
        assert_eq!(refused(DANA, "x", &many_separators), Reason::Unrecognized);
        let gobiz = "Rp1 berhasil diterima. ID transaksi: A\n".repeat(90);
        assert_eq!(paid("com.gojek.resto", "x", &gobiz).len(), 90);
    }
}

/// Formats `n` the Indonesian way: `1.250.000`.
fn indonesian(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

proptest! {
    #[test]
    fn parsing_any_text_never_panics_and_incoming_always_has_positive_amounts(
        app in prop::sample::select(vec!["id.dana", "com.gojek.resto", "com.jago.digitalBanking", "x.y", ""]),
        title in any::<String>(),
        text in any::<String>(),
    ) {
        if let Verdict::Incoming { payments, .. } = verdict(app, &title, &text) {
            prop_assert!(!payments.is_empty());
            prop_assert!(payments.iter().all(|p| p.amount > 0));
        }
    }

    #[test]
    fn near_miss_texts_never_panic(
        prefix in "(Rp|IDR|rp\\.)? ?",
        number in "[0-9.,]{1,12}",
        tail in "(,-|\\.| diterima DANA Bisnis\\.| berhasil diterima\\. ID transaksi: [A-Za-z0-9]{1,8})",
    ) {
        let text = format!("{prefix}{number}{tail}");
        let _ = verdict("id.dana", "Pembayaran Masuk", &text);
        let _ = verdict("com.gojek.resto", "Pembayaran QRIS diterima!", &text);
    }

    #[test]
    fn grouped_texts_made_of_real_and_hostile_lines_never_panic_and_pay_at_most_one_per_line(
        lines in prop::collection::vec(
            prop_oneof![
                "Rp[0-9]{1,3}(\\.[0-9]{3}){0,2} (berhasil|gagal|tidak berhasil) diterima\\.? ID transaksi: [A-Za-z0-9_é-]{1,8}",
                "Rp[0-9]{1,3}\\.000 berhasil diterima\\. ID transaksi: [A-Z0-9]{4} (dari|di) [A-Z ]{0,12}(PROMO|TOP UP|GAGAL)?",
                any::<String>(),
            ],
            1..6,
        ),
        title in prop::sample::select(vec!["Pembayaran QRIS diterima!", "Budi", "Transaksi gagal", ""]),
    ) {
        let text = lines.join("\n");
        let reading = read(&Notification { app: "com.gojek.resto", title, text: &text, big_text: None });
        if let Verdict::Incoming { payments, .. } = &reading.verdict {
            prop_assert!(!payments.is_empty());
            prop_assert!(payments.len() <= lines.len());
            prop_assert!(payments.iter().all(|p| p.amount > 0));
        }
    }

    #[test]
    fn any_well_formed_amount_reads_back(n in 1u64..10_000_000_000_000) {
        let text = format!("Rp{} diterima DANA Bisnis.", indonesian(n));
        prop_assert_eq!(paid("id.dana", "Pembayaran Masuk", &text), one(n, None, None));
        let plain = format!("Rp{n} diterima DANA Bisnis.");
        prop_assert_eq!(paid("id.dana", "Pembayaran Masuk", &plain), one(n, None, None));
    }

    #[test]
    fn a_zero_width_character_inside_the_digits_never_changes_the_number(
        n in 1u64..10_000_000_000,
        at in any::<prop::sample::Index>(),
        invisible in prop::sample::select(vec!['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{200E}']),
    ) {
        let mut digits: Vec<char> = indonesian(n).chars().collect();
        digits.insert(at.index(digits.len() + 1), invisible);
        let text = format!("Rp{} diterima DANA Bisnis.", digits.into_iter().collect::<String>());
        prop_assert_eq!(paid("id.dana", "Pembayaran Masuk", &text), one(n, None, None));
    }
}

/// The trust decision over the corpus and hostile variations of it (issue 8, item 4).
mod trust_rules {
    use super::corpus::{Row, rows};
    use super::*;
    use crate::notification::trust::{self, Distrust, Envelope, History, Trust};

    fn judge(app: &str, title: &str, text: &str, category: Option<&str>) -> Trust {
        let reading = read(&Notification {
            app,
            title,
            text,
            big_text: None,
        });
        let envelope = Envelope {
            app,
            title,
            category,
            ..Envelope::default()
        };
        trust::decide(&envelope, &reading, &History::default())
    }

    /// Whether the notification pays: an incoming reading that the trust decision lets through.
    fn pays(app: &str, title: &str, text: &str, category: Option<&str>) -> bool {
        judge(app, title, text, category) == Trust::Trusted
            && matches!(verdict(app, title, text), Verdict::Incoming { .. })
    }

    /// Corpus rows that pay and were seen on real phones (not the illustrative ones).
    fn real_payments() -> Vec<Row> {
        rows()
            .into_iter()
            .filter(|r| r.expect == "paid" && r.grade != "C")
            .collect()
    }

    #[test]
    fn every_paid_corpus_row_pays_as_the_phone_sends_it() {
        for row in rows().iter().filter(|r| r.expect == "paid") {
            assert_eq!(
                judge(&row.app, &row.title, &row.text, None),
                Trust::Trusted,
                "line {}: {} {:?}",
                row.line,
                row.app,
                row.title
            );
        }
    }

    #[test]
    fn every_default_enabled_family_has_a_real_paying_text_and_its_payment_titles() {
        let payments = real_payments();
        for info in known_apps().iter().filter(|a| a.default_enabled) {
            let family = app_family(info.package).expect("listed apps have a family");
            let titles = family::payment_titles(info.package).unwrap_or_default();
            assert!(
                !titles.is_empty(),
                "{family:?} is watched by default but lists no payment title"
            );
            let paying = payments.iter().find(|r| {
                app_family(&r.app) == Some(family) && pays(&r.app, &r.title, &r.text, None)
            });
            assert!(
                paying.is_some(),
                "{family:?} is watched by default but no real corpus text of it pays"
            );
        }
    }

    /// Apps that are not payment sources: the never-pay list and made-up or look-alike packages.
    fn hostile_app() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "",
                " ",
                "com.whatsapp",
                "org.telegram.messenger",
                "com.android.chrome",
                "com.truecaller",
                "com.google.android.keep",
                "com.google.android.apps.messaging",
                "com.google.android.gm",
                "id.webqris.forwarder",
                "com.android.shell",
                "com.dana",
                "com.ovo.id",
                "com.gojek.gopay.merchant",
            ])
            .prop_map(str::to_owned),
            "[a-z]{2,8}\\.[a-z]{2,8}\\.[a-z]{2,8}"
                .prop_filter("not a family package", |p| { app_family(p).is_none() }),
        ]
    }

    proptest! {
        #[test]
        fn a_hostile_app_never_makes_an_incoming_text_pay(
            row in prop::sample::select(real_payments().into_iter().map(|r| (r.title, r.text)).collect::<Vec<_>>()),
            app in hostile_app(),
        ) {
            prop_assert!(!pays(&app, &row.0, &row.1, None));
        }

        #[test]
        fn a_conversation_category_never_makes_an_incoming_text_pay(
            row in prop::sample::select(real_payments().into_iter().map(|r| (r.app, r.title, r.text)).collect::<Vec<_>>()),
            category in prop::sample::select(vec!["msg", "social", "email", "call", "MSG", " missed_call "]),
        ) {
            prop_assert_eq!(
                judge(&row.0, &row.1, &row.2, Some(category)),
                Trust::Untrusted(Distrust::Conversation)
            );
            prop_assert!(!pays(&row.0, &row.1, &row.2, Some(category)));
        }

        #[test]
        fn a_person_s_name_as_title_never_makes_an_incoming_text_pay(
            row in prop::sample::select(real_payments().into_iter().map(|r| (r.app, r.text)).collect::<Vec<_>>()),
            title in "[A-Z][a-z]{2,9}( [A-Z][a-z]{2,9}){0,2}",
        ) {
            if !family::payment_titles(&row.0).unwrap_or_default().is_empty() {
                prop_assert!(!pays(&row.0, &title, &row.1, None));
            }
        }

        #[test]
        fn nothing_added_to_a_text_that_does_not_pay_makes_it_pay(
            app in prop::sample::select(known_apps().iter().map(|a| a.package).collect::<Vec<_>>()),
            title in any::<String>(),
            text in any::<String>(),
            category in prop::option::of(prop::sample::select(vec!["msg", "social", "email", "call", "status", "transport"])),
        ) {
            if !pays(app, &title, &text, None) {
                prop_assert!(!pays(app, &title, &text, category));
            }
        }
    }
}
