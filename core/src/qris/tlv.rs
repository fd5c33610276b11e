//! The TLV layer: a two-digit tag, a two-digit length counted in *characters*, then the value. Reading walks
//! the text character by character, so it never cuts a multi-byte character in two; writing is its exact
//! inverse, which is what keeps untouched objects byte-for-byte identical through a conversion.

use std::fmt::Write as _;

use super::error::QrisError;
use super::tag::{self, Shape};
use super::{DataObject, Value};

/// A reading position: the text not yet read and its offset (in characters) in the whole payload.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cursor<'a> {
    rest: &'a str,
    offset: usize,
}

impl<'a> Cursor<'a> {
    /// Starts reading `text`, whose first character sits at `offset` in the payload.
    pub(super) fn new(text: &'a str, offset: usize) -> Self {
        Self { rest: text, offset }
    }

    /// Offset of the next character in the payload.
    pub(super) fn offset(&self) -> usize {
        self.offset
    }

    /// True once everything is read.
    pub(super) fn is_at_end(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next `n` characters, or `None` (and nothing consumed) when fewer remain.
    pub(super) fn take(&mut self, n: usize) -> Option<&'a str> {
        let end = byte_len(self.rest, n)?;
        // `end` comes from `char_indices`, so both halves are on a character boundary; `get` keeps even a
        // mistake here from panicking.
        let head = self.rest.get(..end)?;
        self.rest = self.rest.get(end..)?;
        self.offset += n;
        Some(head)
    }

    /// What is left, for error messages.
    fn rest(&self) -> &'a str {
        self.rest
    }
}

/// Bytes taken by the first `n` characters of `text`; `None` when it has fewer.
fn byte_len(text: &str, n: usize) -> Option<usize> {
    match n.checked_sub(1) {
        None => Some(0),
        Some(last) => text
            .char_indices()
            .nth(last)
            .map(|(at, c)| at + c.len_utf8()),
    }
}

/// One data object as read, before its value is interpreted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Raw<'a> {
    /// The two-digit tag as written.
    pub(super) tag: &'a str,
    /// The same tag as a number.
    pub(super) number: u8,
    /// Offset of the tag in the payload.
    pub(super) offset: usize,
    /// The two-digit length as written.
    pub(super) length: &'a str,
    /// The value.
    pub(super) value: &'a str,
    /// Offset of the value in the payload.
    pub(super) value_offset: usize,
}

/// Reads the next object. `parent` is the path of the enclosing template (`None` at the root), used to
/// name the object in errors (`26.01`).
pub(super) fn read_object<'a>(
    cursor: &mut Cursor<'a>,
    parent: Option<&str>,
) -> Result<Raw<'a>, QrisError> {
    let scope = || match parent {
        None => "payload".to_owned(),
        Some(parent) => format!("template {parent}"),
    };
    let path = |tag: &str| match parent {
        None => tag.to_owned(),
        Some(parent) => format!("{parent}.{tag}"),
    };

    let offset = cursor.offset();
    let Some(tag) = cursor.take(2) else {
        return Err(QrisError::UnexpectedEnd {
            scope: scope(),
            offset,
            expected: "a two-digit tag".to_owned(),
            found: cursor.rest().to_owned(),
        });
    };
    let Some(number) = tag::number(tag) else {
        return Err(QrisError::InvalidTag {
            scope: scope(),
            offset,
            found: tag.to_owned(),
        });
    };

    let length_offset = cursor.offset();
    let Some(length_text) = cursor.take(2) else {
        return Err(QrisError::UnexpectedEnd {
            scope: scope(),
            offset: length_offset,
            expected: format!("a two-digit length for tag {}", path(tag)),
            found: cursor.rest().to_owned(),
        });
    };
    let Some(length) = tag::number(length_text) else {
        return Err(QrisError::InvalidLength {
            tag: path(tag),
            offset,
            found: length_text.to_owned(),
        });
    };
    if length == 0 {
        return Err(QrisError::EmptyValue {
            tag: path(tag),
            offset,
        });
    }

    let value_offset = cursor.offset();
    let Some(value) = cursor.take(usize::from(length)) else {
        return Err(QrisError::LengthExceedsRemaining {
            tag: path(tag),
            length: usize::from(length),
            remaining: cursor.rest().chars().count(),
            offset,
        });
    };
    Ok(Raw {
        tag,
        number,
        offset,
        length: length_text,
        value,
        value_offset,
    })
}

/// Interprets a root object: primitive, template, or template-if-it-parses (see [`super::tag`]).
pub(super) fn decode_root(raw: &Raw<'_>) -> Result<DataObject, QrisError> {
    let value = match tag::root_shape(raw.number) {
        Shape::Primitive => Value::Primitive(raw.value.to_owned()),
        Shape::Template => Value::Template(children(raw, raw.tag, Some(raw.number))?),
        Shape::TemplateIfTlv => template_if_tlv(raw, raw.tag, Some(raw.number)),
    };
    Ok(DataObject {
        tag: raw.tag.to_owned(),
        value,
    })
}

