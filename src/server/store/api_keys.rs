//! The Cloud Service and Connector API keys (their sessions: `api_sessions.rs`).

use super::usage::{Credential, forget_use};
use super::{AuditRecord, AuditedTx, Lock, Refusal, Ruled, Store, SubscriptionKind};
use crate::model::{DisableReason, KeyKind};
use crate::server::credential_policy::StoredPolicy;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub key_sealed: Vec<u8>,
    pub last4: String,
    pub disabled_reason: Option<String>,
    pub modified_at: i64,
    pub modified_by: String,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub created_at: i64,
    /// The restrictions (`server::credential_policy`), checked at sign-in
    /// and on every call made with the key's sessions.
    pub expires_at: Option<i64>,
    pub ip_allowlist: String,
}

impl ApiKeyRow {
    pub fn disabled_reason(&self) -> Option<DisableReason> {
        self.disabled_reason
            .as_deref()
            .map(|r| r.parse().unwrap_or(DisableReason::Other))
    }
}

impl Store {
    pub async fn api_key(
        &self,
        org_id: i64,
        kind: KeyKind,
    ) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        // Last Used included.
        self.flush_usage().await?;
        sqlx::query_as(
            "SELECT key_sealed, last4, disabled_reason, modified_at, modified_by, last_used_at, last_used_ip, created_at, expires_at, ip_allowlist
             FROM api_keys WHERE org_id = $1 AND kind = $2",
        )
        .bind(org_id)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
    }

    /// Adds the key with its restrictions under the rules (docs/STATES.md:
    /// an active API subscription; refused with `EXISTS_MESSAGE` while
    /// there is a key).
    pub async fn insert_api_key(
        &self,
        org_id: i64,
        kind: KeyKind,
        sealed: &[u8],
        last4: &str,
        policy: &StoredPolicy,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = tx.gate(org_id, SubscriptionKind::Api, audit.at).await? {
            return tx.refuse(r).await;
        }
        if !insert_key_row(&mut tx, org_id, kind, sealed, last4, policy, audit).await? {
            return tx.refuse(Refusal::Conflict(EXISTS_MESSAGE.into())).await;
        }
        retire_key(&mut tx, org_id, kind).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Replaces the key under the rules (active subscription, key not
    /// disabled) and ends every API session made with the old one, in one
    /// transaction. With `policy` its restrictions are set too; without,
    /// they stay.
    pub async fn replace_api_key(
        &self,
        org_id: i64,
        kind: KeyKind,
        sealed: &[u8],
        last4: &str,
        policy: Option<&StoredPolicy>,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = changeable(&mut tx, org_id, kind, audit.at).await? {
            return tx.refuse(r).await;
        }
        let updated = sqlx::query(
            "UPDATE api_keys SET key_sealed = $1, last4 = $2, modified_at = $3, modified_by = $4, last_used_at = NULL, last_used_ip = NULL
             WHERE org_id = $5 AND kind = $6",
        )
        .bind(sealed)
        .bind(last4)
        .bind(audit.at)
        .bind(&audit.admin)
        .bind(org_id)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return tx.refuse(Refusal::NotFound("The key")).await;
        }
        if let Some(policy) = policy {
            set_key_restrictions(&mut tx, org_id, kind, policy).await?;
        }
        retire_key(&mut tx, org_id, kind).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Sets the key's restrictions, the key itself unchanged (an active
    /// subscription needed; a provider disable does not block it, as it
    /// does not block renaming a token). Its sessions stay: each of their
    /// calls is checked against the new restrictions.
    pub async fn set_api_key_policy(
        &self,
        org_id: i64,
        kind: KeyKind,
        policy: &StoredPolicy,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = tx.gate(org_id, SubscriptionKind::Api, audit.at).await? {
            return tx.refuse(r).await;
        }
        let updated = sqlx::query(
            "UPDATE api_keys SET modified_at = $1, modified_by = $2 WHERE org_id = $3 AND kind = $4",
        )
        .bind(audit.at)
        .bind(&audit.admin)
        .bind(org_id)
        .bind(kind.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return tx.refuse(Refusal::NotFound("The key")).await;
        }
        set_key_restrictions(&mut tx, org_id, kind, policy).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Deletes the key and its sessions under the rules.
    pub async fn delete_api_key(
        &self,
        org_id: i64,
        kind: KeyKind,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = changeable(&mut tx, org_id, kind, audit.at).await? {
            return tx.refuse(r).await;
        }
        let deleted = sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND kind = $2")
            .bind(org_id)
            .bind(kind.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return tx.refuse(Refusal::NotFound("The key")).await;
        }
        retire_key(&mut tx, org_id, kind).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub async fn set_api_key_disabled(
        &self,
        org_id: i64,
        kind: KeyKind,
        reason: Option<DisableReason>,
        audit: &AuditRecord,
    ) -> Result<u64, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        let changed =
            sqlx::query("UPDATE api_keys SET disabled_reason = $1 WHERE org_id = $2 AND kind = $3")
                .bind(reason.map(DisableReason::as_str))
                .bind(org_id)
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if reason.is_some() {
            end_sessions(&mut tx, org_id, kind).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    pub async fn connector_self_managed(&self, org_id: i64) -> Result<bool, sqlx::Error> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT super_admins_manage_connector_key FROM organisations WHERE id = $1",
        )
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some_and(|r| r.0 != 0))
    }
}

/// What Add answers while the organisation has a key.
pub const EXISTS_MESSAGE: &str = "You must delete the existing key before you can add a new one.";

/// docs/STATES.md for Edit, Regenerate and Delete: an active API subscription, and the
/// key not disabled by the provider.
async fn changeable(
    tx: &mut AuditedTx,
    org_id: i64,
    kind: KeyKind,
    now: i64,
) -> Result<Ruled<()>, sqlx::Error> {
    if let Err(r) = tx.gate(org_id, SubscriptionKind::Api, now).await? {
        return Ok(Err(r));
    }
    tx.gate_key_enabled(org_id, kind).await
}

async fn set_key_restrictions(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    kind: KeyKind,
    policy: &StoredPolicy,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET expires_at = $1, ip_allowlist = $2 WHERE org_id = $3 AND kind = $4",
    )
    .bind(policy.expires_at)
    .bind(&policy.ip_allowlist)
    .bind(org_id)
    .bind(kind.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the API sessions made with an organisation's key of `kind`.
async fn end_sessions(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    kind: KeyKind,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM api_sessions WHERE org_id = $1 AND kind = $2")
        .bind(org_id)
        .bind(kind.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// The old key is gone: its API sessions end and its usage is forgotten.
async fn retire_key(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    kind: KeyKind,
) -> Result<(), sqlx::Error> {
    end_sessions(&mut *conn, org_id, kind).await?;
    forget_use(conn, org_id, Credential::ApiKey(kind)).await
}

/// Inserts the organisation's key of `kind`, made by `audit.admin` at
/// `audit.at`, unless it has one: whether it was inserted. The one INSERT
/// of a key, for Add and for a subscription's provisioning.
pub(super) async fn insert_key_row(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    kind: KeyKind,
    sealed: &[u8],
    last4: &str,
    policy: &StoredPolicy,
    audit: &AuditRecord,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO api_keys (org_id, kind, key_sealed, last4, created_at, modified_at, modified_by, expires_at, ip_allowlist)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org_id, kind) DO NOTHING",
    )
    .bind(org_id)
    .bind(kind.as_str())
    .bind(sealed)
    .bind(last4)
    .bind(audit.at)
    .bind(audit.at)
    .bind(&audit.admin)
    .bind(policy.expires_at)
    .bind(&policy.ip_allowlist)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted > 0)
}
