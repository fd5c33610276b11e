//! The relay of other nodes' events to this node's sockets (PostgreSQL; on SQLite this process is the
//! only node and the relay does not run).
//!
//! Every live event is stored in the same transaction as its change (`db/event.rs`), per merchant under
//! a gapless cursor. The database wakes this relay (`LISTEN/NOTIFY`: the merchant concerned, or a rescan
//! after a reconnection and every few seconds); the relay then reads each woken merchant's events after
//! the cursor it last relayed and publishes those another node wrote. Events made here were published
//! already, when they committed. A payment paid elsewhere also rings this node's delivery worker, so
//! that it notices the webhook due (and takes it over when the other node dies). A wake-up that is lost costs a few seconds' delay, never an event:
//! the rescan compares every merchant's cursor with what was relayed.

use std::collections::HashMap;

use tokio::sync::watch;
use webqris_core::wire::WsEvent;

use crate::db::{DbError, MerchantId, Wake};
use crate::state::AppState;

/// Events read per merchant per query.
const BATCH: usize = 256;

/// Relays until `stop` becomes true.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let wakes = match state.db.event_wakes() {
        Ok(Some(wakes)) => wakes,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for other nodes' events; sockets here see only this node's");
            return;
        }
    };
    // What happened before this node started is not replayed: relaying starts at today's cursors.
    let mut relayed: HashMap<MerchantId, i64> = loop {
        match state.db.read(|c| c.event_heads()).await {
            Ok(heads) => break heads.into_iter().collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the event cursors; retrying");
                tokio::select! {
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    _ = stop.wait_for(|stopping| *stopping) => return,
                }
            }
        }
    };
    loop {
        let wake = tokio::select! {
            wake = wakes.next() => wake,
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        if let Err(e) = relay(&state, &mut relayed, wake).await {
            // The next rescan (within seconds) catches up from the same cursors.
            tracing::error!(error = %e, "cannot relay other nodes' events; retrying at the next rescan");
        }
    }
    tracing::debug!("event relay stopped");
}

async fn relay(
    state: &AppState,
    relayed: &mut HashMap<MerchantId, i64>,
    wake: Wake,
) -> Result<(), DbError> {
    let merchants = match wake {
        Wake::Merchants(merchants) => merchants,
        Wake::Rescan => {
            // Ownership changed on another node reaches this node's account sockets here too.
            state
                .hub
                .owners()
                .load(state.db.read(|c| c.merchant_owners()).await?);
            let heads = state.db.read(|c| c.event_heads()).await?;
            heads
                .into_iter()
                .filter(|(merchant, head)| relayed.get(merchant).is_none_or(|seen| head > seen))
                .map(|(merchant, _)| merchant)
                .collect()
        }
    };
    for merchant in merchants {
        if !relayed.contains_key(&merchant) {
            // A merchant new to this relay, perhaps made on another node: who owns it?
            state
                .hub
                .owners()
                .load(state.db.read(|c| c.merchant_owners()).await?);
        }
        loop {
            let after = relayed.get(&merchant).copied().unwrap_or(0);
            let events = state
                .db
                .read(move |c| c.events_after(merchant, after, BATCH))
                .await?;
            let complete = events.len() < BATCH;
            for stored in events {
                relayed.insert(merchant, stored.seq);
                if stored.origin != state.db.origin() {
                    // A payment paid elsewhere has a webhook due: this node's worker may be idle with
                    // nothing else to wake it, and must take over if the other node goes down.
                    if matches!(stored.event, WsEvent::PaymentPaid(_)) {
                        state.delivery_bell.notify_one();
                    }
                    state.hub.publish_stored(stored);
                }
            }
            if complete {
                break;
            }
        }
    }
    Ok(())
}
