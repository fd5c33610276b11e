//! Outbound webhooks: the delivery worker and the policy on which targets may be called.
//!
//! The outbox row is written with the paid transition (see `db::Tx::mark_paid`), so a delivery exists
//! as soon as a payment is paid, whatever happens to the process. The worker claims due deliveries
//! fairly (round robin across endpoints, at most `webhook.endpoint_concurrency` in flight per endpoint,
//! counted from the leases in the database) up to `webhook.concurrency` attempts of its own, runs each
//! attempt as its own task, records every attempt and schedules the retries of `webhook.retry_schedule`.
//! An endpoint that keeps timing out or refusing connections trips its circuit breaker: then one probe
//! at a time goes to it until it answers, while its other deliveries wait their turn in the outbox.
//!
//! A claimed delivery is leased to this worker, and the lease is renewed (with every claim round, at
//! least every third of `webhook.lease_secs`) for as long as its attempt runs, so one `webhook-id` is
//! never in flight twice: an attempt whose lease could not be renewed in time is cut off before the lease
//! can run out. A crash mid-attempt leaves the lease to expire; the delivery is then claimed again, so
//! nothing due is forgotten and delivery is at least once (a receiver may see an attempt twice then, with
//! the same `webhook-id`, which is what Standard Webhooks receivers deduplicate on).

pub mod health;
pub mod target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::header::CONTENT_TYPE;
use reqwest::Client;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use webqris_core::Timestamp;
use webqris_core::signing::{self, StandardWebhooks};
use webqris_core::wire::{
    WEBHOOK_USER_AGENT, WsEvent, WsWebhookDeliveredData, WsWebhookFailedData,
};

use crate::config::WebhookConfig;
use crate::db::{
    AttemptRecord, Breaker, Circuit, ClaimedDelivery, Db, DbError, DeliveryId, EndpointChange,
    FinishedAttempt, HeldLease, MerchantId, NextStep, Reach, WebhookSecrets,
};
use crate::logs;
use crate::metrics::WebhookResult;
use crate::state::AppState;

/// The pause after a round that found something due but could not claim it (database trouble).
const BACKOFF: Duration = Duration::from_millis(200);

/// The HTTP client for webhooks: per-attempt and connect timeouts, no redirects, no proxy from the
/// environment, and (unless private targets are allowed) the resolver that refuses internal addresses.
pub fn http_client(config: &WebhookConfig) -> reqwest::Result<Client> {
    install_crypto_provider();
    let builder = Client::builder()
        .timeout(config.timeout_secs.duration())
        .connect_timeout(config.connect_timeout_secs.duration())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(WEBHOOK_USER_AGENT);
    let builder = if config.allow_private_targets {
        builder
    } else {
        builder.dns_resolver(target::GuardedResolver)
    };
    builder.build()
}

