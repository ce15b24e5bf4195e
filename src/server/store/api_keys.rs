//! The Cloud Service and Connector API keys, the consumer API's sessions and
//! its rate counters.

use super::orgs::effective;
use super::rate::{self, RateLimit};
use super::usage::{Credential, Generation, forget_use};
use super::{AuditRecord, AuditedTx, Lock, OrgRow, Refusal, Ruled, Store, SubscriptionKind};
use crate::model::{DisableReason, KeyKind, Role, Subscription};
use crate::server::credential_policy::{self, Denied, StoredPolicy};

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
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
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

    pub async fn create_api_session(
        &self,
        id_digest: &[u8],
        org_id: i64,
        kind: KeyKind,
        admin_id: i64,
        now: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO api_sessions (id_digest, org_id, kind, admin_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id_digest)
            .bind(org_id)
            .bind(kind.as_str())
            .bind(admin_id)
            .bind(now)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_api_session(
        &self,
        id_digest: &[u8],
        org_id: i64,
    ) -> Result<bool, sqlx::Error> {
        let deleted = sqlx::query("DELETE FROM api_sessions WHERE id_digest = $1 AND org_id = $2")
            .bind(id_digest)
            .bind(org_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// One consumer-API call made with a session, validated with one read
    /// (on a reader connection) and counted with one statement: the session
    /// alive within its idle and absolute limits, its admin still a member
    /// who holds API access (the grant, and a role that may hold it,
    /// `Role::has_api_access`), the key's restrictions, and the API
    /// subscription read with it. Only then is the call counted against the
    /// organisation's rate limit ([`RateLimit`]); the session's idle time
    /// and the key's use are noted in memory (`usage.rs`). Calls without a
    /// live session cost the organisation nothing.
    pub async fn api_call(&self, call: &ApiCallRequest<'_>) -> Result<ApiCall, sqlx::Error> {
        // Straight from the request's path: a name no organisation can
        // have is not looked up (PostgreSQL refuses some bytes outright).
        if crate::model::validate_short_name(call.org).is_err() {
            return Ok(ApiCall::NoSession);
        }
        // A known refusal first: a 429 costs no database work.
        if let Some(wait) = self.rate_refused(call.org, call.now, call.limit) {
            return Ok(ApiCall::RateLimited(wait));
        }
        let found: Option<SessionCheck> = sqlx::query_as(
            "SELECT o.id, o.short_name, o.name, o.sandbox_token_limit, o.sandbox_daily_allowance,
                    o.super_admins_manage_connector_key AS connector_self_manage,
                    s.kind, s.admin_id, m.role, m.api_access, k.expires_at, k.ip_allowlist, k.key_sealed,
                    sub.status AS subscription_status, sub.expires_at AS subscription_expires_at
             FROM organisations o
             JOIN api_sessions s ON s.org_id = o.id AND s.id_digest = $1
             JOIN memberships m ON m.admin_id = s.admin_id AND m.org_id = s.org_id
             JOIN api_keys k ON k.org_id = s.org_id AND k.kind = s.kind
             LEFT JOIN subscriptions sub ON sub.org_id = o.id AND sub.kind = 'api'
             WHERE o.short_name = $2 AND s.last_seen_at > $3 AND s.created_at > $4",
        )
        .bind(call.id_digest)
        .bind(call.org)
        .bind(call.now - call.idle_ms)
        .bind(call.now - call.max_age_ms)
        .fetch_optional(&self.read)
        .await?;
        let usable = found.filter(|row| {
            row.kind == call.kind.as_str()
                && row
                    .role
                    .parse::<Role>()
                    .is_ok_and(|r| r.has_api_access(row.api_access != 0))
        });
        let Some(row) = usable else {
            return Ok(ApiCall::NoSession);
        };
        // The key's own restrictions: a key that has expired, or a client
        // its allowlist does not name, is refused before anything is counted.
        if let Err(denied) =
            credential_policy::check(row.expires_at, &row.ip_allowlist, call.client_ip, call.now)
        {
            return Ok(ApiCall::Denied(denied));
        }
        let org_id = row.org.id;
        let counted = rate::count(&mut *self.writer().await?, org_id, call.now, call.limit).await?;
        if let Some(wait) = self.rate_outcome(call.org, call.now, call.limit, counted) {
            return Ok(ApiCall::RateLimited(wait));
        }
        self.note_session_use(call.id_digest, call.now);
        self.note_use(
            org_id,
            Credential::ApiKey(call.kind),
            Generation(row.key_sealed),
            call.now,
            call.client_ip,
        );
        let subscription = match row.subscription_status {
            None => Subscription::None,
            Some(status) => effective(&status, row.subscription_expires_at, call.now),
        };
        Ok(ApiCall::Live(LiveApiSession {
            org: row.org,
            admin_id: row.admin_id,
            subscription,
        }))
    }
}

/// What [`Store::api_call`] reads: the organisation, the session, its
/// admin's membership, the key and the API subscription, in one row.
#[derive(sqlx::FromRow)]
struct SessionCheck {
    #[sqlx(flatten)]
    org: OrgRow,
    kind: String,
    admin_id: i64,
    role: String,
    api_access: i64,
    expires_at: Option<i64>,
    ip_allowlist: String,
    key_sealed: Vec<u8>,
    subscription_status: Option<String>,
    subscription_expires_at: Option<i64>,
}

/// One consumer-API call as [`Store::api_call`] checks it.
#[derive(Debug)]
pub struct ApiCallRequest<'a> {
    /// The organisation's short name, from the request's path.
    pub org: &'a str,
    pub kind: KeyKind,
    pub id_digest: &'a [u8],
    pub now: i64,
    /// A session ends this long after its last call…
    pub idle_ms: i64,
    /// …and this long after it was opened, whatever happens.
    pub max_age_ms: i64,
    pub limit: &'a RateLimit,
    pub client_ip: &'a str,
}

/// A live session's call, counted.
#[derive(Debug)]
pub struct LiveApiSession {
    pub org: OrgRow,
    pub admin_id: i64,
    /// The API subscription at the time of the call (its rule is the caller's).
    pub subscription: Subscription,
}

/// What [`Store::api_call`] found.
#[derive(Debug)]
pub enum ApiCall {
    RateLimited(u64),
    NoSession,
    /// A live session whose key's restrictions refuse this call.
    Denied(Denied),
    Live(LiveApiSession),
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
