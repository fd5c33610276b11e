//! The parser's rules, checked against the vendored corpus, hand-made payloads and generated object trees.

use proptest::prelude::*;
use serde_json::Number;

use super::fixture::{corpus, payload, rows, static_qris, tlv};
use super::tag::{self, Shape};
use super::*;

// ---------------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------------

#[test]
fn every_valid_corpus_row_parses_and_reserialises_identically() {
    let valid: Vec<_> = rows().into_iter().filter(|r| r.kind == "valid").collect();
    assert!(valid.len() >= 10, "the corpus has its valid rows");
    for row in valid {
        let parsed = parse(&row.payload).unwrap_or_else(|e| panic!("{}: {e}", row.name));
        assert_eq!(parsed.to_payload(), row.payload, "{}", row.name);
        assert_eq!(
            parsed.objects().last().map(|o| o.tag.as_str()),
            Some("63"),
            "{}",
            row.name
        );
    }
}

#[test]
fn every_invalid_corpus_row_is_refused_with_a_precise_error() {
    let invalid: Vec<_> = rows().into_iter().filter(|r| r.kind == "invalid").collect();
    assert!(!invalid.is_empty());
    for row in invalid {
        let error = parse(&row.payload).expect_err(&row.name);
        // Each invalid row gets the error it deserves; a new row needs its expectation written here.
        let expected = match row.name.as_str() {
            // "6304M2B3": M is not a hex digit.
            "misterdevs-README" => QrisError::InvalidCrcField {
                offset: 191,
                found: "6304M2B3".to_owned(),
            },
            // "0016ID.CO.GOPAY.WWW": the identifier has 15 characters, not 16, so the next sub-tag reads
            // as "11" with length 89.
            "gh-GOPAY-KopiSenja" => QrisError::LengthExceedsRemaining {
                tag: "26.11".to_owned(),
                length: 89,
                remaining: 34,
                offset: 36,
            },
            other => panic!("no expected error written for invalid row {other}: got {error}"),
        };
        assert_eq!(error, expected, "{}", row.name);
    }
}

#[test]
fn corpus_errors_read_well_for_a_merchant() {
    let error = parse(&corpus("invalid", "gh-GOPAY-KopiSenja").payload).expect_err("invalid");
    assert_eq!(
        error.to_string(),
        "tag 26.11 length 89 exceeds remaining 34 characters at offset 36"
    );
    let error = parse(&corpus("invalid", "misterdevs-README").payload).expect_err("invalid");
    assert_eq!(
        error.to_string(),
        "tag 63 (CRC) at offset 191 must be \"6304\" followed by 4 hex digits, found \"6304M2B3\""
    );
}

#[test]
fn names_and_cities_in_chinese_count_characters_and_crc_covers_utf8() {
    let parsed = parse(&corpus("valid", "EMVCo-AnnexA-sample").payload).expect("valid");
    let language = parsed
        .objects()
        .iter()
        .find(|o| o.tag == "64")
        .expect("has 64");
    assert_eq!(
        language.value,
        Value::Template(vec![
            primitive("00", "ZH"),
            primitive("01", "最佳运输"),
            primitive("02", "北京"),
        ])
    );
}

#[test]
fn unreserved_templates_are_templates_when_their_value_is_tlv() {
    let parsed = parse(&corpus("valid", "EMVCo-AnnexA-sample").payload).expect("valid");
    let unreserved = parsed
        .objects()
        .iter()
        .find(|o| o.tag == "91")
        .expect("has 91");
    assert_eq!(
        unreserved.value,
        Value::Template(vec![
            primitive("00", "A011223344998877"),
            primitive("07", "12345678"),
        ])
    );
}

// ---------------------------------------------------------------------------------------------------
// Rules on the whole payload
// ---------------------------------------------------------------------------------------------------

fn primitive(tag: &str, value: &str) -> DataObject {
    DataObject {
        tag: tag.to_owned(),
        value: Value::Primitive(value.to_owned()),
    }
}

#[test]
fn surrounding_whitespace_is_trimmed_and_offsets_start_after_it() {
    let text = static_qris("Kopi");
    let padded = format!(" \n\t{text}\r\n ");
    assert_eq!(parse(&padded), parse(&text));
    assert_eq!(parse(&padded).expect("valid").to_payload(), text);
    // Offsets count from the first character after the trimmed whitespace.
    let broken = format!("  {text}X");
    assert!(matches!(
        parse(&broken),
        Err(QrisError::UnexpectedEnd { offset, .. }) if offset == text.len()
    ));
}

