//! How an app's wording is written down and applied: a [`Rule`] is a regex over the *marked* text (money
//! mentions replaced by markers, see [`super::amount::Marked`]) with named parts, plus the conservative
//! generic rule used for unknown apps and unknown formats.
//!
//! Rule patterns are case-insensitive and multi-line, and may use these placeholders:
//! - `{AMOUNT}` — one readable money mention (a refused one never matches);
//! - `{SENDER}` — who paid: a lazy run of characters on one line, cleaned afterwards;
//! - `{PAYEE}` — the merchant's own outlet name (GoPay Merchant's "di <outlet>"), never returned;
//! - `{REF}` — the app's transaction id (letters, digits, `_`, `-`);
//! - `{END}` — the end of a sentence: `.`/`!` then a space, or the end of the line.
//!
//! Texts are normalised before matching, so one literal space in a pattern matches any run of spaces,
//! no-break spaces or tabs in the original.
//!
//! A match remembers where the sender and payee names are, so that the exclusions (promo, top-up words)
//! can be kept from reading a shop's name: "Rp25.042 dari TOKO PROMO JAYA" is a payment.

use std::ops::Range;
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

/// Compiles a payment-title pattern of the family table: the whole (marked) title must match, ignoring
/// case and one closing period.
pub(crate) fn title_pattern(pattern: &str) -> Result<Regex, regex::Error> {
    regex(&expand(&format!(r"^(?:{pattern})\.?$")))
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
    let payee = format!("(?P<payee>{not_marker}+?)");
    format!(
        "(?im){}",
        pattern
            .replace("{AMOUNT}", &amount)
            .replace("{SENDER}", &sender)
            .replace("{PAYEE}", &payee)
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

/// One occurrence of a rule's wording in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// The payment it announces, or `None` when its amount cannot be read.
    pub payment: Option<ParsedPayment>,
    /// Where the occurrence is, in the marked text.
    pub span: Range<usize>,
    /// Where the sender's and payee's names are, in the marked text.
    pub names: Vec<Range<usize>>,
}

/// What a rule made of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The wording is not this rule's.
    NoMatch,
    /// The wording is this rule's: one occurrence, or one per payment for grouped rules, in text order.
    Found(PaymentKind, Vec<Found>),
}

impl CompiledRule {
    /// Whether every occurrence is one payment (grouped notifications).
    pub(crate) fn is_grouped(&self) -> bool {
        self.each
    }

    /// Applies the rule to a marked title and text. Deciding whether the occurrences may be paid (not-incoming
    /// wording, amounts they do not account for) is the caller's: see [`super::parse`].
    pub(crate) fn apply(&self, title: &str, marked: &Marked) -> Outcome {
        if self.title.as_ref().is_some_and(|t| !t.is_match(title)) {
            return Outcome::NoMatch;
        }
        let found: Vec<Found> = if self.each {
            self.text
                .captures_iter(&marked.text)
                .map(|caps| found(&caps, marked))
                .collect()
        } else {
            self.text
                .captures(&marked.text)
                .map(|caps| found(&caps, marked))
                .into_iter()
                .collect()
        };
        if found.is_empty() {
            Outcome::NoMatch
        } else {
            Outcome::Found(self.kind, found)
        }
    }
}