/// Reads the value of `raw` as nested objects. `root` is the root template's number when `raw` is a root
/// object (its children may be templates themselves), `None` one level deeper (children are primitive).
fn children(raw: &Raw<'_>, path: &str, root: Option<u8>) -> Result<Vec<DataObject>, QrisError> {
    let mut cursor = Cursor::new(raw.value, raw.value_offset);
    let mut objects = Vec::new();
    while !cursor.is_at_end() {
        let child = read_object(&mut cursor, Some(path))?;
        let shape = root.map_or(Shape::Primitive, |root| {
            tag::child_shape(root, child.number)
        });
        let value = match shape {
            Shape::Primitive => Value::Primitive(child.value.to_owned()),
            Shape::Template => {
                Value::Template(children(&child, &format!("{path}.{}", child.tag), None)?)
            }
            Shape::TemplateIfTlv => template_if_tlv(&child, &format!("{path}.{}", child.tag), None),
        };
        objects.push(DataObject {
            tag: child.tag.to_owned(),
            value,
        });
    }
    Ok(objects)
}

fn template_if_tlv(raw: &Raw<'_>, path: &str, root: Option<u8>) -> Value {
    match children(raw, path, root) {
        Ok(objects) => Value::Template(objects),
        // Not TLV: an issuer's free-form value, kept as text.
        Err(_) => Value::Primitive(raw.value.to_owned()),
    }
}

/// Appends `objects` to `out` as TLV text, lengths in characters.
pub(super) fn write_objects(objects: &[DataObject], out: &mut String) {
    for object in objects {
        write_object(object, out);
    }
}

/// Appends one object to `out`.
pub(super) fn write_object(object: &DataObject, out: &mut String) {
    out.push_str(&object.tag);
    // Parsed objects hold 1..=99 characters, so this is always two digits.
    write!(out, "{:02}", value_len(&object.value)).expect("writing to a String cannot fail");
    match &object.value {
        Value::Primitive(text) => out.push_str(text),
        Value::Template(children) => write_objects(children, out),
    }
}

/// Length of a value as written, in characters.
fn value_len(value: &Value) -> usize {
    match value {
        Value::Primitive(text) => text.chars().count(),
        Value::Template(children) => children
            .iter()
            .map(|child| 4 + value_len(&child.value))
            .sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> Result<Vec<(String, String)>, QrisError> {
        let mut cursor = Cursor::new(text, 0);
        let mut out = Vec::new();
        while !cursor.is_at_end() {
            let raw = read_object(&mut cursor, None)?;
            out.push((raw.tag.to_owned(), raw.value.to_owned()));
        }
        Ok(out)
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        // "Café ☕" is 6 characters but 10 bytes.
        let objects = read_all("5906Café ☕6007BEIJING").expect("character lengths");
        assert_eq!(
            objects,
            [
                ("59".to_owned(), "Café ☕".to_owned()),
                ("60".to_owned(), "BEIJING".to_owned())
            ]
        );
    }

    #[test]
    fn a_byte_length_over_multi_byte_characters_is_refused_not_sliced() {
        // A converter that writes byte lengths puts 10 here; reading 10 characters runs past the end.
        assert_eq!(
            read_all("5910Café ☕"),
            Err(QrisError::LengthExceedsRemaining {
                tag: "59".into(),
                length: 10,
                remaining: 6,
                offset: 0
            })
        );
        // And a length that ends inside a multi-byte character never slices it.
        let mut cursor = Cursor::new("最佳运输", 0);
        assert_eq!(cursor.take(1), Some("最"));
        assert_eq!(cursor.take(4), None);
        assert_eq!(cursor.take(3), Some("佳运输"));
        assert_eq!(cursor.offset(), 4);
    }

    #[test]
    fn tags_and_lengths_are_two_ascii_digits() {
        assert!(matches!(
            read_all("5A04ABCD"),
            Err(QrisError::InvalidTag { offset: 0, ref found, .. }) if found == "5A"
        ));
        assert!(matches!(
            read_all("590xABCD"),
            Err(QrisError::InvalidLength { offset: 0, ref found, .. }) if found == "0x"
        ));
        assert!(matches!(
            read_all("59٠٤ABCD"),
            Err(QrisError::InvalidLength { .. })
        ));
        assert!(matches!(
            read_all("5900"),
            Err(QrisError::EmptyValue { offset: 0, .. })
        ));
    }

    #[test]
    fn a_header_cut_short_says_what_was_expected_where() {
        let error = read_all("5902AB6").expect_err("one stray character");
        assert_eq!(
            error.to_string(),
            "payload ends too early: expected a two-digit tag at offset 6, found \"6\""
        );
        let error = read_all("5902AB630").expect_err("a tag without its length");
        assert_eq!(
            error.to_string(),
            "payload ends too early: expected a two-digit length for tag 63 at offset 8, found \"0\""
        );
    }

    #[test]
    fn the_error_message_names_tag_length_remaining_and_offset() {
        let error = read_all("5802ID5936Short").expect_err("too long");
        assert_eq!(
            error.to_string(),
            "tag 59 length 36 exceeds remaining 5 characters at offset 6"
        );
    }

    #[test]
    fn writing_reproduces_what_was_read() {
        let text = "26300012D156000000000510A93FO3230Q64200002ZH0104最佳运输0202北京";
        let mut cursor = Cursor::new(text, 0);
        let mut objects = Vec::new();
        while !cursor.is_at_end() {
            let raw = read_object(&mut cursor, None).expect("valid TLV");
            objects.push(decode_root(&raw).expect("valid templates"));
        }
        let mut out = String::new();
        write_objects(&objects, &mut out);
        assert_eq!(out, text);
    }
}
