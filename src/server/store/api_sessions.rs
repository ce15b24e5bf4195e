//! The consumer API's sessions: opened and closed by the sign-in path, and
//! each call made with one validated with one read and counted with one
//! statement ([`Store::api_call`]).

use super::orgs::effective;
use super::rate::{RateLimit, Shared};
use super::usage::{Credential, Generation};
use super::{OrgRow, Store};
use crate::model::{KeyKind, Role, Subscription};
use crate::server::credential_policy::{self, Denied};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
    /// (on a reader connection) and counted with one statement: the session
    /// alive within its idle and absolute limits, its admin still a member
    /// who holds API access (the grant, and a role that may hold it,
    /// `Role::has_api_access`), the key's restrictions, and the API
    /// subscription read with it. Only then is the call counted against the
    /// organisation's rate limit ([`RateLimit`]); the session's idle time
    /// and the key's use are noted in memory (`usage.rs`). Calls without a
    /// live session cost the organisation nothing.
    ///
    /// A session this process read before is checked from memory
    /// ([`SessionCache`]) and its count asks for the organisation's version
    /// it was read at: every change to what the read joins bumps that
    /// version (triggers, `*_org_versions.sql`, `*_api_session_versions.sql`),
    /// so a change committed on any instance before the call arrived makes
    /// the count count nothing, and the session is read again.
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
        let mut kept = self.api_session_cache.get(call);
        loop {
            let (row, version) = match kept.take() {
                Some(kept) => (kept.check, Some(kept.version)),
                None => match self.find_api_session(call).await? {
                    Some(row) => {
                        let row = Arc::new(row);
                        self.api_session_cache.keep(call, &row);
                        // Read after the call arrived: counted as it is.
                        (row, None)
                    }
                    None => return Ok(ApiCall::NoSession),
                },
            };
            let usable = row.kind == call.kind.as_str()
                && row
                    .role
                    .parse::<Role>()
                    .is_ok_and(|r| r.has_api_access(row.api_access != 0));
            // The key's own restrictions: a key that has expired, or a client
            // its allowlist does not name, is refused before anything is counted.
            let allowed = credential_policy::check(
                row.expires_at,
                &row.ip_allowlist,
                call.client_ip,
                call.now,
            );
            // A refusal is told only from a read: what is kept may be older
            // than a change that lets the call in.
            if (!usable || allowed.is_err()) && version.is_some() {
                self.api_session_cache.forget(call.id_digest);
                continue;
            }
            if !usable {
                return Ok(ApiCall::NoSession);
            }
            if let Err(denied) = allowed {
                return Ok(ApiCall::Denied(denied));
            }
            let org_id = row.org.id;
            let counted = match self
                .count_shared_at(org_id, call.now, call.limit, version)
                .await?
            {
                Shared::Counted => Ok(()),
                Shared::Full(until) => Err(until),
                Shared::Stale => {
                    self.api_session_cache.forget(call.id_digest);
                    continue;
                }
            };
            if let Some(wait) = self.rate_outcome(call.org, call.now, call.limit, counted) {
                return Ok(ApiCall::RateLimited(wait));
            }
            self.note_session_use(call.id_digest, call.now);
            self.api_session_cache.seen(call.id_digest, call.now);
            self.note_use(
                org_id,
                Credential::ApiKey(call.kind),
                Generation(row.key_sealed.clone()),
                call.now,
                call.client_ip,
            );
            let subscription = match &row.subscription_status {
                None => Subscription::None,
                Some(status) => effective(status, row.subscription_expires_at, call.now),
            };
            return Ok(ApiCall::Live(LiveApiSession {
                org: row.org.clone(),
                admin_id: row.admin_id,
                subscription,
            }));
        }
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
                sqlx::query_as(
                    "SELECT o.id, o.short_name, o.name, o.sandbox_token_limit, o.sandbox_daily_allowance,
                            o.super_admins_manage_connector_key AS connector_self_manage,
                            s.kind, s.admin_id, s.created_at, s.last_seen_at,
                            m.role, m.api_access, k.expires_at, k.ip_allowlist, k.key_sealed,
                            sub.status AS subscription_status, sub.expires_at AS subscription_expires_at,
                            v.version
                     FROM organisations o
                     JOIN org_versions v ON v.org_id = o.id
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
                .await
            })
            .await?;
        Ok(found)
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
    created_at: i64,
    last_seen_at: i64,
    role: String,
    api_access: i64,
    expires_at: Option<i64>,
    ip_allowlist: String,
    key_sealed: Vec<u8>,
    subscription_status: Option<String>,
    subscription_expires_at: Option<i64>,
    /// The organisation's version (`org_versions`), read in the same
    /// statement.
    version: i64,
}

/// Sessions this process validated, by digest: what the read found, and
/// when the session was last used as far as this process knows. A kept
/// session is used only within its idle and absolute limits by that
/// knowledge (past them it is read again: another instance may have used
/// it since), only while it is busy ([`BUSY_MS`]), and only by a count
/// that finds its version current.
#[derive(Debug, Default)]
pub(super) struct SessionCache(Mutex<HashMap<Vec<u8>, Kept>>);

#[derive(Debug)]
struct Kept {
    check: Arc<SessionCheck>,
    last_seen_at: i64,
    /// When this process last read or counted a call with it.
    used_at: i64,
}

/// A kept session is used only while it is busy: within this long of its
/// last call here. The organisation's version moves on at least every
/// usage flush (`usage::FLUSH_EVERY`) while it is called, so a session
/// called more rarely would mostly find it moved on and pay for a count
/// that counts nothing before its read; it is read straight away instead.
const BUSY_MS: i64 = 100;

/// A kept session, for one call.
pub(super) struct KeptCheck {
    check: Arc<SessionCheck>,
    version: i64,
}

/// Sessions kept before the lapsed ones are swept out (and, if all are
/// alive, all dropped: they are read again).
const KEEP_AT_MOST: usize = 4_096;

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Kept>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept session of `call`, if it is of the call's organisation and
    /// within its limits at the call's time.
    fn get(&self, call: &ApiCallRequest<'_>) -> Option<KeptCheck> {
        let kept = self.lock();
        let hit = kept.get(call.id_digest)?;
        let alive = hit.last_seen_at > call.now - call.idle_ms
            && hit.check.created_at > call.now - call.max_age_ms;
        let busy = hit.used_at > call.now - BUSY_MS;
        (alive && busy && hit.check.org.short_name == call.org).then(|| KeptCheck {
            check: hit.check.clone(),
            version: hit.check.version,
        })
    }

    fn keep(&self, call: &ApiCallRequest<'_>, check: &Arc<SessionCheck>) {
        let mut kept = self.lock();
        if kept.len() >= KEEP_AT_MOST {
            let (idle, max_age, now) = (call.idle_ms, call.max_age_ms, call.now);
            kept.retain(|_, k| k.last_seen_at > now - idle && k.check.created_at > now - max_age);
            if kept.len() >= KEEP_AT_MOST {
                kept.clear();
            }
        }
        kept.insert(
            call.id_digest.to_vec(),
            Kept {
                check: check.clone(),
                last_seen_at: check.last_seen_at,
                used_at: call.now,
            },
        );
    }

    /// A counted call of the session at `at`: its idle time starts again.
    fn seen(&self, digest: &[u8], at: i64) {
        if let Some(k) = self.lock().get_mut(digest) {
            k.last_seen_at = k.last_seen_at.max(at);
            k.used_at = k.used_at.max(at);
        }
    }

    fn forget(&self, digest: &[u8]) {
        self.lock().remove(digest);
    }
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
