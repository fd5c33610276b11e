//! Rupiah amounts in notification text: finding every money mention (`Rp…`, `IDR …`) and reading it
//! strictly, or refusing it.
//!
//! Accepted spellings: `Rp25.042`, `Rp 25.042`, `Rp.25.042`, `Rp25.042,00`, `Rp1.771,-`, `IDR 25,042.00`,
//! `Rp10000`, `Rp1.250.000` (prefix case-insensitive). The rules, in the order they are applied:
//! - A separator (`.` or `,`) belongs to the number only when a digit follows it, so the period that ends
//!   a sentence (`Rp29.000 diterima.`, `Rp10.`) is not part of the amount.
//! - One or two digits after the last separator are a fraction; it must be all zeros (`,00`, `.00`):
//!   Rupiah amounts are whole, and `Rp25.042,50` is refused rather than rounded.
//! - Every other separator is a thousands separator: all of them are the same character, the first group
//!   has one to three digits and every later group exactly three. The fraction separator must differ from
//!   the thousands separator (`Rp100.000.00` is refused).
//! - The number must end there: a letter or digit right after it (`Rp10rb`, `Rp2５0`), or a space followed
//!   by a digit (`Rp 25 042`), makes the mention malformed instead of silently shorter.
//! - Zero, leading zeros and amounts beyond `u64` are refused.

/// Why a money mention was refused. Offsets are byte offsets in the normalised text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The input holds no `Rp`/`IDR` mention followed by a digit.
    #[error("no Rupiah amount (Rp/IDR followed by digits) in {0:?}")]
    Missing(String),
    /// Something follows the single amount that [`parse_rupiah`] was given.
    #[error("unexpected text after the amount at offset {offset}")]
    TrailingText {
        /// Where the extra text starts.
        offset: usize,
    },
    /// A thousands group does not have exactly three digits (or the first group has more than three).
    #[error("digit group {group:?} at offset {offset} is not a thousands group of three digits")]
    GroupLength {
        /// Where the group starts.
        offset: usize,
        /// The offending digits.
        group: String,
    },
    /// Both `.` and `,` are used as thousands separators in one number.
    #[error("number at offset {offset} mixes '.' and ',' as thousands separators")]
    MixedSeparators {
        /// Where the number starts.
        offset: usize,
    },
    /// The fraction uses the same separator as the thousands groups (`100.000.00`).
    #[error("number at offset {offset} uses {separator:?} for both thousands and the fraction")]
    AmbiguousSeparator {
        /// Where the number starts.
        offset: usize,
        /// The separator used twice over.
        separator: char,
    },
    /// The amount has a non-zero fraction; whole Rupiah only, never rounded.
    #[error(
        "amount at offset {offset} has the fraction {fraction:?}; only whole Rupiah are accepted"
    )]
    NonZeroFraction {
        /// Where the number starts.
        offset: usize,
        /// The fraction digits.
        fraction: String,
    },
    /// A multi-digit number or first group starts with `0`.
    #[error("number at offset {offset} has a leading zero")]
    LeadingZero {
        /// Where the number starts.
        offset: usize,
    },
    /// The amount is zero.
    #[error("amount at offset {offset} is zero")]
    Zero {
        /// Where the number starts.
        offset: usize,
    },
    /// The amount does not fit in 64 bits.
    #[error("amount at offset {offset} is too large")]
    Overflow {
        /// Where the number starts.
        offset: usize,
    },
    /// A letter or digit is glued to the end of the number (`Rp10rb`).
    #[error("amount at offset {offset} runs into {found:?}")]
    RunsInto {
        /// Where the glued character is.
        offset: usize,
        /// The glued character.
        found: char,
    },
    /// Digits continue after a space (`Rp 25 042`): which number was meant is a guess, so none is taken.
    #[error("digits continue after a space at offset {offset}; refusing to guess the amount")]
    DigitsAfterSpace {
        /// Where the space is.
        offset: usize,
    },
}

/// One money mention found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mention {
    /// Byte range of the whole mention, prefix included.
    pub span: std::ops::Range<usize>,
    /// The amount, or why it was refused.
    pub value: Result<u64, AmountError>,
}

