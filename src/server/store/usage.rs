//! Usage you can see (docs/PAGES.md#beyond-the-reference-portal): every call a credential serves is
//! counted in one-minute buckets, and its last use (time and client address)
//! is kept on the credential's row.

use super::{Lock, Store};
use crate::model::KeyKind;
use sqlx::AnyConnection;

const MINUTE_MS: i64 = 60_000;
use crate::server::{DAY_MS, HOUR_MS};

/// A credential whose calls are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// Calls served in the last hour and the last 24 hours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CallCounts {
    pub calls_1h: i64,
    pub calls_24h: i64,
}

impl Store {
    /// Counts one call served by `credential` at `at` from `client_ip`.
    pub async fn note_use(
        &self,
        org_id: i64,
        credential: Credential,
        at: i64,
        client_ip: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        note_use(&mut tx, org_id, credential, at, client_ip).await?;
        tx.commit().await
    }

    /// The calls `credential` served in the hour and the day before `now`.
    pub async fn call_counts(
        &self,
        org_id: i64,
        credential: Credential,
        now: i64,
    ) -> Result<CallCounts, sqlx::Error> {
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
        .fetch_one(&self.pool)
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

/// [`Store::note_use`] inside a caller's transaction: the bucket and the
/// credential's Last Used change together.
pub(super) async fn note_use(
    conn: &mut AnyConnection,
    org_id: i64,
    credential: Credential,
    at: i64,
    client_ip: &str,
) -> Result<(), sqlx::Error> {
    let (name, id) = credential.parts();
    sqlx::query(
        "INSERT INTO credential_calls (org_id, credential, credential_id, minute, count) VALUES ($1, $2, $3, $4, 1)
         ON CONFLICT (org_id, credential, credential_id, minute) DO UPDATE SET count = credential_calls.count + 1",
    )
    .bind(org_id)
    .bind(name)
    .bind(id)
    .bind(at - at.rem_euclid(MINUTE_MS))
    .execute(&mut *conn)
    .await?;
    let query = match credential {
        Credential::SandboxToken(id) => sqlx::query(
            "UPDATE sandbox_tokens SET last_used_at = $1, last_used_ip = $2 WHERE org_id = $3 AND id = $4",
        )
        .bind(at)
        .bind(client_ip)
        .bind(org_id)
        .bind(id),
        Credential::ApiKey(kind) => sqlx::query(
            "UPDATE api_keys SET last_used_at = $1, last_used_ip = $2 WHERE org_id = $3 AND kind = $4",
        )
        .bind(at)
        .bind(client_ip)
        .bind(org_id)
        .bind(kind.as_str()),
    };
    query.execute(&mut *conn).await?;
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
