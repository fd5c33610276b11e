//! `GET /ws` (operator: every merchant's events; a dashboard account: its own merchants' events) and `GET /ws/merchant?token=<API_TOKEN>` (one
//! merchant's events; with `&since=<cursor>`, its stored events after the cursor first, then the live
//! ones, each frame with its cursor `id`). Credentials and cursors are checked by extractors and before
//! the upgrade, so a bad token is a 401 and a bad cursor a 400, never a socket. Each socket has a reader
//! (answers the text frame `ping` with `pong`) and a pump that forwards hub events; a client that falls
//! behind the hub's queue, or does not take a frame within the send timeout, is disconnected rather
//! than waited for (a cursor socket catches up from the event log instead).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Extension, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Router, body::Bytes};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, watch};
use tracing::Instrument as _;

use crate::auth::{MerchantSocketAuth, OperatorAuth};
use crate::connection::{ClientIp, ConnectionSlot};
use crate::db::MerchantId;
use crate::error::AppError;
use crate::feed::{self, FeedEvent};
use crate::hub::{Audience, HubEvent};
use crate::logs;
use crate::metrics::SocketKind;
use crate::sockets::{SocketOwner, SocketRefusal, SocketTicket};
use crate::state::AppState;

/// Largest frame a client may send (clients only send `ping`).
const MAX_CLIENT_FRAME: usize = 4096;
/// The most a socket reads from the network at once, and the read buffer it starts with (clients only
/// send `ping`; a frame up to the limit still fits, the buffer grows for it).
const READ_BUFFER: usize = 1024;

/// Sizes a socket's buffers for a client that mostly sits idle and sends frames of at most
/// `max_client_frame` bytes. tungstenite's defaults (a 128 KiB read buffer, zero-filled on the first
/// read, and a 128 KiB write buffer target) made each idle socket cost about 130 KiB; here the read
/// buffer starts at 1 KiB and each frame we send is written out at once (every send is flushed anyway).
pub fn idle_sized(upgrade: WebSocketUpgrade, max_client_frame: usize) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(READ_BUFFER.min(max_client_frame))
        .write_buffer_size(0)
        .max_frame_size(max_client_frame)
        .max_message_size(max_client_frame)
}

/// The WebSocket routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ws", get(operator))
        .route("/ws/merchant", get(merchant))
}

