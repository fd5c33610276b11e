//! Accepting connections, bounded: at most `connection.max_connections` open at once and
//! `connection.max_connections_per_address` from one peer address (over either, the connection gets a
//! 503 with `Retry-After` and is closed at once), a header-read timeout (a client that opens a connection
//! and trickles its request line is cut off), and a keep-alive idle timeout (a connection with no request
//! in flight for `connection.idle_timeout_secs` is closed). `axum::serve` has none of these knobs, so the
//! server drives hyper's HTTP/1 connection builder itself — the same hyper and hyper-util that
//! `axum::serve` runs on, with no new crate.
//!
//! Each request carries the client's address as [`ClientIp`]: the peer's, or, when the peer is one of
//! `connection.trusted_proxies`, the nearest untrusted address of its `X-Forwarded-For`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::ServiceExt as _;

use crate::config::ConnectionConfig;
use crate::logs::{self, Repeats};

/// The answer to a connection over a limit (written straight to the socket, then closed).
const OVER_LIMIT: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
Retry-After: 1\r\nConnection: close\r\nContent-Length: 71\r\n\r\n\
{\"success\":false,\"message\":\"Too many connections; try again in a moment\"}";

/// The client a request comes from (see the module documentation for proxies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let ip = parts.extensions.get::<Self>().copied().or_else(|| {
            // Routers served some other way (unit tests with `oneshot`) have no client address.
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| Self(addr.ip()))
        });
        Ok(ip.unwrap_or(Self(IpAddr::from([0, 0, 0, 0]))))
    }
}

/// The client's address: `peer`, unless `peer` is a trusted proxy; then the rightmost address of
/// `X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the address it saw, so
/// entries left of an untrusted one may be forged by the client).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // Garbage in the chain: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !trusted.contains(&ip) {
            break;
        }
    }
    client
}

/// Open connections, in total and per peer address. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    inner: Arc<ConnectionsInner>,
}

#[derive(Debug, Default)]
struct ConnectionsInner {
    total: AtomicUsize,
    per_address: Mutex<HashMap<IpAddr, usize>>,
    /// Rung whenever a connection closes (shutdown waits for the last one).
    closed: Notify,
}

/// An admitted connection's place, in the extensions of each of its requests: a WebSocket handler keeps
/// a clone for as long as the upgraded socket lives, so sockets count as the connections they are.
#[derive(Debug, Clone)]
pub struct ConnectionSlot {
    _place: Arc<Admitted>,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admitted {
    connections: Connections,
    address: IpAddr,
}

impl Connections {
    /// Admits a connection from `address` if neither limit is reached.
    pub fn admit(&self, address: IpAddr, config: &ConnectionConfig) -> Option<Admitted> {
        let mut per_address = self
            .inner
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let from_address = per_address.get(&address).copied().unwrap_or(0);
        if from_address >= config.max_connections_per_address
            || self.inner.total.load(Ordering::Relaxed) >= config.max_connections
        {
            return None;
        }
        per_address.insert(address, from_address + 1);
        self.inner.total.fetch_add(1, Ordering::Relaxed);
        Some(Admitted {
            connections: self.clone(),
            address,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.inner.total.load(Ordering::Relaxed)
    }

    /// Resolves once no connection is open.
    async fn all_closed(&self) {
        loop {
            let closed = self.inner.closed.notified();
            if self.open() == 0 {
                return;
            }
            closed.await;
        }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let inner = &self.connections.inner;
        let mut per_address = inner
            .per_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = per_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                per_address.remove(&self.address);
            }
        }
        inner.total.fetch_sub(1, Ordering::Relaxed);
        inner.closed.notify_waiters();
    }
}

/// Requests in flight on one connection, and when the last one ended.
#[derive(Debug, Default)]
struct Activity {
    in_flight: AtomicUsize,
    /// Rung when a request starts or ends.
    changed: Notify,
}

/// Decrements the in-flight count when a request's handling ends (also when it is cancelled).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.changed.notify_waiters();
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, asks every connection to
/// finish its request in flight and close, and waits for them. Failed accepts are counted in `repeats`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: ConnectionConfig,
    repeats: Repeats,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let connections = Connections::default();
    let (stop, stopping) = watch::channel(false);
    let config = Arc::new(config);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted: keep
                    // serving the connections we have and try again shortly.
                    if repeats.first(logs::ACCEPT_FAILED) {
                        tracing::warn!(kind = logs::ACCEPT_FAILED.name(), error = %e, "cannot accept a connection");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Some(admitted) = connections.admit(peer.ip(), &config) else {
            tracing::debug!(%peer, open = connections.open(), "connection over the limit; refused");
            // Best effort and never waiting: a client that does not read this just sees the close.
            let _ = stream.try_write(OVER_LIMIT);
            continue;
        };
        let (app, config, stopping) = (app.clone(), Arc::clone(&config), stopping.clone());
        let slot = ConnectionSlot {
            _place: Arc::new(admitted),
        };
        tokio::spawn(async move { connection(stream, peer, app, &config, slot, stopping).await });
    }
    // Receivers gone only means no connection is open.
    let _ = stop.send(true);
    connections.all_closed().await;
}

