//! The consumer API the credentials unlock (docs/CONSUMER-API.md), under
//! `/o/{org}/…`: the Sandbox Submission API (sandbox tokens) and the Cloud
//! Service / Connector APIs (the 12-character keys, with sessions; the
//! Cloud Service API also takes bearer JWTs, `bearer.rs`).
//!
//! No credential is cached: every request reads the current one from the
//! database (one read), so a replaced one fails at once on every instance.
//! What an instance keeps in memory is usage not yet written (flushed every
//! 0.5 s) and rate-limit refusals until their window ends (`store/rate.rs`).

mod base_url;
mod bearer;
mod login;
mod sandbox;
mod session;

pub use base_url::undo_doubled_base;
pub use bearer::{ApiCaller, JwksCache, Via};
pub use login::obfuscate_api_key;
pub use session::LiveSession;

use super::now_ms;
use super::state::AppState;
use super::store::OrgRow;
use super::store::RateLimit;
use crate::model::KeyKind;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;

/// One router for both key kinds: each route says which key its
/// sessions are made with (`Extension<KeyKind>`, read by [`LiveSession`]
/// and `login::login`).
pub fn routes() -> Router<AppState> {
    let sign_in = |kind: KeyKind| {
        post(login::login)
            .get(session::alive)
            .delete(session::logout)
            .layer(Extension(kind))
    };
    Router::new()
        // The body is read (up to MAX_SUBMISSION_BYTES) only after the token
        // is checked: see `sandbox::submit`.
        .route("/o/{org}/zscsb/submit", post(sandbox::submit))
        .route("/o/{org}/sandbox/report/quota", get(sandbox::quota))
        .route(
            "/o/{org}/api/v1/authenticatedSession",
            sign_in(KeyKind::CloudService),
        )
        .route(
            "/o/{org}/api/v1/status",
            get(session::status).layer(Extension(KeyKind::CloudService)),
        )
        // The reference API's "activate pending changes" (the SDKs'
        // `activate.activate()`): Keyport's changes take effect when made,
        // so nothing is pending and it answers as `status`, changing nothing.
        .route(
            "/o/{org}/api/v1/status/activate",
            post(session::status).layer(Extension(KeyKind::CloudService)),
        )
        .route(
            "/o/{org}/connector/api/v1/auth",
            sign_in(KeyKind::Connector),
        )
}

/// Which of the organisation's rate limits a request counts against
/// (docs/CONSUMER-API.md#rate-limits): each has its own per-second and per-hour windows.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RateClass {
    /// authenticatedSession, status and the connector's auth: 2/s, 1000/h.
    Session,
    /// Sandbox submissions: 1/s, 400/h.
    Submit,
    /// Session liveness checks (`GET` on the sign-in path), in windows of
    /// their own: [`CHECKS_PER_CALL`] times the session windows.
    SessionCheck,
}

/// How many liveness checks an organisation gets per real call allowed.
const CHECKS_PER_CALL: i64 = 5;

/// The organisation's limits for `class`.
pub(crate) fn limits(state: &AppState, class: RateClass) -> RateLimit {
    let s = &state.settings;
    match class {
        RateClass::Session => RateLimit {
            class: "session",
            per_second: s.api_rate_per_second,
            per_hour: s.api_rate_per_hour,
        },
        RateClass::Submit => RateLimit {
            class: "submit",
            per_second: s.submit_rate_per_second,
            per_hour: s.submit_rate_per_hour,
        },
        RateClass::SessionCheck => RateLimit {
            class: "check",
            per_second: s.api_rate_per_second.saturating_mul(CHECKS_PER_CALL),
            per_hour: s.api_rate_per_hour.saturating_mul(CHECKS_PER_CALL),
        },
    }
}

/// 429 `RATE_LIMIT_EXCEEDED` with `Retry-After`.
pub(crate) fn too_many_requests(wait: u64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMIT_EXCEEDED",
        "Too many requests for this organisation.",
    )
    .retry_after(wait)
}

/// 403 for a credential its own restrictions refuse
/// (docs/CONSUMER-API.md#credential-restrictions): `IP_NOT_ALLOWED` or
/// `API_KEY_EXPIRED` (for tokens and keys alike, as `API_KEY_DISABLED` is).
pub(crate) fn denied(
    denied: super::credential_policy::Denied,
    kind: super::credential_policy::CredentialKind,
) -> ApiError {
    use super::credential_policy::{CredentialKind, Denied};
    let what = match kind {
        CredentialKind::SandboxToken => "API token",
        CredentialKind::ApiKey => "API key",
    };
    match denied {
        Denied::IpNotAllowed => ApiError::new(
            StatusCode::FORBIDDEN,
            "IP_NOT_ALLOWED",
            format!("This {what} is not allowed from your address."),
        ),
        Denied::Expired => ApiError::new(
            StatusCode::FORBIDDEN,
            "API_KEY_EXPIRED",
            format!("The {what} has expired."),
        ),
    }
}

/// Counts the request against the organisation's limits, in the database
/// (so they hold across instances); over a limit, 429 with `Retry-After`.
async fn rate_limit(state: &AppState, org: &OrgRow, class: RateClass) -> Result<(), ApiError> {
    match state
        .store
        .hit_rate_limit(org, now_ms(), &limits(state, class))
        .await?
    {
        None => Ok(()),
        Some(wait) => Err(too_many_requests(wait)),
    }
}

/// A consumer-API error: `{"code": "...", "message": "..."}` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 500 with no detail (the cause is logged where it happened).
    fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Something went wrong on our side.",
        )
    }

    /// Adds `Retry-After: seconds`.
    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(json!({ "code": self.code, "message": self.message })),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error in the consumer API");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "Something went wrong on our side.",
        )
    }
}

/// The portal's errors keep their status and code (upper-cased, as the
/// consumer API spells codes); internals stay hidden as they are there.
impl From<crate::error::AppError> for ApiError {
    fn from(e: crate::error::AppError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = match e.code() {
            "unauthorized" => "UNAUTHORIZED",
            "forbidden" => "FORBIDDEN",
            "token_disabled" => "API_KEY_DISABLED",
            "subscription_expired" => "SUBSCRIPTION_EXPIRED",
            "no_subscription" => "NO_SUBSCRIPTION",
            "not_found" => "NOT_FOUND",
            "validation" | "transport" => "INVALID_INPUT",
            "conflict" => "CONFLICT",
            "too_many_requests" => "RATE_LIMIT_EXCEEDED",
            "busy" => "SERVER_BUSY",
            _ => "INTERNAL_ERROR",
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// A rule's refusal, with the same code as on the portal.
impl From<crate::server::store::Refusal> for ApiError {
    fn from(r: crate::server::store::Refusal) -> Self {
        crate::error::AppError::from(r).into()
    }
}