fn found(caps: &Captures<'_>, marked: &Marked) -> Found {
    let names = ["sender", "payee"]
        .iter()
        .filter_map(|name| caps.name(name))
        .map(|m| m.range())
        .collect();
    Found {
        payment: payment(caps, marked),
        span: caps.get(0).map_or(0..0, |m| m.range()),
        names,
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
/// When the text has no money mention at all, the title is read the same way on its own (some apps put
/// "Pembayaran sebesar Rp1.000 diterima" in the title and only a hint in the text); the answer then says
/// so ([`Generic::in_title`]), because an amount that is only in the title never pays.
pub(crate) fn generic(title: &Marked, text: &Marked) -> Option<Generic> {
    let (marked, other, in_title) = if text.mention_count() == 0 {
        (title, "", true)
    } else {
        (text, title.text.as_str(), false)
    };
    generic_in(marked, other).map(|(kind, payment)| Generic {
        kind,
        payment,
        in_title,
    })
}

/// What the generic rule read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Generic {
    pub kind: PaymentKind,
    pub payment: ParsedPayment,
    /// The amount was read from the title (the text has none).
    pub in_title: bool,
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

    fn payments(outcome: Outcome) -> Vec<Option<ParsedPayment>> {
        match outcome {
            Outcome::Found(_, found) => found.into_iter().map(|f| f.payment).collect(),
            Outcome::NoMatch => Vec::new(),
        }
    }

    #[test]
    fn placeholders_capture_amount_sender_and_reference_and_locate_names() {
        let rule = Rule::one(
            PaymentKind::Transfer,
            "menerima {AMOUNT} dari {SENDER}{END}",
        )
        .compile()
        .expect("valid rule");
        let text = marked("Kamu menerima Rp1.000 dari BUDI. Cek!");
        let Outcome::Found(kind, found) = rule.apply("", &text) else {
            panic!("the rule matches");
        };
        assert_eq!(kind, PaymentKind::Transfer);
        assert_eq!(
            found[0].payment,
            Some(ParsedPayment {
                amount: 1_000,
                sender: Some("BUDI".into()),
                reference: None
            })
        );
        assert_eq!(&text.text[found[0].names[0].clone()], "BUDI");
        let payee = Rule::one(PaymentKind::Qris, "^{AMOUNT} di {PAYEE}(?:, [^\n]*)?$")
            .compile()
            .expect("valid rule");
        let text = marked("Rp 1 di TOKO PROMO, Digital & Kreatif.");
        let Outcome::Found(_, found) = payee.apply("", &text) else {
            panic!("the rule matches");
        };
        assert_eq!(&text.text[found[0].names[0].clone()], "TOKO PROMO");
        assert_eq!(
            found[0].payment.as_ref().map(|p| p.sender.clone()),
            Some(None)
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
    fn grouped_rules_find_every_occurrence_with_its_span() {
        let rule = Rule::each(PaymentKind::Qris, "{AMOUNT} berhasil diterima")
            .compile()
            .expect("valid rule");
        let text = marked("Rp1 berhasil diterima\nRp2 berhasil diterima");
        let Outcome::Found(_, found) = rule.apply("", &text) else {
            panic!("the rule matches");
        };
        assert_eq!(found.len(), 2);
        assert!(found[0].span.end <= text.text.find('\n').expect("two lines"));
        assert_eq!(
            payments(rule.apply("", &marked("Rp1 berhasil diterima\nRp2 entah apa"))).len(),
            1,
            "accounting for the other amounts is the caller's"
        );
    }

    #[test]
    fn titled_rules_need_their_title() {
        let rule = Rule::one(PaymentKind::Qris, "^{AMOUNT} di ")
            .titled("^pembayaran qris diterima$")
            .compile()
            .expect("valid rule");
        assert_eq!(rule.apply("Promo", &marked("Rp1 di X")), Outcome::NoMatch);
        assert_eq!(
            payments(rule.apply("Pembayaran QRIS diterima", &marked("Rp1 di X"))).len(),
            1
        );
    }

    #[test]
    fn title_patterns_match_the_whole_title() {
        let title = title_pattern("pembayaran sebesar {AMOUNT} diterima").expect("valid");
        assert!(title.is_match(&marked("Pembayaran sebesar Rp1.000 diterima.").text));
        assert!(!title.is_match(&marked("Re: Pembayaran sebesar Rp1.000 diterima").text));
        assert!(!title.is_match(&marked("Pembayaran sebesar Rp1.000 diterima kah").text));
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
        let read = |title: &str, text: &str| {
            generic(&marked(title), &marked(text)).map(|g| g.payment.amount)
        };
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
        assert_eq!(
            generic(
                &marked("Pembayaran sebesar Rp1.000 diterima"),
                &marked("Ketuk untuk detail")
            )
            .map(|g| g.in_title),
            Some(true)
        );
        assert_eq!(read("Saldo Rp1.000", "Uang masuk"), None);
    }
}
