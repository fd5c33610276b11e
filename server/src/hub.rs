//! The event hub: every live event (`new_payment`, `payment_paid`, `payments_expired`,
//! `webhook_delivered`, `webhook_failed`, `device_alert`) made on this node, and every one another node
//! stored (relayed by `crate::events`), is rendered once into `{event, data, ts}` frames and broadcast to the WebSocket
//! tasks. The broadcast channel is bounded: a client that falls behind by more than its capacity is
//! disconnected by its task, never waited for, so a slow client cannot slow the server.
//!
//! Dashboard accounts see only the merchants they own: each merchant frame is tagged at publish time
//! with its owner from [`Owners`], an in-memory copy of `merchants.owner_account_id` kept current by this
//! node's dashboard (the only place owned merchants are made or deleted) and, for changes made on other
//! nodes, reloaded by the relay at each of its rescans.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use tokio::sync::broadcast;
use webqris_core::wire::{PaymentStatus, WsEvent, WsExpiredData, WsFrame, WsPaymentData};

use crate::clock::Clock;
pub use crate::db::payment_data;
use crate::db::{
    AccountId, ExpiredPayment, MerchantId, PaidPayment, PaymentId, PaymentRow, StoredEvent,
};

/// Who a socket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The operator (`/ws` with an operator token or the operator account's session): every merchant's
    /// events.
    Operator,
    /// One merchant (`/ws/merchant`): only its own events.
    Merchant(MerchantId),
    /// A dashboard account (`/ws` with its session): the events of the merchants it owns.
    Account(AccountId),
}

/// Which account owns which merchant (merchants without an owner are absent). Clones share the map.
#[derive(Debug, Clone, Default)]
pub struct Owners(Arc<RwLock<HashMap<MerchantId, AccountId>>>);

impl Owners {
    /// The owner of `merchant`, if an account owns it.
    pub fn owner_of(&self, merchant: MerchantId) -> Option<AccountId> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&merchant)
            .copied()
    }

    /// Records that `owner` (or nobody) owns `merchant`.
    pub fn set(&self, merchant: MerchantId, owner: Option<AccountId>) {
        let mut map = self.0.write().unwrap_or_else(PoisonError::into_inner);
        match owner {
            Some(owner) => map.insert(merchant, owner),
            None => map.remove(&merchant),
        };
    }

    /// Replaces the whole map (at startup, from the database).
    pub fn load(&self, pairs: impl IntoIterator<Item = (MerchantId, AccountId)>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = pairs.into_iter().collect();
    }
}

/// One event, pre-rendered for each audience.
#[derive(Debug)]
pub struct HubEvent {
    operator_frame: String,
    /// Each concerned merchant's frame, with the merchant's owner when an account owns it.
    merchant_frames: Vec<(MerchantId, Option<AccountId>, String)>,
    /// The payments whose status this event reports (for the public payment pages).
    payments: Vec<PaymentId>,
}

impl HubEvent {
    /// The text frame `audience` should receive, if the event concerns it (for an account owning
    /// several of the merchants concerned, the first of their frames; see [`HubEvent::frames_for`]).
    pub fn frame_for(&self, audience: Audience) -> Option<&str> {
        self.frames_for(audience).next()
    }

    /// Every text frame `audience` should receive: one for the operator and a merchant, one per owned
    /// merchant concerned for an account.
    pub fn frames_for(&self, audience: Audience) -> impl Iterator<Item = &str> {
        let operator = (audience == Audience::Operator).then_some(self.operator_frame.as_str());
        let merchant_frames = self
            .merchant_frames
            .iter()
            .filter(move |(merchant, owner, _)| match audience {
                Audience::Operator => false,
                Audience::Merchant(id) => *merchant == id,
                Audience::Account(account) => *owner == Some(account),
            })
            .map(|(_, _, frame)| frame.as_str());
        operator.into_iter().chain(merchant_frames)
    }