/// Installs ring as rustls' process-wide crypto provider. reqwest is built with `rustls-no-provider` (see
/// the root `Cargo.toml`) and panics when a client is built before a provider is installed: call this
/// before building any reqwest client. Idempotent; a provider installed earlier is kept and used.
pub fn install_crypto_provider() {
    // Err means a provider is already installed, which is then used: fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The leases this worker holds, each with the instant (on the monotonic clock) until which its renewal
/// is confirmed. An attempt watches its entry and stops when that instant passes.
#[derive(Clone, Default)]
struct Leases(Arc<Mutex<HeldAttempts>>);

/// Each lease held.
type HeldAttempts = HashMap<DeliveryId, HeldAttempt>;

struct HeldAttempt {
    /// The attempt number it was claimed for.
    attempt: i64,
    /// The `lease_until` this worker last wrote for it (the database's clock).
    until: Timestamp,
    /// Where its confirmation is announced.
    confirmed: watch::Sender<Instant>,
}

impl Leases {
    /// Starts holding a lease written as `until` and confirmed until `trusted`; the receiver tells the
    /// attempt how long it may run.
    fn hold(
        &self,
        delivery: &ClaimedDelivery,
        until: Timestamp,
        trusted: Instant,
    ) -> watch::Receiver<Instant> {
        let (confirmed, watched) = watch::channel(trusted);
        self.map().insert(
            delivery.id,
            HeldAttempt {
                attempt: delivery.attempt,
                until,
                confirmed,
            },
        );
        watched
    }

    fn release(&self, delivery: DeliveryId) {
        self.map().remove(&delivery);
    }

    fn held(&self) -> Vec<HeldLease> {
        self.map()
            .iter()
            .map(|(delivery, held)| HeldLease {
                delivery: *delivery,
                attempt: held.attempt,
            })
            .collect()
    }

    /// The earliest `lease_until` written for a lease held, those of `except` aside (`None`: none).
    fn earliest_until(&self, except: &[DeliveryId]) -> Option<Timestamp> {
        self.map()
            .iter()
            .filter(|(delivery, _)| !except.contains(delivery))
            .map(|(_, held)| held.until)
            .min()
    }

    /// Records a renewal that kept `kept`: those are written as `until` and confirmed until `trusted`.
    /// When it asked for every lease of `asked` (`all`), the others are lost (their attempts stop at
    /// once); otherwise it only asked for those about to run out, and the others keep their confirmation.
    fn renewed(
        &self,
        asked: &[HeldLease],
        kept: &[HeldLease],
        until: Timestamp,
        trusted: Instant,
        all: bool,
    ) {
        let mut map = self.map();
        for lease in asked {
            if let Some(held) = map.get_mut(&lease.delivery)
                && held.attempt == lease.attempt
            {
                if kept.contains(lease) {
                    held.until = until;
                    held.confirmed.send_replace(trusted);
                } else if all {
                    held.confirmed.send_replace(Instant::now());
                }
            }
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HeldAttempts> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the worker uses `webhook.lease_secs`, and the name its leases carry.
#[derive(Debug, Clone)]
struct LeaseTiming {
    /// This worker run's name in `lease_owner` (random: a restarted or second worker is another owner).
    owner: Arc<str>,
    /// Written to the database with each claim and renewal.
    length: Duration,
    /// How long after a renewal was asked for the attempt may keep running without a newer one: shorter
    /// than the lease, so the attempt stops before anyone else could claim the delivery.
    trusted: Duration,
    /// How often leases in flight are renewed.
    renew_every: Duration,
}

impl LeaseTiming {
    fn length_ms(&self) -> i64 {
        i64::try_from(self.length.as_millis()).unwrap_or(i64::MAX)
    }

    fn new(config: &WebhookConfig) -> Self {
        let length = config.lease_secs.duration();
        Self {
            owner: format!("worker-{:016x}", rand::random::<u64>()).into(),
            length,
            trusted: length * 3 / 4,
            renew_every: length / 3,
        }
    }
}

/// Why webhooks could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// No merchant has this id.
    #[error("no merchant with id {0}")]
    UnknownMerchant(i64),
    /// `until` is not after `since`.
    #[error("--until must be after --since")]
    EmptyRange,
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Queues `merchant`'s webhooks queued in `[since, until)` to be sent again now with their original
/// `webhook-id` and body (signed afresh at the attempt); returns how many. Those with an attempt in
/// flight are left to it. The caller rings the worker if it is in the same process; another process's
/// worker finds them within `webhook.poll_secs`.
pub async fn replay(
    db: &Db,
    merchant: MerchantId,
    since: Timestamp,
    until: Option<Timestamp>,
    now: Timestamp,
) -> Result<usize, ReplayError> {
    if until.is_some_and(|until| until <= since) {
        return Err(ReplayError::EmptyRange);
    }
    if db.read(move |c| c.merchant(merchant)).await?.is_none() {
        return Err(ReplayError::UnknownMerchant(merchant.0));
    }
    Ok(db
        .write(move |tx| tx.replay_deliveries(merchant, since, until, now))
        .await?)
}

/// Delivers webhooks until `stop` becomes true, then waits for the attempts in flight (each bounded by
/// the webhook timeout, their leases still renewed) so that they are recorded.
///
/// The worker works in rounds, one database write each: it records every attempt that has finished
/// since the last round, renews its leases and claims due deliveries for all of its free slots, in one
/// transaction. Attempts run as tasks that only send; their outcomes come back to the worker, which
/// records them together, so a fast endpoint costs one commit per round of attempts, not one per
/// attempt. While a round's write is in flight, the attempts that finish meanwhile wait for the next.
pub async fn run(state: AppState, mut stop: watch::Receiver<bool>) {
    let client = match http_client(&state.config.webhook) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks stay queued");
            return;
        }
    };
    let timing = LeaseTiming::new(&state.config.webhook);
    let slots = Arc::new(Semaphore::new(state.config.webhook.concurrency));
    let leases = Leases::default();
    let mut attempts = Attempts::default();
    // The longest the worker sleeps without looking at the outbox: it is rung whenever this process
    // queues a webhook or an attempt finishes, but another process (the replay command) cannot ring it.
    let max_idle = state.config.webhook.poll_secs.duration();
    let mut renewal = tokio::time::interval(timing.renew_every);
    renewal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renew_all = false;
    let mut wake = NextWake::default();
    loop {
        // The slots of the attempts recorded in this round are free for its claim.
        let free = slots.available_permits() + attempts.finished.len();
        let finished = std::mem::take(&mut attempts.finished);
        if finished
            .iter()
            .any(|f| f.outcome.next != NextStep::Delivered)
        {
            // A retry or a probe it schedules may come before the wake read last.
            wake.forget();
        }
        let claimed = round(&state, &leases, &timing, finished, free, renew_all).await;
        renew_all = false;
        let claimed_any = claimed.as_ref().is_some_and(|c| !c.is_empty());
        if claimed_any {
            attempts.next_cohort();
        }
        for (delivery, until, trusted) in claimed.unwrap_or_default() {
            let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                // Cannot happen (claims never exceed the free slots); the lease runs out and it is retried.
                tracing::error!(invoice = %delivery.invoice_id, "no free webhook slot for a claimed delivery");
                break;
            };
            let lease = leases.hold(&delivery, until, trusted);
            attempts.spawn(attempt(
                state.clone(),
                client.clone(),
                delivery,
                lease,
                slot,
            ));
        }
        let wait = if slots.available_permits() == 0 {
            max_idle
        } else {
            match wake.next(&state, !attempts.running.is_empty()).await {
                Some(wait) if wait.is_zero() && !claimed_any => BACKOFF,
                Some(wait) => wait.min(max_idle),
                None => max_idle,
            }
        };
        let joined = tokio::select! {
            () = state.delivery_bell.notified() => None,
            () = tokio::time::sleep(wait) => None,
            Some(joined) = attempts.running.join_next(), if !attempts.running.is_empty() => {
                Some(joined)
            }
            _ = renewal.tick(), if !attempts.running.is_empty() => {
                renew_all = true;
                None
            }
            _ = stop.wait_for(|stopping| *stopping) => break,
        };
        if let Some(joined) = joined {
            attempts.gather(joined).await;
        }
    }
    if !attempts.running.is_empty() {
        tracing::info!(
            in_flight = attempts.running.len(),
            "waiting for webhook attempts in flight"
        );
    }
    loop {
        if !attempts.finished.is_empty() || renew_all {
            let finished = std::mem::take(&mut attempts.finished);
            round(&state, &leases, &timing, finished, 0, renew_all).await;
            renew_all = false;
        }
        if attempts.running.is_empty() {
            break;
        }
        let joined = tokio::select! {
            Some(joined) = attempts.running.join_next() => Some(joined),
            _ = renewal.tick() => {
                renew_all = true;
                None
            }
        };
        if let Some(joined) = joined {
            attempts.gather(joined).await;
        }
    }
    tracing::debug!("webhook worker stopped");
}

/// How long after a round's attempts were sent the worker waits for all of them to come back before it
/// records those that have: attempts sent together to a fast endpoint come back within a fraction of a
/// millisecond of each other, and one write then records them all and claims their successors. An
/// attempt still out after this is recorded in a later round, so a slow or hanging endpoint delays the
/// records of the others by at most this.
const GATHER: Duration = Duration::from_millis(5);

/// The attempts this worker runs, and those that finished and wait to be recorded.
#[derive(Default)]
struct Attempts {
    running: JoinSet<Finished>,
    finished: Vec<Finished>,
    /// The latest cohort: the attempts of the latest round that claimed any.
    cohort: Cohort,
}

impl Attempts {
    /// Starts a new cohort: the attempts spawned from now on, by one round.
    fn next_cohort(&mut self) {
        self.cohort = Cohort {
            number: self.cohort.number.wrapping_add(1),
            sent: None,
            out: 0,
        };
    }

    fn spawn(&mut self, attempt: impl Future<Output = Finished> + Send + 'static) {
        self.cohort
            .sent
            .get_or_insert_with(tokio::time::Instant::now);
        self.cohort.out += 1;
        let cohort = self.cohort.number;
        self.running.spawn(async move {
            let mut finished = attempt.await;
            finished.cohort = cohort;
            finished
        });
    }

    /// Takes a finished attempt, then every other one that has finished, and waits (at most [`GATHER`]
    /// after they were sent) for the rest of the latest round's attempts.
    async fn gather(&mut self, joined: Result<Finished, tokio::task::JoinError>) {
        self.take(joined);
        while let Some(joined) = self.running.try_join_next() {
            self.take(joined);
        }
        while let Cohort {
            sent: Some(sent),
            out: 1..,
            ..
        } = self.cohort
        {
            match tokio::time::timeout_at(sent + GATHER, self.running.join_next()).await {
                Ok(Some(joined)) => self.take(joined),
                Ok(None) | Err(_) => break,
            }
        }
    }

    fn take(&mut self, joined: Result<Finished, tokio::task::JoinError>) {
        match joined {
            Ok(finished) => {
                if finished.cohort == self.cohort.number {
                    self.cohort.out = self.cohort.out.saturating_sub(1);
                }
                self.finished.push(finished);
            }
            Err(e) => {
                tracing::error!(error = %e, "a webhook attempt task failed; its lease will expire and it will be retried");
            }
        }
    }
}

/// The attempts one round spawned.
#[derive(Debug, Default, Clone, Copy)]
struct Cohort {
    /// Its number (each round that claims any starts the next).
    number: u64,
    /// When its first attempt was sent.
    sent: Option<tokio::time::Instant>,
    /// How many of its attempts are still out.
    out: usize,
}

/// An attempt that has been made, waiting to be recorded in the worker's next round; it keeps its
/// global slot until then.
struct Finished {
    delivery: ClaimedDelivery,
    outcome: Outcome,
    /// The cohort it was sent with.
    cohort: u64,
    _slot: OwnedSemaphorePermit,
}

/// What a round's write records of one attempt.
struct Outcome {
    record: AttemptRecord,
    next: NextStep,
    reach: Reach,
    /// The `webhook_delivered` or `webhook_failed` event, stored and published with the record.
    event: WsEvent,
    /// When the attempt ended.
    now: Timestamp,
}

/// One write on the outbox: records the attempts that finished (in merchant order: on PostgreSQL each
/// takes its merchant's lock, and every transaction takes them in that order), renews the leases held
/// (so that the claim that follows can never take a delivery that is still in flight here) and claims
/// up to `free` due deliveries. Every lease is renewed when `renew_all`; otherwise only those not
/// renewed for `renew_every` (a round runs after every batch of attempts; most leases are fresh).
/// Publishes each recorded attempt's events, then returns each claimed delivery with the instant its
/// lease is trusted until; `None` when the database could not be reached (logged; the attempts are not
/// recorded, their leases run out and they are retried; the leases held keep their last confirmation
/// and their attempts stop when it passes).
async fn round(
    state: &AppState,
    leases: &Leases,
    timing: &LeaseTiming,
    mut finished: Vec<Finished>,
    free: usize,
    renew_all: bool,
) -> Option<Vec<(ClaimedDelivery, Timestamp, Instant)>> {
    let held = leases.held();
    if finished.is_empty() && held.is_empty() && free == 0 {
        return Some(Vec::new());
    }
    finished.sort_by_key(|f| f.delivery.merchant_id.0);
    let config = &state.config.webhook;
    let breaker = Breaker {
        threshold: config.breaker_threshold,
        probe_interval: config.breaker_probe_secs.duration(),
    };
    let mut records = Vec::with_capacity(finished.len());
    let mut announced = Vec::with_capacity(finished.len());
    let mut published = Vec::with_capacity(finished.len());
    for f in finished {
        let Finished {
            delivery,
            outcome,
            _slot: slot,
            ..
        } = f;
        records.push(FinishedAttempt {
            merchant: delivery.merchant_id,
            record: outcome.record,
            next: outcome.next,
            reach: outcome.reach,
            now: outcome.now,
        });
        announced.push((delivery.merchant_name.clone(), outcome.event.clone()));
        // The slot is released when `published` is dropped, after the write.
        published.push((delivery, outcome.event, slot));
    }
    let asked_at = Instant::now();
    let clock = state.config.clock.clone();
    let per_endpoint = config.endpoint_concurrency;
    let length = timing.length_ms();
    let fresh_for = i64::try_from(timing.renew_every.as_millis()).unwrap_or(0);
    let owner = Arc::clone(&timing.owner);
    // The leases of the attempts recorded here end in this write; the others' are renewed if written
    // before `older_than` (below). When none is (the usual case: a fast endpoint's were claimed by the
    // previous round), the renewal is skipped: on PostgreSQL it scans the recently released leases'
    // index entries until a vacuum removes them. Decided in the write, on the database's clock, from
    // what this worker wrote: a write that stalled renews what it must.
    let recorded: Vec<DeliveryId> = published.iter().map(|(d, _, _)| d.id).collect();
    let earliest_lease = leases.earliest_until(&recorded);
    let asked: Vec<HeldLease> = held
        .iter()
        .filter(|lease| !recorded.contains(&lease.delivery))
        .copied()
        .collect();
    // The lease is counted from when the write runs, not from when it was queued.
    let written = state
        .db
        .write(move |tx| {
            let made = tx.record_attempts(&records, breaker)?;
            let mut changes = Vec::with_capacity(records.len());
            // Each attempt's events (a recovery first, then its own), one merchant's at once.
            let mut events = Vec::with_capacity(records.len());
            for ((attempt, (merchant_name, event)), change) in
                records.iter().zip(&announced).zip(made)
            {
                let recovered = change
                    .as_ref()
                    .filter(|change| change.recovered)
                    .map(|change| {
                        WsEvent::WebhookAlert(health::alert_data(merchant_name, &change.health))
                    });
                events.push((attempt.merchant, recovered.clone(), event, attempt.now));
                changes.push((change, recovered));
            }
            for merchant in events.chunk_by(|a, b| a.0 == b.0) {
                let listed: Vec<(&WsEvent, Timestamp)> = merchant
                    .iter()
                    .flat_map(|(_, recovered, event, now)| {
                        recovered.iter().chain([*event]).map(|e| (e, *now))
                    })
                    .collect();
                tx.record_events(merchant[0].0, &listed)?;
            }
            let now = clock.now();
            let until = Timestamp::from_millis(now.as_millis().saturating_add(length));
            let older_than = if renew_all {
                Timestamp::from_millis(i64::MAX)
            } else {
                // Those renewed (or claimed) less than `renew_every` ago run out after this.
                Timestamp::from_millis(now.as_millis().saturating_add(length - fresh_for))
            };
            let renewed = if earliest_lease.is_some_and(|until| until < older_than) {
                tx.renew_leases(&owner, &asked, until, older_than)?
            } else {
                Vec::new()
            };
            let claimed = if free == 0 {
                Vec::new()
            } else {
                tx.claim_due_deliveries(now, until, &owner, per_endpoint, free)?
            };
            Ok::<_, DbError>((changes, renewed, claimed, until))
        })
        .await;
    for (delivery, _, _) in &published {
        leases.release(delivery.id);
    }
    match written {
        Ok((changes, renewed, claimed, until)) => {
            let trusted = asked_at + timing.trusted;
            leases.renewed(&held, &renewed, until, trusted, renew_all);
            for ((delivery, event, _slot), (change, recovered)) in
                published.into_iter().zip(changes)
            {
                if let Some(change) = change {
                    endpoint_changed(&delivery, &change);
                }
                if let Some(recovered) = recovered {
                    state.hub.publish_event(delivery.merchant_id, recovered);
                }
                state.hub.publish_event(delivery.merchant_id, event);
            }
            Some(claimed.into_iter().map(|d| (d, until, trusted)).collect())
        }
        Err(e) => {
            if published.is_empty() {
                tracing::error!(error = %e, "cannot claim due webhooks or renew their leases; trying again shortly");
            } else {
                tracing::error!(error = %e, attempts = published.len(), "cannot record webhook attempts; their leases will expire and they will be retried");
            }
            None
        }
    }
}

/// How long a next wake read from the database is used again while attempts are in flight.
const WAKE_REUSE: Duration = Duration::from_millis(100);

/// The worker's next wake, read from the database ([`until_next_wake`]) at most every [`WAKE_REUSE`]
/// while attempts are in flight: rounds then follow each other as fast as an endpoint answers, and the
/// read (on PostgreSQL a scan of the recently released leases until a vacuum removes them) would run
/// for every one. What this worker's own rounds change (a retry, a probe) makes it read again
/// ([`NextWake::forget`]); a change by another process is seen at the first wake after the reuse ran
/// out (it was only ever seen at a wake: the worker does not read while it sleeps).
#[derive(Default)]
struct NextWake {
    read: Option<(tokio::time::Instant, Option<Duration>)>,
}

impl NextWake {
    /// The time until the next wake (`None`: nothing pending).
    async fn next(&mut self, state: &AppState, in_flight: bool) -> Option<Duration> {
        let now = tokio::time::Instant::now();
        if in_flight
            && let Some((at, next)) = self.read
            && now - at < WAKE_REUSE
        {
            return next.map(|n| n.saturating_sub(now - at));
        }
        let next = until_next_wake(state).await;
        self.read = Some((now, next));
        next
    }

    /// Reads it again next time.
    fn forget(&mut self) {
        self.read = None;
    }
}

/// How long until a delivery may next become claimable by itself (`None`: nothing pending).
async fn until_next_wake(state: &AppState) -> Option<Duration> {
    let now = state.now();
    match state.db.read(move |c| c.next_delivery_wake(now)).await {
        Ok(next) => next.map(|at| {
            let ms = at.as_millis().saturating_sub(state.now().as_millis());
            Duration::from_millis(u64::try_from(ms).unwrap_or(0))
        }),
        Err(e) => {
            tracing::error!(error = %e, "cannot read the webhook outbox; trying again shortly");
            Some(BACKOFF)
        }
    }
}

/// Resolves once the lease's confirmed instant has passed without a newer renewal.
async fn lease_lost(mut lease: watch::Receiver<Instant>) {
    loop {
        let until = *lease.borrow_and_update();
        if Instant::now() >= until {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep_until(until.into()) => {}
            changed = lease.changed() => {
                if changed.is_err() {
                    // The worker dropped the lease: it is not renewed any more.
                    return;
                }
            }
        }
    }
}

/// What one HTTP attempt produced.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The first `webhook.max_response_bytes` of the body (lossy UTF-8).
    pub body: String,
    /// The response headers (names lowercase, values lossy UTF-8), at most [`MAX_REPORTED_HEADERS`],
    /// each value cut to [`MAX_HEADER_VALUE_CHARS`].
    pub headers: Vec<(String, String)>,
}

