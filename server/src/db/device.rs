//! Forwarder devices: when each (merchant, device) was last heard from, what its last heartbeat said about
//! its delivery, and the alert last announced for it.

use webqris_core::Timestamp;
use webqris_core::wire::DeviceAlert;

use super::sql::{Row, params};
use super::{Conn, DbError, MerchantId, Tx};

/// What a heartbeat reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    /// Device id.
    pub device_id: String,
    /// Forwarder app version.
    pub app_version: Option<String>,
    /// Notification listener connected.
    pub listener_connected: Option<bool>,
    /// Notifications queued on the phone.
    pub outbox_pending: Option<i64>,
    /// When the phone last saw a notification.
    pub last_notification_at: Option<Timestamp>,
    /// Notification access granted.
    pub notification_access: Option<bool>,
    /// Of the queued notifications, those parked after too many failed attempts.
    pub parked_count: Option<i64>,
    /// Since when the oldest queued notification waits, on the server's clock.
    pub oldest_pending_since: Option<Timestamp>,
    /// Why the phone cannot deliver now (cut to a bound by the handler).
    pub last_delivery_error: Option<String>,
}

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    /// The merchant it forwards for.
    pub merchant_id: MerchantId,
    /// Device id.
    pub device_id: String,
    /// Forwarder app version.
    pub app_version: Option<String>,
    /// Listener connected at the last heartbeat.
    pub listener_connected: Option<bool>,
    /// Outbox size at the last heartbeat.
    pub outbox_pending: Option<i64>,
    /// Last notification seen on the phone.
    pub last_notification_at: Option<Timestamp>,
    /// First contact.
    pub first_seen_at: Timestamp,
    /// Last contact (heartbeat or notification).
    pub last_seen_at: Timestamp,
    /// Last heartbeat.
    pub last_heartbeat_at: Option<Timestamp>,
    /// Notification access at the last heartbeat.
    pub notification_access: Option<bool>,
    /// Parked notifications at the last heartbeat.
    pub parked_count: Option<i64>,
    /// Since when the oldest queued notification waits (server clock), at the last heartbeat.
    pub oldest_pending_since: Option<Timestamp>,
    /// Why the phone could not deliver, at the last heartbeat.
    pub last_delivery_error: Option<String>,
    /// The alert last announced (live feed) for this device.
    pub alert: Option<DeviceAlert>,
}

/// The columns [`device_from_row`] reads, in its order.
macro_rules! device_columns {
    () => {
        "merchant_id, device_id, app_version, listener_connected, outbox_pending, \
         last_notification_at, first_seen_at, last_seen_at, last_heartbeat_at, notification_access, \
         parked_count, oldest_pending_since, last_delivery_error, alert"
    };
}

fn device_from_row(r: &Row<'_>) -> Result<DeviceRow, DbError> {
    Ok(DeviceRow {
        merchant_id: r.get(0)?,
        device_id: r.get(1)?,
        app_version: r.get(2)?,
        listener_connected: r.get(3)?,
        outbox_pending: r.get(4)?,
        last_notification_at: r.get(5)?,
        first_seen_at: r.get(6)?,
        last_seen_at: r.get(7)?,
        last_heartbeat_at: r.get(8)?,
        notification_access: r.get(9)?,
        parked_count: r.get(10)?,
        oldest_pending_since: r.get(11)?,
        last_delivery_error: r.get(12)?,
        // The CHECK constraint admits only the spellings `DeviceAlert::parse` reads.
        alert: r
            .get::<Option<String>>(13)?
            .as_deref()
            .and_then(DeviceAlert::parse),
    })
}

impl Tx<'_> {
    /// Notes that `device_id` of `merchant` was heard from (a notification carrying it).
    pub fn touch_device(
        &self,
        merchant: MerchantId,
        device_id: &str,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO devices (merchant_id, device_id, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (merchant_id, device_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            params![merchant, device_id, now],
        )?;
        Ok(())
    }

    /// Stores a heartbeat (the reported fields replace the previous ones) and returns the device as it
    /// now stands.
    pub fn record_heartbeat(
        &self,
        merchant: MerchantId,
        beat: &Heartbeat,
        now: Timestamp,
    ) -> Result<DeviceRow, DbError> {
        self.query_one(
            concat!(
                "INSERT INTO devices (merchant_id, device_id, app_version, listener_connected,
                                      outbox_pending, last_notification_at, first_seen_at,
                                      last_seen_at, last_heartbeat_at, notification_access,
                                      parked_count, oldest_pending_since, last_delivery_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (merchant_id, device_id) DO UPDATE SET
                     app_version = excluded.app_version,
                     listener_connected = excluded.listener_connected,
                     outbox_pending = excluded.outbox_pending,
                     last_notification_at = excluded.last_notification_at,
                     last_seen_at = excluded.last_seen_at,
                     last_heartbeat_at = excluded.last_heartbeat_at,
                     notification_access = excluded.notification_access,
                     parked_count = excluded.parked_count,
                     oldest_pending_since = excluded.oldest_pending_since,
                     last_delivery_error = excluded.last_delivery_error
                 RETURNING ",
                device_columns!()
            ),
            params![
                merchant,
                beat.device_id,
                beat.app_version,
                beat.listener_connected,
                beat.outbox_pending,
                beat.last_notification_at,
                now,
                beat.notification_access,
                beat.parked_count,
                beat.oldest_pending_since,
                beat.last_delivery_error,
            ],
            device_from_row,
        )
    }

    /// Records the alert announced for a device (`None`: healthy again) if it still is `from`; whether it
    /// changed. Sweeps and heartbeats on several nodes may see one change at once: only the one whose
    /// update changed the row announces it.
    pub fn set_device_alert(
        &self,
        merchant: MerchantId,
        device_id: &str,
        from: Option<DeviceAlert>,
        to: Option<DeviceAlert>,
    ) -> Result<bool, DbError> {
        let changed = self.execute(
            "UPDATE devices SET alert = ?4
             WHERE merchant_id = ?1 AND device_id = ?2 AND COALESCE(alert, '') = COALESCE(?3, '')",
            params![
                merchant,
                device_id,
                from.map(DeviceAlert::as_str),
                to.map(DeviceAlert::as_str)
            ],
        )?;
        Ok(changed > 0)
    }

    /// Every device of every merchant, with its merchant's name (for the alert sweep).
    pub fn all_devices(&self) -> Result<Vec<(DeviceRow, String)>, DbError> {
        self.query_all(
            concat!(
                "SELECT ",
                device_columns!(),
                ", (SELECT name FROM merchants m WHERE m.id = d.merchant_id)
                 FROM devices d ORDER BY merchant_id, device_id"
            ),
            params![],
            |r| Ok((device_from_row(r)?, r.get(14)?)),
        )
    }
}

impl Conn<'_> {
    /// `merchant`'s devices, most recently seen first.
    pub fn devices(&self, merchant: MerchantId) -> Result<Vec<DeviceRow>, DbError> {
        self.query_all(
            concat!(
                "SELECT ",
                device_columns!(),
                " FROM devices WHERE merchant_id = ?1 ORDER BY last_seen_at DESC, device_id"
            ),
            params![merchant],
            device_from_row,
        )
    }
}
