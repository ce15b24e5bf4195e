//! Sandbox API tokens and the submissions made with them.

use super::usage::{Credential, forget_use};
use super::{AuditRecord, AuditedTx, Lock, Refusal, Ruled, Store, SubscriptionKind};
use crate::model::DisableReason;
use crate::server::credential_policy::StoredPolicy;

mod submissions;

pub use submissions::{NewSubmission, SubmitOutcome};

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
    pub created_at: i64,
    /// The restrictions (`server::credential_policy`): checked by the
    /// consumer API on every request from these columns.
    pub expires_at: Option<i64>,
    pub ip_allowlist: String,
    pub daily_cap: Option<i64>,
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

/// The row, with its call counts; binds the hour's and the day's start first.
const TOKEN_COLUMNS: &str = "t.id, t.org_id, t.name, t.secret_sealed, t.secret_digest, t.last4, t.disabled_reason, t.modified_at, t.modified_by, t.last_used_at, t.last_used_ip,
     t.created_at, t.expires_at, t.ip_allowlist, t.daily_cap,
     (SELECT CAST(COALESCE(SUM(c.count), 0) AS BIGINT) FROM credential_calls c WHERE c.org_id = t.org_id AND c.credential = 'sandbox' AND c.credential_id = t.id AND c.minute > $1) AS calls_1h,
     (SELECT CAST(COALESCE(SUM(c.count), 0) AS BIGINT) FROM credential_calls c WHERE c.org_id = t.org_id AND c.credential = 'sandbox' AND c.credential_id = t.id AND c.minute > $2) AS calls_24h";

use crate::server::{DAY_MS, HOUR_MS};

/// What the Add button's refusal says at the limit (docs/STATES.md).
pub const LIMIT_MESSAGE: &str = "Delete an existing token before adding a new one.";

fn duplicate(name: &str) -> Refusal {
    Refusal::Invalid {
        field: "name",
        message: format!("A token named “{name}” already exists."),
        hint: "This name is already used by another token.".into(),
    }
}

/// docs/STATES.md for Regenerate and Delete: an active subscription, no token disabled.
async fn changeable(tx: &mut AuditedTx, org_id: i64, now: i64) -> Result<Ruled<()>, sqlx::Error> {
    if let Err(r) = tx.gate(org_id, SubscriptionKind::Sandbox, now).await? {
        return Ok(Err(r));
    }
    tx.gate_tokens_enabled(org_id).await
}

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

    /// Adds a token with its restrictions under the rules: an active
    /// Sandbox subscription, no token disabled by the provider, fewer than
    /// the organisation's limit, a unique name — checked and inserted in
    /// one transaction.
    pub async fn insert_sandbox_token(
        &self,
        org_id: i64,
        name: &str,
        secret: SealedSecret<'_>,
        policy: &StoredPolicy,
        audit: &AuditRecord,
    ) -> Result<Ruled<i64>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = tx.gate(org_id, SubscriptionKind::Sandbox, audit.at).await? {
            return tx.refuse(r).await;
        }
        if let Err(r) = tx.gate_tokens_enabled(org_id).await? {
            return tx.refuse(r).await;
        }
        let (count, limit): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM sandbox_tokens WHERE org_id = $1), sandbox_token_limit FROM organisations WHERE id = $1",
        )
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await?;
        if count >= limit {
            return tx.refuse(Refusal::Conflict(LIMIT_MESSAGE.into())).await;
        }
        let inserted: Result<(i64,), _> = sqlx::query_as(
            "INSERT INTO sandbox_tokens (org_id, name, secret_sealed, secret_digest, last4, created_at, modified_at, modified_by, expires_at, ip_allowlist, daily_cap)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(org_id)
        .bind(name)
        .bind(secret.sealed)
        .bind(secret.digest)
        .bind(secret.last4)
        .bind(audit.at)
        .bind(audit.at)
        .bind(&audit.admin)
        .bind(policy.expires_at)
        .bind(&policy.ip_allowlist)
        .bind(policy.daily_cap)
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok((id,)) => id,
            Err(e) if is_unique_violation(&e) => return tx.refuse(duplicate(name)).await,
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// Renames a token and, with `policy`, sets its restrictions, in one
    /// transaction (an active subscription and a unique name needed; a
    /// provider disable does not block editing).
    pub async fn edit_sandbox_token(
        &self,
        org_id: i64,
        id: i64,
        name: &str,
        policy: Option<&StoredPolicy>,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = tx.gate(org_id, SubscriptionKind::Sandbox, audit.at).await? {
            return tx.refuse(r).await;
        }
        let updated = sqlx::query("UPDATE sandbox_tokens SET name = $1, modified_at = $2, modified_by = $3 WHERE org_id = $4 AND id = $5")
            .bind(name)
            .bind(audit.at)
            .bind(&audit.admin)
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await;
        match updated {
            Ok(r) if r.rows_affected() == 0 => {
                return tx.refuse(Refusal::NotFound("The token")).await;
            }
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return tx.refuse(duplicate(name)).await,
            Err(e) => return Err(e),
        }
        if let Some(policy) = policy {
            sqlx::query("UPDATE sandbox_tokens SET expires_at = $1, ip_allowlist = $2, daily_cap = $3 WHERE org_id = $4 AND id = $5")
                .bind(policy.expires_at)
                .bind(&policy.ip_allowlist)
                .bind(policy.daily_cap)
                .bind(org_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Replaces a token's secret under the rules (active subscription, no
    /// token disabled); its restrictions stay. The old digest is gone when this commits, so the old
    /// string stops matching at once.
    pub async fn replace_sandbox_secret(
        &self,
        org_id: i64,
        id: i64,
        secret: SealedSecret<'_>,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = changeable(&mut tx, org_id, audit.at).await? {
            return tx.refuse(r).await;
        }
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
            return tx.refuse(Refusal::NotFound("The token")).await;
        }
        forget_use(&mut tx, org_id, Credential::SandboxToken(id)).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Deletes a token under the rules (active subscription, no token disabled).
    pub async fn delete_sandbox_token(
        &self,
        org_id: i64,
        id: i64,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = changeable(&mut tx, org_id, audit.at).await? {
            return tx.refuse(r).await;
        }
        let deleted = sqlx::query("DELETE FROM sandbox_tokens WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return tx.refuse(Refusal::NotFound("The token")).await;
        }
        forget_use(&mut tx, org_id, Credential::SandboxToken(id)).await?;
        tx.commit().await?;
        Ok(Ok(()))
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
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        let changed = sqlx::query("UPDATE sandbox_tokens SET disabled_reason = $1 WHERE org_id = $2 AND (CAST($3 AS BIGINT) IS NULL OR id = $3)")
            .bind(reason.map(DisableReason::as_str))
            .bind(org_id)
            .bind(token)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(changed)
    }
}
