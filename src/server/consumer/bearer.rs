//! Bearer JWTs on the Cloud Service API (docs/CONSUMER-API.md#bearer-tokens):
//! `Authorization: Bearer <JWT>` from the organisation's enabled OAuth 2.0
//! Authorization Server is accepted in place of a `JSESSIONID` session.
//!
//! [`ApiCaller`] is the extractor of the calls that take either. A token is
//! served only if, in this order: it is at most [`MAX_TOKEN_BYTES`]; its
//! header names `RS256` or `ES256` and a `kid`; the organisation has an
//! enabled server (read from the database on every call, never cached) with
//! an Issuer URI, an Audience URI and a Client ID; a key of that server's
//! JWKS with the `kid` and of the token's algorithm verifies the signature
//! (the `jsonwebtoken` crate, RustCrypto backend); `exp` has not passed and
//! `nbf` has (both with [`LEEWAY_SECS`] of leeway); `iss` is the Issuer URI;
//! `aud` names the Audience URI; and every client-id claim present
//! (`client_id`, `cid`, `appid`, `azp`; at least one) is the Client ID. Then,
//! as for a session call, the organisation's rate limit (with the server
//! checked again, unchanged, in the same transaction) and the subscription.
//!
//! Only the JWKS keys are cached ([`JwksCache`]): an unknown `kid` or keys
//! older than [`KEYS_MAX_AGE`] refetch them, at most once per server per
//! [`MIN_REFRESH`], so random `kid`s cannot make us hammer the JWKS location.

mod claims;
mod jwks;

pub use jwks::JwksCache;

use super::session::{Access, anonymous_gate, find_org, subscription_refusal};
use super::{ApiError, LiveSession, RateClass, limits, too_many_requests};
use crate::model::KeyKind;
use crate::server::http::RequestMeta;
use crate::server::now_ms;
use crate::server::state::AppState;
use crate::server::store::{BearerCall, BearerCallRequest, OAuthRow, OrgRow, SubscriptionKind};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use claims::{Expected, check_claims};
use jsonwebtoken::Algorithm;
use jsonwebtoken::errors::ErrorKind;
use std::time::Duration;

/// Longer tokens are refused before any parsing. Real access tokens are a
/// few kilobytes at most (Azure's, with group claims, are the largest).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Clock skew allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 60;
/// At most one JWKS fetch per server within this time, whatever the tokens say.
pub const MIN_REFRESH: Duration = Duration::from_secs(30);
/// Cached keys older than this are fetched again (at the next call, within
/// [`MIN_REFRESH`]), so a key the server retired stops being accepted.
pub const KEYS_MAX_AGE: Duration = Duration::from_secs(5 * 60);
/// While the JWKS location cannot be reached, keys fetched within this time
/// still verify; older ones do not.
pub const KEYS_MAX_STALE: Duration = Duration::from_secs(60 * 60);
/// A fetch on the request path waits at most this long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The signature algorithms accepted, each with its one key type.
const ACCEPTED: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];
/// RSA keys under this many bits are not used.
const MIN_RSA_BITS: usize = 2048;

/// Who makes a Cloud Service API call: a live session (the
/// [`LiveSession`] checks) or a bearer token (this module's). An
/// `Authorization: Bearer` header decides: with one, the token alone is
/// checked, and a cookie beside it is not looked at. Routes of another key
/// kind (the Connector API) take sessions only.
pub struct ApiCaller {
    pub org: OrgRow,
    pub via: Via,
}

