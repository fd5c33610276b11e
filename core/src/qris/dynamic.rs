//! Static → dynamic conversion, and the check the server runs before it stores a merchant's static QRIS.
//!
//! The conversion works on parsed objects, never on the text: point of initiation `01` becomes `12`, the
//! amount and fee objects 54–57 are dropped, a new `54` is inserted immediately before the first root tag
//! ≥ 58, every other object is written back byte-for-byte in its original order, and the CRC is
//! recomputed (four uppercase hex digits). Text-level converters break on a merchant named
//! `TOKO 5802ID 010211`; this one cannot, because a merchant name is only ever the value of tag 59.

use super::crc::crc_hex;
use super::error::QrisError;
use super::summary::Summary;
use super::tlv;
use super::{MAX_PAYLOAD_CHARS, Qris, Value, parse, tag};

/// The largest amount a dynamic QRIS carries: tag 54 holds at most 13 characters.
pub const MAX_AMOUNT: u64 = 9_999_999_999_999;

/// Checks that `payload` is a static Indonesian QRIS that can be made dynamic; returns its summary.
///
/// Valid (structure and CRC), static (`01` = `11`), a QRIS (`53` = `360`, `58` = `ID`), and convertible:
/// even with the largest amount ([`MAX_AMOUNT`]) the dynamic payload fits in 512 characters, so every
/// later [`to_dynamic`] with an amount in range succeeds.
pub fn check_static(payload: &str) -> Result<Summary, QrisError> {
    let qris = parse(payload)?;
    ensure_static_qris(&qris)?;
    dynamic_payload(&qris, MAX_AMOUNT)?;
    Ok(qris.summary())
}

/// Turns a static QRIS into a dynamic one for `amount` Rupiah (1..=[`MAX_AMOUNT`]).
///
/// Refuses a payload that does not parse, is already dynamic (or has no tag 01), is not an Indonesian
/// QRIS, or whose result would exceed 512 characters.
pub fn to_dynamic(payload: &str, amount: u64) -> Result<String, QrisError> {
    let qris = parse(payload)?;
    ensure_static_qris(&qris)?;
    dynamic_payload(&qris, amount)
}

fn ensure_static_qris(qris: &Qris) -> Result<(), QrisError> {
    match qris.primitive("01") {
        None => return Err(QrisError::MissingPointOfInitiation),
        Some("12") => return Err(QrisError::AlreadyDynamic),
        // The parser accepts only 11 and 12.
        Some(_) => {}
    }
    for (tag, name, expected) in [
        ("53", "Transaction Currency", "360"),
        ("58", "Country Code", "ID"),
    ] {
        let found = qris.primitive(tag);
        if found != Some(expected) {
            return Err(QrisError::NotQris {
                tag,
                name,
                expected,
                found: found.map(str::to_owned),
            });
        }
    }
    Ok(())
}

fn dynamic_payload(qris: &Qris, amount: u64) -> Result<String, QrisError> {
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(QrisError::AmountOutOfRange { amount });
    }
    let amount = amount.to_string();
    let mut out = String::with_capacity(MAX_PAYLOAD_CHARS);
    let mut amount_written = false;
    for object in qris.objects() {
        let number = tag::number(&object.tag);
        match number {
            // Amount, tip indicator and fees of the static payload do not carry over.
            Some(54..=57) => continue,
            // Written below, from the payload as it now reads.
            Some(63) => break,
            _ => {}
        }
        if !amount_written && number >= Some(58) {
            write_primitive(&mut out, "54", &amount);
            amount_written = true;
        }
        match (&*object.tag, &object.value) {
            ("01", Value::Primitive(_)) => write_primitive(&mut out, "01", "12"),
            _ => tlv::write_object(object, &mut out),
        }
    }
    if !amount_written {
        // Only 63 followed, and 63 ≥ 58: the amount goes right before the CRC.
        write_primitive(&mut out, "54", &amount);
    }
    out.push_str("6304");
    let crc = crc_hex(out.as_bytes());
    out.push_str(&crc);

    let length = out.chars().count();
    if length > MAX_PAYLOAD_CHARS {
        return Err(QrisError::DynamicTooLong { length });
    }
    Ok(out)
}

