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

use super::session::{Access, anonymous_gate, find_org, subscription_refusal};
use super::{ApiError, LiveSession, RateClass, limits, too_many_requests};
use crate::model::KeyKind;
use crate::server::http::RequestMeta;
use crate::server::now_ms;
use crate::server::oauth::get_jwks_document;
use crate::server::outbound::FetchError;
use crate::server::state::AppState;
use crate::server::store::{BearerCall, BearerCallRequest, OAuthRow, OrgRow, SubscriptionKind};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

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

/// What the server's form says a token must carry (trimmed; all three must
/// be set, or the server accepts no token: without an issuer, any tenant
/// of a shared IdP whose keys are in the JWKS could sign one).
struct Expected<'a> {
    issuer: &'a str,
    audience: &'a str,
    client_id: &'a str,
}

impl<'a> Expected<'a> {
    fn of(server: &'a OAuthRow) -> Result<Self, Rejected> {
        let set = |value: &'a str, name: &'static str| {
            Some(value.trim())
                .filter(|v| !v.is_empty())
                .ok_or(Rejected::Unconfigured(name))
        };
        Ok(Expected {
            issuer: set(&server.issuer, "Issuer URI")?,
            audience: set(&server.audience, "Audience URI")?,
            client_id: set(&server.client_id, "Client ID")?,
        })
    }
}

/// The claims besides those `jsonwebtoken` checks: the client ids.
#[derive(Deserialize)]
struct ClientClaims {
    client_id: Option<serde_json::Value>,
    cid: Option<serde_json::Value>,
    appid: Option<serde_json::Value>,
    azp: Option<serde_json::Value>,
}

/// The signature, then `exp`, `nbf`, `iss`, `aud` and the client ids.
fn check_claims(
    token: &str,
    alg: Algorithm,
    key: &DecodingKey,
    expected: &Expected<'_>,
) -> Result<(), Rejected> {
    let mut validation = Validation::new(alg);
    validation.leeway = LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = true;
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.audience]);
    let data =
        jsonwebtoken::decode::<ClientClaims>(token, key, &validation).map_err(|e| {
            match e.kind() {
                ErrorKind::InvalidSignature => Rejected::Signature,
                ErrorKind::InvalidAlgorithm => Rejected::WrongKeyType,
                ErrorKind::ExpiredSignature => Rejected::Expired,
                ErrorKind::ImmatureSignature => Rejected::NotYetValid,
                ErrorKind::InvalidIssuer => Rejected::Issuer,
                ErrorKind::InvalidAudience => Rejected::Audience,
                ErrorKind::MissingRequiredClaim(c) => Rejected::MissingClaim(claim_name(c)),
                ErrorKind::InvalidClaimFormat(c) => Rejected::MalformedClaim(claim_name(c)),
                _ => Rejected::Malformed,
            }
        })?;
    let c = data.claims;
    let present: Vec<serde_json::Value> = [c.client_id, c.cid, c.appid, c.azp]
        .into_iter()
        .flatten()
        .collect();
    if present.is_empty() {
        return Err(Rejected::NoClientId);
    }
    if !present
        .iter()
        .all(|v| v.as_str() == Some(expected.client_id))
    {
        return Err(Rejected::ClientId);
    }
    Ok(())
}

/// One of the claim names `Validation` checks, as a static string (the
/// error's own string is never echoed).
fn claim_name(claim: &str) -> &'static str {
    match claim {
        "exp" => "exp",
        "nbf" => "nbf",
        "iss" => "iss",
        "aud" => "aud",
        _ => "required",
    }
}

/// A verification key of a JWKS: its `kid` and the one algorithm it is for.
struct VerifyKey {
    kid: String,
    alg: Algorithm,
    key: DecodingKey,
}

/// The usable keys of one JWKS document.
#[derive(Default)]
struct KeySet(Vec<VerifyKey>);

