//! Forwarder devices: when each (merchant, device) was last heard from, and what its last heartbeat said.

use webqris_core::Timestamp;

use super::sql::params;
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
}

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
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

    /// Stores a heartbeat: the reported fields replace the previous ones.
    pub fn record_heartbeat(
        &self,
        merchant: MerchantId,
        beat: &Heartbeat,
        now: Timestamp,
    ) -> Result<(), DbError> {
        self.execute(
            "INSERT INTO devices (merchant_id, device_id, app_version, listener_connected,
                                  outbox_pending, last_notification_at, first_seen_at,
                                  last_seen_at, last_heartbeat_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)
             ON CONFLICT (merchant_id, device_id) DO UPDATE SET
                 app_version = excluded.app_version,
                 listener_connected = excluded.listener_connected,
                 outbox_pending = excluded.outbox_pending,
                 last_notification_at = excluded.last_notification_at,
                 last_seen_at = excluded.last_seen_at,
                 last_heartbeat_at = excluded.last_heartbeat_at",
            params![
                merchant,
                beat.device_id,
                beat.app_version,
                beat.listener_connected,
                beat.outbox_pending,
                beat.last_notification_at,
                now,
            ],
        )?;
        Ok(())
    }
}

impl Conn<'_> {
    /// `merchant`'s devices, most recently seen first.
    pub fn devices(&self, merchant: MerchantId) -> Result<Vec<DeviceRow>, DbError> {
        self.query_all(
            "SELECT device_id, app_version, listener_connected, outbox_pending, last_notification_at,
                    first_seen_at, last_seen_at, last_heartbeat_at
             FROM devices WHERE merchant_id = ?1 ORDER BY last_seen_at DESC, device_id",
            params![merchant],
            |r| {
                Ok(DeviceRow {
                    device_id: r.get(0)?,
                    app_version: r.get(1)?,
                    listener_connected: r.get(2)?,
                    outbox_pending: r.get(3)?,
                    last_notification_at: r.get(4)?,
                    first_seen_at: r.get(5)?,
                    last_seen_at: r.get(6)?,
                    last_heartbeat_at: r.get(7)?,
                })
            },
        )
    }
}