fn upgrade_or_400(
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, AppError> {
    upgrade
        .map_err(|e| AppError::BadRequest(format!("WebSocket upgrade required: {}", e.body_text())))
}

/// Takes a place for the socket in the registry (limits, revocation) before the upgrade, so that a
/// socket over a limit is a 429/503 answer and never a socket.
fn register(state: &AppState, owner: SocketOwner) -> Result<SocketTicket, AppError> {
    state
        .sockets
        .open(owner, &state.config.websocket)
        .map_err(|refusal| match refusal {
            SocketRefusal::Total => AppError::Overloaded {
                message: refusal.to_string(),
                retry_after_secs: 5,
            },
            SocketRefusal::Address | SocketRefusal::Credential => AppError::TooManyRequests {
                message: refusal.to_string(),
                retry_after_secs: 5,
            },
        })
}

async fn operator(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    slot: Option<Extension<ConnectionSlot>>,
    auth: OperatorAuth,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let upgrade = upgrade_or_400(upgrade)?;
    let ticket = register(
        &state,
        SocketOwner {
            credential: auth.credential,
            merchant: None,
            address,
        },
    )?;
    // The socket's lines carry the id of the request that opened it.
    let span = tracing::Span::current();
    Ok(idle_sized(upgrade, MAX_CLIENT_FRAME).on_upgrade(move |socket| {
        async move {
            let _slot = slot;
            match auth.session {
                // A socket opened with a dashboard session ends with it (logout, logout everywhere,
                // expiry): dropping it closes the connection.
                Some(session) => {
                    let ends = state.session_ends.clone();
                    tokio::select! {
                        () = serve(state.clone(), auth.audience, socket, ticket) => {}
                        () = ends.until_over(&state, &session) => {
                            tracing::debug!(account = session.account.id.0, "session ended; WebSocket closed");
                        }
                    }
                }
                None => serve(state, auth.audience, socket, ticket).await,
            }
            }
            .instrument(span)
        }))
}

#[derive(Debug, Deserialize)]
struct SinceQuery {
    since: Option<String>,
}

async fn merchant(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    slot: Option<Extension<ConnectionSlot>>,
    auth: MerchantSocketAuth,
    query: Result<Query<SinceQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, AppError> {
    let upgrade = upgrade_or_400(upgrade)?;
    let merchant = auth.merchant.id;
    let Query(query) =
        query.map_err(|e| AppError::BadRequest(format!("Invalid query: {}", e.body_text())))?;
    let since = match feed::cursor("since", query.since.as_deref())? {
        Some(since) => Some(feed::checked(&state, merchant, since).await?),
        None => None,
    };
    let ticket = register(
        &state,
        SocketOwner {
            credential: crate::sockets::Credential::ApiToken(auth.token_id),
            merchant: Some(merchant),
            address,
        },
    )?;
    // The socket's lines carry the id of the request that opened it.
    let span = tracing::Span::current();
    Ok(
        idle_sized(upgrade, MAX_CLIENT_FRAME).on_upgrade(move |socket| {
            async move {
                let _slot = slot;
                match since {
                    Some(after) => serve_from(state, merchant, after, socket, ticket).await,
                    None => serve(state, Audience::Merchant(merchant), socket, ticket).await,
                }
            }
            .instrument(span)
        }),
    )
}

/// Runs one socket until the client leaves or idles out, falls behind, its credential is revoked, or
/// the server shuts down.
async fn serve(state: AppState, audience: Audience, socket: WebSocket, ticket: SocketTicket) {
    run_socket(&state, audience, socket, ticket, |channels| {
        pump(
            audience,
            channels.events,
            channels.replies,
            channels.sink,
            channels.send_timeout,
            state.shutdown.clone(),
            channels.revoked,
        )
    })
    .await;
}

/// Like [`serve`], for a merchant socket opened with a cursor: [`pump_from`] instead of [`pump`].
async fn serve_from(
    state: AppState,
    merchant: MerchantId,
    after: i64,
    socket: WebSocket,
    ticket: SocketTicket,
) {
    run_socket(
        &state,
        Audience::Merchant(merchant),
        socket,
        ticket,
        |channels| pump_from(&state, merchant, after, channels),
    )
    .await;
}

/// What a pump works with: the hub subscription (taken before anything is read, so nothing published
/// from then on is missed), the reader's replies, the client's sink, and the revocation of the socket.
struct Channels<S, R> {
    events: broadcast::Receiver<Arc<HubEvent>>,
    replies: mpsc::Receiver<Message>,
    sink: S,
    send_timeout: Duration,
    revoked: R,
}

/// Runs a socket's reader beside the pump `pump` makes, until either ends, and logs why.
async fn run_socket<F, P>(
    state: &AppState,
    audience: Audience,
    socket: WebSocket,
    mut ticket: SocketTicket,
    pump: F,
) where
    F: FnOnce(
        Channels<
            futures_util::stream::SplitSink<WebSocket, Message>,
            futures_util::future::BoxFuture<'static, ()>,
        >,
    ) -> P,
    P: Future<Output = PumpEnd>,
{
    let _open = state.metrics.websocket_opened(match audience {
        Audience::Operator => SocketKind::Operator,
        Audience::Account(_) => SocketKind::Account,
        Audience::Merchant(_) => SocketKind::Merchant,
    });
    let (sink, stream) = socket.split();
    let events = state.hub.subscribe();
    let (control, replies) = mpsc::channel(8);
    let idle = state.config.websocket.idle_timeout_secs.duration();
    let channels = Channels {
        events,
        replies,
        sink,
        send_timeout: state.config.websocket.send_timeout_secs.duration(),
        revoked: Box::pin(async move {
            ticket.closed().await;
        }) as futures_util::future::BoxFuture<'static, ()>,
    };
    tokio::select! {
        () = read(stream, control, idle) => tracing::debug!(?audience, "WebSocket client left or went silent"),
        end = pump(channels) => {
            match end {
                PumpEnd::TooSlow { missed } => {
                    if state.repeats.first(logs::SOCKET_TOO_SLOW) {
                        tracing::warn!(kind = logs::SOCKET_TOO_SLOW.name(), ?audience, missed, "WebSocket client too slow; disconnected");
                    }
                }
                other => tracing::debug!(?audience, ?other, "WebSocket closed"),
            }
        }
    }
}

/// Reads the client's frames: `ping` is answered with `pong` (through the pump, in order with events).
/// Sends a protocol ping every third of `idle` (clients answer those by themselves) and returns when the
/// client has sent nothing at all for `idle`.
async fn read<S>(mut stream: S, control: mpsc::Sender<Message>, idle: Duration)
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut pings = tokio::time::interval_at(tokio::time::Instant::now() + idle / 3, idle / 3);
    let mut deadline = tokio::time::Instant::now() + idle;
    loop {
        let message = tokio::select! {
            message = stream.next() => match message {
                Some(Ok(message)) => message,
                _ => break,
            },
            _ = pings.tick() => {
                // A full queue means the pump is busy sending: the client gets frames anyway.
                let _ = control.try_send(Message::Ping(Bytes::new()));
                continue;
            }
            () = tokio::time::sleep_until(deadline) => break,
        };
        deadline = tokio::time::Instant::now() + idle;
        let answered = match message {
            Message::Text(text) if text.trim() == "ping" => {
                control.send(Message::Text("pong".into())).await.is_ok()
            }
            Message::Close(_) => false,
            // Protocol pings are answered by the WebSocket layer; other frames mean nothing to us.
            _ => true,
        };
        if !answered {
            break;
        }
    }
}

/// Resolves once the server starts shutting down (or is gone).
pub async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens when the server is stopping anyway.
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Resolves when a socket must end whatever it is doing: the server stopping (checked first), or
/// `revoked` resolving. Either pump's loop selects on it before its events.
async fn ended(shutdown: &mut watch::Receiver<bool>, revoked: impl Future<Output = ()>) -> PumpEnd {
    tokio::select! {
        biased;
        () = stopping(shutdown) => PumpEnd::Shutdown,
        () = revoked => PumpEnd::Revoked,
    }
}

/// Why a pump stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpEnd {
    /// The client fell behind the hub's queue or did not take a frame in time.
    TooSlow {
        /// Events it missed (0 when a send timed out).
        missed: u64,
    },
    /// Sending failed: the client is gone.
    Disconnected,
    /// The server is shutting down.
    Shutdown,
    /// The hub is gone (the server is stopping).
    HubClosed,
    /// The credential that opened the socket was revoked (or its merchant deleted, or its session ended).
    Revoked,
    /// The event log could not be read (a cursor socket); closed with 1011.
    Failed,
}

