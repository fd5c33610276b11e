//! The JSON bodies of the WebQRIS v3.6 API (`shared/spec/api.md`), field for field and in the documented
//! order. Money is integer Rupiah (`i64`, the SQL edge's type); instants are [`Timestamp`]s.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::timestamp::Timestamp;

/// The `event` of the outbound webhook body.
pub const PAYMENT_PAID_EVENT: &str = "payment.paid";
/// `User-Agent` of outbound webhooks.
pub const WEBHOOK_USER_AGENT: &str = "WebQRIS-Webhook/1.0";
/// `message` of the duplicate answer to `/api/webhook/payment`.
pub const DUPLICATE_MESSAGE: &str = "Duplicate notification";
/// `message` of the 422 answer when a notification has no amount.
pub const NO_AMOUNT_MESSAGE: &str = "Tidak dapat mendeteksi nominal dari notifikasi";
/// `message` of the 404 answer when no pending payment has the parsed total.
pub const NO_MATCH_MESSAGE: &str = "No matching pending payment";
/// `message` of the 422 answer for a notification that is not an incoming payment (not in api.md:
/// our addition, in the same family as [`NO_AMOUNT_MESSAGE`]).
pub const NOT_INCOMING_MESSAGE: &str = "Notifikasi bukan pembayaran masuk";
/// `message` of the 422 answer for a notification from a source that may not pay (not a payment app, a
/// chat message, a title its payments never carry, wording only the generic rule reads…). Not in api.md:
/// our addition, in the same family as [`NOT_INCOMING_MESSAGE`].
pub const UNTRUSTED_MESSAGE: &str =
    "Notifikasi bukan dari sumber pembayaran tepercaya; disimpan, tidak ada yang dibayar";
/// `message` of the 422 answer for a payment notification held for review: its app paid before on other
/// channels, never on this one (our addition).
pub const HELD_MESSAGE: &str =
    "Notifikasi dari kanal baru; ditahan untuk ditinjau di dasbor, tidak ada yang dibayar";
/// The `event_hash` value that marks a connection test.
pub const TEST_EVENT_HASH: &str = "test";

/// Whether a `test` flag is off: live invoices leave the field out, so their bytes stay the contract's.
#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
const fn is_live(test: &bool) -> bool {
    !*test
}

/// Lifecycle of an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// Waiting for the customer to pay.
    Pending,
    /// Paid (by notification, callback or manual confirmation).
    Paid,
    /// Lifetime over without payment.
    Expired,
}

impl PaymentStatus {
    /// The wire and SQL spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Expired => "expired",
        }
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status spelling that is not `pending`, `paid` or `expired`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown payment status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for PaymentStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "paid" => Ok(Self::Paid),
            "expired" => Ok(Self::Expired),
            other => Err(UnknownStatus(other.to_owned())),
        }
    }
}

/// `{ "success": false, "message": … }`, the shape of every error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Always `false`.
    pub success: bool,
    /// Human-readable description.
    pub message: String,
}

impl ErrorBody {
    /// An error body with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            success: false,
            message: message.into(),
        }
    }
}

/// Body of `POST /api/payments/qris/create`. Unknown fields are ignored (merchants' clients may send more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePaymentRequest {
    /// Integer Rupiah, > 0.
    pub amount: i64,
    /// The merchant's own order reference.
    #[serde(default)]
    pub merchant_order_id: Option<String>,
    /// Shown to the merchant and sent back in the webhook.
    #[serde(default)]
    pub customer_name: Option<String>,
    /// Where the hosted payment page sends the customer once paid (webqris extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
}

/// 201 answer of `POST /api/payments/qris/create`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatePaymentResponse {
    /// Always `true`.
    pub success: bool,
    /// `INV-<unix seconds>-<random>`.
    pub invoice_id: String,
    /// The merchant's static QRIS made dynamic with `total_amount`.
    pub qris_payload: String,
    /// The amount requested.
    pub amount: i64,
    /// The code added to make the total unique among the merchant's pending payments.
    pub unique_code: i64,
    /// `amount + unique_code`: what the customer pays.
    pub total_amount: i64,
    /// When the invoice expires.
    pub expired_at: Timestamp,
    /// The hosted payment page (webqris extension; absent when the server has no public URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_url: Option<String>,
    /// `true` for a sandbox (test) invoice; absent for a live one, whose bytes stay the contract's
    /// (webqris extension).
    #[serde(default, skip_serializing_if = "is_live")]
    pub test: bool,
}