#[test]
fn the_crc_is_compared_ignoring_case_and_written_in_uppercase() {
    let text = corpus("valid", "verssache-DANA").payload;
    assert!(text.ends_with("58C7"));
    let lower = text.replace("630458C7", "630458c7");
    let parsed = parse(&lower).expect("lowercase hex is the same CRC");
    assert_eq!(parsed.to_payload(), text);
    // The parsed CRC object is uppercase too, so a round trip gives equal objects (found by fuzzing).
    assert_eq!(parsed.objects().last(), Some(&primitive("63", "58C7")));
    assert_eq!(parse(&parsed.to_payload()), Ok(parsed));
}

#[test]
fn a_single_changed_character_is_a_crc_mismatch_naming_both_values() {
    let text = corpus("valid", "verssache-DANA").payload;
    let tampered = text.replace("Bu Sugeng", "Bu Sugeni");
    let error = parse(&tampered).expect_err("altered");
    let QrisError::CrcMismatch { found, computed } = &error else {
        panic!("expected a CRC mismatch, got {error}");
    };
    assert_eq!(found, "58C7");
    assert_eq!(computed, "B73E");
    assert_eq!(
        error.to_string(),
        "CRC mismatch: tag 63 holds 58C7 but the payload up to \"6304\" computes to B73E (altered or mistyped payload)"
    );
}

#[test]
fn empty_and_blank_input_is_empty() {
    assert_eq!(parse(""), Err(QrisError::Empty));
    assert_eq!(parse(" \n\t "), Err(QrisError::Empty));
}

#[test]
fn a_payload_over_512_characters_is_too_long() {
    let long = "0".repeat(513);
    assert_eq!(parse(&long), Err(QrisError::TooLong { length: 513 }));
    // Characters, not bytes: 300 three-byte characters are 300 long and get to the TLV rules.
    let wide = "最".repeat(300);
    assert!(matches!(parse(&wide), Err(QrisError::InvalidTag { .. })));
}

#[test]
fn the_payload_starts_with_00_holding_01() {
    let without = payload(&[tlv("01", "11"), tlv("58", "ID")]);
    assert_eq!(
        parse(&without),
        Err(QrisError::FormatIndicatorNotFirst {
            found: "01".to_owned()
        })
    );
    let wrong_format = payload(&[tlv("00", "02"), tlv("01", "11")]);
    assert_eq!(
        parse(&wrong_format),
        Err(QrisError::UnsupportedFormat {
            found: "02".to_owned()
        })
    );
}

#[test]
fn the_payload_ends_with_63() {
    let text = static_qris("Kopi");
    let without_crc = &text[..text.len() - 8];
    assert_eq!(
        parse(without_crc),
        Err(QrisError::MissingCrc {
            last: "62".to_owned(),
            offset: without_crc.len() - tlv("62", &tlv("07", "A01")).len()
        })
    );
    let appended = format!("{text}5802ID");
    assert_eq!(
        parse(&appended),
        Err(QrisError::CrcNotLast {
            offset: text.len() - 8,
            next: "58".to_owned(),
            next_offset: text.len()
        })
    );
}

#[test]
fn trailing_garbage_is_refused() {
    let text = static_qris("Kopi");
    assert!(matches!(
        parse(&format!("{text}X")),
        Err(QrisError::UnexpectedEnd { offset, .. }) if offset == text.len()
    ));
    assert!(matches!(
        parse(&format!("{text}XY")),
        Err(QrisError::InvalidTag { offset, ref found, .. }) if offset == text.len() && found == "XY"
    ));
}

#[test]
fn tag_63_is_6304_and_four_hex_digits() {
    let body = [tlv("00", "01"), tlv("01", "11")].concat();
    let five = format!("{body}6305ABCDE");
    assert_eq!(
        parse(&five),
        Err(QrisError::InvalidCrcField {
            offset: 12,
            found: "6305ABCDE".to_owned()
        })
    );
    let short = format!("{body}6304ABC");
    assert_eq!(
        parse(&short),
        Err(QrisError::LengthExceedsRemaining {
            tag: "63".to_owned(),
            length: 4,
            remaining: 3,
            offset: 12
        })
    );
}

