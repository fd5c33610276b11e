//! QRIS: EMV Merchant-Presented Mode payloads with the Indonesian profile. Parsing into tags (with the
//! nested templates), CRC-16/CCITT-FALSE, a summary for people, and the static → dynamic conversion.
//!
//! SKELETON: the bodies are filled by the core QRIS work; the signatures are the contract the server and
//! the forwarder build on.

use serde::Serialize;

/// Why a payload was refused. Each variant says what and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrisError {
    /// Placeholder until the codec lands.
    #[error("QRIS codec not implemented yet")]
    Unimplemented,
}

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
    /// Nested data objects (26–51 merchant account templates, 62 additional data, 64 language, …).
    Template(Vec<DataObject>),
}

/// A parsed payload (root data objects in their original order, CRC checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qris {
    objects: Vec<DataObject>,
}

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
    /// Globally unique identifiers (sub-tag 00) of the merchant account templates 26–45.
    pub acquirers: Vec<String>,
    /// Tag 54 when present, as a JSON number.
    pub amount: Option<serde_json::Number>,
    /// Every data object, for the curious.
    pub tags: Vec<serde_json::Value>,
}

/// Parses and checks a payload (structure and CRC).
pub fn parse(input: &str) -> Result<Qris, QrisError> {
    let _ = input;
    Err(QrisError::Unimplemented)
}

impl Qris {
    /// Root data objects in payload order (tag 63 included).
    pub fn objects(&self) -> &[DataObject] {
        &self.objects
    }

    /// The summary of this payload.
    pub fn summary(&self) -> Summary {
        let root = |tag: &str| {
            self.objects.iter().find_map(|o| match &o.value {
                Value::Primitive(v) if o.tag == tag => Some(v.clone()),
                _ => None,
            })
        };
        Summary {
            valid: true,
            point_of_initiation: if root("01").as_deref() == Some("12") {
                PointOfInitiation::Dynamic
            } else {
                PointOfInitiation::Static
            },
            merchant_name: root("59"),
            merchant_city: root("60"),
            postal_code: root("61"),
            nmid: None,
            acquirers: Vec::new(),
            amount: None,
            tags: Vec::new(),
        }
    }

    /// Serialises the objects back to a payload with a freshly computed CRC.
    pub fn to_payload(&self) -> String {
        fn write(objects: &[DataObject], out: &mut String) {
            for o in objects.iter().filter(|o| o.tag != "63") {
                let mut inner = String::new();
                match &o.value {
                    Value::Primitive(v) => inner.push_str(v),
                    Value::Template(children) => write(children, &mut inner),
                }
                out.push_str(&format!("{}{:02}{}", o.tag, inner.chars().count(), inner));
            }
        }
        let mut out = String::new();
        write(&self.objects, &mut out);
        out.push_str("6304");
        let crc = crc16(out.as_bytes());
        out.push_str(&format!("{crc:04X}"));
        out
    }
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over `data`, as tag 63 carries it.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0xFFFF_u16, |mut crc, byte| {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
        crc
    })
}

/// Checks that `payload` is a static Indonesian QRIS that can be made dynamic; returns its summary.
pub fn check_static(payload: &str) -> Result<Summary, QrisError> {
    let _ = payload;
    Err(QrisError::Unimplemented)
}

/// Turns a static QRIS into a dynamic one for `amount` Rupiah (see the module docs for the rules).
pub fn to_dynamic(payload: &str, amount: u64) -> Result<String, QrisError> {
    let _ = (payload, amount);
    Err(QrisError::Unimplemented)
}
