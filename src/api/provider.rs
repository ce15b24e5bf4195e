//! Provider console server functions (docs/STATES.md, docs/ROLES.md). Every one needs
//! `OperateProvider` in the session's organisation, and then acts only on an
//! organisation in which the admin holds the Provider role — checked again
//! in `server::provider` from the database, whatever `org` the client names.
//! Arguments travel as JSON (they include enums).

use crate::error::AppError;
use crate::model::{
    CredentialRef, DisableReason, OrgSettings, ProviderConsole, ProvisionedCredential, Role,
    Subscription, SubscriptionKind,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::model::Permission;
#[cfg(feature = "ssr")]
use crate::server::{
    app_state,
    auth::require,
    provider::{self, Operator, Target},
};

#[cfg(feature = "ssr")]
async fn operator() -> Result<Operator, AppError> {
    Operator::console(&require(Permission::OperateProvider).await?)
}

/// `OperateProvider`: the organisations this provider operates, in full.
#[server(prefix = "/api", endpoint = "provider/console")]
pub async fn get_provider_console() -> Result<ProviderConsole, AppError> {
    let op = operator().await?;
    provider::console(&app_state()?, &op).await
}

/// `OperateProvider`: creates an organisation (no subscriptions yet) and
/// makes the caller its Provider.
#[server(prefix = "/api", endpoint = "provider/create-org", input = Json)]
pub async fn create_org(short_name: String, name: String) -> Result<(), AppError> {
    let op = operator().await?;
    provider::create_org(&app_state()?, &op, &short_name, &name).await?;
    Ok(())
}

/// `OperateProvider`: sets a subscription; `expires_on` (`YYYY-MM-DD`, may
/// be empty) ends an active one after that day, UTC. Activating it creates
/// the sandbox token or the keys the organisation lacks; their secrets are
/// in this answer only (shown once).
#[server(prefix = "/api", endpoint = "provider/set-subscription", input = Json)]
pub async fn set_subscription(
    org: String,
    kind: SubscriptionKind,
    state: Subscription,
    #[server(default)] expires_on: String,
) -> Result<Vec<ProvisionedCredential>, AppError> {
    use secrecy::ExposeSecret;
    let op = operator().await?;
    let expires_at = provider::parse_expiry(&expires_on)?;
    let created =
        provider::set_subscription(&app_state()?, &op, &org, kind, state, expires_at).await?;
    Ok(created
        .into_iter()
        .map(|p| ProvisionedCredential {
            credential: p.credential,
            label: p.label,
            secret: p.secret.expose_secret().to_owned(),
        })
        .collect())
}

/// `OperateProvider`: token limit (1–5), daily Sandbox API-call allowance,
/// and whether Super Admins manage the connector key.
#[server(prefix = "/api", endpoint = "provider/save-settings", input = Json)]
pub async fn save_org_settings(org: String, settings: OrgSettings) -> Result<(), AppError> {
    let op = operator().await?;
    provider::save_settings(&app_state()?, &op, &org, settings).await
}

/// `OperateProvider`: disables a token or key with `reason`, or enables it
/// (`reason` absent).
#[server(prefix = "/api", endpoint = "provider/set-credential-state", input = Json)]
pub async fn set_credential_state(
    org: String,
    credential: CredentialRef,
    #[server(default)] reason: Option<DisableReason>,
) -> Result<(), AppError> {
    let op = operator().await?;
    provider::set_disabled(&app_state()?, &op, &org, Target::One(credential), reason).await?;
    Ok(())
}

/// `OperateProvider`: gives `username` a role in the organisation; a new
/// account needs `password` (at least 12 characters). `api_access` absent:
/// the role's default API access.
#[server(prefix = "/api", endpoint = "provider/add-admin", input = Json)]
pub async fn add_org_admin(
    org: String,
    username: String,
    role: Role,
    #[server(default)] password: String,
    #[server(default)] api_access: Option<bool>,
) -> Result<(), AppError> {
    let op = operator().await?;
    let password = Some(secrecy::SecretString::from(password));
    provider::add_admin(
        &app_state()?,
        &op,
        &org,
        &username,
        role,
        password,
        api_access,
    )
    .await
}

/// `OperateProvider`: grants (`granted`) or revokes `username`'s API access
/// in the organisation; a revoke ends their API sessions at once.
#[server(prefix = "/api", endpoint = "provider/set-api-access", input = Json)]
pub async fn set_org_admin_api_access(
    org: String,
    username: String,
    granted: bool,
) -> Result<(), AppError> {
    let op = operator().await?;
    provider::set_api_access(&app_state()?, &op, &org, &username, granted).await
}

/// `OperateProvider`: removes `username` from the organisation.
#[server(prefix = "/api", endpoint = "provider/remove-admin", input = Json)]
pub async fn remove_org_admin(org: String, username: String) -> Result<(), AppError> {
    let op = operator().await?;
    provider::remove_admin(&app_state()?, &op, &org, &username).await
}
