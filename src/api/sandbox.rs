//! Sandbox API Token server functions (docs/PAGES.md#sandbox-api-token).

use crate::error::AppError;
use crate::model::{CredentialPolicy, RevealEntry, SandboxPage, SandboxTokenView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::{model::Permission, server::auth::require, server::sandbox};

/// A token as just created or regenerated, shown in full once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub token: SandboxTokenView,
    pub secret: String,
}

#[cfg(feature = "ssr")]
impl From<sandbox::IssuedToken> for IssuedToken {
    fn from(t: sandbox::IssuedToken) -> Self {
        use secrecy::ExposeSecret;
        IssuedToken {
            secret: t.secret.expose_secret().to_owned(),
            token: t.view,
        }
    }
}

/// `ViewApiConfiguration`: the page's data, secrets masked.
#[server(prefix = "/api", endpoint = "sandbox-tokens/list")]
pub async fn list_sandbox_tokens() -> Result<SandboxPage, AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    sandbox::page(&crate::server::app_state()?, &who).await
}

/// `ManageSandboxTokens`: adds a token named `name`, up to the organisation's
/// limit, with the restrictions of `policy` (none without;
/// docs/PAGES.md#credential-restrictions).
/// Errors: `conflict` at the limit, `validation` (fields `name`,
/// `expires_at`, `ip_allowlist`, `daily_cap`), `subscription_expired`,
/// `no_subscription`, `token_disabled`.
#[server(prefix = "/api", endpoint = "sandbox-tokens/add")]
pub async fn add_sandbox_token(
    name: String,
    #[server(default)] policy: Option<CredentialPolicy>,
) -> Result<IssuedToken, AppError> {
    let who = require(Permission::ManageSandboxTokens).await?;
    let policy = policy.unwrap_or_default();
    Ok(
        sandbox::add_with_policy(&crate::server::app_state()?, &who, &name, &policy)
            .await?
            .into(),
    )
}

/// `ManageSandboxTokens`: renames a token (the secret is not editable) and,
/// with `policy`, sets its restrictions in the same change; without, they
/// stay.
#[server(prefix = "/api", endpoint = "sandbox-tokens/rename")]
pub async fn rename_sandbox_token(
    id: i64,
    name: String,
    #[server(default)] policy: Option<CredentialPolicy>,
) -> Result<(), AppError> {
    let who = require(Permission::ManageSandboxTokens).await?;
    sandbox::edit(
        &crate::server::app_state()?,
        &who,
        id,
        &name,
        policy.as_ref(),
    )
    .await
}

/// `ViewApiConfiguration`: "Who looked" — the newest reveals (at most 10)
/// of one of the session organisation's tokens: admin, time and client
/// address, never the secret. Another organisation's token is `not_found`.
#[server(prefix = "/api", endpoint = "sandbox-tokens/reveals")]
pub async fn sandbox_token_reveals(id: i64) -> Result<Vec<RevealEntry>, AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    sandbox::reveals(&crate::server::app_state()?, &who, id).await
}

/// `ManageSandboxTokens`: replaces a token's secret; the old one stops working at once.
#[server(prefix = "/api", endpoint = "sandbox-tokens/regenerate")]
pub async fn regenerate_sandbox_token(id: i64) -> Result<IssuedToken, AppError> {
    let who = require(Permission::ManageSandboxTokens).await?;
    Ok(sandbox::regenerate(&crate::server::app_state()?, &who, id)
        .await?
        .into())
}

/// `ManageSandboxTokens`: deletes a token; it stops working at once.
#[server(prefix = "/api", endpoint = "sandbox-tokens/delete")]
pub async fn delete_sandbox_token(id: i64) -> Result<(), AppError> {
    let who = require(Permission::ManageSandboxTokens).await?;
    sandbox::delete(&crate::server::app_state()?, &who, id).await
}

/// `RevealSecrets`: the full secret of one token (audited).
#[server(prefix = "/api", endpoint = "sandbox-tokens/reveal")]
pub async fn reveal_sandbox_token(id: i64) -> Result<String, AppError> {
    let who = require(Permission::RevealSecrets).await?;
    let secret = sandbox::reveal(&crate::server::app_state()?, &who, id).await?;
    use secrecy::ExposeSecret;
    Ok(secret.expose_secret().to_owned())
}