/// Response headers reported by [`post_signed`] (the test webhook shows them, never the body).
pub const MAX_REPORTED_HEADERS: usize = 32;
/// Characters of one reported response header value.
pub const MAX_HEADER_VALUE_CHARS: usize = 256;

/// One attempt of one delivery: sends it (stopped if its lease is lost meanwhile), counts and logs the
/// result and works out what comes next; the worker records it in its next round. `slot` is the global
/// slot it holds until then.
async fn attempt(
    state: AppState,
    client: Client,
    delivery: ClaimedDelivery,
    lease: watch::Receiver<Instant>,
    slot: OwnedSemaphorePermit,
) -> Finished {
    let started_at = state.now();
    let clock = Instant::now();
    let config = &state.config.webhook;
    let sent = tokio::select! {
        sent = send(&client, &delivery, config, started_at) => sent,
        () = lease_lost(lease) => {
            tracing::error!(invoice = %delivery.invoice_id, attempt = delivery.attempt, "the webhook's lease could not be renewed in time; attempt stopped so that it is never in flight twice");
            Err(SendError::not_tried(
                "stopped: the delivery's lease could not be renewed in time (database unreachable or too slow); it will be retried".to_owned(),
            ))
        }
    };
    let took = clock.elapsed();
    let duration_ms = i64::try_from(took.as_millis()).unwrap_or(i64::MAX);
    let (status_code, error, response_body, reach) = match sent {
        Ok(Response { status, body, .. }) if (200..300).contains(&status) => {
            (Some(status), None, Some(body), Reach::Answered)
        }
        Ok(Response { status, body, .. }) => (
            Some(status),
            Some(format!(
                "HTTP {status} (only 2xx counts as delivered; redirects are not followed)"
            )),
            Some(body),
            Reach::Answered,
        ),
        Err(SendError { message, reach }) => (None, Some(message), None, reach),
    };
    let delivered = error.is_none();
    state.metrics.webhook_attempt(
        match (delivered, reach) {
            (true, _) => WebhookResult::Delivered,
            (false, Reach::Answered) => WebhookResult::Rejected,
            (false, Reach::Unreachable) => WebhookResult::Unreachable,
            (false, Reach::NotTried) => WebhookResult::Other,
        },
        took,
    );
    let now = state.now();
    let attempt_number = usize::try_from(delivery.attempt).unwrap_or(usize::MAX);
    let next = if delivered {
        NextStep::Delivered
    } else {
        match config.retry_schedule.delay_before_retry(attempt_number) {
            Some(delay) => NextStep::RetryAt(Timestamp::from_millis(
                now.as_millis().saturating_add(delay.millis()),
            )),
            None => NextStep::Failed,
        }
    };
    match (&next, &error) {
        (NextStep::Delivered, _) => {
            tracing::info!(invoice = %delivery.invoice_id, attempt = delivery.attempt, status = ?status_code, "webhook delivered");
        }
        // A merchant's failing endpoint is expected: its attempts are counted, not logged one by one
        // (the dashboard shows each delivery's attempts).
        (NextStep::RetryAt(at), Some(e)) => {
            if state.repeats.first(logs::WEBHOOK_RETRY) {
                tracing::warn!(kind = logs::WEBHOOK_RETRY.name(), invoice = %delivery.invoice_id, attempt = delivery.attempt, error = %e, retry_at = %at, "webhook attempt failed; will retry");
            }
        }
        (_, e) => {
            if state.repeats.first(logs::WEBHOOK_FAILED) {
                tracing::warn!(kind = logs::WEBHOOK_FAILED.name(), invoice = %delivery.invoice_id, attempt = delivery.attempt, error = ?e, "webhook failed; attempts exhausted");
            }
        }
    }
    let event = match &error {
        Some(error) => WsEvent::WebhookFailed(WsWebhookFailedData {
            invoice_id: delivery.invoice_id.clone(),
            webhook_id: delivery.message_id.clone(),
            merchant_name: delivery.merchant_name.clone(),
            attempt: delivery.attempt,
            status_code,
            error: error.clone(),
            next_attempt_at: match next {
                NextStep::RetryAt(at) => Some(at),
                NextStep::Delivered | NextStep::Failed => None,
            },
        }),
        None => WsEvent::WebhookDelivered(WsWebhookDeliveredData {
            invoice_id: delivery.invoice_id.clone(),
            webhook_id: delivery.message_id.clone(),
            merchant_name: delivery.merchant_name.clone(),
            attempt: delivery.attempt,
            status_code: status_code.unwrap_or_default(),
        }),
    };
    let record = AttemptRecord {
        delivery: delivery.id,
        attempt: delivery.attempt,
        url: delivery.url.clone().unwrap_or_default(),
        started_at,
        duration_ms,
        status_code,
        error,
        response_body,
    };
    Finished {
        delivery,
        outcome: Outcome {
            record,
            next,
            reach,
            event,
            now,
        },
        cohort: 0,
        _slot: slot,
    }
}

