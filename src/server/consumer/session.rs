//! The Cloud Service API (`/api/v1/authenticatedSession`, `/api/v1/status`)
//! and the Cloud & Branch Connector API (`/connector/api/v1/auth`): sign in
//! with the organisation's key, obfuscated with a timestamp as the reference
//! portal's SDKs do it, plus an admin's credentials; get a `JSESSIONID`.

use super::{ApiError, RateClass, limits, rate_limit, too_many_requests};
use crate::model::{AuditAction, KeyKind, Subscription, category};
use crate::server::http::RequestMeta;
use crate::server::state::AppState;
use crate::server::store::{ApiCall, Credential, OrgRow, SubscriptionKind};
use crate::server::{api_keys, auth, crypto, now_ms, password};
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
    body: Json<SignIn>,
) -> Result<Response, ApiError> {
    login(state, meta, org, body, KeyKind::CloudService).await
}

pub async fn connector_login(
    state: State<AppState>,
    meta: Extension<RequestMeta>,
    org: Path<String>,
    body: Json<SignIn>,
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

async fn login(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Path(org): Path<String>,
    Json(body): Json<SignIn>,
    kind: KeyKind,
) -> Result<Response, ApiError> {
    let org = find_org(&state, &org).await?;
    rate_limit(&state, &org, RateClass::Session).await?;
    let now = now_ms();
    let username = body.username.trim().to_lowercase();
    let audit = auth::audit_record(
        &meta,
        &username,
        &org.short_name,
        AuditAction::SignIn,
        kind.label(),
        &username,
    );
    let fail = |e: ApiError| {
        let record = audit.clone().failed(e.code);
        let state = state.clone();
        async move {
            state.store.append_audit(&record).await?;
            Err::<Response, ApiError>(e)
        }
    };

    let timestamp_ok = body
        .timestamp
        .parse::<i64>()
        .is_ok_and(|t| (t - now).abs() <= CLOCK_WINDOW_MS);
    if !timestamp_ok {
        return fail(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_TIMESTAMP",
            "timestamp must be epoch milliseconds within 2 hours of the server clock.",
        ))
        .await;
    }
    if let Some(refusal) = subscription_refusal(&state, &org, now).await? {
        return fail(refusal).await;
    }
    let Some((row, key)) = api_keys::current_key(&state, org.id, kind).await? else {
        return fail(invalid_credentials()).await;
    };
    let expected = obfuscate_api_key(key.expose_secret(), &body.timestamp).unwrap_or_default();
    let key_ok: bool = expected.as_bytes().ct_eq(body.api_key.as_bytes()).into();
    if !key_ok {
        return fail(invalid_credentials()).await;
    }
    if row.disabled_reason.is_some() {
        return fail(ApiError::new(
            StatusCode::FORBIDDEN,
            "API_KEY_DISABLED",
            "The API key is disabled.",
        ))
        .await;
    }

    let admin = state.store.admin_by_username(&username).await?;
    if admin
        .as_ref()
        .and_then(|a| a.locked_until)
        .is_some_and(|t| t > now)
    {
        return fail(invalid_credentials()).await;
    }
    let password_ok = password::verify(
        body.password,
        admin.as_ref().map(|a| a.password_hash.clone()),
    )
    .await;
    let member = match &admin {
        Some(a) if password_ok => state
            .store
            .memberships(a.id)
            .await?
            .into_iter()
            .any(|m| m.org_id == org.id),
        _ => false,
    };
    let Some(admin) = admin.filter(|_| member) else {
        state
            .store
            .record_sign_in_failure(&username, &meta.client_ip, now, 60_000, 5, 5 * 60_000)
            .await?;
        return fail(invalid_credentials()).await;
    };

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
    let org = find_org(&state, &org).await?;
    rate_limit(&state, &org, RateClass::Session).await?;
    if let Some(id) = session_cookie(&headers)
        && state
            .store
            .delete_api_session(&session_digest(id), org.id)
            .await?
    {
        let record = auth::audit_record(
            &meta,
            "",
            &org.short_name,
            AuditAction::SignOut,
            category::SIGN_IN,
            "API session",
        );
        state.store.append_audit(&record).await?;
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
/// key of `kind` and the API subscription is still active. The call counts
/// toward the key's usage.
async fn live_session(
    state: &AppState,
    org: &str,
    headers: &HeaderMap,
    kind: KeyKind,
    meta: &RequestMeta,
) -> Result<(OrgRow, i64), ApiError> {
    let org = find_org(state, org).await?;
    let Some(id) = session_cookie(headers) else {
        rate_limit(state, &org, RateClass::Session).await?;
        return Err(session_not_valid());
    };
    let now = now_ms();
    // A session made before the subscription lapsed dies with it (§3).
    if let Some(refusal) = subscription_refusal(state, &org, now).await? {
        return Err(refusal);
    }
    let idle_ms = state.settings.api_session_idle.as_millis() as i64;
    // Rate limit, session and usage in one write transaction.
    match state
        .store
        .api_call(
            org.id,
            kind,
            &session_digest(id),
            now,
            idle_ms,
            &limits(state, RateClass::Session),
            &meta.client_ip,
        )
        .await?
    {
        ApiCall::RateLimited(wait) => Err(too_many_requests(wait)),
        ApiCall::NoSession => Err(session_not_valid()),
        ApiCall::Live(session) => Ok((org, session.admin_id)),
    }
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
