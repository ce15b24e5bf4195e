//! Sandbox API tokens and the submissions made with them.

use super::api_keys::count_request;
use super::usage::{Credential, forget_use, note_use};
use super::{AuditRecord, Lock, Store};
use crate::model::DisableReason;

/// One token as stored (the sealed secret included, for reveal).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SandboxTokenRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub secret_sealed: Vec<u8>,
    pub secret_digest: Vec<u8>,
    pub last4: String,
    pub disabled_reason: Option<String>,
    pub modified_at: i64,
    pub modified_by: String,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    /// Calls the token served in the hour and the day before the query.
    pub calls_1h: i64,
    pub calls_24h: i64,
}

impl SandboxTokenRow {
    pub fn disabled_reason(&self) -> Option<DisableReason> {
        // An unknown reason (from a newer version) still means disabled.
        self.disabled_reason
            .as_deref()
            .map(|r| r.parse().unwrap_or(DisableReason::Other))
    }
}

/// The new secret's stored forms.
pub struct SealedSecret<'a> {
    pub sealed: &'a [u8],
    pub digest: &'a [u8],
    pub last4: &'a str,
}

/// What inserting a token came to.
#[derive(Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted(i64),
    LimitReached,
    DuplicateName,
}

/// A submission to record.
pub struct NewSubmission<'a> {
    pub org_id: i64,
    pub token_id: i64,
    /// The presented token's digest: checked again inside the transaction,
    /// so a token replaced or deleted a moment ago records nothing.
    pub token_digest: &'a [u8],
    pub size: i64,
    pub md5: &'a str,
    pub file_type: &'a str,
    pub force: bool,
    pub client_ip: &'a str,
    pub at: i64,
    /// Submissions since this time count toward the daily allowance.
    pub day_start: i64,
    /// The organisation's submission rate limits (see `count_request`).
    pub limits: &'a [(&'a str, i64, i64)],
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Recorded; `used` submissions so far today.
    Accepted { used: i64 },
    /// Over the allowance: not recorded, and the organisation's tokens are now disabled.
    OverAllowance,
    /// The token was replaced or deleted since it was checked.
    TokenGone,
    /// The token was disabled since it was checked.
    TokenDisabled,
    /// Over a rate limit: wait this many seconds. Nothing recorded.
    RateLimited(u64),
}

/// The row, with its call counts; binds the hour's and the day's start first.
const TOKEN_COLUMNS: &str = "t.id, t.org_id, t.name, t.secret_sealed, t.secret_digest, t.last4, t.disabled_reason, t.modified_at, t.modified_by, t.last_used_at, t.last_used_ip,
     (SELECT CAST(COALESCE(SUM(c.count), 0) AS BIGINT) FROM credential_calls c WHERE c.org_id = t.org_id AND c.credential = 'sandbox' AND c.credential_id = t.id AND c.minute > $1) AS calls_1h,
     (SELECT CAST(COALESCE(SUM(c.count), 0) AS BIGINT) FROM credential_calls c WHERE c.org_id = t.org_id AND c.credential = 'sandbox' AND c.credential_id = t.id AND c.minute > $2) AS calls_24h";

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

