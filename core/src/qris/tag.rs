//! The EMV MPM / QRIS tag dictionary: which tags hold templates and what each tag is called.
//!
//! Root templates: 26–51 (merchant account information; 02–25 are the card networks' primitive slots),
//! 62 (additional data) and 64 (language template). 80–99 (unreserved) are read as templates when their
//! value parses as TLV and kept primitive otherwise: issuers put both shapes there, and either way the
//! value is re-serialised character for character. Inside 62, sub-tags 50–99 (payment-system specific)
//! follow the same rule. Every other nested object is primitive.

/// How the value of a data object is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// Text.
    Primitive,
    /// Nested data objects; a value that does not parse as TLV is an error.
    Template,
    /// Nested data objects when the value parses as TLV, text otherwise.
    TemplateIfTlv,
}

/// The number of a two-digit tag (`"26"` → 26); `None` for anything else.
pub(super) fn number(tag: &str) -> Option<u8> {
    match tag.as_bytes() {
        [tens @ b'0'..=b'9', units @ b'0'..=b'9'] => Some((tens - b'0') * 10 + (units - b'0')),
        _ => None,
    }
}

/// The shape of root tag `tag`.
pub(super) fn root_shape(tag: u8) -> Shape {
    match tag {
        26..=51 | 62 | 64 => Shape::Template,
        80..=99 => Shape::TemplateIfTlv,
        _ => Shape::Primitive,
    }
}

/// The shape of sub-tag `tag` inside root template `parent`.
pub(super) fn child_shape(parent: u8, tag: u8) -> Shape {
    match (parent, tag) {
        (62, 50..=99) => Shape::TemplateIfTlv,
        _ => Shape::Primitive,
    }
}

/// What root tag `tag` is called.
pub(super) fn root_name(tag: u8) -> &'static str {
    match tag {
        0 => "Payload Format Indicator",
        1 => "Point of Initiation Method",
        2..=50 => "Merchant Account Information",
        51 => "Merchant Account Information (National Merchant ID)",
        52 => "Merchant Category Code",
        53 => "Transaction Currency",
        54 => "Transaction Amount",
        55 => "Tip or Convenience Indicator",
        56 => "Value of Convenience Fee Fixed",
        57 => "Value of Convenience Fee Percentage",
        58 => "Country Code",
        59 => "Merchant Name",
        60 => "Merchant City",
        61 => "Postal Code",
        62 => "Additional Data Field Template",
        63 => "CRC",
        64 => "Merchant Information - Language Template",
        65..=79 => "RFU for EMVCo",
        _ => "Unreserved Template",
    }
}

/// What sub-tag `tag` of root template `parent` is called.
pub(super) fn child_name(parent: u8, tag: u8) -> &'static str {
    match (parent, tag) {
        (26..=45, 1) => "Merchant PAN",
        (26..=45, 2) => "Merchant ID",
        (26..=45 | 51, 3) => "Merchant Criteria",
        (51, 2) => "National Merchant ID (NMID)",
        (2..=51 | 80..=99, 0) => "Globally Unique Identifier",
        (2..=51, _) => "Payment Network Specific",
        (62, 1) => "Bill Number",
        (62, 2) => "Mobile Number",
        (62, 3) => "Store Label",
        (62, 4) => "Loyalty Number",
        (62, 5) => "Reference Label",
        (62, 6) => "Customer Label",
        (62, 7) => "Terminal Label",
        (62, 8) => "Purpose of Transaction",
        (62, 9) => "Additional Consumer Data Request",
        (62, 10) => "Merchant Tax ID",
        (62, 11) => "Merchant Channel",
        (62, 50..=99) => "Payment System Specific Template",
        (64, 0) => "Language Preference",
        (64, 1) => "Merchant Name - Alternate Language",
        (64, 2) => "Merchant City - Alternate Language",
        (80..=99, _) => "Context Specific Data",
        _ => "RFU for EMVCo",
    }
}

/// What an object inside a sub-template of 62 (sub-tags 50–99) is called.
pub(super) fn grandchild_name(tag: u8) -> &'static str {
    match tag {
        0 => "Globally Unique Identifier",
        _ => "Payment System Specific",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_ascii_digits_are_a_tag() {
        assert_eq!(number("00"), Some(0));
        assert_eq!(number("59"), Some(59));
        assert_eq!(number("99"), Some(99));
        for bad in ["", "5", "590", "5a", "a5", "-1", "٥٩", "５９"] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn templates_are_the_merchant_accounts_additional_data_and_language() {
        for tag in 26..=51 {
            assert_eq!(root_shape(tag), Shape::Template, "tag {tag}");
        }
        assert_eq!(root_shape(62), Shape::Template);
        assert_eq!(root_shape(64), Shape::Template);
        assert_eq!(root_shape(80), Shape::TemplateIfTlv);
        assert_eq!(root_shape(99), Shape::TemplateIfTlv);
        for tag in [0, 1, 2, 25, 52, 54, 58, 59, 60, 61, 63, 65, 79] {
            assert_eq!(root_shape(tag), Shape::Primitive, "tag {tag}");
        }
        assert_eq!(child_shape(62, 50), Shape::TemplateIfTlv);
        assert_eq!(child_shape(62, 7), Shape::Primitive);
        assert_eq!(child_shape(26, 50), Shape::Primitive);
    }

    #[test]
    fn qris_sub_tags_have_their_qris_names() {
        assert_eq!(child_name(26, 0), "Globally Unique Identifier");
        assert_eq!(child_name(51, 2), "National Merchant ID (NMID)");
        assert_eq!(child_name(62, 7), "Terminal Label");
        assert_eq!(child_name(64, 1), "Merchant Name - Alternate Language");
    }
}
