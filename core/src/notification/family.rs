//! The table of app families: which packages belong to which family, how each family words an incoming
//! payment, and which apps a new forwarder watches. Adding an app or a wording is one entry here.
//!
//! Every rule names where its wording was seen. "corpus" rows are in `tests/corpus/notifications.tsv`;
//! the other sources are public forwarder and finance projects that log or test real notification texts.
//! A family with no rules yet (no verified wording) is still listed: its notifications go through the
//! conservative generic rule (see [`super::grammar::generic`]), and its not-incoming wording is caught by
//! the shared exclusions like every other app's.
//!
//! Each family also states where its amount is and which titles its payment notifications carry:
//! - the amount is always read from the text (the big text when the app set one); no wording reads the
//!   title for it, and an amount found only in the title never pays ([`super::ReadBy::GenericTitle`]);
//! - `titles` lists the payment titles seen on real notifications. When a family lists some, a payment
//!   wording under any other title (a customer's name: in-app chat) does not pay (see [`super::trust`]).
//!   An empty list means no title has been verified and the title is not judged.
//!
//! Defaults (`default_enabled`): apps whose purpose is receiving merchant QRIS payments and whose paying
//! wording and titles are verified, plus `id.dana` (DANA Bisnis lives in the same package). A merchant app
//! without verified wording (Merchant BCA, BRImerchant, Livin' Merchant) would only ever reach the generic
//! rule, which never pays by itself, so a new forwarder does not watch it until the merchant turns it on
//! and trusts its titles in the dashboard. Personal wallets and banks are opt-in: GoPay and GoPay Merchant
//! post the same payment with identical text (watching both double counts), and personal accounts mostly
//! carry the owner's own traffic.

use std::sync::LazyLock;

use regex::Regex;

use super::AppInfo;
use super::PaymentKind::{Qris, Transfer};
use super::grammar::{CompiledRule, Rule, title_pattern};

/// A group of apps that word payments the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AppFamily {
    /// DANA and DANA Bisnis.
    Dana,
    /// GoPay (personal).
    GoPay,
    /// GoPay Merchant.
    GoPayMerchant,
    /// GoBiz / GoFood Merchant.
    GoBiz,
    /// ShopeePay in the Shopee and ShopeePay apps (personal).
    ShopeePay,
    /// Shopee Partner (ShopeePay merchant).
    ShopeePartner,
    /// OVO.
    Ovo,
    /// LinkAja.
    LinkAja,
    /// BCA mobile.
    BcaMobile,
    /// myBCA.
    MyBca,
    /// Merchant BCA.
    MerchantBca,
    /// BRImo.
    Brimo,
    /// BRImerchant.
    BriMerchant,
    /// Livin' by Mandiri.
    Livin,
    /// Livin' Merchant.
    LivinMerchant,
    /// BNI: wondr by BNI and BNI Mobile Banking.
    Bni,
    /// BNI Merchant.
    BniMerchant,
    /// SeaBank.
    SeaBank,
    /// Bank Jago.
    Jago,
    /// blu by BCA Digital.
    Blu,
    /// InterActive QRIS.
    InterActiveQris,
}

/// One family: its apps, its wordings (most specific first) and its payment titles.
struct FamilySpec {
    family: AppFamily,
    apps: &'static [AppInfo],
    rules: &'static [Rule],
    /// Patterns of the whole title of a payment notification (case-insensitive, `{AMOUNT}` allowed).
    titles: &'static [&'static str],
}

const fn app(package: &'static str, name: &'static str, default_enabled: bool) -> AppInfo {
    AppInfo {
        package,
        name,
        default_enabled,
    }
}

