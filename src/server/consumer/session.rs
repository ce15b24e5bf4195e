//! The Cloud Service API (`/api/v1/authenticatedSession`, `/api/v1/status`)
//! and the Cloud & Branch Connector API (`/connector/api/v1/auth`): sign in
//! with the organisation's key, obfuscated with a timestamp as the reference
//! portal's SDKs do it, plus an admin's credentials; get a `JSESSIONID`.

use super::{ApiError, RateClass, limits, rate_limit, too_many_requests};
use crate::model::{
    AuditAction, KeyKind, PASSWORD_MAX, Permission, Subscription, category, normalise_username,
};
use crate::server::http::RequestMeta;
use crate::server::state::AppState;
use crate::server::store::{ApiCall, ApiCallRequest, Credential, OrgRow, SubscriptionKind};
use crate::server::{api_keys, auth, crypto, lockout, now_ms};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The timestamp must be within this of the server clock.
const CLOCK_WINDOW_MS: i64 = 2 * 3600 * 1000;
const COOKIE: &str = "JSESSIONID";

/// The sign-in body, as the reference SDKs send it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    api_key: String,
    username: String,
    password: SecretString,
    timestamp: String,
}

/// The key as sent on the wire: `n` = the timestamp's last six digits, `r` =
/// `n >> 1` zero-padded to six digits; `key[d]` for each digit `d` of `n`,
/// then `key[d + 2]` for each digit `d` of `r`. `None` for a timestamp with
/// fewer than six digits, a non-digit, or a key shorter than 12 characters.
pub fn obfuscate_api_key(key: &str, timestamp: &str) -> Option<String> {
    let key: Vec<char> = key.chars().collect();
    let n = timestamp.get(timestamp.len().checked_sub(6)?..)?;
    let n_value: u32 = n.parse().ok()?;
    let r = format!("{:06}", n_value >> 1);
    let high = n
        .chars()
        .map(|d| key.get(d.to_digit(10)? as usize).copied());
    let low = r
        .chars()
        .map(|d| key.get(d.to_digit(10)? as usize + 2).copied());
    high.chain(low).collect()
}

pub async fn cloud_login(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    org: Path<String>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    login(state, meta, org, body, KeyKind::CloudService).await
}

pub async fn connector_login(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    org: Path<String>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    login(state, meta, org, body, KeyKind::Connector).await
}

pub async fn cloud_alive(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    org: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    alive(state, meta, org, headers, KeyKind::CloudService).await
}

pub async fn connector_alive(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    org: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    alive(state, meta, org, headers, KeyKind::Connector).await
}

pub async fn cloud_logout(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    org: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    logout(state, meta, org, headers).await
}

pub async fn connector_logout(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    org: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    logout(state, meta, org, headers).await
}

/// `GET /api/v1/status`: needs a live Cloud Service API session.
pub async fn status(
    state: State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    org: Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (org, _) = live_session(&state, &org, &headers, KeyKind::CloudService, &meta).await?;
    Ok(Json(json!({ "status": "ACTIVE", "organisation": org.short_name })).into_response())
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_USERNAME_OR_PASSWORD",
        "Invalid API key, username or password.",
    )
}

fn session_not_valid() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "SESSION_NOT_VALID",
        "The session is not valid. Sign in again.",
    )
}

async fn find_org(state: &AppState, org: &str) -> Result<OrgRow, ApiError> {
    state.store.org_by_short_name(org).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "ORGANISATION_NOT_FOUND",
            "There is no such organisation.",
        )
    })
}

/// Why a sign-in body cannot be anyone's: refused with 400 before any work,
/// and nothing stored.
fn invalid_input(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_INPUT", message)
}

