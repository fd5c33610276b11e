//! Password hashing, bounded: argon2id costs 19 MiB and tens of milliseconds per hash, so hashes run on a
//! small pool of dedicated threads (never tokio's blocking pool, which database reads share), at most
//! `dashboard.password_hash_concurrency` at once. A request that finds every slot taken is not queued:
//! it is told [`HashError::Busy`] at once (the HTTP layer answers 503 with `Retry-After`), so a flood of
//! registrations or logins costs a bounded amount of memory and never delays anything else.

use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use argon2::password_hash::SaltString;
use argon2::{Argon2, PasswordHash, PasswordHasher as _, PasswordVerifier as _};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use webqris_core::SecretString;

use crate::secret;

/// Why a password could not be hashed or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Every hashing slot is taken; try again shortly.
    #[error("the server is busy checking other passwords; try again in a moment")]
    Busy,
    /// argon2 refused (a bug: the parameters are constants) or the pool is gone.
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: the OWASP recommendation).
fn argon2() -> Argon2<'static> {
    Argon2::default()
}

fn hash_now(password: &str) -> Result<String, HashError> {
    let salt =
        SaltString::encode_b64(&secret::salt()).map_err(|e| HashError::Failed(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError::Failed(e.to_string()))
}

/// A hash nobody's password matches, verified when the login name is unknown so that a wrong name
/// takes as long as a wrong password.
static DECOY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_now(&secret::random_token()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot compute the decoy password hash");
        String::new()
    })
});

fn verify_now(password: &str, stored: Option<&str>) -> bool {
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (DECOY_HASH.as_str(), false),
    };
    let matches = PasswordHash::new(hash).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    });
    real && matches
}

/// One unit of work for a hashing thread (it holds its slot's permit until the hash is done).
type Job = Box<dyn FnOnce() + Send>;

/// The hashing pool. Cheap to clone; its threads stop when the last clone is dropped.
#[derive(Clone)]
pub struct Passwords {
    slots: Arc<Semaphore>,
    jobs: mpsc::Sender<Job>,
    threads: usize,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("threads", &self.threads)
            .field("free", &self.slots.available_permits())
            .finish()
    }
}

impl Passwords {
    /// A pool of `threads` hashing threads (at least one).
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("webqris-argon2-{n}"))
                .spawn(move || {
                    loop {
                        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match next {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(e) = spawned {
                // Fewer threads only means jobs wait for the ones that started; with none, each job
                // fails when its reply is dropped with the queue.
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self {
            slots: Arc::new(Semaphore::new(threads)),
            jobs,
            threads,
        }
    }

    /// Runs `f` on a hashing thread if a slot is free now; [`HashError::Busy`] otherwise.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = Arc::clone(&self.slots)
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = f();
            // The slot is free before the caller hears back, so its next request finds room.
            drop::<OwnedSemaphorePermit>(permit);
            // The caller may have gone (request cancelled); nothing else to do then.
            let _ = reply.send(result);
        });
        self.jobs
            .send(job)
            .map_err(|_| HashError::Failed("the hashing threads have stopped".to_owned()))?;
        answer
            .await
            .map_err(|_| HashError::Failed("a hashing thread stopped".to_owned()))
    }

    /// Whether a hashing slot is free right now (a request that is going to hash checks this before it
    /// counts against any rate limit).
    pub fn has_room(&self) -> bool {
        self.slots.available_permits() > 0
    }

    /// Hashes `password` (a PHC string of argon2id).
    pub async fn hash(&self, password: SecretString) -> Result<String, HashError> {
        self.run(move || hash_now(password.expose())).await?
    }

    /// Whether `password` matches `stored`. `None` (unknown login name) verifies against a decoy and is
    /// always `false`.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        self.run(move || verify_now(password.expose(), stored.as_deref()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only_and_is_argon2id() {
        let passwords = Passwords::new(1);
        let hash = passwords
            .hash(SecretString::new("correct horse"))
            .await
            .expect("hashes");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let verify =
            |pw: &str, stored: Option<String>| passwords.verify(SecretString::new(pw), stored);
        assert_eq!(verify("correct horse", Some(hash.clone())).await, Ok(true));
        assert_eq!(verify("correct horsE", Some(hash)).await, Ok(false));
        assert_eq!(verify("correct horse", None).await, Ok(false));
        assert_eq!(verify("x", Some("not a hash".into())).await, Ok(false));
    }

    #[tokio::test]
    async fn beyond_the_pool_size_work_is_refused_at_once_not_queued() {
        let passwords = Passwords::new(2);
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
        let mut running = Vec::new();
        for _ in 0..2 {
            let (gate, started_tx, passwords) =
                (Arc::clone(&gate), started_tx.clone(), passwords.clone());
            running.push(tokio::spawn(async move {
                passwords
                    .run(move || {
                        let _ = started_tx.send(());
                        let _ = gate.lock().expect("gate").recv();
                    })
                    .await
            }));
        }
        for _ in 0..2 {
            started.recv().await.expect("both slots in use");
        }
        assert!(!passwords.has_room());
        assert_eq!(
            passwords.hash(SecretString::new("a third one")).await,
            Err(HashError::Busy)
        );
        release.send(()).expect("release");
        release.send(()).expect("release");
        for task in running {
            task.await.expect("task").expect("ran");
        }
        passwords
            .hash(SecretString::new("room again"))
            .await
            .expect("a slot is free once the others finished");
    }
}
