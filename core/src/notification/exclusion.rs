//! Wording that makes a notification *not* an incoming payment, whatever app posted it: the system's
//! redaction placeholder, OTPs, failures, pending work and payment instructions, promotions and cashback,
//! the owner's own top-ups, refunds, and money going out.
//!
//! These checks run on the title and the text (amounts already replaced by markers) before a payment is
//! accepted, so that an incoming-looking sentence inside a promotion ("Kamu dapat cashback Rp5.000") or a
//! failure ("Transaksi Rp1.000 tidak berhasil diterima") can never be read as a payment.
//!
//! Names are not wording: when an app's grammar has located the sender's or the payee's name, promotion and
//! top-up words inside it are not read ("Rp25.042 dari TOKO PROMO JAYA", "TOP UP CELL telah mengirim …" are
//! payments). Every other kind of wording (OTP, failed, pending, refund, outgoing) counts even inside a
//! name: a name is captured by position, so "dari BUDI gagal diterima" would put "gagal" in the name, and
//! refusing a rare shop called "TOKO GAGAL" costs less than paying a failure.

use std::sync::LazyLock;

use regex::Regex;

use super::Reason;
use super::grammar::regex;

/// Placeholders that the system (or an OEM skin) puts in place of content it hid from listeners. AOSP
/// Android 15+ replaces the text of notifications its assistant marks sensitive with its
/// `redacted_notification_message` string ("Sensitive notification content hidden"; Indonesian
/// "Konten notifikasi sensitif disembunyikan") and the title with the app's label; ColorOS words it
/// "System has hidden the notification content because it contains private information".
const REDACTION_MARKERS: &[&str] = &[
    "sensitive notification content hidden",
    "sensitive content hidden",
    "notification content hidden",
    "hidden because of sensitive content",
    "system has hidden the notification content",
    "konten notifikasi sensitif disembunyikan",
    "konten sensitif disembunyikan",
    "konten notifikasi disembunyikan",
    "sistem telah menyembunyikan konten notifikasi",
];

/// Whether the system hid the content of this notification from the listener.
pub(crate) fn is_redacted(title: &str, text: &str) -> bool {
    let has_marker = |s: &str| {
        let lower = s.to_lowercase();
        REDACTION_MARKERS.iter().any(|m| lower.contains(m))
    };
    has_marker(text) || has_marker(title)
}

/// One family of not-incoming wording.
struct Exclusion {
    reason: Reason,
    pattern: Regex,
    /// Shops are named with these words: they are not looked for inside a located name.
    not_in_names: bool,
}