/// Reads a single money mention such as `"Rp25.042"` or `"IDR 25,042.00"` (surrounding spaces allowed).
pub fn parse_rupiah(input: &str) -> Result<u64, AmountError> {
    let trimmed = input.trim();
    let mut mentions = scan(trimmed);
    if mentions.is_empty() {
        return Err(AmountError::Missing(trimmed.to_owned()));
    }
    let first = mentions.swap_remove(0);
    if first.span.start != 0 || first.span.end != trimmed.len() {
        let offset = if first.span.start != 0 {
            0
        } else {
            first.span.end
        };
        return first.value.and(Err(AmountError::TrailingText { offset }));
    }
    first.value
}

/// Every money mention in `text`, in text order. A mention is `Rp` or `IDR` (any case, not glued to a
/// preceding letter or digit), an optional `.`, an optional space, then a digit.
pub(crate) fn scan(text: &str) -> Vec<Mention> {
    let bytes = text.as_bytes();
    let mut mentions = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(prefix_len) = prefix_at(text, i) else {
            i += 1;
            continue;
        };
        let mut j = i + prefix_len;
        if bytes.get(j) == Some(&b'.') {
            j += 1;
        }
        if bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        if !bytes.get(j).is_some_and(u8::is_ascii_digit) {
            i += prefix_len;
            continue;
        }
        let (value, end) = read_number(text, j);
        mentions.push(Mention {
            span: i..end,
            value,
        });
        i = end;
    }
    mentions
}

/// Length of a money prefix starting at byte `i`, if one starts there on a word boundary.
fn prefix_at(text: &str, i: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let len = if starts_with_ignore_case(&bytes[i..], b"idr") {
        3
    } else if starts_with_ignore_case(&bytes[i..], b"rp") {
        2
    } else {
        return None;
    };
    // `i` is at an ASCII letter, hence on a char boundary; look at the char before it.
    let glued = text[..i]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    (!glued).then_some(len)
}

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Reads the number starting at byte `start` (a digit). Returns the verdict and where the mention ends.
fn read_number(text: &str, start: usize) -> (Result<u64, AmountError>, usize) {
    let bytes = text.as_bytes();
    let digits_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |n| from + n)
    };
    let mut end = digits_end(start);
    while end + 1 < bytes.len()
        && matches!(bytes[end], b'.' | b',')
        && bytes[end + 1].is_ascii_digit()
    {
        end = digits_end(end + 1);
    }
    let raw = &text[start..end];
    // `,-` / `.-` says "no cents", as in `Rp1.771,-`.
    if end + 1 < bytes.len() && matches!(bytes[end], b'.' | b',') && bytes[end + 1] == b'-' {
        end += 2;
    }
    let value = match text[end..].chars().next() {
        Some(c) if c.is_alphanumeric() || c == '_' => Err(AmountError::RunsInto {
            offset: end,
            found: c,
        }),
        Some(' ') if bytes.get(end + 1).is_some_and(u8::is_ascii_digit) => {
            Err(AmountError::DigitsAfterSpace { offset: end })
        }
        _ => parse_number(raw, start),
    };
    (value, end)
}

