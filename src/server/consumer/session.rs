//! Consumer-API sessions (`JSESSIONID`) of the Cloud Service API and the
//! Connector API: [`LiveSession`] is the extractor every call that needs a
//! session takes (one check: alive, not too old, its admin still a member
//! with API access; then counted against the organisation's rate limit),
//! and the `GET`/`DELETE` of the sign-in path. Signing in is `login.rs`.

use super::{ApiError, RateClass, limits, too_many_requests};
use crate::model::{AuditAction, KeyKind, Subscription, category};
use crate::server::http::RequestMeta;
use crate::server::state::AppState;
use crate::server::store::{ApiCall, ApiCallRequest, OrgRow, SubscriptionKind};
use crate::server::{auth, now_ms};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;
use sha2::{Digest, Sha256};

pub(super) const COOKIE: &str = "JSESSIONID";

/// A request's live consumer-API session, made with the organisation's key
/// of the router's kind (`Extension<KeyKind>`, Cloud Service by default).
pub struct LiveSession {
    pub org: OrgRow,
    pub admin_id: i64,
}

impl FromRequestParts<AppState> for LiveSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        LiveSession::extract(parts, state, RateClass::Session).await
    }
}

/// The live session of a liveness check (`GET` on the sign-in path),
/// counted in its own, looser windows ([`RateClass::SessionCheck`]): the
/// public Python SDK checks its session before every call, and those checks
/// must not use up the organisation's 2/s of real calls.
pub struct SessionCheck;

impl FromRequestParts<AppState> for SessionCheck {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        LiveSession::extract(parts, state, RateClass::SessionCheck)
            .await
            .map(|_| SessionCheck)
    }
}

impl LiveSession {
    async fn extract(
        parts: &mut Parts,
        state: &AppState,
        class: RateClass,
    ) -> Result<Self, ApiError> {
        let meta = parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .ok_or_else(|| {
                tracing::error!("RequestMeta missing: the request_meta layer is not installed");
                ApiError::internal()
            })?;
        let kind = parts
            .extensions
            .get::<KeyKind>()
            .copied()
            .unwrap_or(KeyKind::CloudService);
        let Path(org): Path<String> = Path::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        let access = Access::of(&parts.method);
        let (org, admin_id) =
            live_session(state, &org, &parts.headers, kind, access, class, &meta).await?;
        Ok(LiveSession { org, admin_id })
    }
}

/// `GET /api/v1/status`: needs a live Cloud Service API session or a
/// bearer token ([`super::ApiCaller`]).
pub async fn status(caller: super::ApiCaller) -> Response {
    Json(json!({ "status": "ACTIVE", "organisation": caller.org.short_name })).into_response()
}

/// `GET` on the sign-in path: whether the session is alive.
pub async fn alive(_session: SessionCheck) -> Response {
    Json(json!({ "authType": "ADMIN_LOGIN", "obfuscateApiKey": true })).into_response()
}

fn session_not_valid() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "SESSION_NOT_VALID",
        "The session is not valid. Sign in again.",
    )
}

fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "ORGANISATION_NOT_FOUND",
        "There is no such organisation.",
    )
}

pub(super) async fn find_org(state: &AppState, org: &str) -> Result<OrgRow, ApiError> {
    state
        .store
        .org_by_short_name(org)
        .await?
        .ok_or_else(not_found)
}

/// Refuses an address that made too many anonymous failures this minute
/// (429, before any database work).
pub(super) fn anonymous_gate(
    state: &AppState,
    meta: &RequestMeta,
    now: i64,
) -> Result<(), ApiError> {
    match state.throttle.blocked(&meta.client_ip, now) {
        Some(wait) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            "Too many failed requests from your address.",
        )
        .retry_after(wait)),
        None => Ok(()),
    }
}

