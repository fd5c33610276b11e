//! Why a QRIS payload was refused. Merchants read these messages verbatim in the dashboard, so each one says
//! what is wrong, where (tag path and character offset in the trimmed payload) and what was expected.

/// Why a payload was refused. Each variant says what and where.
///
/// Offsets count characters (not bytes) from 0 at the first character of the trimmed payload. Tags inside a
/// template are written as a path: `26.01` is sub-tag 01 of template 26.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrisError {
    /// Nothing is left once leading and trailing whitespace is trimmed.
    #[error("payload is empty")]
    Empty,

    /// Longer than the 512 characters an EMV QR payload may hold.
    #[error("payload is {length} characters long; a QRIS holds at most 512")]
    TooLong {
        /// Length of the trimmed payload in characters.
        length: usize,
    },

    /// The payload (or a template's value) ends where a tag id or a length should follow.
    #[error("{scope} ends too early: expected {expected} at offset {offset}, found {found:?}")]
    UnexpectedEnd {
        /// `payload` or `template 26`.
        scope: String,
        /// Where the missing characters should have started.
        offset: usize,
        /// What should have been there, e.g. `a two-digit length for tag 59`.
        expected: String,
        /// What is left (fewer than two characters).
        found: String,
    },

    /// Two characters that should be a tag id are not two ASCII digits.
    #[error("expected a two-digit tag in the {scope} at offset {offset}, found {found:?}")]
    InvalidTag {
        /// `payload` or `template 26`.
        scope: String,
        /// Offset of the would-be tag.
        offset: usize,
        /// The two characters found there.
        found: String,
    },

    /// The two characters after a tag id are not two ASCII digits.
    #[error("tag {tag} at offset {offset}: expected a two-digit length, found {found:?}")]
    InvalidLength {
        /// The tag (path) whose length is broken.
        tag: String,
        /// Offset of the tag.
        offset: usize,
        /// The two characters found where the length should be.
        found: String,
    },

    /// A length of `00`: EMV data objects hold 1 to 99 characters.
    #[error("tag {tag} at offset {offset} has length 00; a value holds 1 to 99 characters")]
    EmptyValue {
        /// The tag (path) with the empty value.
        tag: String,
        /// Offset of the tag.
        offset: usize,
    },

    /// The length announces more characters than the payload (or the enclosing template) has left.
    #[error(
        "tag {tag} length {length} exceeds remaining {remaining} characters at offset {offset}"
    )]
    LengthExceedsRemaining {
        /// The tag (path) whose value is cut short.
        tag: String,
        /// The announced length, in characters.
        length: usize,
        /// Characters left after the length field.
        remaining: usize,
        /// Offset of the tag.
        offset: usize,
    },

    /// A root tag appears twice.
    #[error("tag {tag} appears twice, at offset {first_offset} and again at offset {offset}")]
    DuplicateTag {
        /// The repeated tag.
        tag: String,
        /// Offset of its first occurrence.
        first_offset: usize,
        /// Offset of the repetition.
        offset: usize,
    },

    /// The payload does not start with tag 00.
    #[error(
        "payload must start with tag 00 (Payload Format Indicator), found tag {found} at offset 0"
    )]
    FormatIndicatorNotFirst {
        /// The tag found at offset 0.
        found: String,
    },

    /// Tag 00 holds something other than `01`, the only EMV payload format.
    #[error("tag 00 (Payload Format Indicator) must be \"01\", found {found:?}")]
    UnsupportedFormat {
        /// The value of tag 00.
        found: String,
    },

    /// Tag 01 is neither `11` (static) nor `12` (dynamic).
    #[error(
        "tag 01 (Point of Initiation Method) at offset {offset} must be \"11\" (static) or \"12\" (dynamic), found {found:?}"
    )]
    InvalidPointOfInitiation {
        /// Offset of tag 01.
        offset: usize,
        /// Its value.
        found: String,
    },

    /// Tag 54 is not an EMV amount (1–13 characters: digits and at most one decimal point).
    #[error(
        "tag 54 (Transaction Amount) at offset {offset} must be digits with at most one decimal point (13 characters at most), found {found:?}"
    )]
    InvalidAmount {
        /// Offset of tag 54.
        offset: usize,
        /// Its value.
        found: String,
    },

    /// The last object is not tag 63.
    #[error(
        "payload must end with tag 63 (CRC), but its last object is tag {last} at offset {offset}"
    )]
    MissingCrc {
        /// The last root tag.
        last: String,
        /// Its offset.
        offset: usize,
    },

    /// Something follows tag 63.
    #[error(
        "tag 63 (CRC) at offset {offset} must be the last object, but tag {next} follows at offset {next_offset}"
    )]
    CrcNotLast {
        /// Offset of tag 63.
        offset: usize,
        /// The tag after it.
        next: String,
        /// Offset of that tag.
        next_offset: usize,
    },

    /// Tag 63 is not `6304` followed by four hexadecimal digits.
    #[error(
        "tag 63 (CRC) at offset {offset} must be \"6304\" followed by 4 hex digits, found {found:?}"
    )]
    InvalidCrcField {
        /// Offset of tag 63.
        offset: usize,
        /// The whole object as written (tag, length, value).
        found: String,
    },

    /// The CRC written in tag 63 is not the CRC of the payload.
    #[error(
        "CRC mismatch: tag 63 holds {found} but the payload up to \"6304\" computes to {computed} (altered or mistyped payload)"
    )]
    CrcMismatch {
        /// The four hex digits in the payload.
        found: String,
        /// The CRC computed over the payload, four uppercase hex digits.
        computed: String,
    },

    /// Conversion needs a static QRIS, but tag 01 is absent.
    #[error("tag 01 (Point of Initiation Method) is missing; a static QRIS has \"11\" there")]
    MissingPointOfInitiation,

    /// Conversion needs a static QRIS, but this one is already dynamic.
    #[error("this QRIS is already dynamic (tag 01 is \"12\"); use the merchant's static QRIS")]
    AlreadyDynamic,

    /// The payload is an EMV QR but not an Indonesian QRIS (Rupiah, country ID).
    #[error("not an Indonesian QRIS: tag {tag} ({name}) is {}, expected {expected:?}", describe(.found))]
    NotQris {
        /// `53` or `58`.
        tag: &'static str,
        /// The tag's name.
        name: &'static str,
        /// What a QRIS has there (`360`, `ID`).
        expected: &'static str,
        /// What this payload has there (`None`: absent).
        found: Option<String>,
    },

    /// The amount of a dynamic QRIS must be 1 to 9,999,999,999,999 Rupiah (13 digits).
    #[error("amount {amount} is out of range: a dynamic QRIS carries 1 to 9999999999999 Rupiah")]
    AmountOutOfRange {
        /// The amount asked for.
        amount: u64,
    },

    /// The dynamic payload would exceed the 512 characters a QR payload may hold.
    #[error("the dynamic payload would be {length} characters long; a QRIS holds at most 512")]
    DynamicTooLong {
        /// Length of the would-be payload in characters.
        length: usize,
    },
}

fn describe(found: &Option<String>) -> String {
    match found {
        Some(value) => format!("{value:?}"),
        None => "missing".to_owned(),
    }
}