/// The `data` of `GET /api/payments/{invoiceId}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    /// Invoice id.
    pub invoice_id: String,
    /// The merchant's order reference, null when none was given.
    pub merchant_order_id: Option<String>,
    /// The dynamic QRIS payload.
    pub qris_payload: String,
    /// Amount requested.
    pub amount: i64,
    /// Unique code.
    pub unique_code: i64,
    /// Amount to pay.
    pub total_amount: i64,
    /// Current status.
    pub status: PaymentStatus,
    /// Forwarding app package, `callback` or `manual`; null while pending.
    pub payment_method: Option<String>,
    /// When it was paid; null unless paid.
    pub paid_at: Option<Timestamp>,
    /// When it expires (or expired).
    pub expired_at: Timestamp,
    /// `true` for a sandbox (test) invoice; absent for a live one, whose bytes stay the contract's
    /// (webqris extension).
    #[serde(default, skip_serializing_if = "is_live")]
    pub test: bool,
}

/// 200 answer of `GET /api/payments/{invoiceId}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentStatusResponse {
    /// Always `true`.
    pub success: bool,
    /// The payment.
    pub data: PaymentView,
}

/// The `data` of the outbound `payment.paid` webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPaymentData {
    /// Invoice id.
    pub invoice_id: String,
    /// The merchant's order reference.
    pub merchant_order_id: Option<String>,
    /// Amount requested.
    pub amount: i64,
    /// Unique code.
    pub unique_code: i64,
    /// Amount paid.
    pub total_amount: i64,
    /// Customer name given at creation.
    pub customer_name: Option<String>,
    /// Always `paid`.
    pub status: PaymentStatus,
    /// Forwarding app package, `callback` or `manual`.
    pub payment_method: String,
    /// When it was paid.
    pub paid_at: Timestamp,
    /// `true` for a sandbox (test) invoice; absent for a live one, whose bytes stay the contract's
    /// (webqris extension).
    #[serde(default, skip_serializing_if = "is_live")]
    pub test: bool,
}

/// Body of the outbound webhook: `{"event":"payment.paid","data":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// [`PAYMENT_PAID_EVENT`].
    pub event: String,
    /// The payment.
    pub data: WebhookPaymentData,
}

impl WebhookEvent {
    /// A `payment.paid` event.
    pub fn payment_paid(data: WebhookPaymentData) -> Self {
        Self {
            event: PAYMENT_PAID_EVENT.to_owned(),
            data,
        }
    }
}

/// Body of `POST /api/webhook/payment` as forwarders send it. Only `message` is required: third-party
/// forwarders omit fields freely, and send `notif_id`/`timestamp` as numbers or strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequest {
    /// Package name of the app that posted the notification.
    #[serde(default)]
    pub app: Option<String>,
    /// Notification title.
    #[serde(default)]
    pub title: Option<String>,
    /// Notification text (big text when the app gave one).
    pub message: String,
    /// When the phone saw it (ISO-8601, or epoch milliseconds from some forwarders).
    #[serde(default, deserialize_with = "string_or_number")]
    pub timestamp: Option<String>,
    /// Forwarding device's name or id.
    #[serde(default, deserialize_with = "string_or_number")]
    pub device_id: Option<String>,
    /// The forwarder's id for this notification (not unique on its own: GoPay sends -1 for all).
    #[serde(default, deserialize_with = "string_or_number")]
    pub notif_id: Option<String>,
    /// The forwarder's event hash; `"test"` marks a connection test.
    #[serde(default, deserialize_with = "string_or_number")]
    pub event_hash: Option<String>,
    /// webqris extension: Android's `Notification.category` (`msg`, `email`, `call`, `social`, …), so the
    /// server can tell a chat message from a payment notification. Absent from other forwarders.
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub category: Option<String>,
    /// webqris extension: `Notification.EXTRA_TEMPLATE`, e.g. `android.app.Notification$MessagingStyle`
    /// (a conversation never pays).
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub template: Option<String>,
    /// webqris extension: the notification's channel id (Android 8+), which tells an app's payment
    /// notifications from its other ones.
    #[serde(
        default,
        deserialize_with = "string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub channel_id: Option<String>,
}

/// Accepts a JSON string or number (or null) as an optional string.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        I(i64),
        U(u64),
        F(f64),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|raw| match raw {
        Raw::S(s) => s,
        Raw::I(i) => i.to_string(),
        Raw::U(u) => u.to_string(),
        Raw::F(f) => f.to_string(),
    }))
}