/// Reads digits and separators (`1.250.000`, `25,042.00`, `10000`) as whole Rupiah.
fn parse_number(raw: &str, offset: usize) -> Result<u64, AmountError> {
    let mut groups: Vec<&str> = Vec::new();
    let mut separators: Vec<char> = Vec::new();
    let mut group_start = 0;
    for (i, c) in raw.char_indices() {
        if c == '.' || c == ',' {
            groups.push(&raw[group_start..i]);
            separators.push(c);
            group_start = i + 1;
        }
    }
    groups.push(&raw[group_start..]);

    let (integer_groups, integer_separators) = match (groups.split_last(), separators.split_last())
    {
        (Some((last, rest_groups)), Some((&last_sep, rest_seps))) if last.len() <= 2 => {
            if rest_seps.contains(&last_sep) {
                return Err(AmountError::AmbiguousSeparator {
                    offset,
                    separator: last_sep,
                });
            }
            if last.bytes().any(|b| b != b'0') {
                return Err(AmountError::NonZeroFraction {
                    offset,
                    fraction: (*last).to_owned(),
                });
            }
            (rest_groups, rest_seps)
        }
        _ => (groups.as_slice(), separators.as_slice()),
    };

    if let Some(&first_sep) = integer_separators.first()
        && integer_separators.iter().any(|&s| s != first_sep)
    {
        return Err(AmountError::MixedSeparators { offset });
    }
    let mut group_offset = offset;
    for (i, group) in integer_groups.iter().enumerate() {
        let well_formed = if integer_groups.len() == 1 {
            true
        } else if i == 0 {
            (1..=3).contains(&group.len())
        } else {
            group.len() == 3
        };
        if !well_formed {
            return Err(AmountError::GroupLength {
                offset: group_offset,
                group: (*group).to_owned(),
            });
        }
        group_offset += group.len() + 1;
    }
    let first = integer_groups.first().copied().unwrap_or_default();
    if first.len() > 1 && first.starts_with('0') {
        return Err(AmountError::LeadingZero { offset });
    }

    let mut value: u64 = 0;
    for b in integer_groups.iter().flat_map(|g| g.bytes()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(AmountError::Overflow { offset })?;
    }
    if value == 0 {
        return Err(AmountError::Zero { offset });
    }
    Ok(value)
}

/// Private-use characters that stand for amounts in a [`Marked`] text (normalisation guarantees the
/// notification itself contains none).
pub(crate) const MARK_OPEN: char = '\u{E000}';
/// Closes the index of a readable amount.
pub(crate) const MARK_CLOSE: char = '\u{E001}';
/// Stands for a refused (malformed) money mention.
pub(crate) const MARK_REFUSED: char = '\u{E002}';

/// A text with every money mention replaced by a marker, so that grammars match words around amounts
/// without ever re-reading digits: a readable amount becomes `MARK_OPEN <index> MARK_CLOSE`, a refused
/// one becomes `MARK_REFUSED` (which no grammar accepts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marked {
    /// The text with markers.
    pub text: String,
    /// Every mention, indexed by the markers of readable ones.
    pub mentions: Vec<Mention>,
}

impl Marked {
    /// Marks every money mention of a normalised text.
    pub(crate) fn new(text: &str) -> Self {
        let mentions = scan(text);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (index, mention) in mentions.iter().enumerate() {
            out.push_str(&text[last..mention.span.start]);
            if mention.value.is_ok() {
                out.push(MARK_OPEN);
                out.push_str(&index.to_string());
                out.push(MARK_CLOSE);
            } else {
                out.push(MARK_REFUSED);
            }
            last = mention.span.end;
        }
        out.push_str(&text[last..]);
        Marked {
            text: out,
            mentions,
        }
    }

    /// The amount a marker index stands for (`None` for an index no readable mention has).
    pub(crate) fn amount(&self, index: &str) -> Option<u64> {
        let index: usize = index.parse().ok()?;
        self.mentions.get(index)?.value.as_ref().ok().copied()
    }

    /// How many money mentions (readable or not) the text has.
    pub(crate) fn mention_count(&self) -> usize {
        self.mentions.len()
    }

    /// How many money mentions (readable or not) a piece of a marked text holds.
    pub(crate) fn mentions_in(marked_text: &str) -> usize {
        marked_text
            .chars()
            .filter(|&c| c == MARK_OPEN || c == MARK_REFUSED)
            .count()
    }