/// The exclusions, in priority order: the first that matches gives the reason.
static EXCLUSIONS: LazyLock<Vec<Exclusion>> = LazyLock::new(|| {
    let compile = |reason, alternatives: &[&str]| Exclusion {
        reason,
        pattern: regex(&format!("(?i){}", alternatives.join("|")))
            .expect("built-in exclusion patterns are valid regexes"),
        not_in_names: matches!(reason, Reason::Promo | Reason::Topup),
    };
    vec![
        compile(
            Reason::Otp,
            &[
                r"\botp\b",
                r"\bkode\s+(?:verifikasi|otp|rahasia|keamanan|aktivasi|login|masuk|konfirmasi|akses)\b",
                r"\bjangan\s+(?:berikan|bagikan|beritahu\w*|sebarkan|memberikan|membagikan)\b",
                r"\bverification\s+code\b",
                r"\bone[\s-]time\s+(?:password|code|pin)\b",
                r"\bdo\s+not\s+share\b",
            ],
        ),
        compile(
            Reason::Failed,
            &[
                r"\bgagal\b",
                r"\btidak\s+berhasil\b",
                r"\bdibatalkan\b",
                r"\bbatal\b",
                r"\bditolak\b",
                r"\bk[ae]d[ae]lu?warsa\b",
                r"\bfailed\b",
                r"\bdeclined\b",
                r"\bunsuccessful\b",
                r"\bexpired\b",
                r"\bcancel(?:l?ed)?\b",
            ],
        ),
        compile(
            Reason::Pending,
            &[
                r"\b(?:sedang|lagi|masih|akan)\s+(?:di)?proses\b",
                r"\b(?:sedang|lagi|masih)\s+memproses\b",
                r"\bdalam\s+proses\b",
                r"\bmenunggu\b",
                r"\bpending\b",
                r"\bprocessing\b",
                r"\bbelum\s+(?:dibayar|masuk|diterima|selesai)\b",
                r"\bsebelum\s+(?:[0-9]|tanggal|tgl|pukul|jam|hari\s+ini|besok)",
                r"\bbatas\s+(?:waktu|pembayaran)\b",
                r"\bjatuh\s+tempo\b",
                r"\bselesaikan\s+pembayaran\b",
                r"\bsegera\s+(?:bayar|lakukan\s+pembayaran|selesaikan)\b",
            ],
        ),
        compile(
            Reason::Promo,
            &[
                r"\bpromo\w*",
                r"\bcash\s?back\b",
                r"\bhadiah\b",
                r"\bvouch?er\b",
                r"\bvoucer\b",
                r"\bdiskon\b",
                r"\bdiscount\b",
                r"\bbonus\b",
                r"\breward\w*",
                r"\bkupon\b",
                r"\bundian\b",
                r"\bgratis\b",
                r"\bpoin\b",
                r"\bpoints?\b",
                r"\bkoin\b",
                r"\bklaim\b",
            ],
        ),
        compile(
            Reason::Topup,
            &[
                r"\btop[\s-]?up\b",
                r"\bisi\s+(?:ulang\s+)?saldo\b",
                r"\bisi\s+ulang\b",
                r"\bsetor\s+tunai\b",
            ],
        ),
        // Refunds are money in, but not a customer paying an order: never incoming, no better reason.
        compile(
            Reason::Unrecognized,
            &[
                r"\brefund\w*",
                r"\bpengembalian\s+dana\b",
                r"\bdikembalikan\b",
                r"\breversal\b",
            ],
        ),
        compile(
            Reason::Outgoing,
            &[
                r"\bdikirim\s+ke\b",
                r"\b(?:udah|sudah|telah|berhasil)\s+dikirim\b",
                r"\bterkirim\b",
                r"\b(?:kamu|anda)\s+(?:(?:telah|baru|sudah|udah|berhasil)\s+)?(?:mengirim\w*|membayar|melakukan|transfer|memindahkan|bayar|membeli|beli|tarik)\b",
                r"\bberhasil\s+(?:membayar|transfer\s+ke|mengirim\w*)\b",
                r"\btransfer\s+ke\b",
                // "Transfer Rp100.000 ke HAXIM berhasil" (the amount is a marker by now).
                r"\b(?:transfer|kirim)\s+(?:\x{E000}[0-9]+\x{E001}|\x{E002})\s+ke\b",
                r"\bkirim\s+(?:uang|dana|saldo)\s+ke\b",
                r"\bpengeluaran\b",
                r"\bpembelian\b",
                r"\bdipotong\b",
                r"\bterdebit\b",
                r"\bdide(?:bet|bit)\b",
                r"\bpenarikan\b",
                r"\btarik\s+tunai\b",
                r"\b(?:transfer|uang|dana)\s+keluar\b",
                r"\bpembayaran(?:mu|\s+kamu|\s+anda)\b",
                r"\byou(?:'ve|\s+have)?\s+(?:spent|sent|paid|moved|transferred|withdrawn?)\b",
                r"\bhas\s+been\s+moved\b",
                r"\b(?:di)?pindahkan\b",
            ],
        ),
    ]
});

/// "Pembayaran … ke/kepada/untuk/di … berhasil": a payment made *to* someone, unless the same sentence
/// says the money was received (merchant apps write "Pembayaran QRIS … berhasil diterima").
static PAYMENT_MADE: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"(?i)\bpembayaran\b.*?\b(?:ke|kepada|untuk|di)\s.*?\bberhasil\b")
        .expect("built-in pattern is a valid regex")
});

/// Words that say money came in (shared with the generic rule).
pub(crate) static INCOMING_VERB: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:diterima|menerima|masuk|pemasukan|received|credited)\b|\bterima\s+(?:uang|dana|pembayaran|transfer|kiriman)\b",
    )
    .expect("built-in pattern is a valid regex")
});

/// The reason a notification is not an incoming payment, if its wording says so. `unnamed` is `text` with
/// the located names blanked out (equal to `text` when no grammar located any, see [`blank_names`]).
pub(crate) fn reason(title: &str, text: &str, unnamed: &str) -> Option<Reason> {
    for exclusion in EXCLUSIONS.iter() {
        let body = if exclusion.not_in_names {
            unnamed
        } else {
            text
        };
        if exclusion.pattern.is_match(title) || exclusion.pattern.is_match(body) {
            return Some(exclusion.reason);
        }
    }
    let payment_made = sentences(title)
        .chain(sentences(text))
        .any(|s| PAYMENT_MADE.is_match(s) && !INCOMING_VERB.is_match(s));
    payment_made.then_some(Reason::Outgoing)
}

/// Stands for a located name in [`blank_names`]' output (normalisation guarantees the notification itself
/// holds no private-use character, and no exclusion pattern matches it).
const NAME_MARK: char = '\u{E003}';

/// `text` with each range replaced by one name mark. Ranges are byte ranges on char boundaries, in any
/// order, possibly overlapping.
pub(crate) fn blank_names(text: &str, names: &[std::ops::Range<usize>]) -> String {
    let mut ranges: Vec<_> = names.iter().filter(|r| !r.is_empty()).cloned().collect();
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for range in ranges {
        if range.start >= at {
            out.push_str(&text[at..range.start]);
            out.push(NAME_MARK);
        }
        at = at.max(range.end);
    }
    out.push_str(&text[at.min(text.len())..]);
    out
}

