//! OAuth 2.0 Authorization Servers (docs/PAGES.md#oauth-20-authorization-servers): validation of the form,
//! fetching and parsing the JWKS, and the limits (two servers, one enabled).
//!
//! Save fetches the JWKS again on the server: "validated" is never taken
//! from the browser's word.

use super::auth::{Actor, refuse};
use super::now_ms;
use super::outbound::{FetchError, Outbound};
use super::state::AppState;
use super::store::{OAuthRow, SubscriptionKind};
use crate::error::AppError;
use crate::model::{
    AuditAction, JwksKey, OAuthPage, OAuthServerForm, OAuthServerView, Permission, Subscription,
    validate_oauth_form,
};
use std::collections::BTreeMap;
use std::time::Duration;

const SUB_CATEGORY: &str = "OAuth 2.0 Authorization Servers";
const MAX_JWKS_BYTES: usize = 1024 * 1024;
const JWKS_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn page(state: &AppState, actor: &Actor) -> Result<OAuthPage, AppError> {
    actor.ensure(Permission::ViewApiConfiguration)?;
    let subscription = state
        .store
        .subscription(actor.org_id, SubscriptionKind::Api, now_ms())
        .await?;
    let servers = match subscription {
        Subscription::None => Vec::new(),
        _ => state
            .store
            .oauth_servers(actor.org_id)
            .await?
            .into_iter()
            .map(view)
            .collect(),
    };
    Ok(OAuthPage {
        base_url: state.settings.base_url(&actor.org.short_name),
        subscription,
        support_contact: state.settings.support_contact.clone(),
        servers,
        can_manage: actor.role.allows(Permission::ManageOAuthServers)
            && subscription == Subscription::Active,
    })
}

/// Fetches and parses the JWKS at `url` (the form's Validate button).
pub async fn validate(
    state: &AppState,
    actor: &Actor,
    url: &str,
    validate_cert: bool,
) -> Result<Vec<JwksKey>, AppError> {
    actor.ensure(Permission::ManageOAuthServers)?;
    fetch_jwks(state, url, validate_cert).await
}

/// Adds (`id = None`) or changes a server; the JWKS is fetched again here.
pub async fn save(
    state: &AppState,
    actor: &Actor,
    id: Option<i64>,
    form: OAuthServerForm,
) -> Result<i64, AppError> {
    actor.ensure(Permission::ManageOAuthServers)?;
    let problems = validate_oauth_form(&form);
    if !problems.is_empty() {
        let fields: BTreeMap<String, String> = problems
            .into_iter()
            .map(|(f, m)| (f.to_owned(), m))
            .collect();
        return Err(AppError::Validation {
            message: "Check the highlighted fields.".into(),
            fields,
        });
    }
    let action = if id.is_some() {
        AuditAction::Update
    } else {
        AuditAction::Create
    };
    let audit = actor.audit(action, SUB_CATEGORY, form.name.trim());
    if let Err(refusal) = state
        .store
        .gate_now(actor.org_id, SubscriptionKind::Api, now_ms())
        .await?
    {
        return Err(refuse(state, audit, refusal.into()).await);
    }
    let keys = fetch_jwks(state, &form.jwks_url, form.validate_cert).await?;
    let keys_json = serde_json::to_string(&keys).map_err(|_| AppError::internal())?;
    // The subscription and the two limits are checked inside the write.
    Ok(state
        .store
        .save_oauth_server(actor.org_id, id, &form, &keys_json, &audit)
        .await??)
}

pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<(), AppError> {
    actor.ensure(Permission::ManageOAuthServers)?;
    let name = state
        .store
        .oauth_servers(actor.org_id)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| s.name)
        .ok_or_else(|| AppError::not_found("The authorization server"))?;
    let audit = actor.audit(AuditAction::Delete, SUB_CATEGORY, &name);
    Ok(state
        .store
        .delete_oauth_server(actor.org_id, id, &audit)
        .await??)
}

/// GETs the JWKS and lists its keys, through the outbound policy: https to
/// public internet addresses only; the development setting also allows this
/// machine's loopback addresses (http or https).
pub async fn fetch_jwks(
    state: &AppState,
    url: &str,
    validate_cert: bool,
) -> Result<Vec<JwksKey>, AppError> {
    let bad = |m: &str| AppError::invalid("jwks_url", m);
    let body = get_jwks_document(state, url, validate_cert, JWKS_TIMEOUT)
        .await
        .map_err(|e| match e {
            FetchError::BadUrl => {
                bad("Enter a valid URL, e.g. https://idp.example.com/oauth2/v1/keys.")
            }
            FetchError::Scheme => bad("The JWKS location must be an https URL."),
            FetchError::TooLarge => bad("The JWKS is larger than 1 MiB."),
            other => bad(&other.to_string()),
        })?;
    parse_jwks(&body).map_err(|m| bad(&m))
}

/// The body of the JWKS document at `url`, fetched under the outbound
/// policy of [`fetch_jwks`] (at most 1 MiB, all within `timeout`). The
/// consumer API's bearer-token check fetches the keys through here too.
pub(crate) async fn get_jwks_document(
    state: &AppState,
    url: &str,
    validate_cert: bool,
    timeout: Duration,
) -> Result<Vec<u8>, FetchError> {
    let policy = Outbound {
        allow_loopback: state.settings.allow_insecure_jwks,
    };
    let fetched = policy
        .get_limited(url, validate_cert, MAX_JWKS_BYTES, timeout)
        .await?;
    Ok(fetched.body)
}

/// The keys of a JWKS document (`{"keys": [{"kty": …, "kid": …, "alg": …}]}`).
pub fn parse_jwks(body: &[u8]) -> Result<Vec<JwksKey>, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "The JWKS is not valid JSON.".to_owned())?;
    let keys = doc
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or_else(|| "The JWKS has no \"keys\" list.".to_owned())?;
    if keys.is_empty() {
        return Err("The JWKS has no keys.".into());
    }
    keys.iter()
        .map(|k| {
            let text = |name: &str| k.get(name).and_then(|v| v.as_str()).map(str::to_owned);
            let kty = text("kty").ok_or_else(|| "A key in the JWKS has no \"kty\".".to_owned())?;
            Ok(JwksKey {
                kid: text("kid"),
                kty,
                alg: text("alg"),
            })
        })
        .collect()
}

fn view(row: OAuthRow) -> OAuthServerView {
    OAuthServerView {
        id: row.id,
        keys: serde_json::from_str(&row.jwks_keys).unwrap_or_default(),
        last_fetch_at: row.last_fetch_at,
        last_modified_by: row.modified_by,
        last_modified_on: row.modified_at,
        form: OAuthServerForm {
            enabled: row.enabled.0,
            name: row.name,
            description: row.description,
            jwks_url: row.jwks_url,
            validate_cert: row.validate_cert.0,
            audience: row.audience,
            issuer: row.issuer,
            client_id: row.client_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::parse_jwks;

    #[test]
    fn parses_keys_and_refuses_junk() {
        let keys = parse_jwks(
            br#"{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","n":"x","e":"AQAB"},{"kty":"EC"}]}"#,
        )
        .unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].kid.as_deref(), Some("k1"));
        assert_eq!(keys[1].alg, None);
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(br#"{"keys":[]}"#).is_err());
        assert!(parse_jwks(br#"{"keys":[{"kid":"x"}]}"#).is_err());
    }
}
