//! Usage you can see (docs/PAGES.md#beyond-the-reference-portal): every call a credential serves is
//! counted in one-minute buckets, and its last use (time and client address)
//! is kept on the credential's row.
//!
//! Calls are noted in memory ([`UsageBuffer`]) and written in batches at
//! most [`FLUSH_EVERY`] apart, so validating a credential writes nothing.
//! Each note carries the credential's [`Generation`] (the stored form of
//! its secret): a batch written after the secret was replaced or deleted
//! finds no row of that generation and is dropped, so a flush never
//! resurrects the old secret's usage. Readers in this process flush first
//! and see every call; another instance's calls show within the interval.
//! A kill -9 loses at most the last interval's counts, never a credential
//! change or an acknowledged submission.

use super::{Backend, Lock, Store};
use crate::model::KeyKind;
use sqlx::AnyConnection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

const MINUTE_MS: i64 = 60_000;
use crate::server::{DAY_MS, HOUR_MS};

/// How long a noted call waits, at most, before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// A credential whose calls are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    SandboxToken(i64),
    ApiKey(KeyKind),
}

impl Credential {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Credential::SandboxToken(id) => ("sandbox", id),
            Credential::ApiKey(kind) => (kind.as_str(), 0),
        }
    }
}

/// Which secret of a credential served a call: its stored form (a token's
/// digest, a key's sealed bytes), which every new secret changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Generation(pub Vec<u8>);

/// Calls served in the last hour and the last 24 hours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CallCounts {
    pub calls_1h: i64,
    pub calls_24h: i64,
}

/// Calls of one credential generation not yet written.
#[derive(Debug, Default)]
struct Pending {
    /// Calls per minute bucket (start of the minute, ms).
    minutes: HashMap<i64, i64>,
    last_at: i64,
    last_ip: String,
}

/// What this process noted and has not written yet.
#[derive(Debug, Default)]
pub(super) struct UsageBuffer {
    pending: Mutex<Batch>,
    /// Held while a batch is being written, so a reader that flushes first
    /// also waits for a batch the background task took a moment before.
    writing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Batch {
    calls: HashMap<(i64, Credential, Generation), Pending>,
    /// Consumer-API sessions used: session digest → last call (ms).
    sessions: HashMap<Vec<u8>, i64>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.sessions.is_empty()
    }
}

impl UsageBuffer {
    fn batch(&self) -> std::sync::MutexGuard<'_, Batch> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self) -> Batch {
        std::mem::take(&mut *self.batch())
    }

    /// Puts back a batch whose write failed, under what was noted since.
    fn restore(&self, failed: Batch) {
        let mut batch = self.batch();
        for (key, p) in failed.calls {
            let into = batch.calls.entry(key).or_default();
            for (minute, n) in p.minutes {
                *into.minutes.entry(minute).or_default() += n;
            }
            if p.last_at > into.last_at {
                into.last_at = p.last_at;
                into.last_ip = p.last_ip;
            }
        }
        for (digest, at) in failed.sessions {
            let seen = batch.sessions.entry(digest).or_default();
            *seen = (*seen).max(at);
        }
    }
}

/// Writes the buffer every [`FLUSH_EVERY`] while the store is in use.
pub(super) fn spawn_flusher(store: &Store) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let buffer: Weak<UsageBuffer> = Arc::downgrade(&store.usage);
    let mut store = store.clone();
    // The task's copy must not keep the buffer alive: it ends with the
    // last Store using the buffer.
    store.usage = Arc::default();
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(buffer) = buffer.upgrade() else {
                return;
            };
            if let Err(e) = store.write_batch(&buffer).await {
                tracing::warn!(error = %e, "writing usage counts failed; retrying");
            }
        }
    });
}

impl Store {
    /// Counts one call served by `credential`'s secret of `generation` at
    /// `at` from `client_ip`: in memory, written within [`FLUSH_EVERY`].
    pub fn note_use(
        &self,
        org_id: i64,
        credential: Credential,
        generation: Generation,
        at: i64,
        client_ip: &str,
    ) {
        let mut batch = self.usage.batch();
        let pending = batch
            .calls
            .entry((org_id, credential, generation))
            .or_default();
        *pending
            .minutes
            .entry(at - at.rem_euclid(MINUTE_MS))
            .or_default() += 1;
        if at >= pending.last_at {
            pending.last_at = at;
            if pending.last_ip != client_ip {
                pending.last_ip = client_ip.to_owned();
            }
        }
    }

    /// Notes a call made with the consumer-API session `digest` at `at`: its
    /// idle time starts again (written within [`FLUSH_EVERY`]; the idle
    /// limit is minutes).
    pub(super) fn note_session_use(&self, digest: &[u8], at: i64) {
        let mut batch = self.usage.batch();
        match batch.sessions.get_mut(digest) {
            Some(seen) => *seen = (*seen).max(at),
            None => {
                batch.sessions.insert(digest.to_vec(), at);
            }
        }
    }

    /// Writes what this process noted, so a read that follows sees it.
    pub async fn flush_usage(&self) -> Result<(), sqlx::Error> {
        self.write_batch(&self.usage).await
    }

