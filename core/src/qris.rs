//! QRIS: EMV Merchant-Presented Mode payloads with the Indonesian profile. Parsing into tags (with the
//! nested templates), CRC-16/CCITT-FALSE, a summary for people, and the static → dynamic conversion.
//!
//! A payload is a sequence of data objects: a two-digit tag, a two-digit length counted in *characters*
//! (not bytes), and the value. [`parse`] trims surrounding whitespace and then insists on:
//! - at most 512 characters; tag ids and lengths are two ASCII digits; lengths 01–99; the whole input is
//!   consumed;
//! - tag `00` first, holding `01`; tag `63` last, written `6304` plus four hex digits, equal (case
//!   ignored, and kept in uppercase in the parsed object) to the CRC-16/CCITT-FALSE of the UTF-8 bytes
//!   of everything up to and including `6304`;
//! - no root tag twice; `01`, when present, is `11` (static) or `12` (dynamic); `54`, when present, is an
//!   EMV amount (digits and at most one `.`);
//! - templates 26–51, 62 and 64 parse as TLV themselves. Unreserved templates 80–99 (and sub-tags 50–99
//!   of 62) are read as templates when their value parses as TLV and kept as text otherwise. Repeated
//!   sub-tags inside a template are tolerated (the summary reads the first).
//!
//! Errors ([`QrisError`]) name the tag (`26.01` inside a template) and the offset in characters from the
//! start of the trimmed payload.
//!
//! Serialising parsed objects ([`Qris::to_payload`]) reproduces the input character for character except
//! for the CRC, which is recomputed and written as four uppercase hex digits; [`to_dynamic`] relies on
//! that to keep every object it does not change byte-for-byte.

mod crc;
mod dynamic;
mod error;
mod summary;
mod tag;
mod tlv;

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;

pub use crc::crc16;
pub use dynamic::{MAX_AMOUNT, check_static, to_dynamic};
pub use error::QrisError;
pub use summary::{PointOfInitiation, Summary};

/// The most characters an EMV QR payload holds.
pub const MAX_PAYLOAD_CHARS: usize = 512;

/// One data object: a two-digit tag and either a primitive value or a nested template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataObject {
    /// Two decimal digits, `00`–`99`.
    pub tag: String,
    /// The value.
    pub value: Value,
}

/// The value of a data object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text, its length counted in characters.
    Primitive(String),
    /// Nested data objects (26–51 merchant account templates, 62 additional data, 64 language, and
    /// 80–99 when their value parses as TLV).
    Template(Vec<DataObject>),
}

/// A parsed payload (root data objects in their original order, CRC checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qris {
    objects: Vec<DataObject>,
}

/// Parses and checks a payload (structure and CRC). See the module docs for the rules.
pub fn parse(input: &str) -> Result<Qris, QrisError> {
    let payload = input.trim();
    if payload.is_empty() {
        return Err(QrisError::Empty);
    }
    let length = payload.chars().count();
    if length > MAX_PAYLOAD_CHARS {
        return Err(QrisError::TooLong { length });
    }

    let mut cursor = tlv::Cursor::new(payload, 0);
    let mut objects: Vec<DataObject> = Vec::new();
    let mut first_offsets: [Option<usize>; 100] = [None; 100];
    let mut last_offset = 0;
    let mut crc: Option<(usize, &str)> = None;

    while !cursor.is_at_end() {
        let raw = tlv::read_object(&mut cursor, None)?;
        if objects.is_empty() && raw.number != 0 {
            return Err(QrisError::FormatIndicatorNotFirst {
                found: raw.tag.to_owned(),
            });
        }
        if let Some((offset, _)) = crc {
            return Err(QrisError::CrcNotLast {
                offset,
                next: raw.tag.to_owned(),
                next_offset: raw.offset,
            });
        }
        // `number` is two digits, so always below 100; `get_mut` keeps that a non-panicking fact.
        if let Some(first) = first_offsets.get_mut(usize::from(raw.number)) {
            if let Some(first_offset) = *first {
                return Err(QrisError::DuplicateTag {
                    tag: raw.tag.to_owned(),
                    first_offset,
                    offset: raw.offset,
                });
            }
            *first = Some(raw.offset);
        }
        check_root_value(&raw)?;
        if raw.number == 63 {
            crc = Some((raw.offset, raw.value));
        }
        last_offset = raw.offset;
        objects.push(if raw.number == 63 {
            // Kept in the case `to_payload` writes, so that parsing what it writes gives equal objects.
            DataObject {
                tag: raw.tag.to_owned(),
                value: Value::Primitive(raw.value.to_ascii_uppercase()),
            }
        } else {
            tlv::decode_root(&raw)?
        });
    }

    let Some((_, written)) = crc else {
        return Err(QrisError::MissingCrc {
            last: objects.last().map(|o| o.tag.clone()).unwrap_or_default(),
            offset: last_offset,
        });
    };
    // 63 is last and its value is four ASCII hex digits, so the CRC input ends four bytes from the end.
    let covered = payload
        .len()
        .checked_sub(written.len())
        .and_then(|end| payload.as_bytes().get(..end))
        .unwrap_or_default();
    let computed = crc::crc_hex(covered);
    if !computed.eq_ignore_ascii_case(written) {
        return Err(QrisError::CrcMismatch {
            found: written.to_owned(),
            computed,
        });
    }
    Ok(Qris { objects })
}

/// The rules on the values of particular root tags.
fn check_root_value(raw: &tlv::Raw<'_>) -> Result<(), QrisError> {
    match raw.number {
        0 if raw.value != "01" => Err(QrisError::UnsupportedFormat {
            found: raw.value.to_owned(),
        }),
        1 if raw.value != "11" && raw.value != "12" => Err(QrisError::InvalidPointOfInitiation {
            offset: raw.offset,
            found: raw.value.to_owned(),
        }),
        54 if !is_amount(raw.value) => Err(QrisError::InvalidAmount {
            offset: raw.offset,
            found: raw.value.to_owned(),
        }),
        63 if raw.value.len() != 4 || !raw.value.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Err(QrisError::InvalidCrcField {
                offset: raw.offset,
                found: format!("{}{}{}", raw.tag, raw.length, raw.value),
            })
        }
        _ => Ok(()),
    }
}

/// EMV amount: up to 13 characters, ASCII digits with at most one `.`, at least one digit.
fn is_amount(text: &str) -> bool {
    text.len() <= 13
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && text.bytes().any(|b| b.is_ascii_digit())
}

impl Qris {
    /// Root data objects in payload order (tag 63 included).
    pub fn objects(&self) -> &[DataObject] {
        &self.objects
    }

    /// Serialises the objects back to a payload with a freshly computed CRC (four uppercase hex digits).
    pub fn to_payload(&self) -> String {
        let mut out = String::with_capacity(MAX_PAYLOAD_CHARS);
        for object in self.objects.iter().filter(|o| o.tag != "63") {
            tlv::write_object(object, &mut out);
        }
        out.push_str("6304");
        let crc = crc::crc_hex(out.as_bytes());
        out.push_str(&crc);
        out
    }
}