/// How an [`ApiCaller`] proved itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Session { admin_id: i64 },
    Bearer { server_id: i64 },
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let kind = parts
            .extensions
            .get::<KeyKind>()
            .copied()
            .unwrap_or(KeyKind::CloudService);
        let token = match bearer_token(&parts.headers) {
            Some(token) if kind == KeyKind::CloudService => token,
            _ => {
                let session = LiveSession::from_request_parts(parts, state).await?;
                return Ok(ApiCaller {
                    org: session.org,
                    via: Via::Session {
                        admin_id: session.admin_id,
                    },
                });
            }
        };
        let meta = parts
            .extensions
            .get::<RequestMeta>()
            .cloned()
            .ok_or_else(|| {
                tracing::error!("RequestMeta missing: the request_meta layer is not installed");
                ApiError::internal()
            })?;
        let Path(org): Path<String> =
            Path::from_request_parts(parts, state).await.map_err(|_| {
                tracing::error!("a bearer-token route without {{org}} in its path");
                ApiError::internal()
            })?;
        let access = Access::of(&parts.method);
        let (org, server_id) = bearer_call(state, &org, token, access, &meta).await?;
        Ok(ApiCaller {
            org,
            via: Via::Bearer { server_id },
        })
    }
}

/// Why a token is refused: 401 `INVALID_TOKEN`, with a message that names
/// the check that failed and never repeats the token or its claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("Send one Authorization: Bearer header, not several.")]
    SeveralHeaders,
    #[error("The Authorization: Bearer header has no token.")]
    Empty,
    #[error("The bearer token is longer than 8192 bytes.")]
    TooLong,
    #[error("The bearer token is not a JWT.")]
    Malformed,
    #[error("The token's header cannot be read, or names an algorithm other than RS256 and ES256.")]
    BadHeader,
    #[error("The token is signed with {0:?}; only RS256 and ES256 are accepted.")]
    Algorithm(Algorithm),
    #[error("The token's header names no key (kid).")]
    NoKid,
    #[error("The organisation has no enabled OAuth 2.0 authorization server.")]
    NoServer,
    #[error("The authorization server has no {0} set, so it accepts no tokens.")]
    Unconfigured(&'static str),
    #[error("No key in the authorization server's JWKS has the token's key id (kid).")]
    UnknownKid,
    #[error("The JWKS key with the token's key id (kid) is not a key for the token's algorithm.")]
    WrongKeyType,
    #[error("The token's signature does not verify with the authorization server's key.")]
    Signature,
    #[error("The token has expired (exp).")]
    Expired,
    #[error("The token is not valid yet (nbf).")]
    NotYetValid,
    #[error("The token's issuer (iss) is not the authorization server's Issuer URI.")]
    Issuer,
    #[error("The token's audience (aud) does not include the Audience URI.")]
    Audience,
    #[error("The token lacks a valid {0} claim.")]
    MissingClaim(&'static str),
    #[error("The token's {0} claim is malformed.")]
    MalformedClaim(&'static str),
    #[error("The token names no client (client_id, cid, appid or azp).")]
    NoClientId,
    #[error("The token's client (client_id, cid, appid or azp) is not the Client ID.")]
    ClientId,
    #[error("The authorization server was changed, disabled or deleted; try again.")]
    ServerChanged,
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "INVALID_TOKEN", r.to_string())
    }
}

/// The token of the request's `Authorization: Bearer` header (the scheme in
/// any case), if it has one; refused when it cannot be a token. Other
/// schemes are not ours and are ignored.
fn bearer_token(headers: &HeaderMap) -> Option<Result<String, Rejected>> {
    let mut bearers = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .map(|v| v.as_bytes())
        .filter(|v| {
            v.get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"bearer"))
                && v.get(6).is_none_or(|c| *c == b' ')
        });
    let first = bearers.next()?;
    if bearers.next().is_some() {
        return Some(Err(Rejected::SeveralHeaders));
    }
    let token = first[6..].trim_ascii();
    Some(if token.is_empty() {
        Err(Rejected::Empty)
    } else if token.len() > MAX_TOKEN_BYTES {
        Err(Rejected::TooLong)
    } else if !token
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'='))
    {
        Err(Rejected::Malformed)
    } else {
        Ok(String::from_utf8_lossy(token).into_owned())
    })
}