/// GoPay's wordings, posted identically by the personal app and by GoPay Merchant.
const GOPAY_RULES: &[Rule] = &[
    // corpus (adb dumpsys, GoPay Merchant): title "Pembayaran QRIS statis diterima",
    // text "Rp 1.127 di JAJAN.AI DIY YOGYAKARTA, Digital & Kreatif." — "di" names the merchant's own
    // outlet (then its business category), not the payer. Also akbarryyan/gopay-notifications: "Rp 1 di
    // AKBAR RAYYAN AL GHIFARI, …".
    Rule::one(Qris, "^{AMOUNT} di {PAYEE}(?:, [^\n]*)?$")
        .titled(r"\bpembayaran qris(?: statis| dinamis)? diterima\b"),
    // A forwarder's README (jhopanstore notiflisten) logs the title and text joined:
    // "Pembayaran QRIS statis diterima: Rp 18.017 di J Store."
    Rule::one(
        Qris,
        r"\bpembayaran qris(?: statis| dinamis)? diterima:? {AMOUNT}",
    ),
    // corpus (adb dumpsys, GoPay): "Rp1 dari icaangg udah masuk ke GoPay kamu."
    Rule::one(
        Transfer,
        "{AMOUNT} dari {SENDER} (?:udah|sudah|telah) masuk ke gopay",
    ),
    // A personal-finance parser's "GoPay inbound" sample: "Anda telah menerima Tabungan by Jago
    // sebanyak Rp500.000."
    Rule::one(Transfer, r"\bmenerima {SENDER} sebanyak {AMOUNT}"),
];

/// GoPay's payment titles (both apps): corpus (adb dumpsys) "Pembayaran QRIS statis diterima" and
/// "Transfer masuk"; the dynamic-QRIS title is the same wording (akbarryyan/gopay-notifications).
const GOPAY_TITLES: &[&str] = &[
    "pembayaran qris(?: statis| dinamis)? diterima",
    "transfer masuk",
];

/// BCA's "Financial Diary" wordings, shared by BCA mobile and myBCA.
const FINANCIAL_DIARY_RULES: &[Rule] = &[
    // corpus (BCA mobile): "Financial Diary: Pemasukan sebesar IDR 500,000.00 dari ***PET **AK ***GSA
    // di kategori Transfer Rekening."
    Rule::one(
        Transfer,
        r"\bpemasukan sebesar {AMOUNT} dari {SENDER} di kategori\b",
    ),
    // myBCA in English, from several expense trackers' tests of real texts: "You received IDR 1,000.00
    // from ***SKY ****LIA *IJ at Account Transfer category." (also truncated: "… at Account Transfe...").
    Rule::one(Transfer, r"\byou received {AMOUNT} from {SENDER} at\b"),
];

