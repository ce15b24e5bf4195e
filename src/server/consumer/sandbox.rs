//! The Sandbox Submission API: every request looks the presented token up in
//! the database (one read) — there is no cache — so a replaced or deleted
//! token fails on the very next request, on every instance.

use super::session::{Access, subscription_refusal};
use super::{ApiError, RateClass, limits, too_many_requests};
use crate::model::{AuditAction, category};
use crate::server::credential_policy::{self, CredentialKind};
use crate::server::http::RequestMeta;
use crate::server::state::AppState;
use crate::server::store::{
    AuditRecord, Credential, Generation, NewSubmission, OrgRow, SubmitOutcome, SubscriptionKind,
    TokenCheck,
};
use crate::server::{auth, day_start, now_ms};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::json;

/// Largest file the submit endpoint accepts.
pub const MAX_SUBMISSION_BYTES: usize = 32 * 1024 * 1024;

#[derive(Deserialize)]
pub struct TokenQuery {
    api_token: Option<String>,
    force: Option<String>,
}

/// Finds the organisation and the token presented to it, usable for
/// `access`: not disabled by the provider, and a Sandbox subscription that
/// allows it (an expired one answers quota calls, not submissions). Unknown
/// tokens and organisations count against the caller's address (see
/// `server::throttle`), never against the organisation.
async fn authenticate(
    state: &AppState,
    meta: &RequestMeta,
    org: &str,
    token: Option<&str>,
    access: Access,
) -> Result<TokenCheck, ApiError> {
    let now = now_ms();
    if let Some(wait) = state.throttle.blocked(&meta.client_ip, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            "Too many failed requests from your address.",
        )
        .retry_after(wait));
    }
    let found = find_token(state, org, token, now).await?;
    if found.is_none() {
        state.throttle.failed(&meta.client_ip, now);
    }
    let token = found.ok_or_else(invalid_token)?;
    // The token's own restrictions first: from an address its allowlist
    // does not name, nothing else about it is told.
    credential_policy::check(token.expires_at, &token.ip_allowlist, &meta.client_ip, now)
        .map_err(|denied| super::denied(denied, CredentialKind::SandboxToken))?;
    if token.disabled {
        return Err(token_disabled());
    }
    match subscription_refusal(SubscriptionKind::Sandbox, token.subscription, access) {
        Some(refusal) => Err(refusal),
        None => Ok(token),
    }
}

/// The organisation and its token whose digest matches `token`, if any.
async fn find_token(
    state: &AppState,
    org: &str,
    token: Option<&str>,
    now: i64,
) -> Result<Option<TokenCheck>, ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN) else {
        return Ok(None);
    };
    let digest = state.secrets.digest(token);
    Ok(state
        .store
        .sandbox_call(org, &digest, now)
        .await?
        .filter(|row| state.secrets.verify(token, &row.secret_digest)))
}

/// Longer than any token Keyport issues; longer ones are not looked up.
const MAX_TOKEN_LEN: usize = 256;

/// `POST /o/{org}/zscsb/submit?api_token=T&force=0|1`: records the file's
/// receipt (size, MD5, type). Nothing is analysed, and the answer says so.
/// The token is checked before a byte of the body is read.
pub async fn submit(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(org): Path<String>,
    Query(q): Query<TokenQuery>,
    body: Body,
) -> Result<Response, ApiError> {
    let token = q.api_token.as_deref();
    let limit = limits(&state, RateClass::Submit);
    // A known refusal first: a 429 costs no database work, nor the body.
    if let Some(wait) = state.store.rate_refused(&org, now_ms(), &limit) {
        return Err(too_many_requests(wait));
    }
    let TokenCheck {
        org,
        token_id,
        secret_digest,
        expires_at,
        ip_allowlist,
        ..
    } = authenticate(&state, &meta, &org, token, Access::Change).await?;
    let body = read_file(body).await?;
    let md5 = hex::encode(Md5::digest(&body));
    let file_type = file_type(&body);
    let now = now_ms();
    let submission = NewSubmission {
        org_id: org.id,
        org: &org.short_name,
        token_id,
        token_digest: &secret_digest,
        token_expires_at: expires_at,
        token_ip_allowlist: &ip_allowlist,
        size: body.len() as i64,
        md5: &md5,
        file_type,
        force: q.force.as_deref() == Some("1"),
        client_ip: &meta.client_ip,
        at: now,
        day_start: day_start(now),
        limit: &limit,
    };
    let on_exceeded = threshold_audit(&meta, &org);
    let outcome = state
        .store
        .record_submission(&submission, org.sandbox_daily_allowance, &on_exceeded)
        .await?;
    answer(outcome, &md5, file_type, body.len(), now)
}

