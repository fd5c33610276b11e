//! The shared corpora are copied into the repository so that CI on a clean clone has them.

#[test]
fn every_corpus_is_vendored_and_has_rows() {
    for name in [
        "notifications.tsv",
        "qris-vectors.tsv",
        "webhook-vectors.tsv",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(name);
        let text = std::fs::read_to_string(&path).expect("corpus file present");
        assert!(
            text.lines().any(|l| !l.is_empty() && !l.starts_with('#')),
            "{name} has rows"
        );
    }
}