/// The table. Order does not matter; packages are unique (checked by a test).
static FAMILIES: &[FamilySpec] = &[
    FamilySpec {
        family: AppFamily::Dana,
        apps: &[
            app("id.dana", "DANA / DANA Bisnis", true),
            // The WebQRIS v3.6 document's example package; no phone posts it, third-party senders may.
            app("com.dana.id", "DANA (WebQRIS document name)", false),
        ],
        rules: &[
            // corpus (WebQRIS spec example): "Kamu berhasil menerima Rp25.042 dari JOHN DOE"; the
            // NotiForwarder project's DANA pattern "Kamu berhasil menerima Rp99.947 dari ...".
            Rule::one(
                Qris,
                r"\bberhasil menerima {AMOUNT} dari {SENDER}(?: via [^\n]+?)?{END}",
            ),
            // corpus (DANA personal, QRIS paid from another wallet): "Kamu berhasil menerima Rp10000 via
            // Gopay ke akunmu. Cek yuk!"
            Rule::one(Qris, r"\bberhasil menerima {AMOUNT}"),
            // A DANA Bisnis relay's sender parser (payhook): "Rp1.000 dari PT BANK JAGO TBK berhasil
            // diterima DANA Bisnis."
            Rule::one(
                Qris,
                "^{AMOUNT} dari {SENDER} (?:berhasil )?diterima dana bisnis",
            ),
            // corpus (DANA Bisnis, captured): "Rp29.000 diterima DANA Bisnis.", "Rp10 diterima DANA
            // Bisnis."
            Rule::one(Qris, "{AMOUNT} (?:berhasil )?diterima dana bisnis"),
            // DANA's person-to-person wording as used by DANA listeners' webhook tests ("Kamu menerima
            // Rp25.347", "… dari <name>"); the wallet named after "via" is not the sender.
            Rule::one(
                Transfer,
                r"\bkamu menerima {AMOUNT} dari {SENDER}(?: via [^\n]+?)?{END}",
            ),
            // Formats listed by the BoonTrack reader's DANA Bisnis parser: "DANA Bisnis: Kamu menerima
            // pembayaran sebesar Rp1.771 dari Sakti Alamsyah".
            Rule::one(
                Qris,
                r"\bmenerima pembayaran sebesar {AMOUNT} dari {SENDER}{END}",
            ),
        ],
        // corpus: "DANA" (the WebQRIS example, DANA personal), "Pembayaran Masuk" (DANA Bisnis, captured).
        titles: &["dana", "pembayaran masuk"],
    },
    FamilySpec {
        family: AppFamily::GoPay,
        apps: &[app("com.gojek.gopay", "GoPay", false)],
        rules: GOPAY_RULES,
        titles: GOPAY_TITLES,
    },
    FamilySpec {
        family: AppFamily::GoPayMerchant,
        apps: &[app("com.gojek.gopaymerchant", "GoPay Merchant", true)],
        rules: GOPAY_RULES,
        titles: GOPAY_TITLES,
    },
    FamilySpec {
        family: AppFamily::GoBiz,
        apps: &[app("com.gojek.resto", "GoBiz (GoFood Merchant)", true)],
        rules: &[
            // corpus (captured, single and grouped): "Rp2.000 berhasil diterima. ID transaksi: rVWbDXID",
            // "Rp 6.000 berhasil diterima ID Transaksi: Case_1-x"; one line per payment when grouped.
            // The Segeran Jiwa bridge's parser contract confirms the optional period and the casing.
            Rule::each(
                Qris,
                r"{AMOUNT} berhasil diterima\.? id transaksi ?:? ?{REF}",
            ),
        ],
        // corpus (captured): "Pembayaran QRIS diterima!". GoBiz also shows customers' chat messages.
        titles: &["pembayaran qris diterima!?"],
    },
    FamilySpec {
        family: AppFamily::ShopeePay,
        apps: &[
            app("com.shopeepay.id", "ShopeePay", false),
            app("com.shopee.id", "Shopee (ShopeePay)", false),
        ],
        rules: &[
            // corpus (transfer in): "Rp10 telah diterima dari ANANDA RIZKY YULIANSYAH. Klik untuk cek
            // rinciannya"
            Rule::one(Transfer, "{AMOUNT} telah diterima dari {SENDER}{END}"),
            // corpus (BI-FAST in): "ALFONSUS ENRICO SOEBIJANTO mengirimkan dana sebesar Rp500.000 ke
            // ShopeePay-mu melalui BI-Fast."
            Rule::one(
                Transfer,
                "^{SENDER} mengirimkan dana sebesar {AMOUNT} ke shopeepay",
            ),
        ],
        // corpus: "Saldo ShopeePay Diterima" (captured), "Saldo ShopeePay diterima!" (BI-FAST). The Shopee
        // app also shows chat with sellers and buyers.
        titles: &["saldo shopeepay diterima!?"],
    },
    FamilySpec {
        family: AppFamily::ShopeePartner,
        apps: &[app("com.shopeepay.merchant.id", "Shopee Partner", true)],
        rules: &[
            // corpus (ADB-verified, Shopee Partner 3.61.1): "Pembayaran sebesar Rp1.000 telah diterima
            // pada transaksi 20820696399434593." Other projects' tests use alphanumeric ids
            // ("240823ABCDEF").
            Rule::one(
                Qris,
                r"\bpembayaran sebesar {AMOUNT} telah diterima pada transaksi {REF}",
            ),
        ],
        // corpus (ADB-verified): "Pembayaran sebesar Rp1.000 diterima"; fgteam Payment Observer's README
        // shows the same title over the same text.
        titles: &["pembayaran sebesar {AMOUNT} diterima"],
    },
    FamilySpec {
        family: AppFamily::Ovo,
        apps: &[app("ovo.id", "OVO", false)],
        // No verified incoming wording yet; OVO's top-up and fee texts are caught by the exclusions.
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::LinkAja,
        apps: &[app("com.telkom.mwallet", "LinkAja", false)],
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::BcaMobile,
        apps: &[app("com.bca", "BCA mobile", false)],
        rules: FINANCIAL_DIARY_RULES,
        // corpus: "BCA mobile".
        titles: &["bca mobile"],
    },
    FamilySpec {
        family: AppFamily::MyBca,
        apps: &[app("com.bca.mybca.omni.android", "myBCA", false)],
        rules: FINANCIAL_DIARY_RULES,
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::MerchantBca,
        // No verified wording or title (searched public forwarders' fixtures, logs and issues; only
        // illustrative README payloads were found): not watched by default, the generic rule never pays.
        apps: &[app("com.bca.msb", "Merchant BCA", false)],
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::Brimo,
        apps: &[app("id.co.bri.brimo", "BRImo", false)],
        rules: &[
            // Logged by several BRImo listeners (a Chinese BRImo forwarder keys on "Sobat BRI!"): "Sobat
            // BRI! Dana Rp19.000 masuk ke rekening 790001009621533 pada 06/05/2026 22:53:10
            // KET.:DANA2026…". "Dana" means funds here; the KET memo is free text, so no sender is read.
            Rule::one(Transfer, r"^sobat bri!? dana {AMOUNT} masuk ke rekening\b"),
        ],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::BriMerchant,
        // No verified wording or title (searched public forwarders' fixtures, logs and issues; only
        // illustrative README payloads were found): not watched by default, the generic rule never pays.
        apps: &[app("id.co.bri.merchant", "BRImerchant", false)],
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::Livin,
        apps: &[app("id.bmri.livin", "Livin' by Mandiri", false)],
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::LivinMerchant,
        // No verified wording or title (searched public forwarders' fixtures, logs and issues; only
        // illustrative README payloads were found): not watched by default, the generic rule never pays.
        apps: &[app("id.bmri.livinmerchant", "Livin' Merchant", false)],
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::Bni,
        apps: &[
            app("id.bni.wondr", "wondr by BNI", false),
            app("src.com.bni", "BNI Mobile Banking", false),
        ],
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::BniMerchant,
        apps: &[app("id.co.bni.merchant", "BNI Merchant", true)],
        rules: &[
            // corpus: "Transaksi Sebesar Rp 1.000 dari BLU BCA telah berhasil" ("… tidak berhasil" is a
            // failure and never reaches this rule).
            Rule::one(
                Qris,
                r"\btransaksi sebesar {AMOUNT} dari {SENDER} telah berhasil\b",
            ),
        ],
        // corpus: "BNI Merchant"; fgteam Payment Observer's README shows the same title and text.
        titles: &["bni merchant"],
    },
    FamilySpec {
        family: AppFamily::SeaBank,
        apps: &[app("id.co.bankbkemobile.digitalbank", "SeaBank", false)],
        rules: &[
            // corpus (real notification): "Kamu menerima transfer saldo senilai Rp40.000 ke rekening 7776.
            // Ref. number 20260828BMRIIDJA01000227869030."
            Rule::one(
                Transfer,
                r"\bkamu menerima transfer(?: saldo)? (?:senilai|sebesar) {AMOUNT}(?:[^\n]*?\bref\.? ?(?:number|no\.?) ?:? ?{REF})?",
            ),
        ],
        // corpus (real notification): "Transfer Masuk".
        titles: &["transfer masuk"],
    },
    FamilySpec {
        family: AppFamily::Jago,
        apps: &[app("com.jago.digitalBanking", "Bank Jago", false)],
        rules: &[
            // corpus (confirmed from device): "TONDIKI ANDIKA GURNING telah mengirim Rp10.000 ke kamu.
            // Butuh bantuan? …"; K12 Stockroom's bridge tests: "MUHAMMAD RIZKI YANTO telah mengirim
            // Rp25.000 ke kamu. Buka aplikasi Jago untuk melihat detailnya."
            Rule::one(Transfer, "^{SENDER} telah mengirim {AMOUNT} ke kamu"),
            // English app language, from a finance parser's Jago samples: "Alfonsus Enrico Soebijanto has
            // sent Rp500.050 to you. Need help? …"
            Rule::one(Transfer, "^{SENDER} has sent {AMOUNT} to you"),
            // K12 Stockroom's bridge tests: "Kamu menerima kiriman Rp35.098 dari SHADIQ HAIRWIZ",
            // "Kamu menerima Rp10.565 dari GoPay".
            Rule::one(
                Transfer,
                r"\bkamu (?:telah )?menerima (?:kiriman )?{AMOUNT} dari {SENDER}{END}",
            ),
            // A Go finance app's tests: "You've received Rp200.000 from MIRANDA AMBAR SARI".
            Rule::one(Transfer, r"\byou've received {AMOUNT} from {SENDER}{END}"),
        ],
        // corpus (confirmed from device): "Jago".
        titles: &["jago"],
    },
    FamilySpec {
        family: AppFamily::Blu,
        // Incoming transfers are titled "Kamu Menerima Dana Nih!" (matched on title by a Laravel
        // listener); the body wording is unverified, so the generic rule reads it.
        apps: &[app("com.bcadigital.blu", "blu by BCA Digital", false)],
        rules: &[],
        titles: &[],
    },
    FamilySpec {
        family: AppFamily::InterActiveQris,
        apps: &[app("com.interactive.qrisid", "InterActive QRIS", true)],
        rules: &[
            // corpus (captured, name anonymised at source): "Pembayaran QRIS sebesar Rp 1 Jhon Doe -
            // Mandiri telah diterima"; qrishook's tests: "Pembayaran QRIS sebesar Rp. 10.000 BUDI - BCA
            // telah diterima".
            Rule::one(
                Qris,
                r"\bpembayaran qris sebesar {AMOUNT}(?: {SENDER})? telah diterima\b",
            ),
        ],
        // corpus (captured): "Transaksi InterActive QRIS".
        titles: &["transaksi interactive qris"],
    },
];