/// 200: the notification paid an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPaid {
    /// Always `true`.
    pub success: bool,
    /// The invoice it paid.
    pub invoice_id: String,
    /// The amount read from the text.
    pub parsed_amount: i64,
    /// The sender read from the text, when the app names one.
    pub sender_name: Option<String>,
}

/// 200: connection test (`event_hash: "test"`), nothing processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationTest {
    /// Always `true`.
    pub success: bool,
    /// `Koneksi berhasil! Auth valid ✓ (Merchant: <name>)`.
    pub message: String,
    /// Always `true`.
    pub test: bool,
}

impl NotificationTest {
    /// The contract's answer for merchant `merchant_name`.
    pub fn for_merchant(merchant_name: &str) -> Self {
        Self {
            success: true,
            message: format!("Koneksi berhasil! Auth valid ✓ (Merchant: {merchant_name})"),
            test: true,
        }
    }
}

/// 200: already seen; the forwarder must not retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationDuplicate {
    /// Always `false`.
    pub success: bool,
    /// [`DUPLICATE_MESSAGE`].
    pub message: String,
    /// The `notif_id` the forwarder sent.
    pub notif_id: Option<String>,
}

/// 422: no amount could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationNoAmount {
    /// Always `false`.
    pub success: bool,
    /// [`NO_AMOUNT_MESSAGE`].
    pub message: String,
    /// The text received.
    pub raw_message: String,
}

/// 422: the notification is not an incoming payment (outgoing transfer, promo, OTP…); nothing was
/// marked paid. Not in api.md: our addition, shaped like [`NotificationNoAmount`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationNotIncoming {
    /// Always `false`.
    pub success: bool,
    /// [`NOT_INCOMING_MESSAGE`].
    pub message: String,
    /// Why (`outgoing`, `topup`, `promo`, `otp`, `pending`, `failed`, `redacted`).
    pub reason: String,
    /// The text received.
    pub raw_message: String,
}

/// 422: the notification may not pay ([`UNTRUSTED_MESSAGE`]) or waits for a person ([`HELD_MESSAGE`]); it
/// is stored with its reason and nothing was marked paid. The forwarder treats it as final. Not in
/// api.md: our addition, shaped like [`NotificationNotIncoming`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationUntrusted {
    /// Always `false`.
    pub success: bool,
    /// [`UNTRUSTED_MESSAGE`] or [`HELD_MESSAGE`].
    pub message: String,
    /// Why: `no_app`, `untrusted_source`, `conversation`, `amount_in_title`, `unknown_title`,
    /// `unverified_wording`, or `new_channel` (held).
    pub reason: String,
    /// The text received.
    pub raw_message: String,
}

/// 404: an amount was read but no pending payment has that total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationNoMatch {
    /// Always `false`.
    pub success: bool,
    /// [`NO_MATCH_MESSAGE`].
    pub message: String,
    /// The amount read.
    pub parsed_amount: i64,
    /// The merchant's name.
    pub merchant: String,
}

/// Body of `POST /api/callback/notify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackNotifyRequest {
    /// Must equal a pending `total_amount` of the merchant.
    pub amount: i64,
    /// Who paid, when known.
    #[serde(default)]
    pub sender_name: Option<String>,
    /// The notifier's reference; a second callback with the same reference is a duplicate.
    #[serde(default)]
    pub reference: Option<String>,
}

/// 200 answer of `POST /api/callback/notify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackNotifyResponse {
    /// Always `true`.
    pub success: bool,
    /// The invoice it paid.
    pub invoice_id: String,
}

/// A WebSocket event frame: `{"event": …, "data": …, "ts": <epoch ms>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsFrame {
    /// What happened: the `event` name and its `data`.
    #[serde(flatten)]
    pub event: WsEvent,
    /// When the event happened, epoch milliseconds.
    pub ts: i64,
}

