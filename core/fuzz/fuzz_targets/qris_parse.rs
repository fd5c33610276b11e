//! Any text: parsing never panics; what parses re-serialises to a payload that parses the same, and
//! conversion to dynamic either refuses or yields a payload that parses with the requested amount.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webqris_core::qris;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = qris::parse(text) {
        let again = qris::parse(&parsed.to_payload()).expect("a serialised payload parses");
        assert_eq!(again.objects(), parsed.objects());
        let _ = parsed.summary();
    }
    let amount = (data.len() as u64).wrapping_mul(7919) % 20_000_000;
    if let Ok(dynamic) = qris::to_dynamic(text, amount) {
        let summary = qris::parse(&dynamic).expect("dynamic payload parses").summary();
        assert_eq!(summary.amount.map(|n| n.to_string()), Some(amount.to_string()));
    }
});