/// One connection, until the client closes it, it idles out, or the server stops.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    config: &ConnectionConfig,
    slot: ConnectionSlot,
    mut stopping: watch::Receiver<bool>,
) {
    // Small answers go out at once instead of waiting for Nagle's algorithm.
    let _ = stream.set_nodelay(true);
    let activity = Arc::new(Activity::default());
    let trusted = config.trusted_proxies.clone();
    let tracked = Arc::clone(&activity);
    let service = tower::service_fn(move |mut request: Request<Incoming>| {
        let ip = client_ip(peer.ip(), request.headers(), &trusted);
        request.extensions_mut().insert(ClientIp(ip));
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(slot.clone());
        tracked.in_flight.fetch_add(1, Ordering::Relaxed);
        tracked.changed.notify_waiters();
        let guard = InFlight(Arc::clone(&tracked));
        let app = app.clone();
        async move {
            let response = app.oneshot(request.map(Body::new)).await;
            drop(guard);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout_secs.duration());
    let conn = builder
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    let idle = config.idle_timeout_secs.duration();
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = idle_for(&activity, idle), if !closing => {
                tracing::debug!(%peer, "idle connection closed");
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = stopping.wait_for(|stop| *stop), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Resolves once no request has been in flight on the connection for `idle`.
async fn idle_for(activity: &Activity, idle: Duration) {
    loop {
        let changed = activity.changed.notified();
        if activity.in_flight.load(Ordering::Relaxed) > 0 {
            changed.await;
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(idle) => {
                if activity.in_flight.load(Ordering::Relaxed) == 0 {
                    return;
                }
            }
            () = changed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 203.0.113.7"),
        );
        let proxy = ip("10.0.0.2");
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &[proxy]),
            ip("198.51.100.1"),
            "a client that is not a proxy cannot claim another address"
        );
        assert_eq!(
            client_ip(proxy, &headers, &[proxy]),
            ip("203.0.113.7"),
            "the address the proxy saw, not what the client wrote before it"
        );
        assert_eq!(client_ip(proxy, &headers, &[]), proxy, "off by default");
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("203.0.113.7, 10.0.0.3"),
        );
        assert_eq!(
            client_ip(proxy, &headers, &[proxy, ip("10.0.0.3")]),
            ip("203.0.113.7"),
            "a chain of trusted proxies is walked"
        );
        headers.insert("x-forwarded-for", HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(proxy, &headers, &[proxy]), proxy);
    }

    #[test]
    fn connections_are_limited_in_total_and_per_address() {
        let config = ConnectionConfig {
            max_connections: 3,
            max_connections_per_address: 2,
            ..ConnectionConfig::default()
        };
        let connections = Connections::default();
        let a1 = connections.admit(ip("192.0.2.1"), &config).expect("first");
        let _a2 = connections.admit(ip("192.0.2.1"), &config).expect("second");
        assert!(connections.admit(ip("192.0.2.1"), &config).is_none());
        let _b1 = connections.admit(ip("192.0.2.2"), &config).expect("other");
        assert!(
            connections.admit(ip("192.0.2.3"), &config).is_none(),
            "total reached"
        );
        drop(a1);
        let _c1 = connections
            .admit(ip("192.0.2.3"), &config)
            .expect("a place freed");
        assert_eq!(connections.open(), 3);
    }
}
