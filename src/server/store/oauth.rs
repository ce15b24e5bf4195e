//! OAuth 2.0 authorization servers. The two limits (two servers, one
//! enabled) are checked and written under one write lock.

use super::Flag;
use super::rate::RateLimit;
use super::{AuditRecord, Lock, Refusal, Ruled, Store, SubscriptionKind};
use crate::model::{OAUTH_MAX_SERVERS, OAuthServerForm};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OAuthRow {
    pub id: i64,
    pub name: String,
    #[sqlx(try_from = "i64")]
    pub enabled: Flag,
    pub description: String,
    pub jwks_url: String,
    #[sqlx(try_from = "i64")]
    pub validate_cert: Flag,
    pub audience: String,
    pub issuer: String,
    pub client_id: String,
    pub jwks_keys: String,
    pub last_fetch_at: Option<i64>,
    pub modified_at: i64,
    pub modified_by: String,
}

/// What the limits refuse with (docs/STATES.md).
pub const OAUTH_LIMIT_MESSAGE: &str = "An organisation can have at most 2 authorization servers.";
pub const OAUTH_ONE_ENABLED_MESSAGE: &str =
    "Only one authorization server can be enabled at a time. Disable the other one first.";

impl Store {
    pub async fn oauth_servers(&self, org_id: i64) -> Result<Vec<OAuthRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, name, enabled, description, jwks_url, validate_cert, audience, issuer, client_id, jwks_keys, last_fetch_at, modified_at, modified_by
             FROM oauth_servers WHERE org_id = $1 ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await
    }

    /// The organisation's enabled server (at most one: `save_oauth_server`
    /// keeps it so), read on every bearer-token call and never cached, so
    /// that disabling or deleting it stops its tokens on the next request.
    pub async fn enabled_oauth_server(&self, org_id: i64) -> Result<Option<OAuthRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, name, enabled, description, jwks_url, validate_cert, audience, issuer, client_id, jwks_keys, last_fetch_at, modified_at, modified_by
             FROM oauth_servers WHERE org_id = $1 AND enabled <> 0 ORDER BY id LIMIT 1",
        )
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await
    }

    /// One consumer-API call made with a verified bearer token: the server
    /// that verified it must still be enabled and unchanged (an edit,
    /// disable or delete committed since it was read refuses the call),
    /// then the call is counted against the organisation's rate limit,
    /// exactly as a call with a session ([`Store::api_call`]).
    pub async fn bearer_call(
        &self,
        call: &BearerCallRequest<'_>,
    ) -> Result<BearerCall, sqlx::Error> {
        let unchanged: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM oauth_servers WHERE id = $1 AND org_id = $2 AND enabled <> 0 AND modified_at = $3",
        )
        .bind(call.server_id)
        .bind(call.org_id)
        .bind(call.server_modified_at)
        .fetch_optional(&self.read)
        .await?;
        if unchanged.is_none() {
            return Ok(BearerCall::ServerChanged);
        }
        if let Some(wait) = self.rate_refused(call.org, call.now, call.limit) {
            return Ok(BearerCall::RateLimited(wait));
        }
        let counted = self.count_shared(call.org_id, call.now, call.limit).await?;
        Ok(
            match self.rate_outcome(call.org, call.now, call.limit, counted) {
                Some(wait) => BearerCall::RateLimited(wait),
                None => BearerCall::Served,
            },
        )
    }

    /// Adds (`id = None`) or replaces a server, with the JWKS just fetched.
    pub async fn save_oauth_server(
        &self,
        org_id: i64,
        id: Option<i64>,
        form: &OAuthServerForm,
        jwks_keys: &str,
        audit: &AuditRecord,
    ) -> Result<Ruled<i64>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = tx.gate(org_id, SubscriptionKind::Api, audit.at).await? {
            return tx.refuse(r).await;
        }
        let (count, enabled_others): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN enabled <> 0 AND id IS DISTINCT FROM $1 THEN 1 ELSE 0 END), 0) AS BIGINT) FROM oauth_servers WHERE org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_one(&mut *tx)
        .await?;
        if id.is_none() && count >= OAUTH_MAX_SERVERS {
            return tx
                .refuse(Refusal::Conflict(OAUTH_LIMIT_MESSAGE.into()))
                .await;
        }
        if form.enabled && enabled_others > 0 {
            return tx
                .refuse(Refusal::Conflict(OAUTH_ONE_ENABLED_MESSAGE.into()))
                .await;
        }
        let saved = match id {
            None => insert_server(&mut tx, org_id, form, jwks_keys, audit).await,
            Some(id) => update_server(&mut tx, org_id, id, form, jwks_keys, audit).await,
        };
        let id = match saved {
            Ok(Some(id)) => id,
            Ok(None) => {
                return tx
                    .refuse(Refusal::NotFound("The authorization server"))
                    .await;
            }
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                let taken = Refusal::Invalid {
                    field: "name",
                    message: "Another authorization server has this name.".into(),
                    hint: "Another authorization server has this name.".into(),
                };
                return tx.refuse(taken).await;
            }
            Err(e) => return Err(e),
        };
        tx.commit().await?;
        Ok(Ok(id))
    }

    pub async fn delete_oauth_server(
        &self,
        org_id: i64,
        id: i64,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        if let Err(r) = tx.gate(org_id, SubscriptionKind::Api, audit.at).await? {
            return tx.refuse(r).await;
        }
        let deleted = sqlx::query("DELETE FROM oauth_servers WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return tx
                .refuse(Refusal::NotFound("The authorization server"))
                .await;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }
}