/// Every event a WebSocket client can receive, as `"event"` (the variant's snake_case name) and
/// `"data"` (its content). Adding an event is adding a variant: the compiler then points at every
/// `match` that must learn it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum WsEvent {
    /// `new_payment`: an invoice was created.
    NewPayment(WsPaymentData),
    /// `payment_paid`: an invoice was paid (notification, callback or manual confirmation).
    PaymentPaid(WsPaymentData),
    /// `payments_expired`: the expiry sweep expired a batch of invoices.
    PaymentsExpired(WsExpiredData),
    /// `webhook_delivered`: an outbound webhook got a 2xx.
    WebhookDelivered(WsWebhookDeliveredData),
    /// `webhook_failed`: a webhook attempt failed (not in api.md: our addition for the operator's
    /// view).
    WebhookFailed(WsWebhookFailedData),
    /// `device_alert`: a forwarder device went silent, cannot deliver, lost notification access, or
    /// recovered (`alert` null) (not in api.md: our addition).
    DeviceAlert(WsDeviceAlertData),
    /// `webhook_alert`: a merchant's webhook endpoint has been failing (no 2xx) for
    /// `webhook.failing_alert_secs`, or it recovered (`failing` false) (not in api.md: our addition).
    WebhookAlert(WsWebhookAlertData),
}

impl WsEvent {
    /// The `event` name on the wire.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::NewPayment(_) => "new_payment",
            Self::PaymentPaid(_) => "payment_paid",
            Self::PaymentsExpired(_) => "payments_expired",
            Self::WebhookDelivered(_) => "webhook_delivered",
            Self::WebhookFailed(_) => "webhook_failed",
            Self::DeviceAlert(_) => "device_alert",
            Self::WebhookAlert(_) => "webhook_alert",
        }
    }

    /// The `data` on the wire, as JSON text: what the event log stores beside [`WsEvent::name`],
    /// serialised once and directly (not through a `serde_json::Value` of the whole frame).
    pub fn data_json(&self) -> String {
        let text = match self {
            Self::NewPayment(d) | Self::PaymentPaid(d) => serde_json::to_string(d),
            Self::PaymentsExpired(d) => serde_json::to_string(d),
            Self::WebhookDelivered(d) => serde_json::to_string(d),
            Self::WebhookFailed(d) => serde_json::to_string(d),
            Self::DeviceAlert(d) => serde_json::to_string(d),
            Self::WebhookAlert(d) => serde_json::to_string(d),
        };
        text.expect("event data of strings, numbers and booleans always serialises")
    }
}

/// The `data` of `new_payment` and `payment_paid` frames.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsPaymentData {
    /// The payment's numeric id.
    pub id: i64,
    /// Invoice id.
    pub invoice_id: String,
    /// Amount requested.
    pub amount: i64,
    /// Amount to pay.
    pub total_amount: i64,
    /// Unique code.
    pub unique_code: i64,
    /// The merchant's name.
    pub merchant_name: String,
    /// Who paid (null for `new_payment` or when unknown).
    pub sender_name: Option<String>,
    /// Current status.
    pub status: PaymentStatus,
    /// `true` for a sandbox (test) invoice; absent for a live one, whose bytes stay the contract's
    /// (webqris extension).
    #[serde(default, skip_serializing_if = "is_live")]
    pub test: bool,
}

/// The `data` of a `payments_expired` frame (not in api.md: our shape). One frame per sweep; a merchant
/// socket sees only its own payments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsExpiredData {
    /// How many payments this frame lists.
    pub count: usize,
    /// The payments that expired, `status` `expired`.
    pub payments: Vec<WsPaymentData>,
}

/// The `data` of a `webhook_delivered` frame (not in api.md: our shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsWebhookDeliveredData {
    /// The paid invoice the webhook announced.
    pub invoice_id: String,
    /// The Standard Webhooks `webhook-id` (stable across retries).
    pub webhook_id: String,
    /// The merchant's name.
    pub merchant_name: String,
    /// Which attempt succeeded (1 = first).
    pub attempt: i64,
    /// The 2xx status the merchant's server answered.
    pub status_code: u16,
}

/// The `data` of a `webhook_failed` frame (not in api.md: our addition). Sent for every failed attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsWebhookFailedData {
    /// The paid invoice the webhook announced.
    pub invoice_id: String,
    /// The Standard Webhooks `webhook-id` (stable across retries).
    pub webhook_id: String,
    /// The merchant's name.
    pub merchant_name: String,
    /// Which attempt failed (1 = first).
    pub attempt: i64,
    /// The status the merchant's server answered, when it answered.
    pub status_code: Option<u16>,
    /// What went wrong.
    pub error: String,
    /// When the next attempt is due; null when attempts are exhausted.
    pub next_attempt_at: Option<Timestamp>,
}

/// Why a forwarder device needs a person's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceAlert {
    /// Not heard from (no heartbeat, no notification) for `forwarder.silence_alert_secs`.
    Silent,
    /// Alive, but its queue is stuck: the oldest undelivered notification is older than
    /// `forwarder.stuck_alert_secs`, or some are parked after too many failed attempts.
    CannotDeliver,
    /// Alive, but without notification access: it reads no payment at all.
    NoNotificationAccess,
}