impl KeySet {
    /// The keys of a JWKS document that can verify an accepted algorithm:
    /// RSA keys of at least 2048 bits (RS256) and P-256 keys (ES256), each
    /// with a `kid`, not marked for another use or another algorithm.
    /// Other keys are skipped, not refused: a JWKS may list encryption keys.
    fn parse(body: &[u8]) -> Result<KeySet, &'static str> {
        let doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| "the JWKS is not valid JSON.")?;
        let keys = doc
            .get("keys")
            .and_then(|k| k.as_array())
            .ok_or("the JWKS has no \"keys\" list.")?;
        Ok(KeySet(
            keys.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter_map(|jwk| verify_key(&jwk))
                .collect(),
        ))
    }

    /// The key named `kid` for `alg`.
    fn find(&self, kid: &str, alg: Algorithm) -> Result<&DecodingKey, Rejected> {
        let mut named = self.0.iter().filter(|k| k.kid == kid).peekable();
        if named.peek().is_none() {
            return Err(Rejected::UnknownKid);
        }
        named
            .find(|k| k.alg == alg)
            .map(|k| &k.key)
            .ok_or(Rejected::WrongKeyType)
    }

    fn has(&self, kid: &str) -> bool {
        self.0.iter().any(|k| k.kid == kid)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

fn verify_key(jwk: &Jwk) -> Option<VerifyKey> {
    let common = &jwk.common;
    let kid = common.key_id.clone()?;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let (alg, named) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return None,
    };
    if common.key_algorithm.is_some_and(|a| a != named) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    if let DecodingKeyKind::RsaModulusExponent { n, .. } = key.kind() {
        let significant = n.iter().skip_while(|b| **b == 0).count();
        let bits = significant * 8
            - n.iter()
                .find(|b| **b != 0)
                .map_or(0, |b| b.leading_zeros() as usize);
        if bits < MIN_RSA_BITS {
            return None;
        }
    }
    Some(VerifyKey { kid, alg, key })
}

/// The JWKS keys of each server, by server id, for the JWKS location and
/// certificate setting they were fetched with (an edit of either starts
/// afresh). Only keys are kept: whether a server is enabled is read from
/// the database on every call. Entries of deleted servers stay until the
/// process ends; there are at most as many as servers ever used here.
pub struct JwksCache {
    min_refresh: Duration,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
}

struct Slot {
    jwks_url: String,
    validate_cert: bool,
    cached: Mutex<Cached>,
    /// Held while fetching: one fetch per server at a time.
    refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    fn cached(&self) -> MutexGuard<'_, Cached> {
        self.cached.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Default)]
struct Cached {
    keys: Arc<KeySet>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    /// Why the last attempt failed (a sentence for the caller), if it did.
    last_error: Option<String>,
}

impl Cached {
    fn younger_than(&self, age: Duration) -> bool {
        self.fetched_at.is_some_and(|t| t.elapsed() < age)
    }

    /// The keys if they may still verify, else why there are none.
    fn usable(&self) -> Result<Arc<KeySet>, String> {
        if self.younger_than(KEYS_MAX_STALE) {
            Ok(self.keys.clone())
        } else {
            Err(self
                .last_error
                .clone()
                .unwrap_or_else(|| "they were not fetched yet.".to_owned()))
        }
    }
}

impl Default for JwksCache {
    fn default() -> Self {
        JwksCache::new(MIN_REFRESH)
    }
}

impl JwksCache {
    /// A cache that fetches a server's JWKS at most once per `min_refresh`.
    pub fn new(min_refresh: Duration) -> Self {
        JwksCache {
            min_refresh,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, server: &OAuthRow) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let url = server.jwks_url.trim();
        let validate_cert = server.validate_cert.0;
        match slots.get(&server.id) {
            Some(slot) if slot.jwks_url == url && slot.validate_cert == validate_cert => {
                slot.clone()
            }
            _ => {
                let slot = Arc::new(Slot {
                    jwks_url: url.to_owned(),
                    validate_cert,
                    cached: Mutex::new(Cached::default()),
                    refresh: tokio::sync::Mutex::new(()),
                });
                slots.insert(server.id, slot.clone());
                slot
            }
        }
    }