impl Store {
    /// An organisation's tokens, oldest first.
    pub async fn sandbox_tokens(
        &self,
        org_id: i64,
        now: i64,
    ) -> Result<Vec<SandboxTokenRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM sandbox_tokens t WHERE t.org_id = $3 ORDER BY t.id"
        ))
        .bind(now - HOUR_MS)
        .bind(now - DAY_MS)
        .bind(org_id)
        .fetch_all(&self.pool)
        .await
    }

    /// One token, only if it belongs to `org_id`.
    pub async fn sandbox_token(
        &self,
        org_id: i64,
        id: i64,
        now: i64,
    ) -> Result<Option<SandboxTokenRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM sandbox_tokens t WHERE t.org_id = $3 AND t.id = $4"
        ))
        .bind(now - HOUR_MS)
        .bind(now - DAY_MS)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    /// The token of organisation `org_id` whose digest is `digest`.
    pub async fn sandbox_token_by_digest(
        &self,
        org_id: i64,
        digest: &[u8],
        now: i64,
    ) -> Result<Option<SandboxTokenRow>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {TOKEN_COLUMNS} FROM sandbox_tokens t WHERE t.org_id = $3 AND t.secret_digest = $4"))
            .bind(now - HOUR_MS)
            .bind(now - DAY_MS)
            .bind(org_id)
            .bind(digest)
            .fetch_optional(&self.pool)
            .await
    }

    /// Adds a token unless the organisation already has `limit` of them or
    /// one with the same name; count and insert hold the write lock together.
    pub async fn insert_sandbox_token(
        &self,
        org_id: i64,
        limit: i64,
        name: &str,
        secret: SealedSecret<'_>,
        audit: &AuditRecord,
    ) -> Result<InsertOutcome, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sandbox_tokens WHERE org_id = $1")
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
        if count >= limit {
            return Ok(InsertOutcome::LimitReached);
        }
        let inserted: Result<(i64,), _> = sqlx::query_as(
            "INSERT INTO sandbox_tokens (org_id, name, secret_sealed, secret_digest, last4, created_at, modified_at, modified_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(org_id)
        .bind(name)
        .bind(secret.sealed)
        .bind(secret.digest)
        .bind(secret.last4)
        .bind(audit.at)
        .bind(audit.at)
        .bind(&audit.admin)
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok((id,)) => id,
            Err(e) if is_unique_violation(&e) => return Ok(InsertOutcome::DuplicateName),
            Err(e) => return Err(e),
        };
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(InsertOutcome::Inserted(id))
    }

    /// Renames a token. `Ok(None)` if it does not exist in the organisation,
    /// `Ok(Some(false))` if the name is taken.
    pub async fn rename_sandbox_token(
        &self,
        org_id: i64,
        id: i64,
        name: &str,
        audit: &AuditRecord,
    ) -> Result<Option<bool>, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        let updated = sqlx::query("UPDATE sandbox_tokens SET name = $1, modified_at = $2, modified_by = $3 WHERE org_id = $4 AND id = $5")
            .bind(name)
            .bind(audit.at)
            .bind(&audit.admin)
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await;
        match updated {
            Ok(r) if r.rows_affected() == 0 => return Ok(None),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(Some(false)),
            Err(e) => return Err(e),
        }
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    /// Replaces a token's secret. The old digest is gone when this commits,
    /// so the old string stops matching at once. `false` if not found.
    pub async fn replace_sandbox_secret(
        &self,
        org_id: i64,
        id: i64,
        secret: SealedSecret<'_>,
        audit: &AuditRecord,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        let updated = sqlx::query(
            "UPDATE sandbox_tokens SET secret_sealed = $1, secret_digest = $2, last4 = $3, modified_at = $4, modified_by = $5, last_used_at = NULL, last_used_ip = NULL
             WHERE org_id = $6 AND id = $7",
        )
        .bind(secret.sealed)
        .bind(secret.digest)
        .bind(secret.last4)
        .bind(audit.at)
        .bind(&audit.admin)
        .bind(org_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        forget_use(&mut tx, org_id, Credential::SandboxToken(id)).await?;
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a token. `false` if not found.
    pub async fn delete_sandbox_token(
        &self,
        org_id: i64,
        id: i64,
        audit: &AuditRecord,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        let deleted = sqlx::query("DELETE FROM sandbox_tokens WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        forget_use(&mut tx, org_id, Credential::SandboxToken(id)).await?;
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Provider: disables (with a reason) or re-enables tokens of an
    /// organisation, all of them or the one with id `token`. Returns how many changed.
    pub async fn set_sandbox_disabled(
        &self,
        org_id: i64,
        token: Option<i64>,
        reason: Option<DisableReason>,
        audit: &AuditRecord,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        let changed = sqlx::query("UPDATE sandbox_tokens SET disabled_reason = $1 WHERE org_id = $2 AND (CAST($3 AS BIGINT) IS NULL OR id = $3)")
            .bind(reason.map(DisableReason::as_str))
            .bind(org_id)
            .bind(token)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Records a submission against the daily allowance. The submission that
    /// would go past it is not recorded; it disables the organisation's tokens.
    pub async fn record_submission(
        &self,
        sub: &NewSubmission<'_>,
        allowance: i64,
        on_exceeded: &AuditRecord,
    ) -> Result<SubmitOutcome, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(sub.org_id)).await?;
        let current: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT disabled_reason FROM sandbox_tokens WHERE id = $1 AND secret_digest = $2",
        )
        .bind(sub.token_id)
        .bind(sub.token_digest)
        .fetch_optional(&mut *tx)
        .await?;
        match current {
            None => return Ok(SubmitOutcome::TokenGone),
            Some((Some(_),)) => return Ok(SubmitOutcome::TokenDisabled),
            Some((None,)) => {}
        }
        // Counted only for a valid token: strangers cannot use up the limit.
        if let Some(wait) = count_request(&mut tx, sub.org_id, sub.at, sub.limits).await? {
            return Ok(SubmitOutcome::RateLimited(wait));
        }
        let (used,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sandbox_submissions WHERE org_id = $1 AND at >= $2",
        )
        .bind(sub.org_id)
        .bind(sub.day_start)
        .fetch_one(&mut *tx)
        .await?;
        if used >= allowance {
            sqlx::query("UPDATE sandbox_tokens SET disabled_reason = $1 WHERE org_id = $2 AND disabled_reason IS NULL")
                .bind(DisableReason::ThresholdExceeded.as_str())
                .bind(sub.org_id)
                .execute(&mut *tx)
                .await?;
            on_exceeded.insert(&mut tx).await?;
            tx.commit().await?;
            return Ok(SubmitOutcome::OverAllowance);
        }
        sqlx::query(
            "INSERT INTO sandbox_submissions (org_id, token_id, size, md5, file_type, force, client_ip, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(sub.org_id)
        .bind(sub.token_id)
        .bind(sub.size)
        .bind(sub.md5)
        .bind(sub.file_type)
        .bind(i64::from(sub.force))
        .bind(sub.client_ip)
        .bind(sub.at)
        .execute(&mut *tx)
        .await?;
        note_use(
            &mut tx,
            sub.org_id,
            Credential::SandboxToken(sub.token_id),
            sub.at,
            sub.client_ip,
        )
        .await?;
        tx.commit().await?;
        Ok(SubmitOutcome::Accepted { used: used + 1 })
    }

    /// Submissions an organisation made since `day_start`.
    pub async fn submissions_since(&self, org_id: i64, day_start: i64) -> Result<i64, sqlx::Error> {
        let (used,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sandbox_submissions WHERE org_id = $1 AND at >= $2",
        )
        .bind(org_id)
        .bind(day_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(used)
    }
}
