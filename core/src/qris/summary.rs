//! What a person needs to recognise a payload: merchant, city, NMID, acquirers, static or dynamic, amount,
//! and every tag by name. It serialises exactly as `webqris qris decode --json` prints it.
//!
//! `tags` lists every root object in payload order as `{"tag": "59", "name": "Merchant Name", "value":
//! "…"}` for a primitive and `{"tag": "26", "name": "Merchant Account Information", "children": [ … ]}`
//! for a template; children have the same shape, their `tag` being the two-digit sub-tag.

use serde::Serialize;
use serde_json::{Number, Value as Json, json};

use super::tag;
use super::{DataObject, Qris, Value};

/// Static (`11`) or dynamic (`12`) point of initiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PointOfInitiation {
    /// `11`: reusable, the payer types the amount.
    Static,
    /// `12`: one transaction, amount in tag 54.
    Dynamic,
}

/// What a person needs to confirm a payload; serialises as `webqris qris decode --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Always `true` (a summary exists only for a valid payload).
    pub valid: bool,
    /// Static or dynamic.
    pub point_of_initiation: PointOfInitiation,
    /// Tag 59.
    pub merchant_name: Option<String>,
    /// Tag 60.
    pub merchant_city: Option<String>,
    /// Tag 61.
    pub postal_code: Option<String>,
    /// National Merchant ID, tag 51 sub-tag 02.
    pub nmid: Option<String>,
    /// Globally unique identifiers (sub-tag 00) of the merchant account templates 26–45, in payload order.
    pub acquirers: Vec<String>,
    /// Tag 54 when present, as a JSON number: an integer for whole amounts (`25042`), a decimal otherwise
    /// (`23.72`).
    pub amount: Option<Number>,
    /// Every data object, in the shape described in the module docs.
    pub tags: Vec<Json>,
}

impl Qris {
    /// The summary of this payload.
    pub fn summary(&self) -> Summary {
        Summary {
            valid: true,
            point_of_initiation: self.point_of_initiation(),
            merchant_name: self.primitive("59").map(str::to_owned),
            merchant_city: self.primitive("60").map(str::to_owned),
            postal_code: self.primitive("61").map(str::to_owned),
            nmid: self.sub_primitive("51", "02").map(str::to_owned),
            acquirers: self
                .objects
                .iter()
                .filter(|o| matches!(tag::number(&o.tag), Some(26..=45)))
                .filter_map(|o| child_primitive(o, "00"))
                .map(str::to_owned)
                .collect(),
            amount: self.primitive("54").and_then(amount_number),
            tags: self
                .objects
                .iter()
                .map(|o| {
                    let number = tag::number(&o.tag).unwrap_or_default();
                    describe(o, tag::root_name(number), &|child| {
                        tag::child_name(number, child)
                    })
                })
                .collect(),
        }
    }

    /// `Dynamic` when tag 01 is `12`; `Static` otherwise (tag 01 is `11`, or absent as EMV allows).
    pub fn point_of_initiation(&self) -> PointOfInitiation {
        if self.primitive("01") == Some("12") {
            PointOfInitiation::Dynamic
        } else {
            PointOfInitiation::Static
        }
    }

    /// The value of primitive root tag `tag`.
    pub(super) fn primitive(&self, tag: &str) -> Option<&str> {
        self.objects
            .iter()
            .find(|o| o.tag == tag)
            .and_then(|o| match &o.value {
                Value::Primitive(text) => Some(text.as_str()),
                Value::Template(_) => None,
            })
    }

    /// The value of primitive sub-tag `sub` of root template `tag`.
    fn sub_primitive(&self, tag: &str, sub: &str) -> Option<&str> {
        self.objects
            .iter()
            .find(|o| o.tag == tag)
            .and_then(|o| child_primitive(o, sub))
    }
}

/// The first primitive child `sub` of template `object` (nested duplicates are tolerated; the first wins).
fn child_primitive<'a>(object: &'a DataObject, sub: &str) -> Option<&'a str> {
    match &object.value {
        Value::Template(children) => children.iter().find_map(|c| match &c.value {
            Value::Primitive(text) if c.tag == sub => Some(text.as_str()),
            _ => None,
        }),
        Value::Primitive(_) => None,
    }
}

/// Tag 54 as a JSON number. The parser has checked its form (digits, at most one `.`, 13 characters).
pub(super) fn amount_number(text: &str) -> Option<Number> {
    if text.contains('.') {
        text.parse::<f64>().ok().and_then(Number::from_f64)
    } else {
        text.parse::<u64>().ok().map(Number::from)
    }
}

