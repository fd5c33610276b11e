//! Criterion benchmarks of event identities and webhook signing: both run once per notification or
//! delivery attempt, on the phone and on the server.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use webqris_core::event::{NotificationEvent, content_fingerprint, event_hash};
use webqris_core::signing::{StandardWebhooks, hex_signature};

const BODY: &str = r#"{"event":"payment.paid","data":{"invoice_id":"INV-1710000000-abc123","merchant_order_id":"ORDER-001","amount":25000,"unique_code":42,"total_amount":25042,"customer_name":"John Doe","status":"paid","payment_method":"com.dana.id","paid_at":"2026-03-09T10:15:23.000Z"}}"#;

fn identities(c: &mut Criterion) {
    let event = NotificationEvent {
        app: "id.dana",
        key: "0|id.dana|-1|null|10123",
        post_time_ms: 1_774_088_123_000,
        title: "DANA",
        text: "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
    };
    c.bench_function("event/event_hash", |b| {
        b.iter(|| event_hash(black_box(&event)))
    });
    c.bench_function("event/content_fingerprint", |b| {
        b.iter(|| {
            content_fingerprint(
                black_box(event.app),
                black_box(event.title),
                black_box(event.text),
            )
        })
    });
}

fn signing(c: &mut Criterion) {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let sw = StandardWebhooks::from_secret(secret).expect("valid secret");
    c.bench_function("signing/hex_signature", |b| {
        b.iter(|| hex_signature(black_box(secret), black_box(BODY.as_bytes())))
    });
    c.bench_function("signing/standard_webhooks_sign", |b| {
        b.iter(|| {
            sw.sign(
                black_box("msg_1"),
                black_box(1_774_088_123),
                black_box(BODY.as_bytes()),
            )
        })
    });
}

criterion_group!(benches, identities, signing);
criterion_main!(benches);
