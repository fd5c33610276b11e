//! Criterion benchmarks of the qris module: what the server does per merchant QRIS (parse, check, decode
//! for people) and per invoice (convert to dynamic). Payloads come from the vendored corpus.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use webqris_core::qris;

const CORPUS: &str = include_str!("../../tests/corpus/qris-vectors.tsv");

/// The payload of the corpus row of `kind` named `name`.
fn payload(kind: &str, name: &str) -> &'static str {
    CORPUS
        .lines()
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&kind) && fields.get(1) == Some(&name))
        .and_then(|fields| fields.get(2).copied())
        .unwrap_or_else(|| panic!("corpus has a {kind} row named {name}"))
}

fn benches(c: &mut Criterion) {
    // A typical Indonesian static QRIS (199 characters, two merchant account templates).
    let dana = payload("valid", "verssache-DANA");
    // EMVCo's sample: non-ASCII names, language and unreserved templates (248 characters).
    let annex_a = payload("valid", "EMVCo-AnnexA-sample");

    c.bench_function("qris/parse/dana-static", |b| {
        b.iter(|| qris::parse(black_box(dana)))
    });
    c.bench_function("qris/parse/emvco-annex-a", |b| {
        b.iter(|| qris::parse(black_box(annex_a)))
    });
    c.bench_function("qris/to_dynamic/dana-static", |b| {
        b.iter(|| qris::to_dynamic(black_box(dana), black_box(25_042)))
    });
    c.bench_function("qris/check_static/dana-static", |b| {
        b.iter(|| qris::check_static(black_box(dana)))
    });
    let parsed = qris::parse(dana).expect("the DANA sample is valid");
    c.bench_function("qris/summary/dana-static", |b| {
        b.iter(|| black_box(&parsed).summary())
    });
}

criterion_group!(qris_benches, benches);
criterion_main!(qris_benches);