/// The one log line of a circuit that opened or closed, or of an endpoint that recovered (each change is
/// made once, in the database).
fn endpoint_changed(delivery: &ClaimedDelivery, change: &EndpointChange) {
    let health = &change.health;
    if change.recovered {
        tracing::info!(merchant = %delivery.merchant_name, url = %health.url, "webhook endpoint recovered: an attempt got a 2xx");
    }
    if !change.circuit_changed {
        return;
    }
    match health.circuit {
        Circuit::Open => tracing::warn!(
            merchant = %delivery.merchant_name,
            merchant_id = change.merchant.0,
            url = %health.url,
            failures = health.failures,
            error = ?health.last_error,
            next_probe_at = ?health.probe_at,
            "webhook endpoint unreachable: circuit opened, one probe at a time until it answers; its other webhooks wait in the outbox"
        ),
        Circuit::Closed => tracing::info!(
            merchant = %delivery.merchant_name,
            merchant_id = change.merchant.0,
            url = %health.url,
            "webhook endpoint answers again: circuit closed"
        ),
    }
}

/// Why an attempt got no HTTP response, and whether that says the endpoint is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What went wrong, with its causes.
    pub message: String,
    /// [`Reach::Unreachable`] for a timeout or a connection that could not be made.
    pub reach: Reach,
}

