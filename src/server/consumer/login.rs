//! Signing in to the Cloud Service API (`POST /api/v1/authenticatedSession`)
//! and the Connector API (`POST /connector/api/v1/auth`), in named steps:
//! [`parse`] the body, [`check_credentials`] (the key and the password
//! together, under the one lockout policy, with the same work for every
//! wrong combination), [`gate`] the states only right credentials may
//! learn, then [`open_session`]. See docs/CONSUMER-API.md and
//! docs/SECURITY.md.

use super::session::{
    Access, COOKIE, anonymous_gate, find_org, session_digest, subscription_refusal,
};
use super::{ApiError, RateClass, rate_limit, too_many_requests};
use crate::model::{AuditAction, KeyKind, PASSWORD_MAX, Role, normalise_username};
use crate::server::credential_policy::{self, CredentialKind};
use crate::server::http::RequestMeta;
use crate::server::state::AppState;
use crate::server::store::{
    AdminRow, ApiKeyRow, AuditRecord, Credential, Generation, OrgRow, SubscriptionKind,
};
use crate::server::{api_keys, auth, crypto, lockout, now_ms};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

/// The timestamp must be within this of the server clock.
const CLOCK_WINDOW_MS: i64 = 2 * 3600 * 1000;
/// Obfuscated in place of a missing key, so a missing key costs the same.
const NO_KEY: &str = "000000000000";

/// The sign-in body, as the reference SDKs send it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignIn {
    api_key: String,
    username: String,
    password: SecretString,
    timestamp: WireTimestamp,
}

/// `timestamp` as the SDKs send it: the Python SDK (`zscaler-sdk-python`)
/// a JSON number, the others a string of digits. Either is only a candidate
/// until [`epoch_ms`] has checked it.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireTimestamp {
    Number(serde_json::Number),
    Text(String),
}

/// The timestamp as non-negative epoch milliseconds: an integer JSON number
/// (not `1.5`, not `1e20`, not past `i64`), or a string of ASCII digits
/// only (no sign, no spaces, no `1.5`; `i64::from_str` alone would take
/// `+1`). `None` for anything else.
fn epoch_ms(timestamp: &WireTimestamp) -> Option<i64> {
    let value = match timestamp {
        WireTimestamp::Number(n) => n.as_i64(),
        WireTimestamp::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        WireTimestamp::Text(_) => None,
    };
    value.filter(|t| *t >= 0)
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

/// The sign-in handler of both key kinds (the router says which).
pub async fn login(
    State(state): State<AppState>,
    Extension(meta): Extension<RequestMeta>,
    Extension(kind): Extension<KeyKind>,
    Path(org): Path<String>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Result<Response, ApiError> {
    let now = now_ms();
    anonymous_gate(&state, &meta, now)?;
    let anonymous = |e: ApiError| {
        state.throttle.failed(&meta.client_ip, now);
        e
    };
    let org = find_org(&state, &org).await.map_err(anonymous)?;
    let (username, timestamp, body) = parse(body, now).map_err(anonymous)?;
    let signer = Signer {
        state: &state,
        meta: &meta,
        org: &org,
        kind,
        username: &username,
        now,
    };
    let (admin, role, key) = signer.check_credentials(body, &timestamp).await?;
    let audit = signer.audit(&admin.username);
    // The key's own restrictions come first (docs/CONSUMER-API.md#credential-restrictions).
    let restricted =
        credential_policy::check(key.expires_at, &key.ip_allowlist, &meta.client_ip, now)
            .err()
            .map(|denied| super::denied(denied, CredentialKind::ApiKey));
    let refused = match restricted {
        Some(refusal) => Some(refusal),
        None => gate(&state, &org, admin.id, role, &key, now).await?,
    };
    if let Some(refusal) = refused {
        state
            .store
            .append_audit(&audit.clone().failed(refusal.code))
            .await?;
        return Err(refusal);
    }
    rate_limit(&state, &org, RateClass::Session).await?;
    open_session(&state, &meta, &org, (kind, &key), &admin, &audit, now).await
}

/// Step 1: a body that can be someone's, or 400 `INVALID_INPUT` with
/// nothing stored. Passes on the normalised username and the timestamp as
/// the decimal digits the key is obfuscated with.
fn parse(
    body: Result<Json<SignIn>, JsonRejection>,
    now: i64,
) -> Result<(String, String, SignIn), ApiError> {
    let invalid = |message: &str| ApiError::new(StatusCode::BAD_REQUEST, "INVALID_INPUT", message);
    let Ok(Json(body)) = body else {
        return Err(invalid(
            "Send JSON: {\"apiKey\", \"username\", \"password\", \"timestamp\"}.",
        ));
    };
    let Some(username) = normalise_username(&body.username) else {
        return Err(invalid(
            "username must be at most 254 characters, without hidden characters.",
        ));
    };
    if body.password.expose_secret().len() > PASSWORD_MAX || body.api_key.len() > 64 {
        return Err(invalid("apiKey or password is too long."));
    }
    let Some(timestamp) = epoch_ms(&body.timestamp).filter(|t| (t - now).abs() <= CLOCK_WINDOW_MS)
    else {
        return Err(invalid(
            "timestamp must be epoch milliseconds (an integer or a string of digits) within 2 hours of the server clock.",
        ));
    };
    Ok((username, timestamp.to_string(), body))
}

/// One sign-in being checked.
struct Signer<'a> {
    state: &'a AppState,
    meta: &'a RequestMeta,
    org: &'a OrgRow,
    kind: KeyKind,
    username: &'a str,
    now: i64,
}

impl Signer<'_> {
    fn audit(&self, name: &str) -> AuditRecord {
        auth::audit_record(
            self.meta,
            name,
            &self.org.short_name,
            AuditAction::SignIn,
            self.kind.label(),
            name,
        )
    }

    /// Records a failure under the name the log may show (see [`member_name`]).
    async fn fail(&self, reason: &str) -> Result<(), ApiError> {
        let name = member_name(self.state, self.org, self.username).await?;
        self.state
            .store
            .append_audit(&self.audit(&name).failed(reason))
            .await?;
        Ok(())
    }

    /// Step 2: the key and the password, checked together under the lockout
    /// (the attempt counted first); one answer for every wrong combination.
    async fn check_credentials(
        &self,
        body: SignIn,
        timestamp: &str,
    ) -> Result<(AdminRow, Role, ApiKeyRow), ApiError> {
        let state = self.state;
        let checked = lockout::check(
            state,
            self.username,
            body.password,
            &self.meta.client_ip,
            self.now,
        )
        .await
        .map_err(|e| check_error(state, e))?;
        let (attempt, admin, password_ok) = match checked {
            lockout::Checked::Password {
                attempt,
                admin,
                password_ok,
            } => (attempt, admin, password_ok),
            lockout::Checked::Locked => {
                self.fail("account locked").await?;
                return Err(invalid_credentials());
            }
            lockout::Checked::AddressThrottled => {
                self.fail("too many failed sign-ins from this address")
                    .await?;
                return Err(too_many_requests(
                    (lockout::POLICY.address_window_ms / 1000) as u64,
                ));
            }
        };
        // The key: compared in constant time, also when there is none.
        let current = api_keys::current_key(state, self.org.id, self.kind).await?;
        let key = current
            .as_ref()
            .map_or(NO_KEY, |(_, key)| key.expose_secret());
        let expected = obfuscate_api_key(key, timestamp).unwrap_or_default();
        let key_ok: bool = expected.as_bytes().ct_eq(body.api_key.as_bytes()).into();
        let role = match &admin {
            Some(a) => role_in(state, a.id, self.org.id).await?,
            None => None,
        };
        let ok = key_ok & password_ok & current.is_some() & role.is_some();
        let (Some(admin), Some((row, _)), Some(role), true) = (admin, current, role, ok) else {
            attempt.failed(state, self.now).await?;
            self.fail("INVALID_USERNAME_OR_PASSWORD").await?;
            return Err(invalid_credentials());
        };
        attempt.succeeded(state).await?;
        Ok((admin, role, row))
    }
}