impl DeviceAlert {
    /// The stored and wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::CannotDeliver => "cannot_deliver",
            Self::NoNotificationAccess => "no_notification_access",
        }
    }

    /// Reads [`DeviceAlert::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Silent,
            Self::CannotDeliver,
            Self::NoNotificationAccess,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// The `data` of a `device_alert` frame (not in api.md: our addition): sent when a device's alert
/// changes, `alert` null once it is healthy again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsDeviceAlertData {
    /// The merchant's name.
    pub merchant_name: String,
    /// The device.
    pub device_id: String,
    /// What is wrong now; null: recovered.
    pub alert: Option<DeviceAlert>,
    /// When the device was last heard from.
    pub last_seen_at: Timestamp,
    /// Notifications waiting on the phone, at its last heartbeat.
    pub outbox_pending: Option<i64>,
    /// Of those, the parked ones.
    pub parked_count: Option<i64>,
    /// Since when the oldest of them waits (server clock).
    pub oldest_pending_since: Option<Timestamp>,
    /// Why the phone cannot deliver, as it said.
    pub last_delivery_error: Option<String>,
}

/// The `data` of a `webhook_alert` frame (not in api.md: our addition): sent once when a merchant's
/// webhook endpoint has been failing for an hour, and once when an attempt succeeds again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WsWebhookAlertData {
    /// The merchant's name.
    pub merchant_name: String,
    /// The endpoint (the merchant's webhook URL).
    pub url: String,
    /// `true`: failing since `failing_since`; `false`: recovered.
    pub failing: bool,
    /// The first failed attempt since the last 2xx (null once recovered).
    pub failing_since: Option<Timestamp>,
    /// The last 2xx (the recovering one, when `failing` is false).
    pub last_success_at: Option<Timestamp>,
    /// Attempts in a row without a 2xx.
    pub failed_attempts: i64,
    /// Why the last failed attempt failed.
    pub last_error: Option<String>,
}

/// One payment of a notification and what became of it; listed in the `payments` array of the answer to
/// `/api/webhook/payment` when a notification carries several payments (GoBiz groups them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationPaymentOutcome {
    /// The amount read.
    pub amount: i64,
    /// The sender read, when the app names one.
    pub sender_name: Option<String>,
    /// The app's transaction reference, when the text has one.
    pub reference: Option<String>,
    /// `paid`, `duplicate` (reference already seen), `no_match`, or `late` (its invoice had expired).
    pub outcome: String,
    /// The invoice paid (or, for `late`, the expired invoice it was meant for).
    pub invoice_id: Option<String>,
}

/// Body of `POST /api/forwarder/heartbeat` (webqris extension: the forwarder's liveness report). Only
/// `device_id` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// The forwarding device's id.
    pub device_id: String,
    /// The forwarder app's version.
    #[serde(default)]
    pub app_version: Option<String>,
    /// Whether the notification listener is connected.
    #[serde(default)]
    pub listener_connected: Option<bool>,
    /// Notifications queued on the phone, not yet delivered.
    #[serde(default)]
    pub outbox_pending: Option<i64>,
    /// When the phone last saw a notification.
    #[serde(default)]
    pub last_notification_at: Option<Timestamp>,
    /// How long the oldest undelivered notification has waited on the phone, seconds (by the phone's
    /// own clock, so its drift does not matter).
    #[serde(default)]
    pub oldest_pending_age_secs: Option<i64>,
    /// Of `outbox_pending`, the notifications parked after too many failed attempts.
    #[serde(default)]
    pub parked_count: Option<i64>,
    /// Why delivery is failing now (the refusal, the unreachable server, the newest failed attempt);
    /// absent when it is not.
    #[serde(default)]
    pub last_delivery_error: Option<String>,
    /// Whether the app has notification access (without it no payment is read).
    #[serde(default)]
    pub notification_access: Option<bool>,
}

