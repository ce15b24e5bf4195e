//! Cloud Service API Key and Connector API Key server functions
//! (docs/PAGES.md#cloud-service-api-key, #api-key-management). `kind` picks the key; the organisation is the
//! session's.

use crate::error::AppError;
use crate::model::{
    ApiKeyPage, CredentialPolicy, KeyKind, KeyShareOutcome, RevealEntry, TestAuthReport,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{model::Permission, server::api_keys, server::auth::require};
#[cfg(feature = "ssr")]
use secrecy::ExposeSecret;

/// `ViewApiConfiguration`: the page's data, the key masked.
#[server(prefix = "/api", endpoint = "api-keys/get")]
pub async fn get_api_key(kind: KeyKind) -> Result<ApiKeyPage, AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    api_keys::page(&crate::server::app_state()?, &who, kind).await
}

/// `ManageCloudServiceKey` / `ManageConnectorKey`: generates the key, with
/// the restrictions of `policy` (none without); refused (`conflict`) while
/// one exists. Returns the new key.
#[server(prefix = "/api", endpoint = "api-keys/add")]
pub async fn add_api_key(
    kind: KeyKind,
    #[server(default)] policy: Option<CredentialPolicy>,
) -> Result<String, AppError> {
    let who = require(kind.manage_permission()).await?;
    let state = crate::server::app_state()?;
    let key = api_keys::add(&state, &who, kind, policy.as_ref()).await?;
    Ok(key.expose_secret().to_owned())
}

/// `ManageCloudServiceKey` / `ManageConnectorKey`: sets the key to `key`
/// (12 characters A-Z a-z 0-9, different from the current one), and with
/// `policy` its restrictions (they stay without). The old key and its API
/// sessions stop working at once.
#[server(prefix = "/api", endpoint = "api-keys/edit")]
pub async fn edit_api_key(
    kind: KeyKind,
    key: String,
    #[server(default)] policy: Option<CredentialPolicy>,
) -> Result<(), AppError> {
    let who = require(kind.manage_permission()).await?;
    let state = crate::server::app_state()?;
    api_keys::edit(&state, &who, kind, &key, policy.as_ref()).await
}

/// `ManageCloudServiceKey` / `ManageConnectorKey`: replaces the key with a
/// random one, and with `policy` sets its restrictions (they stay
/// without); the old key and its API sessions stop working at once.
#[server(prefix = "/api", endpoint = "api-keys/regenerate")]
pub async fn regenerate_api_key(
    kind: KeyKind,
    #[server(default)] policy: Option<CredentialPolicy>,
) -> Result<String, AppError> {
    let who = require(kind.manage_permission()).await?;
    let state = crate::server::app_state()?;
    let key = api_keys::regenerate(&state, &who, kind, policy.as_ref()).await?;
    Ok(key.expose_secret().to_owned())
}

/// `ManageCloudServiceKey` / `ManageConnectorKey`: sets the key's
/// restrictions — expiry and IP allowlist (docs/PAGES.md#credential-restrictions) — the key
/// itself unchanged. Errors: `validation` (`expires_at`, `ip_allowlist`,
/// `daily_cap`: not for keys), `not_found`, `subscription_expired`.
#[server(prefix = "/api", endpoint = "api-keys/policy")]
pub async fn set_api_key_policy(kind: KeyKind, policy: CredentialPolicy) -> Result<(), AppError> {
    let who = require(kind.manage_permission()).await?;
    api_keys::set_policy(&crate::server::app_state()?, &who, kind, &policy).await
}

/// `ViewApiConfiguration`: "Who looked" — the newest reveals (at most 10) of
/// the session organisation's key of `kind`: admin, time and client
/// address, never the key.
#[server(prefix = "/api", endpoint = "api-keys/reveals")]
pub async fn api_key_reveals(kind: KeyKind) -> Result<Vec<RevealEntry>, AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    api_keys::reveals(&crate::server::app_state()?, &who, kind).await
}

/// `ManageCloudServiceKey` / `ManageConnectorKey`: deletes the key and ends its API sessions.
#[server(prefix = "/api", endpoint = "api-keys/delete")]
pub async fn delete_api_key(kind: KeyKind) -> Result<(), AppError> {
    let who = require(kind.manage_permission()).await?;
    api_keys::delete(&crate::server::app_state()?, &who, kind).await
}

/// `RevealSecrets`: the key in full (audited).
#[server(prefix = "/api", endpoint = "api-keys/reveal")]
pub async fn reveal_api_key(kind: KeyKind) -> Result<String, AppError> {
    let who = require(Permission::RevealSecrets).await?;
    let key = api_keys::reveal(&crate::server::app_state()?, &who, kind).await?;
    Ok(key.expose_secret().to_owned())
}

/// `ViewApiConfiguration`: runs the Cloud Service API sign-in round trip
/// against the organisation's Base URL as the signed-in admin, with the
/// password they typed, and reports each step. The obfuscated key is shown
/// only to roles that may reveal the key.
#[server(prefix = "/api", endpoint = "api-keys/test-auth")]
pub async fn test_api_key_auth(password: String) -> Result<TestAuthReport, AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    let password = secrecy::SecretString::from(password);
    crate::server::test_auth::run(&crate::server::app_state()?, &who, password).await
}

/// `ManageCloudServiceKey`: sets this organisation's Cloud Service API key
/// in each of `orgs` (the admin's other organisations), with one result per
/// organisation; each is decided by the admin's role there.
#[server(prefix = "/api", endpoint = "api-keys/share", input = Json)]
pub async fn share_api_key(orgs: Vec<String>) -> Result<Vec<KeyShareOutcome>, AppError> {
    let who = require(Permission::ManageCloudServiceKey).await?;
    api_keys::share(&crate::server::app_state()?, &who, &orgs).await
}
