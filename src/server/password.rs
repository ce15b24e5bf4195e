//! Password hashing with argon2id, off the async runtime's threads and
//! bounded: each hash takes ~19 MiB and tens of milliseconds, so unbounded
//! parallel sign-ins were a memory and CPU DoS. A [`Hasher`] runs at most
//! one hash per slot (one per core by default); callers queue for a slot
//! and after the queue timeout get [`Busy`] (answered 503 with `Retry-After`).

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Every hashing slot stayed taken for the queue timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

/// The bounded password hasher every sign-in shares (in `AppState`).
#[derive(Debug)]
pub struct Hasher {
    slots: Semaphore,
    queue_timeout: Duration,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Hasher {
    pub fn new(slots: usize, queue_timeout: Duration) -> Self {
        Hasher {
            slots: Semaphore::new(slots.max(1)),
            queue_timeout,
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// One slot per core, waiting at most five seconds.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Hasher::new(cores, Duration::from_secs(5))
    }

    /// The most hashes that ever ran at once (for tests and metrics).
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Seconds a turned-away caller is told to wait.
    pub fn retry_after_secs(&self) -> u64 {
        self.queue_timeout.as_secs().max(1)
    }

    /// Runs `work` on a blocking thread once a slot is free; `None` if the
    /// task itself failed.
    async fn bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Option<T>, Busy> {
        let _permit = tokio::time::timeout(self.queue_timeout, self.slots.acquire())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let now = self.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        let out = tokio::task::spawn_blocking(work).await.ok();
        self.running.fetch_sub(1, Ordering::Relaxed);
        Ok(out)
    }

    /// A PHC string (`$argon2id$...`) for `password`.
    pub async fn hash(&self, password: SecretString) -> Result<String, String> {
        self.bounded(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| format!("hashing failed: {e}"))
        })
        .await
        .map_err(|Busy| "every hashing slot is busy".to_owned())?
        .unwrap_or_else(|| Err("hashing task failed".to_owned()))
    }

    /// Whether `password` matches `phc`. With `phc = None` it still spends
    /// the same time, so an unknown username cannot be told from a wrong
    /// password.
    pub async fn verify(&self, password: SecretString, phc: Option<String>) -> Result<bool, Busy> {
        Ok(self
            .bounded(move || {
                let phc = phc.unwrap_or_else(|| DUMMY_HASH.to_owned());
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return false;
                };
                Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok()
                    && phc != DUMMY_HASH
            })
            .await?
            .unwrap_or(false))
    }
}

/// The hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4E8zXz0iP+0gSYTKXfN8BDUzEjOc5Rk5cWzK0ylVWWs";

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let hasher = Hasher::per_core();
        let phc = hasher
            .hash(SecretString::from("Keyport-demo-1"))
            .await
            .unwrap();
        assert!(phc.starts_with("$argon2id$"));
        let verify = |p: &str, phc: Option<String>| hasher.verify(SecretString::from(p), phc);
        assert_eq!(verify("Keyport-demo-1", Some(phc.clone())).await, Ok(true));
        assert_eq!(verify("keyport-demo-1", Some(phc)).await, Ok(false));
        assert_eq!(verify("anything", None).await, Ok(false));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_one_hash_per_slot_and_the_queue_times_out() {
        let hasher = Arc::new(Hasher::new(1, Duration::from_millis(50)));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let h = hasher.clone();
                tokio::spawn(async move { h.verify(SecretString::from("x"), None).await })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            if t.await.unwrap() == Err(Busy) {
                busy += 1;
            }
        }
        assert_eq!(hasher.peak_concurrency(), 1);
        // One argon2 verification takes far longer than 50 ms unoptimised
        // or ~20 ms optimised; eight in a row cannot all fit the window.
        assert!(busy > 0, "the queue never timed out");
    }
}