    /// Whether any money mention was refused.
    pub(crate) fn has_refused(&self) -> bool {
        self.mentions.iter().any(|m| m.value.is_err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_documented_spelling() {
        for (text, amount) in [
            ("Rp25.042", 25_042),
            ("Rp 25.042", 25_042),
            ("Rp.25.042", 25_042),
            ("Rp. 50.347", 50_347),
            ("Rp25.042,00", 25_042),
            ("Rp1.771,-", 1_771),
            ("IDR 25,042.00", 25_042),
            ("IDR 500,000.00", 500_000),
            ("Rp10000", 10_000),
            ("Rp1.250.000", 1_250_000),
            ("RP 1", 1),
            ("rp10", 10),
            ("Rp 25,042", 25_042),
            ("Rp500000.00", 500_000),
        ] {
            assert_eq!(parse_rupiah(text), Ok(amount), "{text}");
        }
    }

    #[test]
    fn a_sentence_period_is_not_a_decimal_point() {
        let found = scan("Rp29.000 diterima. Rp10. Rp 1.127 di X");
        let values: Vec<_> = found.into_iter().map(|m| m.value).collect();
        assert_eq!(values, vec![Ok(29_000), Ok(10), Ok(1_127)]);
    }

    #[test]
    fn malformed_thousands_groups_are_refused() {
        assert!(matches!(
            parse_rupiah("Rp1.0000"),
            Err(AmountError::GroupLength { .. })
        ));
        assert!(matches!(
            parse_rupiah("Rp1000.000"),
            Err(AmountError::GroupLength { .. })
        ));
        assert!(matches!(
            parse_rupiah("Rp100.00.000"),
            Err(AmountError::GroupLength { .. })
        ));
        assert!(matches!(
            parse_rupiah("Rp1,000.000"),
            Err(AmountError::MixedSeparators { .. })
        ));
    }

    #[test]
    fn the_same_separator_for_thousands_and_fraction_is_refused() {
        // Seen in a real OVO text: "Transfer Rp100.000.00 ke HAXIM berhasil".
        assert_eq!(
            parse_rupiah("Rp100.000.00"),
            Err(AmountError::AmbiguousSeparator {
                offset: 2,
                separator: '.'
            })
        );
    }

    #[test]
    fn non_zero_fractions_are_refused_not_rounded() {
        assert_eq!(
            parse_rupiah("Rp25.042,50"),
            Err(AmountError::NonZeroFraction {
                offset: 2,
                fraction: "50".into()
            })
        );
        assert!(parse_rupiah("Rp18.094,80").is_err());
        assert!(parse_rupiah("Rp10,5").is_err());
    }

    #[test]
    fn glued_letters_and_spaced_digits_are_refused() {
        assert!(matches!(
            parse_rupiah("Rp10rb"),
            Err(AmountError::RunsInto { found: 'r', .. })
        ));
        assert!(matches!(
            parse_rupiah("Rp2\u{FF15}0"),
            Err(AmountError::RunsInto { .. })
        ));
        assert!(matches!(
            scan("Rp 25 042 diterima")[0].value,
            Err(AmountError::DigitsAfterSpace { .. })
        ));
    }

    #[test]
    fn zero_leading_zeros_and_overflow_are_refused() {
        assert!(matches!(parse_rupiah("Rp0"), Err(AmountError::Zero { .. })));
        assert!(matches!(
            parse_rupiah("Rp0,00"),
            Err(AmountError::Zero { .. })
        ));
        assert!(matches!(
            parse_rupiah("Rp007"),
            Err(AmountError::LeadingZero { .. })
        ));
        assert!(matches!(
            parse_rupiah("Rp099.000"),
            Err(AmountError::LeadingZero { .. })
        ));
        assert!(matches!(
            parse_rupiah("Rp99999999999999999999"),
            Err(AmountError::Overflow { .. })
        ));
    }

    #[test]
    fn prefixes_glued_to_words_are_not_money() {
        assert!(scan("GRP10 XRp5 IDRIS 2 rpm").is_empty());
        assert_eq!(
            parse_rupiah("sebesar 25.000"),
            Err(AmountError::Missing("sebesar 25.000".into()))
        );
    }

    #[test]
    fn parse_rupiah_takes_exactly_one_amount() {
        assert!(matches!(
            parse_rupiah("Rp10 dan Rp20"),
            Err(AmountError::TrailingText { offset: 4 })
        ));
    }

    #[test]
    fn marking_replaces_each_mention_by_its_index_or_a_refusal() {
        let marked = Marked::new("Rp6.000 ok\nRp1,5 no\nRp2.000");
        assert_eq!(
            marked.text,
            "\u{E000}0\u{E001} ok\n\u{E002} no\n\u{E000}2\u{E001}"
        );
        assert_eq!(marked.amount("0"), Some(6_000));
        assert_eq!(marked.amount("1"), None);
        assert_eq!(marked.amount("2"), Some(2_000));
        assert_eq!(marked.mention_count(), 3);
        assert!(marked.has_refused());
    }
}