    /// The server's keys, fetched first if none has `kid` or they are older
    /// than [`KEYS_MAX_AGE`] — unless the last fetch was started less than
    /// `min_refresh` ago. `Err` (a sentence) when no usable keys can be had.
    async fn keys(
        &self,
        state: &AppState,
        server: &OAuthRow,
        kid: &str,
    ) -> Result<Arc<KeySet>, String> {
        let slot = self.slot(server);
        let known = {
            let cached = slot.cached();
            if cached.younger_than(KEYS_MAX_AGE) && cached.keys.has(kid) {
                return Ok(cached.keys.clone());
            }
            cached.younger_than(KEYS_MAX_STALE) && cached.keys.has(kid)
        };
        // A known key past its age is used while another call refreshes.
        let _refreshing = if known {
            match slot.refresh.try_lock() {
                Ok(guard) => guard,
                Err(_) => return slot.cached().usable(),
            }
        } else {
            slot.refresh.lock().await
        };
        {
            let mut cached = slot.cached();
            if cached.younger_than(KEYS_MAX_AGE) && cached.keys.has(kid) {
                return Ok(cached.keys.clone());
            }
            if cached
                .attempted_at
                .is_some_and(|t| t.elapsed() < self.min_refresh)
            {
                return cached.usable();
            }
            cached.attempted_at = Some(Instant::now());
        }
        let fetched =
            get_jwks_document(state, &slot.jwks_url, slot.validate_cert, FETCH_TIMEOUT).await;
        let parsed = match fetched {
            Ok(body) => KeySet::parse(&body).map_err(str::to_owned),
            Err(e) => Err(fetch_error_sentence(e)),
        };
        let mut cached = slot.cached();
        match parsed {
            Ok(keys) => {
                tracing::info!(server = server.id, keys = keys.len(), "JWKS fetched");
                cached.keys = Arc::new(keys);
                cached.fetched_at = Some(Instant::now());
                cached.last_error = None;
            }
            Err(why) => {
                tracing::warn!(server = server.id, %why, "JWKS fetch for a bearer token failed");
                cached.last_error = Some(why);
            }
        }
        cached.usable()
    }
}

/// A [`FetchError`]'s sentence with a lower-case first letter, to follow
/// "… could not be fetched: "; it never carries the remote answer.
fn fetch_error_sentence(e: FetchError) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::AUTHORIZATION, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn reads_the_bearer_header_and_refuses_what_cannot_be_a_token() {
        assert_eq!(bearer_token(&headers(&[])), None);
        assert_eq!(bearer_token(&headers(&["Basic dXNlcjpwdw=="])), None);
        assert_eq!(bearer_token(&headers(&["Bearerish x"])), None);
        assert_eq!(
            bearer_token(&headers(&["bearer a.b.c"])),
            Some(Ok("a.b.c".to_owned()))
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer  a.b.c "])),
            Some(Ok("a.b.c".to_owned()))
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer"])),
            Some(Err(Rejected::Empty))
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer a.b.c", "Bearer d.e.f"])),
            Some(Err(Rejected::SeveralHeaders))
        );
        assert_eq!(
            bearer_token(&headers(&["Bearer a.b\"c"])),
            Some(Err(Rejected::Malformed))
        );
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(
            bearer_token(&headers(&[&long])),
            Some(Err(Rejected::TooLong))
        );
    }

    #[test]
    fn keeps_only_signature_keys_of_the_accepted_kinds() {
        // A P-256 point (the generator) and a 2048-bit and a 512-bit modulus.
        let x = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
        let y = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";
        let n2048 = format!("u{}", "A".repeat(341));
        let n512 = format!("u{}", "A".repeat(85));
        let body = serde_json::json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec", "x": x, "y": y},
            {"kty": "EC", "crv": "P-256", "x": x, "y": y},
            {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": x, "y": y},
            {"kty": "EC", "crv": "P-256", "kid": "es384", "alg": "ES384", "x": x, "y": y},
            {"kty": "RSA", "kid": "rsa", "n": n2048, "e": "AQAB"},
            {"kty": "RSA", "kid": "weak", "n": n512, "e": "AQAB"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "unknown", "kid": "junk"},
        ]});
        let keys = KeySet::parse(body.to_string().as_bytes()).unwrap();
        let kids: Vec<&str> = keys.0.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["ec", "rsa"]);
        assert!(keys.find("ec", Algorithm::ES256).is_ok());
        assert_eq!(
            keys.find("ec", Algorithm::RS256).err(),
            Some(Rejected::WrongKeyType)
        );
        assert_eq!(
            keys.find("hmac", Algorithm::RS256).err(),
            Some(Rejected::UnknownKid)
        );
        assert!(KeySet::parse(b"[]").is_err());
        assert!(KeySet::parse(b"not json").is_err());
    }
}
