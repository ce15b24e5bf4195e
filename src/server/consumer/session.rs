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
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
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
        let (org, admin_id) = live_session(state, &org, &parts.headers, kind, &meta).await?;
        Ok(LiveSession { org, admin_id })
    }
}

/// `GET /api/v1/status`: needs a live Cloud Service API session.
pub async fn status(session: LiveSession) -> Response {
    Json(json!({ "status": "ACTIVE", "organisation": session.org.short_name })).into_response()
}

/// `GET` on the sign-in path: whether the session is alive.
pub async fn alive(_session: LiveSession) -> Response {
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
    let mut res = Json(json!({})).into_response();
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
/// API subscription is still active. Only such calls count toward the
/// organisation's rate limit and the key's usage; the others count against
/// the caller's address ([`anonymous_gate`]).
async fn live_session(
    state: &AppState,
    org: &str,
    headers: &HeaderMap,
    kind: KeyKind,
    meta: &RequestMeta,
) -> Result<(OrgRow, i64), ApiError> {
    let now = now_ms();
    anonymous_gate(state, meta, now)?;
    let anonymous = |e: ApiError| {
        state.throttle.failed(&meta.client_ip, now);
        e
    };
    let org = find_org(state, org).await.map_err(anonymous)?;
    let id = session_cookie(headers).ok_or_else(|| anonymous(session_not_valid()))?;
    let call = ApiCallRequest {
        org_id: org.id,
        kind,
        id_digest: &session_digest(id),
        now,
        idle_ms: state.settings.api_session_idle.as_millis() as i64,
        max_age_ms: state.settings.session_absolute.as_millis() as i64,
        limits: &limits(state, RateClass::Session),
        client_ip: &meta.client_ip,
    };
    // Session, rate limit and usage in one write transaction.
    let admin_id = match state.store.api_call(&call).await? {
        ApiCall::RateLimited(wait) => return Err(too_many_requests(wait)),
        ApiCall::NoSession => return Err(anonymous(session_not_valid())),
        ApiCall::Live(session) => session.admin_id,
    };
    // A session made before the subscription lapsed dies with it (docs/STATES.md).
    if let Some(refusal) = subscription_refusal(state, &org, now).await? {
        return Err(refusal);
    }
    Ok((org, admin_id))
}

/// Why the organisation's API subscription refuses the consumer API, if it does.
pub(super) async fn subscription_refusal(
    state: &AppState,
    org: &OrgRow,
    now: i64,
) -> Result<Option<ApiError>, ApiError> {
    Ok(
        match state
            .store
            .subscription(org.id, SubscriptionKind::Api, now)
            .await?
        {
            Subscription::Active => None,
            // "Kept but disabled" (docs/STATES.md): the key answers as a disabled one.
            Subscription::Expired => Some(ApiError::new(
                StatusCode::FORBIDDEN,
                "API_KEY_DISABLED",
                "The API key is disabled: the API subscription has expired.",
            )),
            Subscription::None => Some(ApiError::new(
                StatusCode::FORBIDDEN,
                "NO_SUBSCRIPTION",
                "A valid API subscription is required.",
            )),
        },
    )
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
