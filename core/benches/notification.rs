//! Criterion benchmarks of notification parsing, which runs once per notification on the phone (to filter
//! and show what it saw) and on the server (authoritative): a DANA payment with a sender, a GoBiz
//! notification grouping three payments, an ignored outgoing transfer, and an unknown app read by the
//! generic rule.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use webqris_core::notification::{self, Notification};

fn notification<'a>(app: &'a str, title: &'a str, text: &'a str) -> Notification<'a> {
    Notification {
        app,
        title,
        text,
        big_text: None,
    }
}

fn parse(c: &mut Criterion) {
    let cases = [
        (
            "notification/parse_dana",
            notification(
                "id.dana",
                "DANA",
                "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
            ),
        ),
        (
            "notification/parse_gobiz_grouped",
            notification(
                "com.gojek.resto",
                "Pembayaran QRIS diterima!",
                "Rp6.000 berhasil diterima. ID transaksi: plk0FZID\nRp1.000 berhasil diterima. ID transaksi: XQdGyuID\nRp2.000 berhasil diterima. ID transaksi: rVWbDXID",
            ),
        ),
        (
            "notification/parse_ignored_outgoing",
            notification(
                "com.jago.digitalBanking",
                "Jago",
                "Kamu telah melakukan transfer Rp10.000 ke TONDIKI ANDIKA GURNING. Butuh bantuan? Silakan Tanya Jago di 1500 746.",
            ),
        ),
        (
            "notification/parse_generic_unknown_app",
            notification(
                "com.example.wallet",
                "Dana masuk",
                "Dana masuk Rp 150.237 dari rekening lain.",
            ),
        ),
    ];
    // Compile the grammars once, outside the measurements.
    for (_, n) in &cases {
        notification::parse(n);
    }
    for (name, n) in &cases {
        c.bench_function(name, |b| b.iter(|| notification::parse(black_box(n))));
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
