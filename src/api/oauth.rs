//! OAuth 2.0 Authorization Servers server functions (docs/PAGES.md#oauth-20-authorization-servers).

use crate::error::AppError;
use crate::model::{JwksKey, OAuthPage, OAuthServerForm};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{model::Permission, server::auth::require, server::oauth};

/// `ViewApiConfiguration`: the organisation's authorization servers.
#[server(prefix = "/api", endpoint = "oauth-servers/list")]
pub async fn list_oauth_servers() -> Result<OAuthPage, AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    oauth::page(&crate::server::app_state()?, &who).await
}

/// `ManageOAuthServers`: fetches the JWKS at `jwks_url` and lists its keys.
/// Errors: `validation` (`fields.jwks_url`) when it cannot be fetched or parsed.
#[server(prefix = "/api", endpoint = "oauth-servers/validate")]
pub async fn validate_jwks(
    jwks_url: String,
    validate_cert: bool,
) -> Result<Vec<JwksKey>, AppError> {
    let who = require(Permission::ManageOAuthServers).await?;
    oauth::validate(&crate::server::app_state()?, &who, &jwks_url, validate_cert).await
}

/// `ManageOAuthServers`: adds (no `id`) or changes a server. The JWKS is
/// fetched again before saving. Errors: `validation`, `conflict` (a third
/// server, or a second enabled one), `subscription_expired`, `no_subscription`.
#[server(prefix = "/api", endpoint = "oauth-servers/save")]
pub async fn save_oauth_server(
    #[server(default)] id: Option<i64>,
    form: OAuthServerForm,
) -> Result<i64, AppError> {
    let who = require(Permission::ManageOAuthServers).await?;
    oauth::save(&crate::server::app_state()?, &who, id, form).await
}

/// `ManageOAuthServers`: deletes a server.
#[server(prefix = "/api", endpoint = "oauth-servers/delete")]
pub async fn delete_oauth_server(id: i64) -> Result<(), AppError> {
    let who = require(Permission::ManageOAuthServers).await?;
    oauth::delete(&crate::server::app_state()?, &who, id).await
}