/// `POST authenticatedSession` / the connector's `auth`. The key and the
/// password are checked together, always with the same work (argon2 runs
/// whatever the key), and every wrong combination gets one answer; only
/// right credentials learn that the key is disabled or the subscription
/// lapsed. Only that counts against the organisation's rate limit.
async fn login(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(org): Path<String>,
    body: Result<Json<SignIn>, JsonRejection>,
    kind: KeyKind,
) -> Result<Response, ApiError> {
    let now = now_ms();
    anonymous_gate(&state, &meta, now)?;
    let org = find_org(&state, &org).await.inspect_err(|_| {
        state.throttle.failed(&meta.client_ip, now);
    })?;
    let refuse_input = |message: &str| {
        state.throttle.failed(&meta.client_ip, now);
        invalid_input(message)
    };
    let Ok(Json(body)) = body else {
        return Err(refuse_input(
            "Send JSON: {\"apiKey\", \"username\", \"password\", \"timestamp\"}.",
        ));
    };
    let Some(username) = normalise_username(&body.username) else {
        return Err(refuse_input(
            "username must be at most 254 characters, without hidden characters.",
        ));
    };
    if body.password.expose_secret().len() > PASSWORD_MAX || body.api_key.len() > 64 {
        return Err(refuse_input("apiKey or password is too long."));
    }
    let timestamp_ok = body
        .timestamp
        .parse::<i64>()
        .is_ok_and(|t| (t - now).abs() <= CLOCK_WINDOW_MS);
    if !timestamp_ok {
        return Err(refuse_input(
            "timestamp must be epoch milliseconds within 2 hours of the server clock.",
        ));
    }

    let checked = lockout::check(&state, &username, body.password, &meta.client_ip, now)
        .await
        .map_err(|e| match e {
            lockout::CheckError::Database(e) => ApiError::from(e),
            lockout::CheckError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_BUSY",
                "The server is busy. Try again in a few seconds.",
            )
            .retry_after(state.hasher.retry_after_secs()),
        })?;
    let audit = |name: &str| {
        auth::audit_record(
            &meta,
            name,
            &org.short_name,
            AuditAction::SignIn,
            kind.label(),
            name,
        )
    };
    let (attempt, admin, password_ok) = match checked {
        lockout::Checked::Password {
            attempt,
            admin,
            password_ok,
        } => (attempt, admin, password_ok),
        lockout::Checked::Locked => {
            let name = member_name(&state, &org, &username).await?;
            state
                .store
                .append_audit(&audit(&name).failed("account locked"))
                .await?;
            return Err(invalid_credentials());
        }
        lockout::Checked::AddressThrottled => {
            let name = member_name(&state, &org, &username).await?;
            let reason = "too many failed sign-ins from this address";
            state
                .store
                .append_audit(&audit(&name).failed(reason))
                .await?;
            return Err(too_many_requests(
                (lockout::POLICY.address_window_ms / 1000) as u64,
            ));
        }
    };

    // The key: compared in constant time, also when there is none.
    let current = api_keys::current_key(&state, org.id, kind).await?;
    let key = current
        .as_ref()
        .map_or(NO_KEY, |(_, key)| key.expose_secret());
    let expected = obfuscate_api_key(key, &body.timestamp).unwrap_or_default();
    let key_ok: bool = expected.as_bytes().ct_eq(body.api_key.as_bytes()).into();
    let role = match &admin {
        Some(a) => state
            .store
            .memberships(a.id)
            .await?
            .into_iter()
            .find(|m| m.org_id == org.id)
            .map(|m| m.role.0),
        None => None,
    };
    let ok = key_ok & password_ok & current.is_some() & role.is_some();
    let (Some(admin), Some((row, _)), Some(role), true) = (admin, current, role, ok) else {
        attempt.failed(&state, now).await?;
        let name = member_name(&state, &org, &username).await?;
        state
            .store
            .append_audit(&audit(&name).failed("INVALID_USERNAME_OR_PASSWORD"))
            .await?;
        return Err(invalid_credentials());
    };
    attempt.succeeded(&state).await?;

    // Right credentials: now the states may be told.
    let audit = audit(&admin.username);
    let refusal = if !role.allows(Permission::UseApi) {
        Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "API_ACCESS_NOT_GRANTED",
            "This admin has no API access in the organisation.",
        ))
    } else if row.disabled_reason.is_some() {
        Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "API_KEY_DISABLED",
            "The API key is disabled.",
        ))
    } else {
        subscription_refusal(&state, &org, now).await?
    };
    if let Some(refusal) = refusal {
        state
            .store
            .append_audit(&audit.clone().failed(refusal.code))
            .await?;
        return Err(refusal);
    }
    rate_limit(&state, &org, RateClass::Session).await?;

    let session_id = crypto::generate_secret(32);
    state
        .store
        .create_api_session(
            &session_digest(session_id.expose_secret()),
            org.id,
            kind,
            admin.id,
            now,
        )
        .await?;
    state
        .store
        .note_use(org.id, Credential::ApiKey(kind), now, &meta.client_ip)
        .await?;
    state.store.append_audit(&audit).await?;

    let mut cookie = format!(
        "{COOKIE}={}; Path=/o/{}; HttpOnly; SameSite=Strict",
        session_id.expose_secret(),
        org.short_name
    );
    if state.settings.secure_cookies {
        cookie.push_str("; Secure");
    }
    let mut res =
        Json(json!({ "authType": "ADMIN_LOGIN", "obfuscateApiKey": true })).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(res)
}

