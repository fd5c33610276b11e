//! The event hub: every live event (`new_payment`, `payment_paid`, `payments_expired`,
//! `webhook_delivered`) is rendered once into `{event, data, ts}` frames and broadcast to the WebSocket
//! tasks. The broadcast channel is bounded: a client that falls behind by more than its capacity is
//! disconnected by its task, never waited for, so a slow client cannot slow the server.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;
use webqris_core::wire::{
    self, PaymentStatus, WsExpiredData, WsFrame, WsPaymentData, WsWebhookDeliveredData,
    WsWebhookFailedData,
};

use crate::clock::Clock;
use crate::db::{ExpiredPayment, MerchantId, PaidPayment, PaymentRow};

/// Who a socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The operator (`/ws`): every merchant's events.
    Operator,
    /// One merchant (`/ws/merchant`): only its own events.
    Merchant(MerchantId),
}

/// One event, pre-rendered for each audience.
#[derive(Debug)]
pub struct HubEvent {
    operator_frame: String,
    merchant_frames: Vec<(MerchantId, String)>,
}

impl HubEvent {
    /// The text frame `audience` should receive, if the event concerns it.
    pub fn frame_for(&self, audience: Audience) -> Option<&str> {
        match audience {
            Audience::Operator => Some(&self.operator_frame),
            Audience::Merchant(id) => self
                .merchant_frames
                .iter()
                .find(|(m, _)| *m == id)
                .map(|(_, frame)| frame.as_str()),
        }
    }
}

/// The broadcaster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<HubEvent>>,
    clock: Clock,
}

/// The `data` of `new_payment` / `payment_paid` for a payment.
pub fn payment_data(
    payment: &PaymentRow,
    merchant_name: &str,
    status: PaymentStatus,
) -> WsPaymentData {
    WsPaymentData {
        id: payment.id.0,
        invoice_id: payment.invoice_id.clone(),
        amount: payment.amount,
        total_amount: payment.total_amount,
        unique_code: payment.unique_code,
        merchant_name: merchant_name.to_owned(),
        sender_name: payment.sender_name.clone(),
        status,
    }
}

impl Hub {
    /// A hub whose subscribers may fall `capacity` events behind.
    pub fn new(capacity: usize, clock: Clock) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender, clock }
    }

    /// A new subscription (one per WebSocket).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HubEvent>> {
        self.sender.subscribe()
    }

    fn render<T: Serialize>(&self, event: &str, data: T) -> Option<String> {
        let frame = WsFrame {
            event: event.to_owned(),
            data,
            ts: self.clock.now().as_millis(),
        };
        match serde_json::to_string(&frame) {
            Ok(text) => Some(text),
            Err(e) => {
                tracing::error!(error = %e, event, "cannot render a WebSocket frame; event dropped");
                None
            }
        }
    }

    fn publish(&self, event: HubEvent) {
        // An error only means nobody is connected right now, which is normal.
        let _ = self.sender.send(Arc::new(event));
    }

    fn publish_single<T: Serialize>(&self, merchant: MerchantId, event: &str, data: T) {
        if let Some(frame) = self.render(event, data) {
            self.publish(HubEvent {
                operator_frame: frame.clone(),
                merchant_frames: vec![(merchant, frame)],
            });
        }
    }

    /// `new_payment`: an invoice was created.
    pub fn payment_created(&self, payment: &PaymentRow, merchant_name: &str) {
        let data = payment_data(payment, merchant_name, PaymentStatus::Pending);
        self.publish_single(payment.merchant_id, wire::WS_NEW_PAYMENT, data);
    }

    /// `payment_paid`: an invoice was paid.
    pub fn payment_paid(&self, paid: &PaidPayment) {
        let data = payment_data(&paid.payment, &paid.merchant_name, PaymentStatus::Paid);
        self.publish_single(paid.payment.merchant_id, wire::WS_PAYMENT_PAID, data);
    }

    /// `webhook_delivered`: a webhook got a 2xx.
    pub fn webhook_delivered(&self, merchant: MerchantId, data: WsWebhookDeliveredData) {
        self.publish_single(merchant, wire::WS_WEBHOOK_DELIVERED, data);
    }

    /// `webhook_failed`: a webhook attempt failed (will be retried unless `next_attempt_at` is null).
    pub fn webhook_failed(&self, merchant: MerchantId, data: WsWebhookFailedData) {
        self.publish_single(merchant, wire::WS_WEBHOOK_FAILED, data);
    }

    /// `payments_expired`: one frame per sweep; each merchant's socket gets only its own payments.
    pub fn payments_expired(&self, expired: &[ExpiredPayment]) {
        if expired.is_empty() {
            return;
        }
        let to_data =
            |e: &ExpiredPayment| payment_data(&e.payment, &e.merchant_name, PaymentStatus::Expired);
        let all: Vec<WsPaymentData> = expired.iter().map(to_data).collect();
        let Some(operator_frame) = self.render(
            wire::WS_PAYMENTS_EXPIRED,
            WsExpiredData {
                count: all.len(),
                payments: all,
            },
        ) else {
            return;
        };
        let mut merchants: Vec<MerchantId> =
            expired.iter().map(|e| e.payment.merchant_id).collect();
        merchants.sort_unstable();
        merchants.dedup();
        let merchant_frames = merchants
            .into_iter()
            .filter_map(|merchant| {
                let own: Vec<WsPaymentData> = expired
                    .iter()
                    .filter(|e| e.payment.merchant_id == merchant)
                    .map(to_data)
                    .collect();
                let frame = self.render(
                    wire::WS_PAYMENTS_EXPIRED,
                    WsExpiredData {
                        count: own.len(),
                        payments: own,
                    },
                )?;
                Some((merchant, frame))
            })
            .collect();
        self.publish(HubEvent {
            operator_frame,
            merchant_frames,
        });
    }
}
