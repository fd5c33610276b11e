//! Forwarder devices' alerts: the rule that says when a phone needs a person (silent, alive but unable
//! to deliver, without notification access), and the sweep that announces each change once on the live
//! feed (`device_alert`). A heartbeat announces its own change at once; the sweep catches what no
//! request reports: a phone that went silent, or one heard from again through a notification.

use tokio::sync::watch;
use webqris_core::Timestamp;
use webqris_core::wire::{DeviceAlert, WsDeviceAlertData, WsEvent};

use crate::config::ForwarderConfig;
use crate::db::{DbError, DeviceRow};
use crate::periodic;
use crate::state::AppState;

/// What `device` needs a person for at `now`, most urgent first; `None` when it is healthy.
pub fn alert(device: &DeviceRow, now: Timestamp, config: &ForwarderConfig) -> Option<DeviceAlert> {
    if now.as_millis() - device.last_seen_at.as_millis() > config.silence_alert_secs.millis() {
        return Some(DeviceAlert::Silent);
    }
    // Judged as of the heartbeat that reported the queue, never extrapolated: the phone may have
    // delivered since, and says so at its next heartbeat.
    let stuck_since_report = match (device.oldest_pending_since, device.last_heartbeat_at) {
        (Some(since), Some(reported)) => {
            reported.as_millis() - since.as_millis() > config.stuck_alert_secs.millis()
        }
        _ => false,
    };
    let waiting = device.outbox_pending.unwrap_or(0) > 0;
    if waiting && (stuck_since_report || device.parked_count.unwrap_or(0) > 0) {
        return Some(DeviceAlert::CannotDeliver);
    }
    if device.notification_access == Some(false) {
        return Some(DeviceAlert::NoNotificationAccess);
    }
    None
}

/// The live frame announcing `device`'s `alert`.
pub fn alert_data(
    device: &DeviceRow,
    merchant_name: &str,
    alert: Option<DeviceAlert>,
) -> WsDeviceAlertData {
    WsDeviceAlertData {
        merchant_name: merchant_name.to_owned(),
        device_id: device.device_id.clone(),
        alert,
        last_seen_at: device.last_seen_at,
        outbox_pending: device.outbox_pending,
        parked_count: device.parked_count,
        oldest_pending_since: device.oldest_pending_since,
        last_delivery_error: device.last_delivery_error.clone(),
    }
}

/// Sweeps until `stop` becomes true; a failed sweep is logged and the next tick tries again.
pub async fn run(state: AppState, stop: watch::Receiver<bool>) {
    let period = state.config.forwarder.alert_sweep_secs.duration();
    periodic::every(period, stop, "device alert sweep", || sweep(&state)).await;
}

/// One sweep: every device whose alert changed since it was last announced is recorded and announced.
pub async fn sweep(state: &AppState) -> Result<usize, DbError> {
    let (now, config) = (state.now(), state.config.clone());
    let changed = state
        .db
        .write(move |tx| {
            let mut changed = Vec::new();
            for (device, merchant_name) in tx.all_devices()? {
                let now_alert = alert(&device, now, &config.forwarder);
                if now_alert != device.alert
                    && tx.set_device_alert(
                        device.merchant_id,
                        &device.device_id,
                        device.alert,
                        now_alert,
                    )?
                {
                    let data = alert_data(&device, &merchant_name, now_alert);
                    tx.record_event(device.merchant_id, &WsEvent::DeviceAlert(data.clone()), now)?;
                    changed.push((device.merchant_id, device.device_id, now_alert, data));
                }
            }
            Ok::<_, DbError>(changed)
        })
        .await?;
    let count = changed.len();
    for (merchant, device_id, now_alert, data) in changed {
        tracing::info!(device = %device_id, alert = ?now_alert, "device alert changed");
        state
            .hub
            .publish_event(merchant, WsEvent::DeviceAlert(data));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Seconds;
    use crate::db::MerchantId;

    fn config() -> ForwarderConfig {
        ForwarderConfig {
            silence_alert_secs: Seconds::from_secs(900),
            stuck_alert_secs: Seconds::from_secs(300),
            ..ForwarderConfig::default()
        }
    }

    fn beat_at(secs: i64) -> DeviceRow {
        let at = Timestamp::from_millis(secs * 1000);
        DeviceRow {
            merchant_id: MerchantId(1),
            device_id: "kasir-01".into(),
            app_version: None,
            listener_connected: Some(true),
            outbox_pending: Some(0),
            last_notification_at: None,
            first_seen_at: at,
            last_seen_at: at,
            last_heartbeat_at: Some(at),
            notification_access: Some(true),
            parked_count: Some(0),
            oldest_pending_since: None,
            last_delivery_error: None,
            alert: None,
        }
    }

    const T: i64 = 1_000_000;

    #[test]
    fn a_healthy_phone_has_no_alert_and_a_silent_one_is_silent() {
        let d = beat_at(T);
        assert_eq!(
            alert(&d, Timestamp::from_millis((T + 60) * 1000), &config()),
            None
        );
        assert_eq!(
            alert(&d, Timestamp::from_millis((T + 901) * 1000), &config()),
            Some(DeviceAlert::Silent)
        );
    }

    #[test]
    fn an_alive_phone_whose_oldest_item_waited_too_long_cannot_deliver() {
        let mut d = beat_at(T);
        d.outbox_pending = Some(2);
        d.oldest_pending_since = Some(Timestamp::from_millis((T - 299) * 1000));
        let now = Timestamp::from_millis((T + 10) * 1000);
        assert_eq!(alert(&d, now, &config()), None, "4 min 59 s: not yet");
        d.oldest_pending_since = Some(Timestamp::from_millis((T - 301) * 1000));
        assert_eq!(alert(&d, now, &config()), Some(DeviceAlert::CannotDeliver));
    }

    #[test]
    fn parked_items_mean_it_cannot_deliver_and_missing_access_is_flagged() {
        let mut d = beat_at(T);
        let now = Timestamp::from_millis(T * 1000);
        d.outbox_pending = Some(1);
        d.parked_count = Some(1);
        assert_eq!(alert(&d, now, &config()), Some(DeviceAlert::CannotDeliver));
        let mut d = beat_at(T);
        d.notification_access = Some(false);
        assert_eq!(
            alert(&d, now, &config()),
            Some(DeviceAlert::NoNotificationAccess)
        );
    }
}
