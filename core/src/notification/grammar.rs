//! How an app's wording is written down and applied: a [`Rule`] is a regex over the *marked* text (money
//! mentions replaced by markers, see [`super::amount::Marked`]) with named parts, plus the conservative
//! generic rule used for unknown apps and unknown formats.
//!
//! Rule patterns are case-insensitive and multi-line, and may use these placeholders:
//! - `{AMOUNT}` — one readable money mention (a refused one never matches);
//! - `{SENDER}` — who paid: a lazy run of characters on one line, cleaned afterwards;
//! - `{REF}` — the app's transaction id (letters, digits, `_`, `-`);
//! - `{END}` — the end of a sentence: `.`/`!` then a space, or the end of the line.
//!
//! Texts are normalised before matching, so one literal space in a pattern matches any run of spaces,
//! no-break spaces or tabs in the original.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::amount::{MARK_CLOSE, MARK_OPEN, MARK_REFUSED, Marked};
use super::exclusion::{INCOMING_VERB, sentences};
use super::{ParsedPayment, PaymentKind};

/// One way an app words an incoming payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    /// What kind of payment this wording announces.
    pub kind: PaymentKind,
    /// A pattern the title must match too, when the text alone does not say "received".
    pub title: Option<&'static str>,
    /// The pattern over the text; it must capture `amount` (via `{AMOUNT}`).
    pub text: &'static str,
    /// Every occurrence in the text is one payment (grouped notifications).
    pub each: bool,
}

impl Rule {
    /// A rule for a text announcing one payment.
    pub(crate) const fn one(kind: PaymentKind, text: &'static str) -> Rule {
        Rule {
            kind,
            title: None,
            text,
            each: false,
        }
    }

    /// A rule for a text announcing one payment per occurrence.
    pub(crate) const fn each(kind: PaymentKind, text: &'static str) -> Rule {
        Rule {
            kind,
            title: None,
            text,
            each: true,
        }
    }

    /// The same rule, applying only when the title matches `title` too.
    pub(crate) const fn titled(self, title: &'static str) -> Rule {
        Rule {
            title: Some(title),
            ..self
        }
    }

    /// Compiles the rule; the built-in table is checked by a test, so a failure here is a programming
    /// error in that table.
    pub(crate) fn compile(&self) -> Result<CompiledRule, regex::Error> {
        let text = regex(&expand(self.text))?;
        let title = self.title.map(|t| regex(&expand(t))).transpose()?;
        Ok(CompiledRule {
            kind: self.kind,
            title,
            text,
            each: self.each,
        })
    }
}

/// Compiles a built-in pattern with ASCII word boundaries. Unicode `\b` would make the regex engine give
/// up its fast DFA on any non-ASCII byte, and every marked text has some (the amount markers); for the
/// Indonesian and English words we match, ASCII boundaries mean the same.
pub(crate) fn regex(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&pattern.replace(r"\b", r"(?-u:\b)"))
}

/// Turns a rule pattern into a regex: flags and placeholders.
fn expand(pattern: &str) -> String {
    let amount = format!(
        "{}(?P<amount>[0-9]+){}",
        escape(MARK_OPEN),
        escape(MARK_CLOSE)
    );
    let not_marker = format!("[^\\n{}-{}]", escape(MARK_OPEN), escape(MARK_REFUSED));
    let sender = format!("(?P<sender>{not_marker}+?)");
    format!(
        "(?im){}",
        pattern
            .replace("{AMOUNT}", &amount)
            .replace("{SENDER}", &sender)
            .replace("{REF}", "(?P<reference>[A-Za-z0-9][A-Za-z0-9_-]*)")
            .replace("{END}", "(?:[.!]? *$|[.!] )")
    )
}

fn escape(c: char) -> String {
    format!("\\x{{{:X}}}", u32::from(c))
}

/// A compiled [`Rule`].
#[derive(Debug)]
pub(crate) struct CompiledRule {
    kind: PaymentKind,
    title: Option<Regex>,
    text: Regex,
    each: bool,
}

/// What a rule made of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The wording is not this rule's.
    NoMatch,
    /// The rule read these payments.
    Payments(PaymentKind, Vec<ParsedPayment>),
    /// The wording is this rule's, but the text holds amounts the rule cannot account for.
    Refused,
}