#[test]
fn a_root_tag_appears_once() {
    let twice = payload(&[tlv("00", "01"), tlv("59", "A"), tlv("59", "B")]);
    assert_eq!(
        parse(&twice),
        Err(QrisError::DuplicateTag {
            tag: "59".to_owned(),
            first_offset: 6,
            offset: 11
        })
    );
    let error = parse(&twice).expect_err("duplicate");
    assert_eq!(
        error.to_string(),
        "tag 59 appears twice, at offset 6 and again at offset 11"
    );
}

#[test]
fn point_of_initiation_is_11_or_12() {
    let text = payload(&[tlv("00", "01"), tlv("01", "13")]);
    assert_eq!(
        parse(&text),
        Err(QrisError::InvalidPointOfInitiation {
            offset: 6,
            found: "13".to_owned()
        })
    );
}

#[test]
fn the_amount_is_digits_with_at_most_one_decimal_point() {
    for good in ["1", "25042", "23.72", "10.00", "98.", "9999999999999"] {
        let text = payload(&[tlv("00", "01"), tlv("54", good)]);
        assert!(parse(&text).is_ok(), "{good}");
    }
    for bad in [
        "12,000",
        "1.2.3",
        ".",
        "-5",
        "Rp100",
        "1e5",
        "99999999999999",
        "１２",
    ] {
        let text = payload(&[tlv("00", "01"), tlv("54", bad)]);
        assert_eq!(
            parse(&text),
            Err(QrisError::InvalidAmount {
                offset: 6,
                found: bad.to_owned()
            }),
            "{bad}"
        );
    }
}

#[test]
fn a_merchant_account_template_must_be_tlv_and_errors_name_the_sub_tag() {
    let text = payload(&[tlv("00", "01"), tlv("26", "ID.DANA.WWW")]);
    assert_eq!(
        parse(&text),
        Err(QrisError::InvalidTag {
            scope: "template 26".to_owned(),
            offset: 10,
            found: "ID".to_owned()
        })
    );
    assert_eq!(
        parse(&text).expect_err("not TLV").to_string(),
        "expected a two-digit tag in the template 26 at offset 10, found \"ID\""
    );
}

#[test]
fn an_unreserved_value_that_is_not_tlv_stays_text_and_round_trips() {
    let text = payload(&[
        tlv("00", "01"),
        tlv("80", "hello world"),
        tlv("81", "0002ZZ"),
    ]);
    let parsed = parse(&text).expect("valid");
    assert_eq!(parsed.objects()[1], primitive("80", "hello world"));
    assert_eq!(
        parsed.objects()[2].value,
        Value::Template(vec![primitive("00", "ZZ")])
    );
    assert_eq!(parsed.to_payload(), text);
}

#[test]
fn a_name_written_with_a_byte_length_is_refused() {
    // "Café ☕" is 6 characters and 10 bytes; a byte-length converter writes 5910.
    let by_bytes = [
        tlv("00", "01"),
        "5910Café ☕".to_owned(),
        tlv("60", "Bekasi"),
    ]
    .concat();
    let by_bytes = format!(
        "{by_bytes}6304{:04X}",
        crc16(format!("{by_bytes}6304").as_bytes())
    );
    assert!(matches!(
        parse(&by_bytes),
        Err(QrisError::InvalidTag { .. })
    ));
    let by_chars = payload(&[tlv("00", "01"), tlv("59", "Café ☕"), tlv("60", "Bekasi")]);
    assert!(by_chars.contains("5906Café ☕"));
    assert_eq!(
        parse(&by_chars)
            .expect("valid")
            .summary()
            .merchant_name
            .as_deref(),
        Some("Café ☕")
    );
}

// ---------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------

/// Text for values: ASCII, Latin accents, CJK and an emoji, 1..=`max` characters.
fn text(max: usize) -> BoxedStrategy<String> {
    proptest::string::string_regex(&format!("[A-Za-z0-9 .,*&'ñÑéü最佳运输😀-]{{1,{max}}}"))
        .expect("a valid regex")
        .boxed()
}

/// Text that can never parse as TLV (it starts with a letter), for 80–99 kept primitive.
fn not_tlv(max: usize) -> BoxedStrategy<String> {
    proptest::string::string_regex(&format!("[A-Za-z][A-Za-z0-9 ]{{0,{}}}", max - 1))
        .expect("a valid regex")
        .boxed()
}