fn describe(object: &DataObject, name: &str, child_name: &dyn Fn(u8) -> &'static str) -> Json {
    match &object.value {
        Value::Primitive(text) => json!({"tag": object.tag, "name": name, "value": text}),
        Value::Template(children) => {
            let children: Vec<Json> = children
                .iter()
                .map(|child| {
                    let number = tag::number(&child.tag).unwrap_or_default();
                    describe(child, child_name(number), &tag::grandchild_name)
                })
                .collect();
            json!({"tag": object.tag, "name": name, "children": children})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{corpus, payload, tlv};
    use super::super::parse;
    use super::*;

    #[test]
    fn a_dana_static_qris_summarises_merchant_city_nmid_and_acquirer() {
        let row = corpus("valid", "verssache-DANA");
        let summary = parse(&row.payload).expect("valid").summary();
        assert_eq!(summary.point_of_initiation, PointOfInitiation::Static);
        assert_eq!(
            summary.merchant_name.as_deref(),
            Some("Warung Sayur Bu Sugeng")
        );
        assert_eq!(summary.merchant_city.as_deref(), Some("Kab. Demak"));
        assert_eq!(summary.postal_code.as_deref(), Some("59567"));
        assert_eq!(summary.nmid.as_deref(), Some("ID1020017611473"));
        assert_eq!(summary.acquirers, ["ID.DANA.WWW"]);
        assert_eq!(summary.amount, None);
    }

    #[test]
    fn a_dynamic_qris_shows_its_amount_as_an_integer() {
        let row = corpus("valid", "spring-qris-BCA-dyn");
        let summary = parse(&row.payload).expect("valid").summary();
        assert_eq!(summary.point_of_initiation, PointOfInitiation::Dynamic);
        assert_eq!(summary.amount, Some(Number::from(49500_u64)));
        assert_eq!(
            serde_json::to_value(&summary).expect("serialises")["amount"],
            json!(49500)
        );
    }

    #[test]
    fn a_decimal_amount_stays_a_decimal() {
        let row = corpus("valid", "EMVCo-AnnexA-sample");
        let summary = parse(&row.payload).expect("valid").summary();
        let json = serde_json::to_value(&summary).expect("serialises");
        assert_eq!(json["amount"], json!(23.72));
        assert_eq!(json["point_of_initiation"], json!("dynamic"));
        // Template 29 and 31 are merchant accounts too: both identifiers are listed.
        assert_eq!(summary.acquirers, ["D15600000000", "D15600000001"]);
    }

    #[test]
    fn summary_json_has_the_command_line_contract_fields() {
        let row = corpus("valid", "spring-qris-SPINPAY");
        let json = serde_json::to_value(parse(&row.payload).expect("valid").summary())
            .expect("serialises");
        assert_eq!(json["valid"], json!(true));
        assert_eq!(json["point_of_initiation"], json!("static"));
        assert_eq!(json["merchant_name"], json!("SPIN"));
        assert_eq!(json["merchant_city"], json!("Jakarta Pusat"));
        assert_eq!(json["postal_code"], json!("10340"));
        assert_eq!(json["nmid"], json!("ID1020038431489"));
        assert_eq!(json["acquirers"], json!(["ID.SPINPAY.WWW"]));
        assert_eq!(json["amount"], Json::Null);
        assert!(json["tags"].is_array());
    }

    #[test]
    fn tags_list_every_object_with_its_name_and_children() {
        let row = corpus("valid", "verssache-DANA");
        let summary = parse(&row.payload).expect("valid").summary();
        let tags: Vec<&str> = summary
            .tags
            .iter()
            .map(|t| t["tag"].as_str().expect("tag is text"))
            .collect();
        assert_eq!(
            tags,
            [
                "00", "01", "26", "51", "52", "53", "58", "59", "60", "61", "63"
            ]
        );
        assert_eq!(
            summary.tags[7],
            json!({"tag": "59", "name": "Merchant Name", "value": "Warung Sayur Bu Sugeng"})
        );
        assert_eq!(
            summary.tags[3],
            json!({"tag": "51", "name": "Merchant Account Information (National Merchant ID)", "children": [
                {"tag": "00", "name": "Globally Unique Identifier", "value": "ID.CO.QRIS.WWW"},
                {"tag": "02", "name": "National Merchant ID (NMID)", "value": "ID1020017611473"},
                {"tag": "03", "name": "Merchant Criteria", "value": "UMI"},
            ]})
        );
        assert_eq!(
            summary.tags[10],
            json!({"tag": "63", "name": "CRC", "value": "58C7"})
        );
    }

    #[test]
    fn a_payment_system_template_inside_62_is_shown_nested() {
        let text = payload(&[
            tlv("00", "01"),
            tlv("01", "11"),
            tlv("62", &(tlv("07", "A01") + &tlv("50", &tlv("00", "ID.X")))),
        ]);
        let summary = parse(&text).expect("valid").summary();
        assert_eq!(
            summary.tags[2]["children"][1],
            json!({"tag": "50", "name": "Payment System Specific Template", "children": [
                {"tag": "00", "name": "Globally Unique Identifier", "value": "ID.X"},
            ]})
        );
    }

    #[test]
    fn without_tag_01_the_payload_counts_as_static() {
        let row = corpus("valid", "pix-BCB-manual-static");
        let summary = parse(&row.payload).expect("valid").summary();
        assert_eq!(summary.point_of_initiation, PointOfInitiation::Static);
        assert_eq!(summary.merchant_name.as_deref(), Some("Fulano de Tal"));
        // 26 is a merchant account template, whatever the country.
        assert_eq!(summary.acquirers, ["br.gov.bcb.pix"]);
    }
}