impl CompiledRule {
    /// Applies the rule to a marked title and text.
    pub(crate) fn apply(&self, title: &str, marked: &Marked) -> Outcome {
        if self.title.as_ref().is_some_and(|t| !t.is_match(title)) {
            return Outcome::NoMatch;
        }
        let payments: Vec<ParsedPayment> = if self.each {
            let found: Vec<_> = self
                .text
                .captures_iter(&marked.text)
                .map(|caps| payment(&caps, marked))
                .collect();
            if found.is_empty() {
                return Outcome::NoMatch;
            }
            // Grouped texts must be read whole: an amount outside every occurrence could be a payment we
            // would silently drop, or a different kind of line we do not understand.
            if found.len() != marked.mention_count() {
                return Outcome::Refused;
            }
            match found.into_iter().collect::<Option<Vec<_>>>() {
                Some(all) => all,
                None => return Outcome::Refused,
            }
        } else {
            let Some(caps) = self.text.captures(&marked.text) else {
                return Outcome::NoMatch;
            };
            match payment(&caps, marked) {
                Some(p) => vec![p],
                None => return Outcome::Refused,
            }
        };
        Outcome::Payments(self.kind, payments)
    }
}

fn payment(caps: &Captures<'_>, marked: &Marked) -> Option<ParsedPayment> {
    let amount = marked.amount(caps.name("amount")?.as_str())?;
    Some(ParsedPayment {
        amount,
        sender: caps.name("sender").and_then(|m| clean_sender(m.as_str())),
        reference: caps
            .name("reference")
            .map(|m| m.as_str().to_owned())
            .filter(|r| r.len() <= MAX_REFERENCE_BYTES),
    })
}

/// Longest sender name returned; anything longer is not a name we trust to show.
const MAX_SENDER_CHARS: usize = 100;
/// Longest transaction reference returned.
const MAX_REFERENCE_BYTES: usize = 128;

/// Trims spaces and sentence punctuation around a captured sender; `None` when nothing sensible is left.
pub(crate) fn clean_sender(raw: &str) -> Option<String> {
    let edge = |c: char| c.is_whitespace() || ".,;:!?-–—".contains(c);
    let name = raw.trim_matches(edge);
    let sensible = !name.is_empty()
        && name.chars().count() <= MAX_SENDER_CHARS
        && !name
            .chars()
            .any(|c| c.is_control() || c == MARK_OPEN || c == MARK_CLOSE || c == MARK_REFUSED);
    sensible.then(|| name.to_owned())
}

/// Words that, just before the only amount, say it is not the amount received (a balance, a limit, a
/// fee, a bill, a "up to" in an advert).
static NOT_A_PAYMENT_AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(?i)\b(?:saldo|sisa|balance|limit|minimal|minimum|min|maks|maksimal|max|maximum|hingga|sampai|s/d|sd|tagihan|biaya|fee|admin|total|harga|senilai\s+hingga)\b[^\n]{0,24}$",
    )
    .expect("built-in pattern is a valid regex")
});

/// Says QRIS somewhere.
static MENTIONS_QRIS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?i)\bqris\b").expect("built-in pattern is a valid regex"));

/// The generic rule, for apps without a grammar and for wording no grammar knows: exactly one money
/// mention in the text, readable, with "received" wording in its sentence or in the title, not
/// introduced as a balance, limit, fee or bill. No sender and no reference are guessed.
///
/// When the text has no money mention at all, the title is read the same way on its own: some apps put
/// "Pembayaran sebesar Rp1.000 diterima" in the title and only a hint in the text.
pub(crate) fn generic(title: &Marked, text: &Marked) -> Option<(PaymentKind, ParsedPayment)> {
    if text.mention_count() == 0 {
        return generic_in(title, "");
    }
    generic_in(text, &title.text)
}