impl SendError {
    fn not_tried(message: String) -> Self {
        Self {
            message,
            reach: Reach::NotTried,
        }
    }

    fn from_reqwest(error: &reqwest::Error) -> Self {
        let reach = if error.is_timeout() || error.is_connect() {
            Reach::Unreachable
        } else {
            Reach::NotTried
        };
        Self {
            message: describe(error),
            reach,
        }
    }
}

/// POSTs the stored body with both signature schemes; returns the status and the start of the body.
async fn send(
    client: &Client,
    delivery: &ClaimedDelivery,
    config: &WebhookConfig,
    now: Timestamp,
) -> Result<Response, SendError> {
    let url = delivery.url.as_deref().ok_or_else(|| {
        SendError::not_tried("the merchant has no webhook URL configured".to_owned())
    })?;
    post(
        client,
        url,
        &delivery.secrets,
        &delivery.message_id,
        &delivery.body,
        config,
        now,
    )
    .await
}

/// POSTs `body` to `url` signed with `secrets` the way every webhook is (`X-Webhook-Signature`,
/// `X-Signature`, Standard Webhooks headers with `message_id`), after checking `url` against the target
/// policy; returns the status and the start of the response body, or what went wrong. The delivery
/// worker and the dashboard's "send test webhook" share it.
///
/// During a rotation's overlap (`secrets.previous` set) `webhook-signature` carries both signatures,
/// the current secret's first (`v1,<new> v1,<old>`), so a Standard Webhooks receiver verifies with
/// either; the single-valued legacy headers stay on the previous secret until the overlap ends, so that
/// no receiver breaks at the moment of the rotation.
pub async fn post_signed(
    client: &Client,
    url: &str,
    secrets: &WebhookSecrets,
    message_id: &str,
    body: &[u8],
    config: &WebhookConfig,
    now: Timestamp,
) -> Result<Response, String> {
    post(client, url, secrets, message_id, body, config, now)
        .await
        .map_err(|e| e.message)
}

