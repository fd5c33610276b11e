//! Any text: parsing never panics and its errors always render; what parses re-serialises to the trimmed
//! input (CRC in uppercase) and parses the same; conversion to dynamic either refuses or yields a payload
//! that parses, is dynamic, carries the requested amount and keeps every other object unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webqris_core::qris::{self, DataObject, PointOfInitiation};

/// The objects a conversion must leave alone, in order.
fn untouched(objects: &[DataObject]) -> Vec<&DataObject> {
    objects
        .iter()
        .filter(|o| !matches!(o.tag.as_str(), "01" | "54" | "55" | "56" | "57" | "63"))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = match qris::parse(text) {
        Ok(parsed) => parsed,
        Err(error) => {
            // Merchants read these messages verbatim: rendering one must never panic or be empty.
            assert!(!error.to_string().is_empty());
            return;
        }
    };

    // A valid payload ends with four ASCII hex digits, so splitting four bytes from the end is safe.
    let trimmed = text.trim();
    let (body, crc) = trimmed.split_at(trimmed.len() - 4);
    let payload = parsed.to_payload();
    assert_eq!(payload, format!("{body}{}", crc.to_ascii_uppercase()));
    let again = qris::parse(&payload).expect("a serialised payload parses");
    assert_eq!(again, parsed);
    let summary = parsed.summary();
    assert_eq!(summary.tags.len(), parsed.objects().len());

    // Amounts over the whole range, including the refused 0 (empty input never gets this far).
    let amount = (data.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % (qris::MAX_AMOUNT + 1);
    match qris::to_dynamic(text, amount) {
        Ok(dynamic) => {
            let converted = qris::parse(&dynamic).expect("a dynamic payload parses");
            let summary = converted.summary();
            assert_eq!(summary.point_of_initiation, PointOfInitiation::Dynamic);
            assert_eq!(
                summary.amount.map(|n| n.to_string()),
                Some(amount.to_string())
            );
            assert_eq!(untouched(converted.objects()), untouched(parsed.objects()));
            assert!(dynamic.chars().count() <= qris::MAX_PAYLOAD_CHARS);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