fn generic_in(marked: &Marked, title: &str) -> Option<(PaymentKind, ParsedPayment)> {
    if marked.mention_count() != 1 || marked.has_refused() {
        return None;
    }
    let amount = marked.mentions.first()?.value.as_ref().ok().copied()?;
    let sentence = sentences(&marked.text).find(|s| s.contains(MARK_OPEN))?;
    let before = &sentence[..sentence.find(MARK_OPEN)?];
    if NOT_A_PAYMENT_AMOUNT.is_match(before) {
        return None;
    }
    if !(INCOMING_VERB.is_match(sentence) || INCOMING_VERB.is_match(title)) {
        return None;
    }
    let kind = if MENTIONS_QRIS.is_match(title) || MENTIONS_QRIS.is_match(&marked.text) {
        PaymentKind::Qris
    } else {
        PaymentKind::Transfer
    };
    Some((
        kind,
        ParsedPayment {
            amount,
            sender: None,
            reference: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(text: &str) -> Marked {
        Marked::new(text)
    }

    #[test]
    fn placeholders_capture_amount_sender_and_reference() {
        let rule = Rule::one(
            PaymentKind::Transfer,
            "menerima {AMOUNT} dari {SENDER}{END}",
        )
        .compile()
        .expect("valid rule");
        let outcome = rule.apply("", &marked("Kamu menerima Rp1.000 dari BUDI. Cek!"));
        assert_eq!(
            outcome,
            Outcome::Payments(
                PaymentKind::Transfer,
                vec![ParsedPayment {
                    amount: 1_000,
                    sender: Some("BUDI".into()),
                    reference: None
                }]
            )
        );
    }

    #[test]
    fn a_refused_amount_never_matches_a_rule() {
        let rule = Rule::one(PaymentKind::Qris, "{AMOUNT} diterima")
            .compile()
            .expect("valid rule");
        assert_eq!(
            rule.apply("", &marked("Rp25.042,50 diterima")),
            Outcome::NoMatch
        );
    }

    #[test]
    fn grouped_rules_must_account_for_every_amount() {
        let rule = Rule::each(PaymentKind::Qris, "{AMOUNT} berhasil diterima")
            .compile()
            .expect("valid rule");
        let both = rule.apply("", &marked("Rp1 berhasil diterima\nRp2 berhasil diterima"));
        assert!(matches!(both, Outcome::Payments(_, ref p) if p.len() == 2));
        assert_eq!(
            rule.apply("", &marked("Rp1 berhasil diterima\nRp2 entah apa")),
            Outcome::Refused
        );
    }

    #[test]
    fn titled_rules_need_their_title() {
        let rule = Rule::one(PaymentKind::Qris, "^{AMOUNT} di ")
            .titled("^pembayaran qris diterima$")
            .compile()
            .expect("valid rule");
        assert_eq!(rule.apply("Promo", &marked("Rp1 di X")), Outcome::NoMatch);
        assert!(matches!(
            rule.apply("Pembayaran QRIS diterima", &marked("Rp1 di X")),
            Outcome::Payments(..)
        ));
    }

    #[test]
    fn senders_are_trimmed_of_spaces_and_punctuation() {
        assert_eq!(clean_sender("  JOHN DOE. "), Some("JOHN DOE".into()));
        assert_eq!(
            clean_sender("***PET **AK ***GSA"),
            Some("***PET **AK ***GSA".into())
        );
        assert_eq!(clean_sender(" .,! "), None);
        assert_eq!(clean_sender(&"A".repeat(MAX_SENDER_CHARS + 1)), None);
    }

    #[test]
    fn the_generic_rule_wants_one_amount_and_received_wording() {
        let read =
            |title: &str, text: &str| generic(&marked(title), &marked(text)).map(|(_, p)| p.amount);
        assert_eq!(
            read("", "Dana masuk Rp 150.237 dari rekening lain."),
            Some(150_237)
        );
        assert_eq!(
            read("Pembayaran diterima", "Rp25.000 di Toko"),
            Some(25_000)
        );
        assert_eq!(read("", "Rp25.000 untuk kamu"), None);
        assert_eq!(read("", "Kamu menerima Rp10.000. Saldo Rp50.000"), None);
        assert_eq!(read("", "Uang masuk. Saldo kamu Rp50.000"), None);
        assert_eq!(read("", "Diterima Rp25.042,50"), None);
        assert_eq!(
            read("Pembayaran sebesar Rp1.000 diterima", "Ketuk untuk detail"),
            Some(1_000)
        );
        assert_eq!(read("Saldo Rp1.000", "Uang masuk"), None);
    }
}