/// One bearer-token call as [`Store::bearer_call`] checks it.
#[derive(Debug)]
pub struct BearerCallRequest<'a> {
    pub org_id: i64,
    /// Its short name: rate-limit refusals are remembered under it.
    pub org: &'a str,
    /// The server whose key, issuer, audience and client id the token
    /// matched, and its `modified_at` when it was read.
    pub server_id: i64,
    pub server_modified_at: i64,
    pub now: i64,
    /// The organisation's windows, the same as for session calls.
    pub limit: &'a RateLimit,
}

/// What [`Store::bearer_call`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum BearerCall {
    Served,
    RateLimited(u64),
    /// Disabled, edited or deleted after the token was checked against it.
    ServerChanged,
}

type IdQuery<'q> = sqlx::query::QueryAs<'q, sqlx::Any, (i64,), sqlx::any::AnyArguments<'q>>;

/// Binds the form's columns as `$1`–`$9`: name, enabled, description,
/// jwks_url, validate_cert, audience, issuer, client_id, jwks_keys.
fn bind_form<'q>(query: IdQuery<'q>, form: &'q OAuthServerForm, jwks_keys: &'q str) -> IdQuery<'q> {
    query
        .bind(form.name.trim())
        .bind(i64::from(form.enabled))
        .bind(&form.description)
        .bind(form.jwks_url.trim())
        .bind(i64::from(form.validate_cert))
        .bind(&form.audience)
        .bind(&form.issuer)
        .bind(&form.client_id)
        .bind(jwks_keys)
}

/// Adds a server; its id.
async fn insert_server(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    form: &OAuthServerForm,
    jwks_keys: &str,
    audit: &AuditRecord,
) -> Result<Option<i64>, sqlx::Error> {
    let query = sqlx::query_as(
        "INSERT INTO oauth_servers (name, enabled, description, jwks_url, validate_cert, audience, issuer, client_id, jwks_keys, org_id, last_fetch_at, created_at, modified_at, modified_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
    );
    let row = bind_form(query, form, jwks_keys)
        .bind(org_id)
        .bind(audit.at)
        .bind(audit.at)
        .bind(audit.at)
        .bind(&audit.admin)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|(id,)| id))
}

/// Replaces server `id` of the organisation; its id, `None` if there is none.
async fn update_server(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    id: i64,
    form: &OAuthServerForm,
    jwks_keys: &str,
    audit: &AuditRecord,
) -> Result<Option<i64>, sqlx::Error> {
    let query = sqlx::query_as(
        "UPDATE oauth_servers SET name = $1, enabled = $2, description = $3, jwks_url = $4, validate_cert = $5, audience = $6, issuer = $7, client_id = $8,
         jwks_keys = $9, last_fetch_at = $10, modified_at = $11, modified_by = $12 WHERE org_id = $13 AND id = $14 RETURNING id",
    );
    let row = bind_form(query, form, jwks_keys)
        .bind(audit.at)
        .bind(audit.at)
        .bind(&audit.admin)
        .bind(org_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|(id,)| id))
}