/// Obfuscated in place of a missing key, so a missing key costs the same.
const NO_KEY: &str = "000000000000";

/// How a failed consumer sign-in names the admin in the organisation's
/// audit log: the username only if it is one of the organisation's admins
/// (otherwise it is text an anonymous caller chose; see `lockout::audit_name`).
async fn member_name(state: &AppState, org: &OrgRow, username: &str) -> Result<String, ApiError> {
    let admin = state.store.admin_by_username(username).await?;
    let member = match &admin {
        Some(a) => state
            .store
            .memberships(a.id)
            .await?
            .iter()
            .any(|m| m.org_id == org.id),
        None => false,
    };
    Ok(lockout::audit_name(
        username,
        admin.as_ref().filter(|_| member),
    ))
}

/// Refuses an address that made too many anonymous failures this minute
/// (429, before any database work).
fn anonymous_gate(state: &AppState, meta: &RequestMeta, now: i64) -> Result<(), ApiError> {
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

async fn alive(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(org): Path<String>,
    headers: HeaderMap,
    kind: KeyKind,
) -> Result<Response, ApiError> {
    live_session(&state, &org, &headers, kind, &meta).await?;
    Ok(Json(json!({ "authType": "ADMIN_LOGIN", "obfuscateApiKey": true })).into_response())
}

async fn logout(
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
    // A session made before the subscription lapsed dies with it (§3).
    if let Some(refusal) = subscription_refusal(state, &org, now).await? {
        return Err(refusal);
    }
    Ok((org, admin_id))
}

/// Why the organisation's API subscription refuses the consumer API, if it does.
async fn subscription_refusal(
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
            // "Kept but disabled" (§3): the key answers as a disabled one.
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
fn session_digest(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::obfuscate_api_key;

    // Vectors worked out by hand from PRODUCT.md §6 with the key
    // "abcdefghijkl" (a=0, b=1, … l=11).
    #[test]
    fn obfuscation_matches_hand_computed_vectors() {
        // n = 123456, r = 61728 → "061728"; n → b c d e f g; r+2 → c i d j e k
        assert_eq!(
            obfuscate_api_key("abcdefghijkl", "1700000123456").as_deref(),
            Some("bcdefgcidjek")
        );
        // n = 000000, r = 000000 → a×6, then key[2] = c ×6
        assert_eq!(
            obfuscate_api_key("abcdefghijkl", "1732000000000").as_deref(),
            Some("aaaaaacccccc")
        );
        // n = 999999, r = 499999 → j×6; 4+2 = 6 → g, 9+2 = 11 → l
        assert_eq!(
            obfuscate_api_key("abcdefghijkl", "1599999999999").as_deref(),
            Some("jjjjjjglllll")
        );
        // n = 000001, r = 000000
        assert_eq!(
            obfuscate_api_key("ABCDEFGHIJKL", "1000000000001").as_deref(),
            Some("AAAAABCCCCCC")
        );
    }

    #[test]
    fn rejects_what_it_cannot_obfuscate() {
        assert_eq!(obfuscate_api_key("abcdefghijkl", "12345"), None);
        assert_eq!(obfuscate_api_key("abcdefghijkl", "17000001234x6"), None);
        assert_eq!(obfuscate_api_key("short", "1700000999999"), None);
    }
}