/// The organisation and the server, if `token` passes every check of the
/// module docs; then counted against the organisation's rate limit, and
/// the subscription checked for `access`, exactly as a session call
/// (`session::live_session`). Refusals before the count are anonymous
/// failures of the caller's address.
async fn bearer_call(
    state: &AppState,
    org: &str,
    token: Result<String, Rejected>,
    access: Access,
    meta: &RequestMeta,
) -> Result<(OrgRow, i64), ApiError> {
    let now = now_ms();
    anonymous_gate(state, meta, now)?;
    // A known refusal first: a 429 costs no database work or verification.
    if let Some(wait) = state
        .store
        .rate_refused(org, now, &limits(state, RateClass::Session))
    {
        return Err(too_many_requests(wait));
    }
    let anonymous = |e: ApiError| {
        state.throttle.failed(&meta.client_ip, now);
        e
    };
    let org = find_org(state, org).await.map_err(anonymous)?;
    let token = token.map_err(|r| anonymous(r.into()))?;
    let server = match verify(state, org.id, &token).await? {
        Ok(server) => server,
        Err(Verdict::Rejected(r)) => {
            tracing::debug!(org = %org.short_name, reason = ?r, "bearer token refused");
            return Err(anonymous(r.into()));
        }
        Err(Verdict::Unavailable(e)) => return Err(jwks_unavailable(e)),
    };
    let call = BearerCallRequest {
        org_id: org.id,
        org: &org.short_name,
        server_id: server.id,
        server_modified_at: server.modified_at,
        now,
        limit: &limits(state, RateClass::Session),
    };
    match state.store.bearer_call(&call).await? {
        BearerCall::Served => {}
        BearerCall::RateLimited(wait) => return Err(too_many_requests(wait)),
        BearerCall::ServerChanged => return Err(anonymous(Rejected::ServerChanged.into())),
    }
    let subscription = state
        .store
        .subscription(org.id, SubscriptionKind::Api, now)
        .await?;
    if let Some(refusal) = subscription_refusal(SubscriptionKind::Api, subscription, access) {
        return Err(refusal);
    }
    Ok((org, server.id))
}

/// Why [`verify`] did not accept a token.
#[derive(Debug)]
enum Verdict {
    Rejected(Rejected),
    /// The server's JWKS could not be had: not the caller's fault.
    Unavailable(String),
}

impl From<Rejected> for Verdict {
    fn from(r: Rejected) -> Self {
        Verdict::Rejected(r)
    }
}

/// 503 `JWKS_UNAVAILABLE`, `Retry-After` the refresh bound.
fn jwks_unavailable(why: String) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "JWKS_UNAVAILABLE",
        format!("The authorization server's keys could not be fetched: {why}"),
    )
    .retry_after(MIN_REFRESH.as_secs())
}

/// The enabled server of organisation `org_id` that `token` is good for.
async fn verify(
    state: &AppState,
    org_id: i64,
    token: &str,
) -> Result<Result<OAuthRow, Verdict>, ApiError> {
    let header = match jsonwebtoken::decode_header(token) {
        Ok(header) => header,
        Err(e) if matches!(e.kind(), ErrorKind::InvalidToken) => {
            return Ok(Err(Rejected::Malformed.into()));
        }
        Err(_) => return Ok(Err(Rejected::BadHeader.into())),
    };
    if !ACCEPTED.contains(&header.alg) {
        return Ok(Err(Rejected::Algorithm(header.alg).into()));
    }
    let Some(kid) = header.kid.as_deref() else {
        return Ok(Err(Rejected::NoKid.into()));
    };
    let Some(server) = state.store.enabled_oauth_server(org_id).await? else {
        return Ok(Err(Rejected::NoServer.into()));
    };
    let expected = match Expected::of(&server) {
        Ok(expected) => expected,
        Err(r) => return Ok(Err(r.into())),
    };
    let keys = match state.jwks.keys(state, &server, kid).await {
        Ok(keys) => keys,
        Err(why) => return Ok(Err(Verdict::Unavailable(why))),
    };
    let key = match keys.find(kid, header.alg) {
        Ok(key) => key,
        Err(r) => return Ok(Err(r.into())),
    };
    Ok(check_claims(token, header.alg, key, &expected)
        .map(|()| server)
        .map_err(Verdict::from))
}

#[cfg(test)]
mod tests;