/// The request body: the file, not empty and at most [`MAX_SUBMISSION_BYTES`].
async fn read_file(body: Body) -> Result<Bytes, ApiError> {
    let body = axum::body::to_bytes(body, MAX_SUBMISSION_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "FILE_TOO_LARGE",
                "The file is larger than 32 MiB.",
            )
        })?;
    if body.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "EMPTY_FILE",
            "Send the file as the request body.",
        ));
    }
    Ok(body)
}

/// The audit entry recorded if this submission uses up the daily allowance
/// and so disables the organisation's tokens.
fn threshold_audit(meta: &RequestMeta, org: &OrgRow) -> AuditRecord {
    let mut on_exceeded = auth::audit_record(
        meta,
        "system",
        &org.short_name,
        AuditAction::Disable,
        category::SANDBOX_API_TOKEN,
        "all tokens",
    );
    on_exceeded.category = category::PROVIDER.to_owned();
    on_exceeded.reason = Some("API call threshold exceeded".into());
    on_exceeded
}

/// The answer to a submission the store accepted or refused.
fn answer(
    outcome: SubmitOutcome,
    md5: &str,
    file_type: &str,
    size: usize,
    now: i64,
) -> Result<Response, ApiError> {
    match outcome {
        SubmitOutcome::Accepted { .. } => Ok(Json(json!({
            "code": 200,
            "message": "/submit response OK",
            "md5": md5,
            "fileType": file_type,
            "sandboxSubmission": "Received and recorded. Keyport does not analyse files: no verdict will follow.",
            "size": size,
        }))
        .into_response()),
        SubmitOutcome::TokenGone => Err(invalid_token()),
        SubmitOutcome::TokenDisabled => Err(token_disabled()),
        SubmitOutcome::Denied(denied) => Err(super::denied(denied, CredentialKind::SandboxToken)),
        SubmitOutcome::OverTokenCap => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOKEN_DAILY_CAP_EXCEEDED",
            "This token has made its daily cap of submissions; other tokens of the organisation are not affected.",
        )
        .retry_after(until_midnight(now))),
        SubmitOutcome::RateLimited(wait) => Err(too_many_requests(wait)),
        SubmitOutcome::OverAllowance => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            "The organisation's daily submission allowance is used up; its tokens are now disabled.",
        )
        .retry_after(until_midnight(now))),
    }
}

/// Seconds until the daily allowance and caps start again (midnight UTC).
fn until_midnight(now: i64) -> u64 {
    ((day_start(now) + crate::server::DAY_MS - now) / 1000).max(1) as u64
}

/// `GET /o/{org}/sandbox/report/quota?api_token=T`
pub async fn quota(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(org): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let token = q.api_token.as_deref();
    // The day's count comes with the token, in the same read.
    let TokenCheck {
        org,
        token_id,
        secret_digest,
        today: (start, used),
        ..
    } = authenticate(&state, &meta, &org, token, Access::Read).await?;
    state.store.note_use(
        org.id,
        Credential::SandboxToken(token_id),
        Generation(secret_digest),
        now_ms(),
        &meta.client_ip,
    );
    let allowed = org.sandbox_daily_allowance;
    Ok(Json(json!({
        "startTime": start / 1000,
        "used": used,
        "allowed": allowed,
        "scale": "DAILY",
        "unused": (allowed - used).max(0),
    }))
    .into_response())
}

/// A coarse type from the file's first bytes.
fn file_type(body: &[u8]) -> &'static str {
    match body {
        [b'M', b'Z', ..] => "exe",
        [0x7f, b'E', b'L', b'F', ..] => "elf",
        [b'%', b'P', b'D', b'F', ..] => "pdf",
        [b'P', b'K', 3, 4, ..] => "zip",
        [0xd0, 0xcf, 0x11, 0xe0, ..] => "ole",
        [0x1f, 0x8b, ..] => "gzip",
        [b'#', b'!', ..] => "script",
        _ => "unknown",
    }
}

fn token_disabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "API_KEY_DISABLED",
        "The API token is disabled.",
    )
}

fn invalid_token() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "INVALID_API_TOKEN",
        "The API token is not valid.",
    )
}

#[cfg(test)]
mod tests {
    use super::file_type;

    #[test]
    fn detects_common_types() {
        assert_eq!(file_type(b"MZ\x90\x00"), "exe");
        assert_eq!(file_type(b"%PDF-1.7"), "pdf");
        assert_eq!(file_type(b"hello"), "unknown");
    }
}
