//! The consumer API's sessions: opened and closed by the sign-in path, and
//! each call made with one validated with one read and counted with one
//! statement ([`Store::api_call`]); on SQLite the two go to the writer in
//! one round trip ([`CHECK_AND_COUNT`]).

use super::orgs::effective;
use super::rate::{self, RateLimit};
use super::usage::{Credential, Generation};
use super::{Backend, OrgRow, Store};
use crate::model::{KeyKind, Role, Subscription};
use crate::server::credential_policy::{self, Denied};
use sqlx::Row;
use std::sync::LazyLock;

/// What a session check reads: the organisation, the session, its admin's
/// membership, the key and the API subscription.
const SESSION_COLUMNS: &str =
    "o.id, o.short_name, o.name, o.sandbox_token_limit, o.sandbox_daily_allowance,
       o.super_admins_manage_connector_key AS connector_self_manage,
       s.kind, s.admin_id, m.role, m.api_access, k.expires_at, k.ip_allowlist, k.key_sealed,
       sub.status AS subscription_status, sub.expires_at AS subscription_expires_at";

/// Where a session check reads from: the session `$digest` in the
/// organisation `$org` (short name), used since `$idle` and opened since
/// `$age` (the parameters' numbers in the statement it is part of).
fn session_source(digest: u8, org: u8, idle: u8, age: u8) -> String {
    format!(
        "FROM organisations o
         JOIN api_sessions s ON s.org_id = o.id AND s.id_digest = ${digest}
         JOIN memberships m ON m.admin_id = s.admin_id AND m.org_id = s.org_id
         JOIN api_keys k ON k.org_id = s.org_id AND k.kind = s.kind
         LEFT JOIN subscriptions sub ON sub.org_id = o.id AND sub.kind = 'api'
         WHERE o.short_name = ${org} AND s.last_seen_at > ${idle} AND s.created_at > ${age}"
    )
}

/// The session check on its own (a reader's statement).
static FIND: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {SESSION_COLUMNS} {}", session_source(1, 2, 3, 4)));

