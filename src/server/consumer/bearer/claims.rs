//! The claims of a bearer token: what the organisation's server says a
//! token must carry ([`Expected`]) and the checks after the signature
//! ([`check_claims`]).

use super::{LEEWAY_SECS, Rejected};
use crate::server::store::OAuthRow;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// What the server's form says a token must carry (trimmed; all three must
/// be set, or the server accepts no token: without an issuer, any tenant
/// of a shared IdP whose keys are in the JWKS could sign one).
pub(super) struct Expected<'a> {
    issuer: &'a str,
    audience: &'a str,
    client_id: &'a str,
}

impl<'a> Expected<'a> {
    pub(super) fn of(server: &'a OAuthRow) -> Result<Self, Rejected> {
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
pub(super) fn check_claims(
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
