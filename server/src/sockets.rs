//! Every open WebSocket, with the credential that opened it: so that revoking that credential (an API
//! token, an operator token, a dashboard session) or deleting its merchant closes the socket at once (a
//! session's sockets also close when it ends, through `SessionEnds`), and so that sockets are bounded
//! in total, per client address and per credential.
//!
//! Changes made in this process (the dashboard) close sockets immediately; changes made elsewhere (the
//! command line on the same database) are caught by [`revalidate`], which checks the credentials of the
//! open sockets once a second. The state is in memory behind this one type so that a multi-node
//! deployment can later back it with shared storage.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::config::WebSocketConfig;
use crate::db::MerchantId;
use crate::state::AppState;

/// How often credentials of open sockets are checked against the database (for revocations made by
/// another process, such as `webqris token revoke`).
pub const REVALIDATE_EVERY: Duration = Duration::from_secs(1);

/// What authorised a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A merchant's API token (`/ws/merchant?token=`), by row id.
    ApiToken(i64),
    /// An operator token (`/ws?token=`), by row id.
    OperatorToken(i64),
    /// A dashboard session (`/ws` with the cookie), by row id.
    Session(i64),
}

/// Who a socket is for, as far as revocation is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOwner {
    /// The credential.
    pub credential: Credential,
    /// The merchant it sees only (API tokens).
    pub merchant: Option<MerchantId>,
    /// The client's address.
    pub address: IpAddr,
}

/// Why a socket could not be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SocketRefusal {
    /// `websocket.max_sockets` are open.
    #[error("too many WebSockets are open on this server; try again later")]
    Total,
    /// `websocket.max_per_address` are open from this address.
    #[error("too many WebSockets are open from this address")]
    Address,
    /// `websocket.max_per_credential` are open with this credential.
    #[error("too many WebSockets are open with this credential")]
    Credential,
}

/// Why a socket was closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its credential was revoked, or its merchant deleted.
    Revoked,
}