/// The family of an Android package (case-insensitive), if it has one.
pub fn app_family(package: &str) -> Option<AppFamily> {
    spec_of(package).map(|spec| spec.family)
}

impl AppFamily {
    /// The family's apps, as listed by [`known_apps`](super::known_apps).
    pub fn apps(self) -> &'static [AppInfo] {
        FAMILIES
            .iter()
            .find(|spec| spec.family == self)
            .map_or(&[], |spec| spec.apps)
    }
}

fn spec_of(package: &str) -> Option<&'static FamilySpec> {
    FAMILIES.get(index_of(package)?)
}

/// Position in [`FAMILIES`] of the package's family.
fn index_of(package: &str) -> Option<usize> {
    let package = package.trim();
    FAMILIES.iter().position(|spec| {
        spec.apps
            .iter()
            .any(|a| a.package.eq_ignore_ascii_case(package))
    })
}

/// Every app of the table, in table order.
pub(crate) fn all_apps() -> &'static [AppInfo] {
    static KNOWN: LazyLock<Vec<AppInfo>> = LazyLock::new(|| {
        FAMILIES
            .iter()
            .flat_map(|spec| spec.apps)
            .copied()
            .collect()
    });
    &KNOWN
}

/// Compiled rules, one list per entry of [`FAMILIES`], in the same order.
static COMPILED: LazyLock<Vec<Vec<CompiledRule>>> = LazyLock::new(|| {
    FAMILIES
        .iter()
        .map(|spec| {
            spec.rules
                .iter()
                .map(|rule| {
                    rule.compile()
                        .expect("built-in rules compile (checked by family::tests)")
                })
                .collect()
        })
        .collect()
});