/// Sends a close frame, best effort: the client may already be unreachable, which is why we are closing.
async fn close<S: Sink<Message> + Unpin>(sink: &mut S, code: u16, reason: String, wait: Duration) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let _ = tokio::time::timeout(wait, sink.send(frame)).await;
}

/// Sends one message within `send_timeout`; how the pump ends when it cannot.
async fn send<S: Sink<Message> + Unpin>(
    sink: &mut S,
    message: Message,
    send_timeout: Duration,
) -> Result<(), PumpEnd> {
    match tokio::time::timeout(send_timeout, sink.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(PumpEnd::Disconnected),
        Err(_) => Err(PumpEnd::TooSlow { missed: 0 }),
    }
}

/// Forwards the hub's events for `audience` (and the reader's replies) to `sink` until something ends
/// it: the server shutting down, `revoked` resolving, the client falling behind or leaving. Events come
/// before replies when both are ready, so a `pong` follows every event published before the `ping` was
/// read.
pub async fn pump<S>(
    audience: Audience,
    mut events: broadcast::Receiver<Arc<HubEvent>>,
    mut replies: mpsc::Receiver<Message>,
    mut sink: S,
    send_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
    revoked: impl Future<Output = ()>,
) -> PumpEnd
where
    S: Sink<Message> + Unpin,
{
    tokio::pin!(revoked);
    loop {
        let messages: Vec<Message> = tokio::select! {
            biased;
            end = ended(&mut shutdown, &mut revoked) => {
                let (code, reason) = match end {
                    PumpEnd::Shutdown => (close_code::AWAY, "server shutting down"),
                    _ => (close_code::POLICY, "credential revoked"),
                };
                close(&mut sink, code, reason.into(), send_timeout).await;
                return end;
            }
            event = events.recv() => match event {
                Ok(event) => event
                    .frames_for(audience)
                    .map(|frame| Message::Text(frame.into()))
                    .collect(),
                Err(RecvError::Lagged(missed)) => {
                    close(&mut sink, close_code::POLICY, format!("too slow: {missed} events missed"), send_timeout).await;
                    return PumpEnd::TooSlow { missed };
                }
                Err(RecvError::Closed) => return PumpEnd::HubClosed,
            },
            Some(reply) = replies.recv() => vec![reply],
        };
        for message in messages {
            if let Err(end) = send(&mut sink, message, send_timeout).await {
                return end;
            }
        }
    }
}

