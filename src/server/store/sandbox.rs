//! Sandbox API tokens and the submissions made with them.

use super::orgs::effective;
use super::usage::{Credential, forget_use};
use super::{AuditRecord, AuditedTx, Lock, OrgRow, Refusal, Ruled, Store, SubscriptionKind};
use crate::model::{DisableReason, Subscription};
use crate::server::credential_policy::StoredPolicy;

mod submissions;

pub use submissions::{NewSubmission, SubmitOutcome};

pub(super) use submissions::{Queued, forget_token_days};

/// A token as a consumer-API call checks it ([`Store::sandbox_call`]).
#[derive(Debug)]
pub struct TokenCheck {
    pub org: OrgRow,
    pub token_id: i64,
    /// Also the token's usage [`super::Generation`].
    pub secret_digest: Vec<u8>,
    pub disabled: bool,
    pub expires_at: Option<i64>,
    pub ip_allowlist: String,
    /// The Sandbox subscription at the time of the call.
    pub subscription: Subscription,
    /// The start of the call's UTC day, and the organisation's submissions
    /// counted in it, read with the token (the quota call's answer).
    pub today: (i64, i64),
}

/// What [`Store::sandbox_call`] reads, in one row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct TokenCheckRow {
    #[sqlx(flatten)]
    org: OrgRow,
    token_id: i64,
    secret_digest: Vec<u8>,
    disabled_reason: Option<String>,
    expires_at: Option<i64>,
    ip_allowlist: String,
    subscription_status: Option<String>,
    subscription_expires_at: Option<i64>,
    used_today: i64,
}

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
        self.flush_usage().await?;
        sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM sandbox_tokens t WHERE t.org_id = $3 ORDER BY t.id"
        ))
        .bind(now - HOUR_MS)
        .bind(now - DAY_MS)
        .bind(org_id)
        .fetch_all(&self.read)
        .await
    }

    /// One token, only if it belongs to `org_id`.
    pub async fn sandbox_token(
        &self,
        org_id: i64,
        id: i64,
        now: i64,
    ) -> Result<Option<SandboxTokenRow>, sqlx::Error> {
        self.flush_usage().await?;
        sqlx::query_as(&format!(
            "SELECT {TOKEN_COLUMNS} FROM sandbox_tokens t WHERE t.org_id = $3 AND t.id = $4"
        ))
        .bind(now - HOUR_MS)
        .bind(now - DAY_MS)
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.read)
        .await
    }

    /// The organisation named `org` (short name, from the request path)
    /// and its token whose digest is `digest`, with what a consumer-API
    /// call checks (restrictions, disable, the Sandbox subscription): one
    /// read, on a reader connection.
    pub async fn sandbox_call(
        &self,
        org: &str,
        digest: &[u8],
        now: i64,
    ) -> Result<Option<TokenCheck>, sqlx::Error> {
        if crate::model::validate_short_name(org).is_err() {
            return Ok(None);
        }
        // Concurrent checks of the same token share one read that began
        // after each of them arrived (`flight.rs`), on the same UTC day.
        let today = crate::server::day_start(now);
        let key = (digest.to_vec(), org.to_owned(), today);
        let (row, _) = self
            .flights
            .tokens
            .run(key, |_| async {
                sqlx::query_as::<_, TokenCheckRow>(
                    "SELECT o.id, o.short_name, o.name, o.sandbox_token_limit, o.sandbox_daily_allowance,
                            o.super_admins_manage_connector_key AS connector_self_manage,
                            t.id AS token_id, t.secret_digest, t.disabled_reason, t.expires_at, t.ip_allowlist,
                            sub.status AS subscription_status, sub.expires_at AS subscription_expires_at,
                            COALESCE(d.used, 0) AS used_today
                     FROM organisations o
                     JOIN sandbox_tokens t ON t.org_id = o.id AND t.secret_digest = $1
                     LEFT JOIN subscriptions sub ON sub.org_id = o.id AND sub.kind = 'sandbox'
                     LEFT JOIN submission_days d ON d.org_id = o.id AND d.token_id = $3 AND d.day_start = $4
                     WHERE o.short_name = $2",
                )
                .bind(digest)
                .bind(org)
                .bind(submissions::ORG_ROW)
                .bind(today)
                .fetch_optional(&self.read)
                .await
            })
            .await?;
        Ok(row.map(|row| TokenCheck {
            subscription: match row.subscription_status {
                None => Subscription::None,
                Some(status) => effective(&status, row.subscription_expires_at, now),
            },
            org: row.org,
            token_id: row.token_id,
            secret_digest: row.secret_digest,
            disabled: row.disabled_reason.is_some(),
            expires_at: row.expires_at,
            ip_allowlist: row.ip_allowlist,
            today: (today, row.used_today),
        }))
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
        let inserted = insert_token_row(&mut tx, org_id, name, &secret, policy, audit).await;
        let id = match inserted {
            Ok(id) => id,
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
        // A later token may get the same id: it starts its cap afresh.
        forget_token_days(&mut tx, org_id, id).await?;
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

/// Inserts a token named `name`, made by `audit.admin` at `audit.at`: its
/// id. The one INSERT of a token, for Add and for a subscription's
/// provisioning (a duplicate name is the caller's unique violation).
pub(super) async fn insert_token_row(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    name: &str,
    secret: &SealedSecret<'_>,
    policy: &StoredPolicy,
    audit: &AuditRecord,
) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) = sqlx::query_as(
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
    .fetch_one(conn)
    .await?;
    Ok(id)
}