/// The admin's role in the organisation, if any.
async fn role_in(state: &AppState, admin_id: i64, org_id: i64) -> Result<Option<Role>, ApiError> {
    Ok(state
        .store
        .memberships(admin_id)
        .await?
        .into_iter()
        .find(|m| m.org_id == org_id)
        .map(|m| m.role.0))
}

/// Step 3, for right credentials only: API access (a role that may hold it,
/// and the admin's stored grant, docs/ROLES.md), the key's provider state,
/// the subscription — signing in reads, so an expired one lets it through
/// (docs/STATES.md).
async fn gate(
    state: &AppState,
    org: &OrgRow,
    admin_id: i64,
    role: Role,
    key: &ApiKeyRow,
    now: i64,
) -> Result<Option<ApiError>, ApiError> {
    let granted = state.store.api_access_granted(admin_id, org.id).await?;
    Ok(if !role.has_api_access(granted) {
        Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "API_ACCESS_NOT_GRANTED",
            "This admin has no API access in the organisation.",
        ))
    } else if key.disabled_reason.is_some() {
        Some(ApiError::new(
            StatusCode::FORBIDDEN,
            "API_KEY_DISABLED",
            "The API key is disabled.",
        ))
    } else {
        let subscription = state
            .store
            .subscription(org.id, SubscriptionKind::Api, now)
            .await?;
        subscription_refusal(SubscriptionKind::Api, subscription, Access::Read)
    })
}

/// Step 4: the session, its cookie, the key's use and the audit entry.
async fn open_session(
    state: &AppState,
    meta: &RequestMeta,
    org: &OrgRow,
    (kind, key): (KeyKind, &ApiKeyRow),
    admin: &AdminRow,
    audit: &AuditRecord,
    now: i64,
) -> Result<Response, ApiError> {
    let session_id = crypto::generate_secret(32);
    let digest = session_digest(session_id.expose_secret());
    state
        .store
        .create_api_session(&digest, org.id, kind, admin.id, now)
        .await?;
    state.store.note_use(
        org.id,
        Credential::ApiKey(kind),
        Generation(key.key_sealed.clone()),
        now,
        &meta.client_ip,
    );
    state.store.append_audit(audit).await?;
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

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_USERNAME_OR_PASSWORD",
        "Invalid API key, username or password.",
    )
}

/// How a failed sign-in names the admin in the organisation's audit log:
/// the username only if it is one of the organisation's admins (otherwise
/// it is text an anonymous caller chose; see `lockout::audit_name`).
async fn member_name(state: &AppState, org: &OrgRow, username: &str) -> Result<String, ApiError> {
    let admin = state.store.admin_by_username(username).await?;
    let member = match &admin {
        Some(a) => role_in(state, a.id, org.id).await?.is_some(),
        None => false,
    };
    Ok(lockout::audit_name(
        username,
        admin.as_ref().filter(|_| member),
    ))
}

/// A lockout check that could not run: the database's error, or 503 with
/// `Retry-After` while every password-hashing slot is taken.
fn check_error(state: &AppState, e: lockout::CheckError) -> ApiError {
    match e {
        lockout::CheckError::Database(e) => ApiError::from(e),
        lockout::CheckError::Busy => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVER_BUSY",
            "The server is busy. Try again in a few seconds.",
        )
        .retry_after(state.hasher.retry_after_secs()),
    }
}

#[cfg(test)]
mod tests;
