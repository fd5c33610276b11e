//! Test fixtures: the vendored QRIS corpus and a deliberately naive payload builder (independent of the
//! codec's writer) for hand-made payloads.

use super::crc::crc16;

/// The corpus, vendored in the repository so that a clean clone can run the tests.
const CORPUS: &str = include_str!("../../../tests/corpus/qris-vectors.tsv");

/// One row of `tests/corpus/qris-vectors.tsv`.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// `valid`, `invalid` or `dynamic`.
    pub(super) kind: String,
    /// The row's name (not unique: dynamic rows repeat it per amount).
    pub(super) name: String,
    /// The payload.
    pub(super) payload: String,
    /// For dynamic rows, the amount.
    pub(super) amount: Option<u64>,
    /// For dynamic rows, the exact expected dynamic payload.
    pub(super) expected: Option<String>,
}

/// Every row of the corpus.
pub(super) fn rows() -> Vec<Row> {
    CORPUS
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let field = |i: usize| fields.get(i).copied().unwrap_or_default();
            Row {
                kind: field(0).to_owned(),
                name: field(1).to_owned(),
                payload: field(2).to_owned(),
                amount: Some(field(3))
                    .filter(|a| !a.is_empty())
                    .map(|a| a.parse().expect("corpus amounts are integers")),
                expected: Some(field(4)).filter(|p| !p.is_empty()).map(str::to_owned),
            }
        })
        .collect()
}

/// The first row of `kind` named `name`.
pub(super) fn corpus(kind: &str, name: &str) -> Row {
    rows()
        .into_iter()
        .find(|row| row.kind == kind && row.name == name)
        .unwrap_or_else(|| panic!("corpus has a {kind} row named {name}"))
}

/// One TLV object, its length counted in characters.
pub(super) fn tlv(tag: &str, value: &str) -> String {
    format!("{tag}{:02}{value}", value.chars().count())
}

/// The objects concatenated, then `6304` and the CRC over the UTF-8 bytes.
pub(super) fn payload(objects: &[String]) -> String {
    let mut text = objects.concat();
    text.push_str("6304");
    let crc = crc16(text.as_bytes());
    format!("{text}{crc:04X}")
}

/// A static Indonesian QRIS for merchant `name` (DANA acquirer, NMID, city, postal code, store label).
pub(super) fn static_qris(name: &str) -> String {
    payload(&[
        tlv("00", "01"),
        tlv("01", "11"),
        tlv(
            "26",
            &[
                tlv("00", "ID.DANA.WWW"),
                tlv("01", "936009153022591481"),
                tlv("02", "022591481"),
                tlv("03", "UMI"),
            ]
            .concat(),
        ),
        tlv(
            "51",
            &[
                tlv("00", "ID.CO.QRIS.WWW"),
                tlv("02", "ID1020017611473"),
                tlv("03", "UMI"),
            ]
            .concat(),
        ),
        tlv("52", "5812"),
        tlv("53", "360"),
        tlv("58", "ID"),
        tlv("59", name),
        tlv("60", "Kab. Demak"),
        tlv("61", "59567"),
        tlv("62", &tlv("07", "A01")),
    ])
}