    /// Writes `buffer`'s batch. What could not be written goes back into
    /// the buffer for the next round.
    async fn write_batch(&self, buffer: &UsageBuffer) -> Result<(), sqlx::Error> {
        let _writing = buffer.writing.lock().await;
        if buffer.batch().is_empty() {
            return Ok(());
        }
        let batch = buffer.take();
        match self.backend {
            // One writer anyway: one transaction for the whole batch.
            Backend::Sqlite => {
                let written = self.write_batch_at_once(&batch).await;
                if written.is_err() {
                    buffer.restore(batch);
                }
                written
            }
            // Each credential in a transaction of its own, which locks its
            // row before its buckets as a regenerate or delete does, so the
            // two cannot deadlock; session touches one statement each.
            Backend::Postgres => {
                let mut failed = Batch::default();
                let mut result = Ok(());
                for (key, pending) in batch.calls {
                    let written = async {
                        let mut tx = self.pool.begin().await?;
                        write_use(&mut tx, key.0, key.1, &key.2, &pending).await?;
                        tx.commit().await
                    }
                    .await;
                    if let Err(e) = written {
                        failed.calls.insert(key, pending);
                        result = Err(e);
                    }
                }
                for (digest, at) in batch.sessions {
                    let mut conn = self.pool.acquire().await?;
                    if let Err(e) = touch_session(&mut conn, &digest, at).await {
                        failed.sessions.insert(digest, at);
                        result = Err(e);
                    }
                }
                if !failed.is_empty() {
                    buffer.restore(failed);
                }
                result
            }
        }
    }

    async fn write_batch_at_once(&self, batch: &Batch) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write(Lock::Key("usage")).await?;
        for ((org_id, credential, generation), pending) in &batch.calls {
            write_use(&mut tx, *org_id, *credential, generation, pending).await?;
        }
        for (digest, at) in &batch.sessions {
            touch_session(&mut tx, digest, *at).await?;
        }
        tx.commit().await
    }

    /// The calls `credential` served in the hour and the day before `now`.
    pub async fn call_counts(
        &self,
        org_id: i64,
        credential: Credential,
        now: i64,
    ) -> Result<CallCounts, sqlx::Error> {
        self.flush_usage().await?;
        let (name, id) = credential.parts();
        sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN minute > $1 THEN count ELSE 0 END), 0) AS BIGINT) AS calls_1h,
                    CAST(COALESCE(SUM(count), 0) AS BIGINT) AS calls_24h
             FROM credential_calls
             WHERE org_id = $2 AND credential = $3 AND credential_id = $4 AND minute > $5",
        )
        .bind(now - HOUR_MS)
        .bind(org_id)
        .bind(name)
        .bind(id)
        .bind(now - DAY_MS)
        .fetch_one(&self.read)
        .await
    }

    /// Drops buckets older than `before`.
    pub async fn prune_call_counts(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM credential_calls WHERE minute < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// A consumer-API session's last call, if later than the stored one (a
/// session ended since is not there to touch).
async fn touch_session(
    conn: &mut AnyConnection,
    digest: &[u8],
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_sessions SET last_seen_at = $1 WHERE id_digest = $2 AND last_seen_at < $1",
    )
    .bind(at)
    .bind(digest)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes one credential generation's pending calls: its Last Used (if
/// later than the stored one) and its buckets — only while the credential
/// still has that generation.
async fn write_use(
    conn: &mut AnyConnection,
    org_id: i64,
    credential: Credential,
    generation: &Generation,
    pending: &Pending,
) -> Result<(), sqlx::Error> {
    let (name, id) = credential.parts();
    let touch = match credential {
        Credential::SandboxToken(id) => sqlx::query(
            "UPDATE sandbox_tokens SET
               last_used_ip = CASE WHEN last_used_at IS NULL OR last_used_at <= $1 THEN $2 ELSE last_used_ip END,
               last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at <= $1 THEN $1 ELSE last_used_at END
             WHERE org_id = $3 AND id = $4 AND secret_digest = $5",
        )
        .bind(pending.last_at)
        .bind(&pending.last_ip)
        .bind(org_id)
        .bind(id),
        Credential::ApiKey(kind) => sqlx::query(
            "UPDATE api_keys SET
               last_used_ip = CASE WHEN last_used_at IS NULL OR last_used_at <= $1 THEN $2 ELSE last_used_ip END,
               last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at <= $1 THEN $1 ELSE last_used_at END
             WHERE org_id = $3 AND kind = $4 AND key_sealed = $5",
        )
        .bind(pending.last_at)
        .bind(&pending.last_ip)
        .bind(org_id)
        .bind(kind.as_str()),
    };
    let current = touch
        .bind(generation.0.as_slice())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    if current == 0 {
        // Replaced or deleted since: these calls were the old secret's.
        return Ok(());
    }
    for (&minute, &count) in &pending.minutes {
        sqlx::query(
            "INSERT INTO credential_calls (org_id, credential, credential_id, minute, count) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, credential, credential_id, minute) DO UPDATE SET count = credential_calls.count + excluded.count",
        )
        .bind(org_id)
        .bind(name)
        .bind(id)
        .bind(minute)
        .bind(count)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Forgets a credential's counts: its secret was replaced, so the new one
/// has served nothing yet.
pub(super) async fn forget_use(
    conn: &mut AnyConnection,
    org_id: i64,
    credential: Credential,
) -> Result<(), sqlx::Error> {
    let (name, id) = credential.parts();
    sqlx::query(
        "DELETE FROM credential_calls WHERE org_id = $1 AND credential = $2 AND credential_id = $3",
    )
    .bind(org_id)
    .bind(name)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