/// Compiled payment titles, one list per entry of [`FAMILIES`], in the same order.
static TITLES: LazyLock<Vec<Vec<Regex>>> = LazyLock::new(|| {
    FAMILIES
        .iter()
        .map(|spec| {
            spec.titles
                .iter()
                .map(|t| {
                    title_pattern(t).expect("built-in titles compile (checked by family::tests)")
                })
                .collect()
        })
        .collect()
});

/// The payment titles of the package's family: `None` for a package without a family, an empty list
/// when no title is verified.
pub(crate) fn payment_titles(package: &str) -> Option<&'static [Regex]> {
    TITLES.get(index_of(package)?).map(Vec::as_slice)
}

/// The compiled rules of the package's family (`None` for a package without a family).
pub(crate) fn rules_for(package: &str) -> Option<&'static [CompiledRule]> {
    COMPILED.get(index_of(package)?).map(Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_built_in_rule_compiles_and_captures_an_amount() {
        for spec in FAMILIES {
            for rule in spec.rules {
                assert!(
                    rule.text.contains("{AMOUNT}"),
                    "{:?}: {}",
                    spec.family,
                    rule.text
                );
                if let Err(e) = rule.compile() {
                    panic!(
                        "{:?}: rule {:?} does not compile: {e}",
                        spec.family, rule.text
                    );
                }
            }
        }
    }

    #[test]
    fn every_payment_title_compiles() {
        for spec in FAMILIES {
            for title in spec.titles {
                if let Err(e) = title_pattern(title) {
                    panic!("{:?}: title {title:?} does not compile: {e}", spec.family);
                }
            }
        }
    }

    #[test]
    fn packages_are_unique_and_belong_to_one_family() {
        let mut seen = HashSet::new();
        for info in all_apps() {
            assert!(
                seen.insert(info.package.to_ascii_lowercase()),
                "{} listed twice",
                info.package
            );
            assert!(app_family(info.package).is_some());
        }
    }

    #[test]
    fn every_package_named_by_the_issue_is_known() {
        for package in [
            "id.dana",
            "com.dana.id",
            "com.gojek.gopay",
            "com.gojek.gopaymerchant",
            "com.gojek.resto",
            "com.shopee.id",
            "com.shopeepay.id",
            "com.shopeepay.merchant.id",
            "ovo.id",
            "com.telkom.mwallet",
            "com.bca",
            "com.bca.mybca.omni.android",
            "com.bca.msb",
            "id.co.bri.brimo",
            "id.co.bri.merchant",
            "id.bmri.livin",
            "id.bmri.livinmerchant",
            "id.bni.wondr",
            "src.com.bni",
            "id.co.bni.merchant",
            "id.co.bankbkemobile.digitalbank",
            "com.jago.digitalBanking",
            "com.bcadigital.blu",
            "com.interactive.qrisid",
        ] {
            assert!(app_family(package).is_some(), "{package} has no family");
        }
    }

    #[test]
    fn plausible_but_wrong_packages_are_not_known() {
        // tests/corpus/README.md lists these as wrong.
        for package in [
            "com.dana",
            "com.ovo.id",
            "id.co.bca.mobile",
            "com.gojek.gopay.merchant",
            "com.seabank.id",
            "com.bankjago.app",
        ] {
            assert_eq!(app_family(package), None, "{package}");
            assert!(all_apps().iter().all(|a| a.package != package));
        }
    }

    #[test]
    fn a_new_forwarder_watches_merchant_apps_but_not_both_gopay_apps() {
        let enabled = |p: &str| {
            all_apps()
                .iter()
                .find(|a| a.package == p)
                .is_some_and(|a| a.default_enabled)
        };
        for merchant in [
            "id.dana",
            "com.gojek.gopaymerchant",
            "com.gojek.resto",
            "com.shopeepay.merchant.id",
            "id.co.bni.merchant",
            "com.interactive.qrisid",
        ] {
            assert!(enabled(merchant), "{merchant} should be watched by default");
        }
        for unverified in ["com.bca.msb", "id.co.bri.merchant", "id.bmri.livinmerchant"] {
            assert!(
                !enabled(unverified),
                "{unverified} has no verified paying wording: opt-in"
            );
        }
        assert!(
            !enabled("com.gojek.gopay"),
            "GoPay duplicates GoPay Merchant"
        );
        assert!(
            !enabled("com.dana.id"),
            "no phone posts the document's alias"
        );
    }

    #[test]
    fn package_lookup_ignores_case_and_surrounding_spaces() {
        assert_eq!(
            app_family(" com.jago.digitalbanking "),
            Some(AppFamily::Jago)
        );
        assert_eq!(app_family("ID.DANA"), Some(AppFamily::Dana));
    }

    #[test]
    fn each_family_lists_its_apps() {
        let packages: Vec<_> = AppFamily::Bni.apps().iter().map(|a| a.package).collect();
        assert_eq!(packages, vec!["id.bni.wondr", "src.com.bni"]);
    }
}