/// [`post_signed`], telling a transport failure that says the endpoint is down from the others.
async fn post(
    client: &Client,
    url: &str,
    secrets: &WebhookSecrets,
    message_id: &str,
    body: &[u8],
    config: &WebhookConfig,
    now: Timestamp,
) -> Result<Response, SendError> {
    let url = target::check_url(url, config.allow_private_targets)
        .map_err(|e| SendError::not_tried(e.to_string()))?;
    let legacy = secrets.previous.as_ref().unwrap_or(&secrets.current);
    let hex = signing::hex_signature(legacy.expose(), body);
    let timestamp = now.as_millis().div_euclid(1000);
    let mut request = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header("X-Webhook-Signature", &hex)
        .header("X-Signature", &hex)
        .header("webhook-id", message_id)
        .header("webhook-timestamp", timestamp.to_string());
    let signatures: Vec<String> = std::iter::once(&secrets.current)
        .chain(secrets.previous.as_ref())
        .filter_map(|secret| match StandardWebhooks::from_secret(secret.expose()) {
            Ok(signer) => Some(signer.sign(message_id, timestamp, body)),
            Err(e) => {
                // Secrets made by webqris always decode; a hand-set one may not. The legacy headers still go.
                tracing::warn!(error = %e, "webhook secret is not whsec_<base64>; its webhook-signature is left out");
                None
            }
        })
        .collect();
    if !signatures.is_empty() {
        request = request.header("webhook-signature", signatures.join(" "));
    }
    let mut response = request
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| SendError::from_reqwest(&e))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .take(MAX_REPORTED_HEADERS)
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            (
                name.as_str().to_owned(),
                value.chars().take(MAX_HEADER_VALUE_CHARS).collect(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while body.len() < config.max_response_bytes {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            // The status is what counts; a body cut short is only noted.
            Err(e) => {
                body.extend_from_slice(format!(" [body unreadable: {}]", describe(&e)).as_bytes());
                break;
            }
        }
    }
    body.truncate(config.max_response_bytes);
    Ok(Response {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        headers,
    })
}

/// An error with its whole chain of causes (reqwest hides the interesting part in the sources).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