/// SQLite: the session check, then the call counted ([`rate::count_from`],
/// `$2`–`$8`) only if that session is one [`Store::api_call`] accepts
/// without a closer look: of the key kind `$12`, its admin's role holding
/// API access, and its key unexpired at `$13` with no allowlist (an
/// allowlist needs the client's address matched, which is done in Rust,
/// and then the call is counted on its own). Two statements, one round trip
/// to the writer, in which nothing else of this process runs between them.
/// The count reads the session again: if it changed between the two, a call
/// can at worst be counted and then refused, never served uncounted.
static CHECK_AND_COUNT: LazyLock<String> = LazyLock::new(|| {
    let source = session_source(1, 9, 10, 11);
    let granted_roles = Role::ALL
        .iter()
        .filter(|role| role.has_api_access(true))
        .map(|role| format!("'{}'", role.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    // `has_api_access(false)` is false for every role: the grant is needed.
    let accepted = format!(
        "s.kind = $12 AND m.api_access <> 0 AND m.role IN ({granted_roles})
         AND k.ip_allowlist = '' AND (k.expires_at IS NULL OR k.expires_at > $13)"
    );
    let count = rate::count_from(&format!(
        "SELECT o.id, $2, $3, $7, $4, $7, $7 {source} AND {accepted}"
    ));
    format!("SELECT {SESSION_COLUMNS} {source};\n{count}")
});

impl Store {
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
    /// and counted with one statement: the session alive within its idle
    /// and absolute limits, its admin still a member who holds API access
    /// (the grant, and a role that may hold it, `Role::has_api_access`),
    /// the key's restrictions, and the API subscription read with it. Only
    /// a call that passes is counted against the organisation's rate limit
    /// ([`RateLimit`]): on SQLite by the statement after the read, in the
    /// same round trip to the writer ([`CHECK_AND_COUNT`]), unless the key
    /// has an allowlist; otherwise, and on PostgreSQL (the read on a reader
    /// connection), on its own once checked. The session's idle time and
    /// the key's use are noted in memory (`usage.rs`). Calls without a live
    /// session cost the organisation nothing.
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
        let (found, counted) = match self.backend {
            Backend::Sqlite if call.limit.per_second > 0 && call.limit.per_hour > 0 => {
                self.check_and_count(call).await?
            }
            _ => (self.find_api_session(call).await?, false),
        };
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
        if !counted {
            let counted = self.count_shared(org_id, call.now, call.limit).await?;
            if let Some(wait) = self.rate_outcome(call.org, call.now, call.limit, counted) {
                return Ok(ApiCall::RateLimited(wait));
            }
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

    /// The session of `call` with its organisation, membership, key and API
    /// subscription: one indexed read on a reader connection.
    async fn find_api_session(
        &self,
        call: &ApiCallRequest<'_>,
    ) -> Result<Option<SessionCheck>, sqlx::Error> {
        // Concurrent calls with the same session share one read that began
        // after each of them arrived (`flight.rs`).
        let key = (call.id_digest.to_vec(), call.org.to_owned());
        let (found, _) = self
            .flights
            .sessions
            .run(key, |_| async {
                sqlx::query_as(FIND.as_str())
                    .bind(call.id_digest)
                    .bind(call.org)
                    .bind(call.now - call.idle_ms)
                    .bind(call.now - call.max_age_ms)
                    .fetch_optional(&self.read)
                    .await
            })
            .await?;
        Ok(found)
    }

    /// SQLite: [`CHECK_AND_COUNT`] for this call and the others with the same
    /// session and class waiting for it (`flight.rs`), on the writer. The
    /// session as read, and whether this call was counted: when it was not
    /// (the session is not one the statement accepts, or a window is full),
    /// [`Store::api_call`] looks closer and counts it on its own.
    async fn check_and_count(
        &self,
        call: &ApiCallRequest<'_>,
    ) -> Result<(Option<SessionCheck>, bool), sqlx::Error> {
        let key = (
            call.id_digest.to_vec(),
            call.org.to_owned(),
            call.limit.class,
        );
        let ((found, granted), place) = self
            .flights
            .session_counts
            .run(key, |n| {
                let store = self.clone();
                let limit = *call.limit;
                let (digest, org) = (call.id_digest.to_vec(), call.org.to_owned());
                let (now, kind) = (call.now, call.kind.as_str());
                let (idle, age) = (call.now - call.idle_ms, call.now - call.max_age_ms);
                let n = n as i64;
                // Its own task, as `Store::count_shared`'s: a client that hangs
                // up must not leave the writer's statement half way.
                let work = tokio::spawn(async move {
                    let (second, hour) = rate::windows(now);
                    let fresh = n.min(limit.per_second).min(limit.per_hour);
                    let mut conn = store.writer().await?;
                    let rows = sqlx::query(CHECK_AND_COUNT.as_str())
                        .bind(digest)
                        .bind(limit.class)
                        .bind(second)
                        .bind(hour)
                        .bind(limit.per_second)
                        .bind(limit.per_hour)
                        .bind(fresh)
                        .bind(n)
                        .bind(org)
                        .bind(idle)
                        .bind(age)
                        .bind(kind)
                        .bind(now)
                        .fetch_all(&mut *conn)
                        .await?;
                    let (mut found, mut granted) = (None, 0);
                    for row in &rows {
                        if row.try_column("last_grant").is_ok() {
                            granted = row.try_get("last_grant")?;
                        } else {
                            found = Some(sqlx::FromRow::from_row(row)?);
                        }
                    }
                    Ok::<_, sqlx::Error>((found, granted))
                });
                async move {
                    work.await
                        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
                }
            })
            .await?;
        Ok((found, (place as i64) < granted))
    }
}

/// What [`Store::api_call`] reads: the organisation, the session, its
/// admin's membership, the key and the API subscription, in one row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(super) struct SessionCheck {
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