fn write_primitive(out: &mut String, tag: &str, value: &str) {
    tlv::write_object(
        &super::DataObject {
            tag: tag.to_owned(),
            value: Value::Primitive(value.to_owned()),
        },
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::super::crc::crc16;
    use super::super::fixture::{corpus, payload, rows, static_qris, tlv};
    use super::super::summary::PointOfInitiation;
    use super::*;

    /// The root objects of `payload`, each as written (tag, length, value).
    fn root_objects(payload: &str) -> Vec<String> {
        parse(payload)
            .expect("valid payload")
            .objects()
            .iter()
            .map(|o| {
                let mut text = String::new();
                tlv::write_object(o, &mut text);
                text
            })
            .collect()
    }

    #[test]
    fn every_dynamic_corpus_row_converts_to_exactly_the_expected_payload() {
        let dynamic_rows: Vec<_> = rows().into_iter().filter(|r| r.kind == "dynamic").collect();
        assert!(!dynamic_rows.is_empty());
        for row in dynamic_rows {
            let amount = row.amount.expect("dynamic rows have an amount");
            let expected = row.expected.expect("dynamic rows have an expected payload");
            assert_eq!(
                to_dynamic(&row.payload, amount).as_deref(),
                Ok(expected.as_str()),
                "{} amount {amount}",
                row.name
            );
        }
    }

    #[test]
    fn the_amount_goes_right_before_58_and_everything_else_stays_in_place() {
        let original = root_objects(&static_qris("Warung Sayur Bu Sugeng"));
        let converted = root_objects(
            &to_dynamic(&static_qris("Warung Sayur Bu Sugeng"), 25042).expect("convertible"),
        );
        let mut expected = original.clone();
        expected[1] = "010212".to_owned();
        let at_58 = expected
            .iter()
            .position(|o| o.starts_with("58"))
            .expect("has 58");
        expected.insert(at_58, "540525042".to_owned());
        // 63 is recomputed; compare everything before it.
        assert_eq!(
            converted[..converted.len() - 1],
            expected[..expected.len() - 1]
        );
    }

    #[test]
    fn a_merchant_named_5802id_keeps_its_name_and_gets_one_amount() {
        // Converters that split the text on "5802ID" insert the amount inside the name.
        let name = "TOKO 5802ID 010211";
        let dynamic = to_dynamic(&static_qris(name), 15000).expect("convertible");
        let parsed = parse(&dynamic).expect("re-parses");
        let summary = parsed.summary();
        assert_eq!(summary.merchant_name.as_deref(), Some(name));
        assert_eq!(
            summary.amount.map(|a| a.to_string()).as_deref(),
            Some("15000")
        );
        assert_eq!(
            dynamic.matches("5802ID").count(),
            2,
            "one in 58, one in the name"
        );
        let tags: Vec<&str> = parsed.objects().iter().map(|o| o.tag.as_str()).collect();
        assert_eq!(
            tags,
            [
                "00", "01", "26", "51", "52", "53", "54", "58", "59", "60", "61", "62", "63"
            ]
        );
    }

    #[test]
    fn only_the_point_of_initiation_changes_not_every_010211() {
        // Converters that replace every "010211" also rewrite the name and the account data.
        let name = "TOKO 5802ID 010211";
        let dynamic = to_dynamic(&static_qris(name), 15000).expect("convertible");
        assert!(dynamic.starts_with("000201010212"));
        assert!(dynamic.contains("5918TOKO 5802ID 010211"));
        assert_eq!(
            parse(&dynamic)
                .expect("re-parses")
                .summary()
                .merchant_name
                .as_deref(),
            Some(name)
        );
    }

    #[test]
    fn an_old_amount_tip_and_fees_are_removed_not_kept() {
        // A static payload that (unusually) carries an amount and convenience fees.
        let with_amount = payload(&[
            tlv("00", "01"),
            tlv("01", "11"),
            tlv(
                "26",
                &(tlv("00", "ID.DANA.WWW") + &tlv("01", "936009153022591481")),
            ),
            tlv("52", "5812"),
            tlv("53", "360"),
            tlv("54", "10000"),
            tlv("55", "02"),
            tlv("56", "500"),
            tlv("57", "1.5"),
            tlv("58", "ID"),
            tlv("59", "Kopi"),
            tlv("60", "Bekasi"),
        ]);
        let dynamic = to_dynamic(&with_amount, 25042).expect("convertible");
        let parsed = parse(&dynamic).expect("re-parses");
        let tags: Vec<&str> = parsed.objects().iter().map(|o| o.tag.as_str()).collect();
        assert_eq!(
            tags,
            ["00", "01", "26", "52", "53", "54", "58", "59", "60", "63"]
        );
        assert_eq!(parsed.primitive("54"), Some("25042"));
        assert!(!dynamic.contains("540510000"));
    }

    #[test]
    fn a_crc_below_0x1000_keeps_its_leading_zero() {
        // Converters that print the CRC with `toString(16)` drop the leading zero.
        let static_payload = static_qris("Warung Sayur Bu Sugeng");
        let (amount, dynamic) = (1..)
            .map(|amount| {
                (
                    amount,
                    to_dynamic(&static_payload, amount).expect("convertible"),
                )
            })
            .find(|(_, dynamic)| crc16(&dynamic.as_bytes()[..dynamic.len() - 4]) < 0x1000)
            .expect("some amount gives a CRC below 0x1000");
        let crc = &dynamic[dynamic.len() - 4..];
        assert!(crc.starts_with('0'), "amount {amount}: CRC {crc}");
        assert_eq!(&dynamic[dynamic.len() - 8..dynamic.len() - 4], "6304");
        assert!(parse(&dynamic).is_ok());
    }

    #[test]
    fn the_crc_is_over_utf8_bytes_not_utf16_units() {
        let name = "Kopi Ñusantara 最佳 ☕";
        let dynamic = to_dynamic(&static_qris(name), 25042).expect("convertible");
        let body = &dynamic[..dynamic.len() - 4];
        let utf8 = format!("{:04X}", crc16(body.as_bytes()));
        // What JavaScript's charCodeAt-based converters compute: one "byte" per UTF-16 unit, truncated.
        let utf16: Vec<u8> = body.encode_utf16().map(|unit| unit as u8).collect();
        let utf16 = format!("{:04X}", crc16(&utf16));
        assert_ne!(utf8, utf16, "the name makes the two differ");
        assert!(dynamic.ends_with(&utf8));
        assert_eq!(
            parse(&dynamic)
                .expect("re-parses")
                .summary()
                .merchant_name
                .as_deref(),
            Some(name)
        );
    }

    #[test]
    fn a_multi_byte_name_keeps_its_length_in_characters() {
        let name = "Warung Bu Ñoño 最佳运输";
        let dynamic = to_dynamic(&static_qris(name), 25042).expect("convertible");
        assert!(dynamic.contains(&format!("59{:02}{name}", name.chars().count())));
        assert_ne!(
            name.chars().count(),
            name.len(),
            "a byte length would differ"
        );
        assert!(!dynamic.contains(&format!("59{:02}{name}", name.len())));
    }

    #[test]
    fn an_already_dynamic_qris_is_refused() {
        let row = corpus("valid", "spring-qris-DOKU-dyn");
        assert_eq!(
            to_dynamic(&row.payload, 25042),
            Err(QrisError::AlreadyDynamic)
        );
        assert_eq!(check_static(&row.payload), Err(QrisError::AlreadyDynamic));
    }

    #[test]
    fn a_payload_that_is_not_an_indonesian_qris_is_refused() {
        // Pix has no tag 01 at all: it cannot be told static, let alone converted.
        let brazil = corpus("valid", "pix-BCB-manual-static").payload;
        assert_eq!(
            to_dynamic(&brazil, 100),
            Err(QrisError::MissingPointOfInitiation)
        );
        let singapore_static = payload(&[
            tlv("00", "01"),
            tlv("01", "11"),
            tlv("26", &tlv("00", "SG.PAYNOW")),
            tlv("53", "702"),
            tlv("58", "SG"),
            tlv("59", "Nerdherd"),
        ]);
        assert_eq!(
            to_dynamic(&singapore_static, 100),
            Err(QrisError::NotQris {
                tag: "53",
                name: "Transaction Currency",
                expected: "360",
                found: Some("702".to_owned())
            })
        );
        assert_eq!(
            to_dynamic(&singapore_static, 100)
                .expect_err("Singapore dollars")
                .to_string(),
            "not an Indonesian QRIS: tag 53 (Transaction Currency) is \"702\", expected \"360\""
        );
        let no_country = payload(&[
            tlv("00", "01"),
            tlv("01", "11"),
            tlv("53", "360"),
            tlv("59", "Kopi"),
        ]);
        let error = to_dynamic(&no_country, 100).expect_err("no tag 58");
        assert_eq!(
            error.to_string(),
            "not an Indonesian QRIS: tag 58 (Country Code) is missing, expected \"ID\""
        );
    }

    #[test]
    fn the_amount_is_1_to_13_digits_of_rupiah() {
        let static_payload = static_qris("Kopi");
        assert_eq!(
            to_dynamic(&static_payload, 0),
            Err(QrisError::AmountOutOfRange { amount: 0 })
        );
        assert_eq!(
            to_dynamic(&static_payload, MAX_AMOUNT + 1),
            Err(QrisError::AmountOutOfRange {
                amount: MAX_AMOUNT + 1
            })
        );
        let largest = to_dynamic(&static_payload, MAX_AMOUNT).expect("13 digits fit");
        assert!(largest.contains("54139999999999999"));
        let smallest = to_dynamic(&static_payload, 1).expect("1 Rupiah");
        assert!(smallest.contains("540115802ID"));
    }

    #[test]
    fn a_result_over_512_characters_is_refused_and_check_static_sees_it_coming() {
        // Fill unreserved tags 80–84 so that the static payload is exactly 500 characters.
        let mut objects = vec![
            tlv("00", "01"),
            tlv("01", "11"),
            tlv("26", &tlv("00", "ID.DANA.WWW")),
            tlv("53", "360"),
            tlv("58", "ID"),
            tlv("59", "Kopi"),
        ];
        for tag in 80..=83 {
            objects.push(tlv(&tag.to_string(), &"X".repeat(99)));
        }
        let base = payload(&objects).chars().count();
        // Pad so that the static payload is 500 characters: a 13-digit amount (17 more) overflows,
        // a 5-digit one (9 more) fits.
        objects.push(tlv("84", &"Y".repeat(500 - base - 4)));
        let static_payload = payload(&objects);
        assert_eq!(static_payload.chars().count(), 500);

        assert!(to_dynamic(&static_payload, 25042).is_ok());
        assert_eq!(
            to_dynamic(&static_payload, MAX_AMOUNT),
            Err(QrisError::DynamicTooLong { length: 517 })
        );
        assert_eq!(
            check_static(&static_payload),
            Err(QrisError::DynamicTooLong { length: 517 })
        );
    }

    #[test]
    fn check_static_accepts_every_static_corpus_qris_and_summarises_it() {
        for name in [
            "spring-qris-SPINPAY",
            "spring-qris-DOKU-static",
            "verssache-DANA",
            "jibrilhp-FINPAY",
            "bhimsur-BCA",
            "januarfonti-test-static",
            "qris-gen-README-Titip",
        ] {
            let summary = check_static(&corpus("valid", name).payload)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                summary.point_of_initiation,
                PointOfInitiation::Static,
                "{name}"
            );
            assert!(summary.nmid.is_some(), "{name}");
        }
    }

    #[test]
    fn a_broken_payload_is_refused_with_the_parse_error() {
        let row = corpus("invalid", "misterdevs-README");
        assert!(matches!(
            to_dynamic(&row.payload, 25042),
            Err(QrisError::InvalidCrcField { .. })
        ));
    }
}
