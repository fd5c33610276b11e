//! One-time codes never leave the phone. The forwarder sends every notification of the watched apps,
//! and some of them carry a login or transaction code ("Kode OTP kamu 123456. JANGAN BERIKAN…"): such a
//! text is sent with each of its codes masked, so that neither the server, its database nor its
//! operators ever hold a live code. The amount and wording stay readable for the inbox.
//!
//! Pure functions: [`looks_like_one_time_code`] decides, [`mask_codes`] masks. Masking is deliberately
//! coarse: in an OTP-like text every word that contains a digit is masked whole (letters included, for
//! alphanumeric codes such as `A7K9Q2`), because a code that slips through cannot be taken back, and a
//! masked OTP loses nothing (it never pays).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What replaces each character of a masked word.
pub const MASK: char = '*';

/// Wording of one-time-code messages, Indonesian and English, matched case-insensitively on title and
/// text. Kept apart from the parser's exclusions: those decide what pays, this decides what leaves the
/// phone, and either may change without the other.
static ONE_TIME_CODE: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives = [
        r"\botp\b",
        r"\b2fa\b",
        r"\bm-?token\b",
        r"\bpasscode\b",
        r"\bsandi\s+sekali\s+pakai\b",
        r"\bkode\s+(?:verifikasi|otp|rahasia|keamanan|aktivasi|autentikasi|otentikasi|login|masuk|konfirmasi|akses|sekali\s+pakai)\b",
        r"\bjangan\s+(?:berikan|bagikan|beritahu\w*|sebarkan|memberikan|membagikan)\s+(?:\w+\s+){0,2}(?:kode|pin|otp|sandi|password)\b",
        r"\b(?:verification|security|authentication|login|confirmation|access)\s+code\b",
        r"\bone[\s-]?time\s+(?:password|passcode|code|pin)\b",
        r"\bdo\s+not\s+share\s+(?:\w+\s+){0,2}(?:code|otp|pin|password)\b",
        r"\bis\s+your\s+(?:\w+\s+){0,2}code\b",
    ];
    Regex::new(&format!("(?i){}", alternatives.join("|")))
        .expect("built-in one-time-code patterns are valid regexes")
});

/// A word: letters and digits (Unicode), the unit that is masked whole.
static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\p{N}]+").expect("a valid regex for alphanumeric words"));

/// Whether a notification (its title, its effective text) reads like a one-time-code message.
pub fn looks_like_one_time_code(title: &str, text: &str) -> bool {
    ONE_TIME_CODE.is_match(title) || ONE_TIME_CODE.is_match(text)
}

/// `text` with every word that contains a digit replaced by as many [`MASK`]s as it has characters;
/// borrowed when there is nothing to mask.
pub fn mask_codes(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_numeric) {
        return Cow::Borrowed(text);
    }
    WORD.replace_all(text, |word: &regex::Captures<'_>| {
        let word = &word[0];
        if word.chars().any(char::is_numeric) {
            MASK.to_string().repeat(word.chars().count())
        } else {
            word.to_owned()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_code_messages_are_recognised_in_both_languages() {
        for (title, text) in [
            (
                "DANA",
                "Kode OTP kamu 123456. JANGAN BERIKAN kode ini ke siapa pun.",
            ),
            ("BCA", "Kode verifikasi: 482913"),
            ("Livin'", "JANGAN BAGIKAN kode ini: 77 31 09"),
            ("GoPay", "123456 is your GoPay verification code"),
            ("Bank", "Your one-time password is 998877"),
            (
                "Bank",
                "Use 445566 as your login code. Do not share this code.",
            ),
            ("OTP", "449921"),
            ("BRImo", "Sandi sekali pakai Anda 7788"),
        ] {
            assert!(looks_like_one_time_code(title, text), "{title}: {text}");
        }
    }

    #[test]
    fn payments_and_ordinary_texts_are_not_one_time_codes() {
        for (title, text) in [
            ("DANA", "Kamu berhasil menerima Rp25.042 dari JOHN DOE"),
            (
                "GoPay Merchant",
                "Pembayaran QRIS Rp 6.000 diterima. Kode unik 42.",
            ),
            (
                "BCA",
                "Transfer masuk Rp1.250.000 dari BUDI, ref 202612010001",
            ),
            ("Shopee Partner", "Pesanan 2612ABC dibayar"),
            ("Promo", "Cashback 50% pakai kode HEMAT50"),
        ] {
            assert!(!looks_like_one_time_code(title, text), "{title}: {text}");
        }
    }

    #[test]
    fn every_word_with_a_digit_is_masked_whole() {
        assert_eq!(
            mask_codes("Kode OTP kamu 123456. Kode cadangan A7K9Q2, berlaku 5 menit."),
            "Kode OTP kamu ******. Kode cadangan ******, berlaku * menit."
        );
        assert_eq!(mask_codes("Kode: 77 31 09"), "Kode: ** ** **");
        assert_eq!(
            mask_codes("full-width １２３４５６ and Arabic-Indic ٤٥٦"),
            "full-width ****** and Arabic-Indic ***"
        );
    }

    #[test]
    fn a_text_without_digits_is_returned_as_it_is() {
        assert!(matches!(
            mask_codes("Jangan berikan kode ke siapa pun"),
            Cow::Borrowed(_)
        ));
    }
}