#[derive(Debug, Default)]
struct Registry {
    next: u64,
    open: HashMap<u64, (SocketOwner, Option<oneshot::Sender<Closed>>)>,
    per_address: HashMap<IpAddr, usize>,
    per_credential: HashMap<Credential, usize>,
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K, up: bool) {
    if up {
        *map.entry(key).or_default() += 1;
    } else if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

/// The open sockets. Cheap to clone; clones share the registry.
#[derive(Debug, Clone, Default)]
pub struct Sockets(Arc<Mutex<Registry>>);

/// One open socket's place; dropping it frees the place.
#[derive(Debug)]
pub struct SocketTicket {
    sockets: Sockets,
    id: u64,
    closed: Option<oneshot::Receiver<Closed>>,
}

impl SocketTicket {
    /// Resolves when the server closes this socket (its credential was revoked).
    pub async fn closed(&mut self) -> Closed {
        match self.closed.as_mut() {
            Some(receiver) => match receiver.await {
                Ok(reason) => reason,
                // The registry entry is gone only when the ticket is dropped; never resolve then.
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}

impl Drop for SocketTicket {
    fn drop(&mut self) {
        let mut registry = self.sockets.lock();
        if let Some((owner, _)) = registry.open.remove(&self.id) {
            bump(&mut registry.per_address, owner.address, false);
            bump(&mut registry.per_credential, owner.credential, false);
        }
    }
}

impl Sockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a socket about to be opened, unless a limit of `config` is reached.
    pub fn open(
        &self,
        owner: SocketOwner,
        config: &WebSocketConfig,
    ) -> Result<SocketTicket, SocketRefusal> {
        let mut registry = self.lock();
        if registry.open.len() >= config.max_sockets {
            return Err(SocketRefusal::Total);
        }
        if registry
            .per_address
            .get(&owner.address)
            .copied()
            .unwrap_or(0)
            >= config.max_per_address
        {
            return Err(SocketRefusal::Address);
        }
        if registry
            .per_credential
            .get(&owner.credential)
            .copied()
            .unwrap_or(0)
            >= config.max_per_credential
        {
            return Err(SocketRefusal::Credential);
        }
        let id = registry.next;
        registry.next += 1;
        let (tell, closed) = oneshot::channel();
        registry.open.insert(id, (owner, Some(tell)));
        bump(&mut registry.per_address, owner.address, true);
        bump(&mut registry.per_credential, owner.credential, true);
        Ok(SocketTicket {
            sockets: self.clone(),
            id,
            closed: Some(closed),
        })
    }

    /// Closes every open socket `which` selects; returns how many.
    pub fn close_where(&self, which: impl Fn(&SocketOwner) -> bool) -> usize {
        let mut registry = self.lock();
        let mut closed = 0;
        for (owner, tell) in registry.open.values_mut() {
            if which(owner)
                && let Some(tell) = tell.take()
            {
                // The socket may be closing by itself already.
                let _ = tell.send(Closed::Revoked);
                closed += 1;
            }
        }
        closed
    }

    /// Closes the sockets opened with `credential`.
    pub fn close_credential(&self, credential: Credential) -> usize {
        self.close_where(|o| o.credential == credential)
    }

    /// Closes the sockets of `merchant` (its API tokens' sockets).
    pub fn close_merchant(&self, merchant: MerchantId) -> usize {
        self.close_where(|o| o.merchant == Some(merchant))
    }

    /// The distinct credentials of the sockets open now (not yet told to close).
    pub fn credentials(&self) -> HashSet<Credential> {
        self.lock()
            .open
            .values()
            .filter(|(_, tell)| tell.is_some())
            .map(|(owner, _)| owner.credential)
            .collect()
    }

    /// Sockets open now.
    pub fn count(&self) -> usize {
        self.lock().open.len()
    }
}

/// Checks the credentials of the open sockets once every [`REVALIDATE_EVERY`] until `stop`, and closes
/// the sockets whose credential is no longer live (revoked, deleted, expired) by whatever process.
pub async fn revalidate(state: AppState, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(REVALIDATE_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopping| *stopping) => break,
        }
        let open = state.sockets.credentials();
        if open.is_empty() {
            continue;
        }
        let now = state.now();
        let query: Vec<Credential> = open.iter().copied().collect();
        let live = state
            .db
            .read(move |c| c.live_credentials(&query, now))
            .await;
        match live {
            Ok(live) => {
                let closed = state
                    .sockets
                    .close_where(|o| open.contains(&o.credential) && !live.contains(&o.credential));
                if closed > 0 {
                    tracing::info!(
                        closed,
                        "WebSockets closed: their credential is no longer valid"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot check the credentials of open WebSockets; trying again shortly");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(credential: Credential, address: &str) -> SocketOwner {
        SocketOwner {
            credential,
            merchant: Some(MerchantId(1)),
            address: address.parse().expect("ip"),
        }
    }

    #[test]
    fn sockets_are_bounded_in_total_per_address_and_per_credential() {
        let config = WebSocketConfig {
            max_sockets: 3,
            max_per_address: 2,
            max_per_credential: 1,
            ..WebSocketConfig::default()
        };
        let sockets = Sockets::default();
        let a = sockets
            .open(owner(Credential::ApiToken(1), "192.0.2.1"), &config)
            .expect("first");
        assert_eq!(
            sockets
                .open(owner(Credential::ApiToken(1), "192.0.2.9"), &config)
                .map(drop),
            Err(SocketRefusal::Credential)
        );
        let _b = sockets
            .open(owner(Credential::ApiToken(2), "192.0.2.1"), &config)
            .expect("second token");
        assert_eq!(
            sockets
                .open(owner(Credential::ApiToken(3), "192.0.2.1"), &config)
                .map(drop),
            Err(SocketRefusal::Address)
        );
        let _c = sockets
            .open(owner(Credential::ApiToken(3), "192.0.2.2"), &config)
            .expect("other address");
        assert_eq!(
            sockets
                .open(owner(Credential::ApiToken(4), "192.0.2.3"), &config)
                .map(drop),
            Err(SocketRefusal::Total)
        );
        drop(a);
        assert_eq!(sockets.count(), 2);
        let _d = sockets
            .open(owner(Credential::ApiToken(1), "192.0.2.1"), &config)
            .expect("a place freed");
    }

    #[tokio::test]
    async fn closing_a_credential_tells_its_sockets_only() {
        let sockets = Sockets::default();
        let config = WebSocketConfig::default();
        let mut revoked = sockets
            .open(owner(Credential::ApiToken(1), "192.0.2.1"), &config)
            .expect("open");
        let mut kept = sockets
            .open(owner(Credential::OperatorToken(1), "192.0.2.1"), &config)
            .expect("open");
        assert_eq!(sockets.close_credential(Credential::ApiToken(1)), 1);
        assert_eq!(revoked.closed().await, Closed::Revoked);
        assert!(
            tokio::time::timeout(Duration::from_millis(10), kept.closed())
                .await
                .is_err(),
            "another credential's socket stays open"
        );
        assert_eq!(
            sockets.credentials(),
            HashSet::from([Credential::OperatorToken(1)])
        );
    }
}
