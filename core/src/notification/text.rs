//! Turning what a phone sends into text the grammars can read: a size cap, then one canonical spelling of
//! spaces, line breaks and invisible characters.
//!
//! Decisions (each one keeps "what the merchant sees" equal to "what the parser reads"):
//! - Texts longer than [`MAX_TEXT_BYTES`] are refused whole, never truncated: a cut could land inside an
//!   amount ("Rp1.250.000" read as "Rp1.250") and a real payment notification is never that long (Android
//!   itself truncates notification text at 5 120 characters).
//! - Known invisible characters (zero-width space/joiners, bidi marks and isolates, word joiner, soft
//!   hyphen, BOM…) are removed, not turned into spaces. A zero-width character inside digits is invisible on
//!   the phone, so `Rp25\u{200B}.042` reads as the 25.042 the merchant sees; turning it into a space would
//!   instead produce a different number.
//! - Every other space-like character (no-break space, narrow no-break space, tabs, other control
//!   characters) becomes an ASCII space, runs of spaces collapse to one, line breaks become `\n`.
//! - Private-use characters become U+FFFD: the parser uses a few of them internally as amount markers, so
//!   a text can never forge one.

/// Texts (title or body) longer than this many bytes are not read at all.
pub const MAX_TEXT_BYTES: usize = 4096;

/// The canonical form of one title or text, or `None` when it is too long to be read.
pub(crate) fn normalize(raw: &str) -> Option<String> {
    if raw.len() > MAX_TEXT_BYTES {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                push_newline(&mut out);
            }
            '\n' | '\u{2028}' | '\u{2029}' | '\u{85}' => push_newline(&mut out),
            c if is_invisible(c) => {}
            c if c.is_control() || is_space_like(c) => push_space(&mut out),
            '\u{2018}' | '\u{2019}' | '\u{02BC}' => out.push('\''),
            '\u{E000}'..='\u{F8FF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    // A space never ends a line nor the text.
    while out.ends_with(' ') || out.ends_with('\n') {
        out.pop();
    }
    Some(out)
}

fn push_space(out: &mut String) {
    if !(out.is_empty() || out.ends_with(' ') || out.ends_with('\n')) {
        out.push(' ');
    }
}

fn push_newline(out: &mut String) {
    while out.ends_with(' ') {
        out.pop();
    }
    if !out.is_empty() {
        out.push('\n');
    }
}

/// Characters with no width on screen: removed so that they cannot split or join what the reader sees.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'              // soft hyphen
            | '\u{034F}'        // combining grapheme joiner
            | '\u{061C}'        // Arabic letter mark
            | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
            | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' // Mongolian variation selectors and vowel separator
            | '\u{200B}'..='\u{200F}' // zero-width space, non-joiner, joiner, LRM, RLM
            | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206F}' // bidi isolates, deprecated format characters
            | '\u{FE00}'..='\u{FE0F}' // variation selectors
            | '\u{FEFF}'              // zero-width no-break space (BOM)
    )
}

/// Unicode space separators (no-break, narrow no-break, figure, ideographic…).
fn is_space_like(c: char) -> bool {
    c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s).expect("short text")
    }

    #[test]
    fn no_break_spaces_become_plain_spaces() {
        assert_eq!(norm("Rp\u{00A0}25.042"), "Rp 25.042");
        assert_eq!(norm("Rp\u{202F}25.042"), "Rp 25.042");
    }

    #[test]
    fn zero_width_characters_vanish_even_inside_digits() {
        assert_eq!(norm("Rp25\u{200B}.0\u{200D}42"), "Rp25.042");
        assert_eq!(norm("\u{FEFF}\u{200E}Rp10\u{2066}"), "Rp10");
    }

    #[test]
    fn control_characters_and_space_runs_collapse_to_one_space() {
        assert_eq!(norm("Rp10\t\t\u{0}  diterima\u{7}"), "Rp10 diterima");
    }

    #[test]
    fn line_breaks_are_unified_and_trimmed() {
        assert_eq!(norm(" a \r\n b\rc\u{2028}d \n\n"), "a\nb\nc\nd");
    }

    #[test]
    fn typographic_apostrophes_become_ascii() {
        assert_eq!(norm("You\u{2019}ve received"), "You've received");
    }

    #[test]
    fn private_use_characters_cannot_forge_amount_markers() {
        assert_eq!(norm("\u{E000}0\u{E001}"), "\u{FFFD}0\u{FFFD}");
    }

    #[test]
    fn texts_over_the_cap_are_refused_not_truncated() {
        assert!(normalize(&"a".repeat(MAX_TEXT_BYTES)).is_some());
        assert!(normalize(&"a".repeat(MAX_TEXT_BYTES + 1)).is_none());
    }
}