/// `DELETE` on the sign-in path: ends the session (of either key kind).
pub async fn logout(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = now_ms();
    anonymous_gate(&state, &meta, now)?;
    let org = find_org(&state, &org).await.inspect_err(|_| {
        state.throttle.failed(&meta.client_ip, now);
    })?;
    let ended = match session_cookie(&headers) {
        Some(id) => {
            state
                .store
                .delete_api_session(&session_digest(id), org.id)
                .await?
        }
        None => false,
    };
    if ended {
        let record = auth::audit_record(
            &meta,
            "",
            &org.short_name,
            AuditAction::SignOut,
            category::SIGN_IN,
            "API session",
        );
        state.store.append_audit(&record).await?;
    } else {
        state.throttle.failed(&meta.client_ip, now);
    }
    // 204, as the reference API answers and the SDKs check for.
    let mut res = StatusCode::NO_CONTENT.into_response();
    let expired = format!(
        "{COOKIE}=; Path=/o/{}; HttpOnly; SameSite=Strict; Max-Age=0",
        org.short_name
    );
    if let Ok(value) = HeaderValue::from_str(&expired) {
        res.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(res)
}

/// The organisation, if the request carries a live session made with its
/// key of `kind` by an admin who is still a member with API access, and the
/// API subscription allows `access` (an expired one still answers reads).
/// Only such calls count toward the organisation's rate limit and the key's
/// usage; the others count against the caller's address ([`anonymous_gate`]).
async fn live_session(
    state: &AppState,
    org: &str,
    headers: &HeaderMap,
    kind: KeyKind,
    access: Access,
    class: RateClass,
    meta: &RequestMeta,
) -> Result<(OrgRow, i64), ApiError> {
    let now = now_ms();
    anonymous_gate(state, meta, now)?;
    let anonymous = |e: ApiError| {
        state.throttle.failed(&meta.client_ip, now);
        e
    };
    let Some(id) = session_cookie(headers) else {
        // Which refusal: an unknown organisation is told as such.
        find_org(state, org).await.map_err(anonymous)?;
        return Err(anonymous(session_not_valid()));
    };
    let call = ApiCallRequest {
        org,
        kind,
        id_digest: &session_digest(id),
        now,
        idle_ms: state.settings.api_session_idle.as_millis() as i64,
        max_age_ms: state.settings.session_absolute.as_millis() as i64,
        limit: &limits(state, class),
        client_ip: &meta.client_ip,
    };
    // One read validates everything; one statement counts the call.
    let live = match state.store.api_call(&call).await? {
        ApiCall::RateLimited(wait) => return Err(too_many_requests(wait)),
        ApiCall::NoSession => {
            find_org(state, org).await.map_err(anonymous)?;
            return Err(anonymous(session_not_valid()));
        }
        // The key's expiry or allowlist (docs/CONSUMER-API.md#credential-restrictions).
        ApiCall::Denied(denied) => {
            let kind = crate::server::credential_policy::CredentialKind::ApiKey;
            return Err(super::denied(denied, kind));
        }
        ApiCall::Live(live) => live,
    };
    // Checked on every call: a session made before the subscription lapsed
    // keeps reading, and changes nothing (docs/STATES.md).
    if let Some(refusal) = subscription_refusal(SubscriptionKind::Api, live.subscription, access) {
        return Err(refusal);
    }
    Ok((live.org, live.admin_id))
}

/// What a consumer-API call does, as the subscription rule sees it
/// (docs/STATES.md): an expired subscription still answers reads and
/// refuses changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// `GET`, a quota call — and signing in, which changes no configuration
    /// and is needed to read.
    Read,
    /// Anything that changes something: a submission, a `POST`, `PUT` or
    /// `DELETE` of configuration.
    Change,
}

impl Access {
    /// `GET` and `HEAD` read; every other method changes something.
    pub(super) fn of(method: &Method) -> Self {
        if method == Method::GET || method == Method::HEAD {
            Access::Read
        } else {
            Access::Change
        }
    }
}

/// Why a subscription of `kind` in state `subscription` refuses a call that
/// does `access`, if it does: none refuses everything (403
/// `NO_SUBSCRIPTION`); expired refuses changes only (403
/// `SUBSCRIPTION_EXPIRED`, the portal's code for the same rule).
pub(super) fn subscription_refusal(
    kind: SubscriptionKind,
    subscription: Subscription,
    access: Access,
) -> Option<ApiError> {
    match (subscription, access) {
        (Subscription::Active, _) | (Subscription::Expired, Access::Read) => None,
        (Subscription::Expired, Access::Change) => Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "SUBSCRIPTION_EXPIRED",
            match kind {
                SubscriptionKind::Sandbox => {
                    "The Sandbox subscription has expired: submissions are refused until it is renewed; quota calls still answer."
                }
                SubscriptionKind::Api => {
                    "The API subscription has expired: read-only calls still answer; changes are refused until it is renewed."
                }
            },
        )),
        (Subscription::None, _) => Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "NO_SUBSCRIPTION",
            format!("A valid {} subscription is required.", kind.label()),
        )),
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("JSESSIONID="))
        .filter(|v| !v.is_empty())
}

/// Session ids are random; a plain SHA-256 keeps the stored form useless.
pub(super) fn session_digest(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::{Access, Method, Subscription, SubscriptionKind, subscription_refusal};

    #[test]
    fn an_expired_subscription_answers_reads_and_refuses_changes() {
        assert_eq!(Access::of(&Method::GET), Access::Read);
        assert_eq!(Access::of(&Method::HEAD), Access::Read);
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert_eq!(Access::of(&method), Access::Change, "{method}");
        }
        for kind in SubscriptionKind::ALL {
            for access in [Access::Read, Access::Change] {
                assert!(subscription_refusal(kind, Subscription::Active, access).is_none());
                let none = subscription_refusal(kind, Subscription::None, access);
                assert_eq!(none.map(|e| e.code), Some("NO_SUBSCRIPTION"));
            }
            assert!(subscription_refusal(kind, Subscription::Expired, Access::Read).is_none());
            let change = subscription_refusal(kind, Subscription::Expired, Access::Change);
            assert_eq!(change.map(|e| e.code), Some("SUBSCRIPTION_EXPIRED"));
        }
    }
}