/// Sentences of a marked text: split at line breaks and at `.`, `!`, `?` followed by a space (amounts
/// are markers by now, so their separators do not split anything).
pub(crate) fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').flat_map(|line| {
        line.split_inclusive(['.', '!', '?'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(text: &str) -> Option<Reason> {
        reason("", text, text)
    }

    #[test]
    fn redaction_placeholders_are_recognised_in_text_or_title() {
        assert!(is_redacted("DANA", "Sensitive notification content hidden"));
        assert!(is_redacted(
            "DANA",
            "Konten notifikasi sensitif disembunyikan"
        ));
        assert!(is_redacted(
            "System has hidden the notification content because it contains private information",
            ""
        ));
        assert!(!is_redacted("DANA", "Rp10 diterima DANA Bisnis."));
    }

    #[test]
    fn each_family_of_wording_gives_its_reason() {
        assert_eq!(why("Kode OTP kamu 123456"), Some(Reason::Otp));
        assert_eq!(
            why("Jangan berikan kode ini ke siapa pun"),
            Some(Reason::Otp)
        );
        assert_eq!(
            why("Transaksi Sebesar Rp 1.000 tidak berhasil"),
            Some(Reason::Failed)
        );
        assert_eq!(
            why("Pembayaran sebesar Rp3.500 sedang diproses"),
            Some(Reason::Pending)
        );
        assert_eq!(
            why("Transfer Rp500.000 ke BCA Virtual Account sebelum 16 Sep 2026, 08:25"),
            Some(Reason::Pending)
        );
        assert_eq!(why("Kamu dapat cashback Rp5.000"), Some(Reason::Promo));
        assert_eq!(
            why("Berhasil top up saldo Rp20.000 dari BRI"),
            Some(Reason::Topup)
        );
        assert_eq!(
            why("Pengembalian dana Rp25.000 telah masuk ke Kantong Utama."),
            Some(Reason::Unrecognized)
        );
        assert_eq!(
            why("Rp500.000 udah dikirim ke BCA X."),
            Some(Reason::Outgoing)
        );
        assert_eq!(
            why("You spent IDR 85,000.00 at Groceries."),
            Some(Reason::Outgoing)
        );
        assert_eq!(why("Pembayaran ke Toko A berhasil"), Some(Reason::Outgoing));
    }

    #[test]
    fn incoming_wording_triggers_nothing() {
        for text in [
            "Kamu berhasil menerima Rp10000 via Gopay ke akunmu. Cek yuk!",
            "TONDIKI ANDIKA GURNING telah mengirim Rp10.000 ke kamu. Butuh bantuan? Silakan Tanya Jago di 1500 746.",
            "ALFONSUS ENRICO SOEBIJANTO mengirimkan dana sebesar Rp500.000 ke ShopeePay-mu melalui BI-Fast.",
            "Kamu menerima transfer saldo senilai Rp40.000 ke rekening 7776.",
            "Transaksi Sebesar Rp 1.000 dari BLU BCA telah berhasil",
            "Pembayaran QRIS di TOKO A berhasil diterima",
            "Alfonsus Enrico Soebijanto has sent Rp500.050 to you.",
            "You received IDR 1,000.00 from ***SKY ****LIA *IJ at Account Transfer category.",
        ] {
            assert_eq!(why(text), None, "{text}");
        }
    }

    #[test]
    fn promotion_and_top_up_words_inside_a_name_do_not_count_but_failures_do() {
        let text = "Rp1 dari TOKO PROMO JAYA berhasil diterima";
        let name = text.find("TOKO").expect("name")..text.find(" berhasil").expect("end");
        assert_eq!(
            reason("", text, &blank_names(text, std::slice::from_ref(&name))),
            None
        );
        assert_eq!(
            why(text),
            Some(Reason::Promo),
            "unlocated names are wording"
        );
        let failed = "Rp1 dari BUDI gagal diterima";
        let name = failed.find("BUDI").expect("name")..failed.find(" diterima").expect("end");
        assert_eq!(
            reason("", failed, &blank_names(failed, &[name])),
            Some(Reason::Failed)
        );
        assert_eq!(
            reason("Promo", text, &blank_names(text, &[])),
            Some(Reason::Promo),
            "the title is never a name"
        );
    }

    #[test]
    fn blanking_merges_overlapping_names() {
        assert_eq!(blank_names("ab cd ef", &[3..5, 4..8, 0..0]), "ab \u{E003}");
        assert_eq!(blank_names("ab cd", &[]), "ab cd");
    }

    #[test]
    fn sentences_split_at_line_breaks_and_sentence_marks() {
        let got: Vec<_> = sentences("A b. C d!\nE? f").collect();
        assert_eq!(got, vec!["A b.", "C d!", "E?", "f"]);
    }
}