/// How many stored events a cursor socket reads at once.
const CATCH_UP_BATCH: usize = 256;

/// The pump of a merchant socket opened with a cursor: every stored event of `merchant` after `after`
/// (oldest first), then each new one, as `{"id","event","data","ts"}`. The hub only wakes it: the
/// frames are always read from the event log after the last cursor sent, so the seam between the
/// replay and the live events has no gap and no duplicate whatever commits meanwhile (the subscription
/// is taken before the first read, and an event is published only after it committed), and a socket
/// that falls behind the hub's queue catches up from the log instead of being cut off. Replies follow
/// the events read before them, as in [`pump`].
async fn pump_from<S, R>(
    state: &AppState,
    merchant: MerchantId,
    mut after: i64,
    channels: Channels<S, R>,
) -> PumpEnd
where
    S: Sink<Message> + Unpin,
    R: Future<Output = ()> + Unpin,
{
    let Channels {
        mut events,
        mut replies,
        mut sink,
        send_timeout,
        mut revoked,
    } = channels;
    let mut shutdown = state.shutdown.clone();
    let mut behind = true;
    loop {
        while behind {
            if *shutdown.borrow() {
                break;
            }
            let batch = match state
                .db
                .read(move |c| c.events_after(merchant, after, CATCH_UP_BATCH))
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, merchant = merchant.0, "cannot read the event log for a socket");
                    close(
                        &mut sink,
                        close_code::ERROR,
                        "cannot read events".into(),
                        send_timeout,
                    )
                    .await;
                    return PumpEnd::Failed;
                }
            };
            behind = batch.len() == CATCH_UP_BATCH;
            for stored in &batch {
                let text = serde_json::to_string(&FeedEvent::from(stored))
                    .expect("a stored event of strings and integers always serialises");
                if let Err(end) = send(&mut sink, Message::Text(text.into()), send_timeout).await {
                    return end;
                }
                after = stored.seq;
            }
        }
        let reply = tokio::select! {
            biased;
            end = ended(&mut shutdown, &mut revoked) => {
                let (code, reason) = match end {
                    PumpEnd::Shutdown => (close_code::AWAY, "server shutting down"),
                    _ => (close_code::POLICY, "credential revoked"),
                };
                close(&mut sink, code, reason.into(), send_timeout).await;
                return end;
            }
            event = events.recv() => {
                behind = match event {
                    Ok(event) => event.frames_for(Audience::Merchant(merchant)).next().is_some(),
                    // Whatever was missed is in the log.
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => return PumpEnd::HubClosed,
                };
                None
            }
            Some(reply) = replies.recv() => Some(reply),
        };
        if let Some(reply) = reply
            && let Err(end) = send(&mut sink, reply, send_timeout).await
        {
            return end;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::sync::Semaphore;

    use super::*;
    use crate::clock::Clock;
    use crate::db::MerchantId;
    use crate::hub::Hub;
    use crate::hub::tests::payment;

    /// A client that takes one frame each time the test allows it, and records what it took.
    struct GatedSink {
        gate: Arc<Semaphore>,
        pending: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
        taken: mpsc::UnboundedSender<Message>,
    }

    impl Sink<Message> for GatedSink {
        type Error = axum::Error;

        fn poll_ready(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), axum::Error>> {
            if self.pending.is_none() {
                let gate = Arc::clone(&self.gate);
                self.pending = Some(Box::pin(async move {
                    if let Ok(permit) = gate.acquire().await {
                        permit.forget();
                    }
                }));
            }
            match self.pending.as_mut().map(|f| f.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => {
                    self.pending = None;
                    Poll::Ready(Ok(()))
                }
                _ => Poll::Pending,
            }
        }

        fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), axum::Error> {
            let _ = self.taken.send(item);
            Ok(())
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
            Poll::Ready(Ok(()))
        }

        fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), axum::Error>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_disconnected_and_never_blocks_the_publisher() {
        let hub = Hub::new(4, Clock::system());
        let events = hub.subscribe();
        let gate = Arc::new(Semaphore::new(0));
        let (taken_tx, mut taken) = mpsc::unbounded_channel();
        let sink = GatedSink {
            gate: Arc::clone(&gate),
            pending: None,
            taken: taken_tx,
        };
        let (_replies_tx, replies) = mpsc::channel(1);
        let (_stop, shutdown) = watch::channel(false);
        let pump = tokio::spawn(pump(
            Audience::Operator,
            events,
            replies,
            sink,
            Duration::from_secs(3600),
            shutdown,
            std::future::pending(),
        ));
        // The client takes nothing while a thousand events are published: publishing never waits.
        for n in 0..1000 {
            hub.payment_created(&payment(1, n), "Toko ABC");
        }
        // Let the client take frames again: it gets what it was already holding, then is cut off.
        gate.add_permits(1000);
        let end = tokio::time::timeout(Duration::from_secs(10), pump)
            .await
            .expect("the pump ends")
            .expect("pump task");
        assert!(
            matches!(end, PumpEnd::TooSlow { missed } if missed > 0),
            "{end:?}"
        );
        let mut frames = Vec::new();
        while let Ok(message) = taken.try_recv() {
            frames.push(message);
        }
        assert!(
            frames.len() < 10,
            "only a queue's worth was ever sent: {}",
            frames.len()
        );
        match frames.last() {
            Some(Message::Close(Some(frame))) => {
                assert_eq!(frame.code, close_code::POLICY);
                assert!(frame.reason.contains("too slow"), "{}", frame.reason);
            }
            other => panic!("the last frame is a close frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_merchant_pump_forwards_only_that_merchants_events() {
        let hub = Hub::new(64, Clock::system());
        let events = hub.subscribe();
        let (taken_tx, mut taken) = mpsc::unbounded_channel();
        let sink = GatedSink {
            gate: Arc::new(Semaphore::new(1000)),
            pending: None,
            taken: taken_tx,
        };
        let (replies_tx, replies) = mpsc::channel(1);
        let (stop, shutdown) = watch::channel(false);
        let pump = tokio::spawn(pump(
            Audience::Merchant(MerchantId(2)),
            events,
            replies,
            sink,
            Duration::from_secs(3600),
            shutdown,
            std::future::pending(),
        ));
        hub.payment_created(&payment(1, 1), "A");
        hub.payment_created(&payment(2, 2), "B");
        hub.payment_created(&payment(1, 3), "A");
        replies_tx
            .send(Message::Text("pong".into()))
            .await
            .expect("reply queued");
        let mut texts = Vec::new();
        while texts.last().map(String::as_str) != Some("pong") {
            match tokio::time::timeout(Duration::from_secs(10), taken.recv()).await {
                Ok(Some(Message::Text(t))) => texts.push(t.to_string()),
                other => panic!("expected frames, got {other:?}"),
            }
        }
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(
            texts[0].contains("\"invoice_id\":\"INV-2\""),
            "{}",
            texts[0]
        );
        stop.send(true).expect("pump listening");
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(10), pump)
                .await
                .expect("ends")
                .expect("task"),
            PumpEnd::Shutdown
        );
    }
}