    /// Whether this event changes the status of `payment` (paid, expired).
    pub fn concerns_payment(&self, payment: PaymentId) -> bool {
        self.payments.contains(&payment)
    }
}

/// The broadcaster. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    sender: broadcast::Sender<Arc<HubEvent>>,
    clock: Clock,
    owners: Owners,
}

/// The payments whose status `event` reports (for the public payment pages).
fn payments_of(event: &WsEvent) -> Vec<PaymentId> {
    match event {
        WsEvent::PaymentPaid(p) => vec![PaymentId(p.id)],
        WsEvent::PaymentsExpired(e) => e.payments.iter().map(|p| PaymentId(p.id)).collect(),
        WsEvent::NewPayment(_)
        | WsEvent::WebhookDelivered(_)
        | WsEvent::WebhookFailed(_)
        | WsEvent::DeviceAlert(_)
        | WsEvent::WebhookAlert(_) => Vec::new(),
    }
}

impl Hub {
    /// A hub whose subscribers may fall `capacity` events behind.
    pub fn new(capacity: usize, clock: Clock) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender,
            clock,
            owners: Owners::default(),
        }
    }

    /// Who owns which merchant; the dashboard updates it when it makes or deletes a merchant.
    pub fn owners(&self) -> &Owners {
        &self.owners
    }

    /// A new subscription (one per WebSocket).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<HubEvent>> {
        self.sender.subscribe()
    }

    fn render(&self, event: WsEvent) -> Option<String> {
        let name = event.name();
        let frame = WsFrame {
            event,
            ts: self.clock.now().as_millis(),
        };
        match serde_json::to_string(&frame) {
            Ok(text) => Some(text),
            Err(e) => {
                tracing::error!(error = %e, event = name, "cannot render a WebSocket frame; event dropped");
                None
            }
        }
    }

    fn publish(&self, event: HubEvent) {
        // An error only means nobody is connected right now, which is normal.
        let _ = self.sender.send(Arc::new(event));
    }

    fn publish_single(&self, merchant: MerchantId, event: WsEvent, payments: Vec<PaymentId>) {
        if let Some(frame) = self.render(event) {
            self.publish(HubEvent {
                operator_frame: frame.clone(),
                merchant_frames: vec![(merchant, self.owners.owner_of(merchant), frame)],
                payments,
            });
        }
    }

    /// `new_payment`: an invoice was created.
    pub fn payment_created(&self, payment: &PaymentRow, merchant_name: &str) {
        let data = payment_data(payment, merchant_name, PaymentStatus::Pending);
        self.publish_single(payment.merchant_id, WsEvent::NewPayment(data), Vec::new());
    }

    /// `payment_paid`: an invoice was paid.
    pub fn payment_paid(&self, paid: &PaidPayment) {
        let data = payment_data(&paid.payment, &paid.merchant_name, PaymentStatus::Paid);
        self.publish_single(
            paid.payment.merchant_id,
            WsEvent::PaymentPaid(data),
            vec![paid.payment.id],
        );
    }

    /// An event about one merchant (webhooks, device alerts), as it happens.
    pub fn publish_event(&self, merchant: MerchantId, event: WsEvent) {
        let payments = payments_of(&event);
        self.publish_single(merchant, event, payments);
    }

    /// An event another node stored (relayed by `crate::events`), with the time it happened there. The
    /// operator receives it as its merchant does (so a sweep on another node expiring invoices of
    /// several merchants reaches it as one `payments_expired` frame per merchant).
    pub fn publish_stored(&self, stored: StoredEvent) {
        let payments = payments_of(&stored.event);
        let frame = WsFrame {
            event: stored.event,
            ts: stored.ts,
        };
        match serde_json::to_string(&frame) {
            Ok(text) => self.publish(HubEvent {
                operator_frame: text.clone(),
                merchant_frames: vec![(
                    stored.merchant_id,
                    self.owners.owner_of(stored.merchant_id),
                    text,
                )],
                payments,
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot render a relayed WebSocket frame; event dropped")
            }
        }
    }

    /// `payments_expired`: one frame per sweep; each merchant's socket gets only its own payments.
    pub fn payments_expired(&self, expired: &[ExpiredPayment]) {
        if expired.is_empty() {
            return;
        }
        let to_data =
            |e: &ExpiredPayment| payment_data(&e.payment, &e.merchant_name, PaymentStatus::Expired);
        let all: Vec<WsPaymentData> = expired.iter().map(to_data).collect();
        let Some(operator_frame) = self.render(WsEvent::PaymentsExpired(WsExpiredData {
            count: all.len(),
            payments: all,
        })) else {
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
                let frame = self.render(WsEvent::PaymentsExpired(WsExpiredData {
                    count: own.len(),
                    payments: own,
                }))?;
                Some((merchant, self.owners.owner_of(merchant), frame))
            })
            .collect();
        self.publish(HubEvent {
            operator_frame,
            merchant_frames,
            payments: expired.iter().map(|e| e.payment.id).collect(),
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use webqris_core::Timestamp;

    use super::*;

    /// A pending payment row of `merchant` numbered `n`, for tests of what is published.
    pub(crate) fn payment(merchant: i64, n: i64) -> PaymentRow {
        PaymentRow {
            id: PaymentId(n),
            invoice_id: format!("INV-{n}"),
            merchant_id: MerchantId(merchant),
            merchant_order_id: None,
            customer_name: None,
            return_url: None,
            amount: 1000,
            unique_code: n,
            total_amount: 1000 + n,
            qris_payload: String::new(),
            status: PaymentStatus::Pending,
            payment_method: None,
            sender_name: None,
            created_at: Timestamp::from_millis(0),
            expired_at: Timestamp::from_millis(0),
            paid_at: None,
            closed_at: None,
            test: false,
        }
    }

    fn expired(merchant: i64, n: i64) -> ExpiredPayment {
        ExpiredPayment {
            payment: payment(merchant, n),
            merchant_name: format!("M{merchant}"),
        }
    }

    #[test]
    fn an_account_gets_the_frames_of_the_merchants_it_owns_and_nothing_else() {
        let hub = Hub::new(16, Clock::system());
        let (alice, bob) = (AccountId(1), AccountId(2));
        hub.owners().set(MerchantId(10), Some(alice));
        hub.owners().set(MerchantId(11), Some(alice));
        hub.owners().set(MerchantId(20), Some(bob));
        let mut events = hub.subscribe();
        // One sweep expiring invoices of three merchants: Alice owns two of them, the third is ownerless.
        hub.payments_expired(&[
            expired(10, 1),
            expired(20, 2),
            expired(11, 3),
            expired(30, 4),
        ]);
        let event = events.try_recv().expect("published");
        let for_alice: Vec<&str> = event.frames_for(Audience::Account(alice)).collect();
        assert_eq!(for_alice.len(), 2, "one frame per owned merchant");
        assert!(
            for_alice
                .iter()
                .all(|f| !f.contains("INV-2") && !f.contains("INV-4"))
        );
        let for_bob: Vec<&str> = event.frames_for(Audience::Account(bob)).collect();
        assert_eq!(for_bob.len(), 1);
        assert!(for_bob[0].contains("INV-2") && !for_bob[0].contains("INV-1"));
        let operator: Vec<&str> = event.frames_for(Audience::Operator).collect();
        assert_eq!(operator.len(), 1);
        assert!(
            operator[0].contains("INV-4"),
            "the operator sees ownerless merchants too"
        );
        assert!(event.concerns_payment(PaymentId(3)));
        assert!(!event.concerns_payment(PaymentId(5)));
        // Ownership changes take effect for the next event.
        hub.owners().set(MerchantId(20), None);
        hub.payment_created(&payment(20, 6), "M20");
        let event = events.try_recv().expect("published");
        assert_eq!(event.frames_for(Audience::Account(bob)).count(), 0);
        assert!(
            !event.concerns_payment(PaymentId(6)),
            "a new invoice changes no page's status"
        );
    }
}