fn object(tag: u8, value: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<DataObject> {
    value
        .prop_map(move |value| DataObject {
            tag: format!("{tag:02}"),
            value,
        })
        .boxed()
}

/// 1..=`count` children with distinct tags, each built by `child`.
fn children(
    count: usize,
    child: impl Fn(u8) -> BoxedStrategy<DataObject> + 'static,
) -> BoxedStrategy<Vec<DataObject>> {
    prop::collection::btree_set(0_u8..100, 1..=count)
        .prop_flat_map(move |tags| tags.into_iter().map(&child).collect::<Vec<_>>())
        .boxed()
}

/// A root object of `tag`, shaped as the parser reads that tag. Every template stays under 99 characters.
fn root_object(tag: u8) -> BoxedStrategy<DataObject> {
    let child = move |sub: u8| match tag::child_shape(tag, sub) {
        Shape::TemplateIfTlv => object(
            sub,
            prop_oneof![
                children(2, |t| object(t, text(8).prop_map(Value::Primitive)))
                    .prop_map(Value::Template),
                not_tlv(20).prop_map(Value::Primitive),
            ],
        ),
        _ => object(sub, text(20).prop_map(Value::Primitive)),
    };
    match tag::root_shape(tag) {
        Shape::Primitive => object(tag, text(40).prop_map(Value::Primitive)),
        Shape::Template => object(tag, children(3, child).prop_map(Value::Template)),
        Shape::TemplateIfTlv => object(
            tag,
            prop_oneof![
                children(3, child).prop_map(Value::Template),
                not_tlv(40).prop_map(Value::Primitive),
            ],
        ),
    }
}

/// A valid object tree without 63: 00 first, then up to five other tags, 01 and 54 maybe, in any order.
fn object_tree() -> impl Strategy<Value = Vec<DataObject>> {
    let pool: Vec<u8> = (2..=99).filter(|t| *t != 54 && *t != 63).collect();
    (
        prop::sample::subsequence(pool, 0..=5),
        prop::option::of(prop_oneof![Just("11"), Just("12")]),
        prop::option::of("[0-9]{1,10}(\\.[0-9]{0,2})?"),
    )
        .prop_flat_map(|(tags, point_of_initiation, amount)| {
            let mut rest: Vec<BoxedStrategy<DataObject>> =
                tags.into_iter().map(root_object).collect();
            if let Some(value) = point_of_initiation {
                rest.push(Just(primitive("01", value)).boxed());
            }
            if let Some(value) = amount {
                rest.push(Just(primitive("54", &value)).boxed());
            }
            rest.prop_shuffle()
        })
        .prop_map(|rest| {
            let mut objects = vec![primitive("00", "01")];
            objects.extend(rest);
            objects
        })
}

/// The test's own encoder, independent of the codec's writer.
fn encode(objects: &[DataObject]) -> String {
    objects
        .iter()
        .map(|o| match &o.value {
            Value::Primitive(text) => tlv(&o.tag, text),
            Value::Template(children) => tlv(&o.tag, &encode(children)),
        })
        .collect()
}

/// A static Indonesian QRIS as an object tree (without 63), with hostile names and leftover amount/fees.
fn static_tree() -> impl Strategy<Value = Vec<DataObject>> {
    let name = prop_oneof![
        text(25),
        Just("TOKO 5802ID 010211".to_owned()),
        Just("6304ABCD 540510000".to_owned()),
        Just("Warung Bu Ñoño 最佳运输 😀".to_owned()),
    ];
    (
        name,
        text(15),
        "[0-9]{4}",
        prop::option::of("[0-9]{1,7}"),
        prop::option::of(prop_oneof![Just("01"), Just("02"), Just("03")]),
        prop::option::of("[0-9]{1,4}"),
        prop::option::of("[0-9]{5}"),
        prop::option::of(text(20)),
    )
        .prop_map(|(name, city, mcc, amount, tip, fee, postal, label)| {
            let template = |tag: &str, children: Vec<DataObject>| DataObject {
                tag: tag.to_owned(),
                value: Value::Template(children),
            };
            let mut objects = vec![
                primitive("00", "01"),
                primitive("01", "11"),
                template(
                    "26",
                    vec![
                        primitive("00", "ID.DANA.WWW"),
                        primitive("01", "936009153022591481"),
                    ],
                ),
                template(
                    "51",
                    vec![
                        primitive("00", "ID.CO.QRIS.WWW"),
                        primitive("02", "ID1020017611473"),
                    ],
                ),
                primitive("52", &mcc),
                primitive("53", "360"),
            ];
            objects.extend(amount.map(|a| primitive("54", &a)));
            objects.extend(tip.map(|t| primitive("55", t)));
            objects.extend(fee.map(|f| primitive("56", &f)));
            objects.push(primitive("58", "ID"));
            objects.push(primitive("59", &name));
            objects.push(primitive("60", &city));
            objects.extend(postal.map(|p| primitive("61", &p)));
            objects.extend(label.map(|l| template("62", vec![primitive("07", &l)])));
            objects
        })
}

proptest! {
    #[test]
    fn parse_of_serialised_tree_is_the_tree(tree in object_tree()) {
        let text = payload(&[encode(&tree)]);
        let crc = text[text.len() - 4..].to_owned();
        let mut expected = tree;
        expected.push(primitive("63", &crc));

        let parsed = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(parsed.objects(), &expected[..]);
        prop_assert_eq!(parsed.to_payload(), text);
    }

    #[test]
    fn dynamic_always_reparses_with_a_valid_crc_and_the_amount(
        tree in static_tree(),
        amount in 1..=MAX_AMOUNT,
    ) {
        let static_payload = payload(&[encode(&tree)]);
        let dynamic = to_dynamic(&static_payload, amount)
            .map_err(|e| TestCaseError::fail(format!("{e}: {static_payload}")))?;
        let parsed = parse(&dynamic).map_err(|e| TestCaseError::fail(format!("{e}: {dynamic}")))?;
        let summary = parsed.summary();
        prop_assert_eq!(summary.amount, Some(Number::from(amount)));
        prop_assert_eq!(summary.point_of_initiation, PointOfInitiation::Dynamic);

        // Everything else is unchanged and in order; 54 sits right before 58.
        let kept = |objects: &[DataObject]| -> Vec<DataObject> {
            objects
                .iter()
                .filter(|o| !matches!(o.tag.as_str(), "01" | "54" | "55" | "56" | "57" | "63"))
                .cloned()
                .collect()
        };
        prop_assert_eq!(kept(parsed.objects()), kept(&tree));
        let tags: Vec<&str> = parsed.objects().iter().map(|o| o.tag.as_str()).collect();
        let at_54 = tags.iter().position(|t| *t == "54");
        let at_58 = tags.iter().position(|t| *t == "58");
        prop_assert_eq!(at_54.map(|i| i + 1), at_58);
        prop_assert_eq!(check_static(&static_payload).map(|s| s.merchant_name), Ok(summary.merchant_name));
    }

    #[test]
    fn any_text_is_refused_or_parsed_without_panicking(text in any::<String>()) {
        if let Ok(parsed) = parse(&text) {
            prop_assert_eq!(parse(&parsed.to_payload()), Ok(parsed));
        }
    }

    #[test]
    fn a_mutated_corpus_payload_never_panics(
        row in prop::sample::select(rows()),
        at in any::<prop::sample::Index>(),
        replacement in any::<char>(),
    ) {
        let mutated = replace_char(&row.payload, at.index(row.payload.chars().count()), replacement);
        if let Ok(parsed) = parse(&mutated) {
            prop_assert_eq!(parse(&parsed.to_payload()), Ok(parsed));
        }
    }

    #[test]
    fn one_changed_ascii_character_before_the_crc_is_always_caught(
        row in prop::sample::select(rows().into_iter().filter(|r| r.kind != "invalid").collect::<Vec<_>>()),
        at in any::<prop::sample::Index>(),
        replacement in proptest::char::range('!', '~'),
    ) {
        // Changing one byte is a burst of at most 8 bits, which CRC-16 always detects; structural damage
        // is caught before the CRC is even looked at. Whitespace is excluded: at the edges it is trimmed.
        let covered = row.payload.chars().count() - 4;
        let i = at.index(covered);
        prop_assume!(row.payload.chars().nth(i) != Some(replacement));
        let mutated = replace_char(&row.payload, i, replacement);
        prop_assert!(parse(&mutated).is_err(), "{}", mutated);
    }
}

fn replace_char(text: &str, at: usize, replacement: char) -> String {
    text.chars()
        .enumerate()
        .map(|(i, c)| if i == at { replacement } else { c })
        .collect()
}