/// 200 answer of `POST /api/forwarder/heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// Always `true`.
    pub success: bool,
    /// The merchant the callback secret belongs to.
    pub merchant: String,
    /// The server's clock (phones' clocks drift).
    pub server_time: Timestamp,
    /// How often the server wants a heartbeat.
    pub heartbeat_interval_secs: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ts(iso: &str) -> Timestamp {
        Timestamp::parse(iso).expect("valid timestamp")
    }

    #[test]
    fn create_response_serialises_exactly_as_documented() {
        let body = CreatePaymentResponse {
            success: true,
            invoice_id: "INV-1710000000-abc123".into(),
            qris_payload: "00020101021226...6304ABCD".into(),
            amount: 25000,
            unique_code: 42,
            total_amount: 25042,
            expired_at: ts("2026-03-09T10:30:00.000Z"),
            payment_url: None,
            test: false,
        };
        assert_eq!(
            serde_json::to_string(&body).expect("serialize"),
            r#"{"success":true,"invoice_id":"INV-1710000000-abc123","qris_payload":"00020101021226...6304ABCD","amount":25000,"unique_code":42,"total_amount":25042,"expired_at":"2026-03-09T10:30:00.000Z"}"#
        );
    }

    #[test]
    fn status_response_serialises_exactly_as_documented() {
        let body = PaymentStatusResponse {
            success: true,
            data: PaymentView {
                invoice_id: "INV-1710000000-abc123".into(),
                merchant_order_id: Some("ORDER-001".into()),
                qris_payload: "0002010211...".into(),
                amount: 25000,
                unique_code: 42,
                total_amount: 25042,
                status: PaymentStatus::Paid,
                payment_method: Some("com.dana.id".into()),
                paid_at: Some(ts("2026-03-09T10:15:23.000Z")),
                expired_at: ts("2026-03-09T10:30:00.000Z"),
                test: false,
            },
        };
        assert_eq!(
            serde_json::to_value(&body).expect("serialize"),
            json!({
              "success": true,
              "data": {
                "invoice_id": "INV-1710000000-abc123",
                "merchant_order_id": "ORDER-001",
                "qris_payload": "0002010211...",
                "amount": 25000,
                "unique_code": 42,
                "total_amount": 25042,
                "status": "paid",
                "payment_method": "com.dana.id",
                "paid_at": "2026-03-09T10:15:23.000Z",
                "expired_at": "2026-03-09T10:30:00.000Z"
              }
            })
        );
    }

    #[test]
    fn webhook_body_is_byte_for_byte_the_signed_vector() {
        let vector_body = include_str!("../../tests/corpus/webhook-vectors.tsv")
            .lines()
            .find(|l| l.starts_with("webqris-hex\t"))
            .and_then(|l| l.split('\t').nth(4))
            .expect("the corpus has a webqris-hex row");
        let event = WebhookEvent::payment_paid(WebhookPaymentData {
            invoice_id: "INV-1710000000-abc123".into(),
            merchant_order_id: Some("ORDER-001".into()),
            amount: 25000,
            unique_code: 42,
            total_amount: 25042,
            customer_name: Some("John Doe".into()),
            status: PaymentStatus::Paid,
            payment_method: "com.dana.id".into(),
            paid_at: ts("2026-03-09T10:15:23.000Z"),
            test: false,
        });
        assert_eq!(
            serde_json::to_string(&event).expect("serialize"),
            vector_body
        );
    }

    #[test]
    fn a_test_invoice_is_marked_and_a_live_one_keeps_the_contract_bytes() {
        let mut data = WebhookPaymentData {
            invoice_id: "INV-1".into(),
            merchant_order_id: None,
            amount: 1000,
            unique_code: 1,
            total_amount: 1001,
            customer_name: None,
            status: PaymentStatus::Paid,
            payment_method: "sandbox".into(),
            paid_at: ts("2026-03-09T10:15:23.000Z"),
            test: false,
        };
        let live = serde_json::to_value(WebhookEvent::payment_paid(data.clone())).expect("ser");
        assert_eq!(live["data"].get("test"), None);
        data.test = true;
        let test = serde_json::to_value(WebhookEvent::payment_paid(data.clone())).expect("ser");
        assert_eq!(test["data"]["test"], json!(true));
        let back: WebhookEvent = serde_json::from_value(test).expect("read back");
        assert!(back.data.test);
    }

    #[test]
    fn notification_answers_serialise_exactly_as_documented() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (
                serde_json::to_value(NotificationPaid {
                    success: true,
                    invoice_id: "INV-1".into(),
                    parsed_amount: 25042,
                    sender_name: Some("JOHN DOE".into()),
                })
                .expect("ser"),
                r#"{"success":true,"invoice_id":"INV-1","parsed_amount":25042,"sender_name":"JOHN DOE"}"#,
            ),
            (
                serde_json::to_value(NotificationTest::for_merchant("Toko ABC")).expect("ser"),
                r#"{"success":true,"message":"Koneksi berhasil! Auth valid ✓ (Merchant: Toko ABC)","test":true}"#,
            ),
            (
                serde_json::to_value(NotificationDuplicate {
                    success: false,
                    message: DUPLICATE_MESSAGE.into(),
                    notif_id: Some("1234567890".into()),
                })
                .expect("ser"),
                r#"{"success":false,"message":"Duplicate notification","notif_id":"1234567890"}"#,
            ),
            (
                serde_json::to_value(NotificationNoAmount {
                    success: false,
                    message: NO_AMOUNT_MESSAGE.into(),
                    raw_message: "halo".into(),
                })
                .expect("ser"),
                r#"{"success":false,"message":"Tidak dapat mendeteksi nominal dari notifikasi","raw_message":"halo"}"#,
            ),
            (
                serde_json::to_value(NotificationNoMatch {
                    success: false,
                    message: NO_MATCH_MESSAGE.into(),
                    parsed_amount: 25042,
                    merchant: "Toko ABC".into(),
                })
                .expect("ser"),
                r#"{"success":false,"message":"No matching pending payment","parsed_amount":25042,"merchant":"Toko ABC"}"#,
            ),
        ];
        for (value, expected) in cases {
            let expected: serde_json::Value = serde_json::from_str(expected).expect("json");
            assert_eq!(value, expected);
        }
    }

    #[test]
    fn the_documented_forwarder_body_parses_and_numbers_are_accepted_as_ids() {
        let body: NotificationRequest = serde_json::from_value(json!({
          "app": "com.dana.id",
          "title": "DANA",
          "message": "Kamu berhasil menerima Rp25.042 dari JOHN DOE",
          "timestamp": "2026-03-21T10:15:23.000Z",
          "device_id": "device-01",
          "notif_id": "1234567890",
          "event_hash": "..."
        }))
        .expect("documented body");
        assert_eq!(body.notif_id.as_deref(), Some("1234567890"));
        let numeric: NotificationRequest = serde_json::from_value(
            json!({"message": "x", "notif_id": -1, "timestamp": 1774088123000_i64}),
        )
        .expect("numbers accepted");
        assert_eq!(numeric.notif_id.as_deref(), Some("-1"));
        assert_eq!(numeric.timestamp.as_deref(), Some("1774088123000"));
        assert!(serde_json::from_value::<NotificationRequest>(json!({"app": "x"})).is_err());
    }

    #[test]
    fn the_optional_android_fields_are_read_and_left_out_when_absent() {
        let body: NotificationRequest = serde_json::from_value(json!({
          "message": "x",
          "category": "msg",
          "template": "android.app.Notification$MessagingStyle",
          "channel_id": "chat"
        }))
        .expect("extension fields");
        assert_eq!(body.category.as_deref(), Some("msg"));
        assert_eq!(
            body.template.as_deref(),
            Some("android.app.Notification$MessagingStyle")
        );
        assert_eq!(body.channel_id.as_deref(), Some("chat"));
        let plain: NotificationRequest =
            serde_json::from_value(json!({"message": "x"})).expect("plain body");
        assert_eq!(
            serde_json::to_value(&plain).expect("serialises"),
            json!({"app": null, "title": null, "message": "x", "timestamp": null,
                   "device_id": null, "notif_id": null, "event_hash": null})
        );
    }

    #[test]
    fn create_request_requires_an_integer_amount() {
        let ok: CreatePaymentRequest = serde_json::from_value(
            json!({"amount": 25000, "merchant_order_id": "ORDER-001", "customer_name": "John Doe"}),
        )
        .expect("documented body");
        assert_eq!(ok.amount, 25000);
        assert!(
            serde_json::from_value::<CreatePaymentRequest>(json!({"amount": "25000"})).is_err()
        );
        assert!(serde_json::from_value::<CreatePaymentRequest>(json!({"amount": 250.5})).is_err());
        assert!(serde_json::from_value::<CreatePaymentRequest>(json!({})).is_err());
    }

    #[test]
    fn ws_payment_paid_frame_has_the_documented_shape() {
        let frame = WsFrame {
            event: WsEvent::PaymentPaid(WsPaymentData {
                id: 123,
                invoice_id: "INV-1".into(),
                amount: 25000,
                total_amount: 25042,
                unique_code: 42,
                merchant_name: "Toko ABC".into(),
                sender_name: Some("JOHN DOE".into()),
                status: PaymentStatus::Paid,
                test: false,
            }),
            ts: 1_710_000_000_000,
        };
        let text = serde_json::to_string(&frame).expect("ser");
        assert_eq!(
            text,
            r#"{"event":"payment_paid","data":{"id":123,"invoice_id":"INV-1","amount":25000,"total_amount":25042,"unique_code":42,"merchant_name":"Toko ABC","sender_name":"JOHN DOE","status":"paid"},"ts":1710000000000}"#
        );
        assert_eq!(frame.event.name(), "payment_paid");
        let back: WsFrame = serde_json::from_str(&text).expect("a client reads it back");
        assert_eq!(back, frame);
    }

    #[test]
    fn every_ws_event_is_named_on_the_wire_as_documented() {
        let payment = WsPaymentData {
            id: 1,
            invoice_id: "INV-1".into(),
            amount: 1,
            total_amount: 2,
            unique_code: 1,
            merchant_name: "M".into(),
            sender_name: None,
            status: PaymentStatus::Pending,
            test: false,
        };
        let delivered = WsWebhookDeliveredData {
            invoice_id: "INV-1".into(),
            webhook_id: "msg_1".into(),
            merchant_name: "M".into(),
            attempt: 1,
            status_code: 200,
        };
        let events = [
            WsEvent::NewPayment(payment.clone()),
            WsEvent::PaymentPaid(payment.clone()),
            WsEvent::PaymentsExpired(WsExpiredData {
                count: 1,
                payments: vec![payment],
            }),
            WsEvent::WebhookDelivered(delivered),
            WsEvent::WebhookFailed(WsWebhookFailedData {
                invoice_id: "INV-1".into(),
                webhook_id: "msg_1".into(),
                merchant_name: "M".into(),
                attempt: 1,
                status_code: None,
                error: "refused".into(),
                next_attempt_at: None,
            }),
        ];
        for event in events {
            let value = serde_json::to_value(WsFrame {
                event: event.clone(),
                ts: 5,
            })
            .expect("ser");
            assert_eq!(value["event"], event.name());
            assert!(value["data"].is_object(), "{value}");
            assert_eq!(value["ts"], 5);
            let data: serde_json::Value =
                serde_json::from_str(&event.data_json()).expect("data_json is JSON");
            assert_eq!(data, value["data"], "data_json is the frame's data");
        }
    }

    #[test]
    fn heartbeat_bodies_have_the_documented_shape() {
        let request: HeartbeatRequest = serde_json::from_value(json!({
            "device_id": "device-01",
            "app_version": "0.1.0",
            "listener_connected": true,
            "outbox_pending": 0,
            "last_notification_at": "2026-03-21T10:15:23.000Z"
        }))
        .expect("documented body");
        assert_eq!(
            request.last_notification_at,
            Some(ts("2026-03-21T10:15:23.000Z"))
        );
        let minimal: HeartbeatRequest =
            serde_json::from_value(json!({"device_id": "d"})).expect("only device_id required");
        assert_eq!(minimal.app_version, None);
        assert_eq!(minimal.oldest_pending_age_secs, None);
        let health: HeartbeatRequest = serde_json::from_value(json!({
            "device_id": "d",
            "outbox_pending": 3,
            "oldest_pending_age_secs": 420,
            "parked_count": 1,
            "last_delivery_error": "server answered HTTP 500",
            "notification_access": false
        }))
        .expect("the delivery health fields");
        assert_eq!(
            (
                health.oldest_pending_age_secs,
                health.parked_count,
                health.notification_access
            ),
            (Some(420), Some(1), Some(false))
        );
        assert!(serde_json::from_value::<HeartbeatRequest>(json!({"app_version": "x"})).is_err());
        let response = HeartbeatResponse {
            success: true,
            merchant: "Toko ABC".into(),
            server_time: ts("2026-03-21T10:15:24.000Z"),
            heartbeat_interval_secs: 300,
        };
        assert_eq!(
            serde_json::to_string(&response).expect("ser"),
            r#"{"success":true,"merchant":"Toko ABC","server_time":"2026-03-21T10:15:24.000Z","heartbeat_interval_secs":300}"#
        );
    }

    #[test]
    fn status_round_trips_through_its_spelling() {
        for s in [
            PaymentStatus::Pending,
            PaymentStatus::Paid,
            PaymentStatus::Expired,
        ] {
            assert_eq!(s.as_str().parse::<PaymentStatus>(), Ok(s));
        }
        assert!("PAID".parse::<PaymentStatus>().is_err());
    }
}
