//! Readiness (`GET /readyz`): whether this server can do its job now, which is more than answering
//! (`/healthz`, the liveness probe): the database accepts a write within `readiness.timeout_secs`, and
//! every background worker (the sweeps, the retention pruner, the webhook worker…) is still running.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use crate::logs;
use crate::state::AppState;

/// The row the probe writes (`probes.name`).
const PROBE: &str = "readyz";

/// The background workers and whether each is still running. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Workers(Arc<Mutex<BTreeMap<&'static str, bool>>>);

impl Workers {
    /// `work` as the worker `name`: running from this call on, stopped once `work` ends, returns early
    /// or panics (its task drops it then).
    pub fn watch<F: Future>(
        &self,
        name: &'static str,
        work: F,
    ) -> impl Future<Output = F::Output> + use<F> {
        self.set(name, true);
        let running = Running {
            workers: self.clone(),
            name,
        };
        async move {
            let _running = running;
            work.await
        }
    }

    /// Every worker with whether it runs, by name.
    pub fn states(&self) -> Vec<(&'static str, bool)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(name, running)| (*name, *running))
            .collect()
    }

    fn set(&self, name: &'static str, running: bool) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, running);
    }
}

/// Marks its worker stopped when dropped.
struct Running {
    workers: Workers,
    name: &'static str,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Normal at shutdown; otherwise the worker has logged why it stopped (or its task's panic is).
        self.workers.set(self.name, false);
        tracing::debug!(worker = self.name, "background worker stopped");
    }
}

/// What the readiness probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    /// The probe's write committed in time.
    pub database: bool,
    /// Every worker, with whether it runs.
    pub workers: Vec<(&'static str, bool)>,
}

impl Readiness {
    /// Ready: the database takes writes and every worker runs.
    pub fn is_ready(&self) -> bool {
        self.database && self.workers.iter().all(|(_, running)| *running)
    }
}

/// Probes the server: one real write through the writer (the same queue and commit as every request's),
/// and the workers' states.
pub async fn check(state: &AppState) -> Readiness {
    let now = state.now();
    let within = state.config.readiness.timeout_secs.duration();
    let write = state
        .db
        .write(move |tx| tx.record_probe(PROBE, now, within));
    let database = match tokio::time::timeout(within, write).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            if state.repeats.first(logs::NOT_READY) {
                tracing::warn!(kind = logs::NOT_READY.name(), error = %e, "readiness probe: the database refused a write");
            }
            false
        }
        Err(_) => {
            if state.repeats.first(logs::NOT_READY) {
                tracing::warn!(kind = logs::NOT_READY.name(), timeout = ?within, "readiness probe: the database did not commit a write in time");
            }
            false
        }
    };
    Readiness {
        database,
        workers: state.workers.states(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_worker_that_returns_or_panics_is_reported_stopped() {
        let workers = Workers::default();
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let steady = tokio::spawn(workers.watch("steady", async move {
            let _ = wait.await;
        }));
        let doomed = tokio::spawn(workers.watch("doomed", async { panic!("worker bug") }));
        assert_eq!(workers.states(), [("doomed", true), ("steady", true)]);
        assert!(doomed.await.is_err(), "the task panicked");
        assert_eq!(workers.states(), [("doomed", false), ("steady", true)]);
        release.send(()).expect("steady waits");
        steady.await.expect("steady ends");
        assert_eq!(workers.states(), [("doomed", false), ("steady", false)]);
    }
}
