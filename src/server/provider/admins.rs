//! Who administers each organisation: the provider adds an admin (creating
//! the account when the username is new) or removes one, and grants or
//! revokes their API access (docs/ROLES.md).

use super::{Operator, org};
use crate::error::AppError;
use crate::model::{AuditAction, PASSWORD_MAX, Permission, Role, USERNAME_MAX, is_invisible};
use crate::server::now_ms;
use crate::server::state::AppState;
use crate::server::store::api_access_not_for;
use secrecy::{ExposeSecret, SecretString};

pub const PASSWORD_MIN: usize = 12;

/// Gives `username` the role `role` in the organisation. An unknown
/// username becomes a new account, for which `password` is required. API
/// access is `api_access`, or the role's default when not given; a changed
/// role starts again from that (its API sessions end either way).
pub async fn add_admin(
    state: &AppState,
    op: &Operator,
    short_name: &str,
    username: &str,
    role: Role,
    password: Option<SecretString>,
    api_access: Option<bool>,
) -> Result<(), AppError> {
    if api_access == Some(true) && !role.allows(Permission::UseApi) {
        return Err(api_access_not_for(role).into());
    }
    let api_access = api_access.unwrap_or(role.api_access_by_default());
    let username = username.trim().to_lowercase();
    if username.is_empty()
        || username.chars().count() > USERNAME_MAX
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || is_invisible(c))
    {
        return Err(AppError::invalid(
            "username",
            "Enter a username (an email address, without spaces).",
        ));
    }
    let org = org(state, op, short_name).await?;
    let admin_id = match state.store.admin_by_username(&username).await? {
        Some(admin) => admin.id,
        None => create_account(state, &username, password).await?,
    };
    let access = if api_access { ", API access" } else { "" };
    let resource = format!("{username} ({}{access})", role.label());
    let audit = op.audit(
        &org.short_name,
        AuditAction::Create,
        "Administrator",
        &resource,
    );
    state
        .store
        .set_membership(admin_id, org.id, role, api_access, &audit)
        .await?;
    Ok(())
}

/// Grants (`granted`) or revokes the API access of `username` in the
/// organisation: audited as Enable or Disable, category Provider,
/// sub-category API access. A revoke ends their API sessions there at once;
/// a grant to a role that may not hold it (Read-Only Admin, Provider) is
/// refused with 400 `validation` and audited.
pub async fn set_api_access(
    state: &AppState,
    op: &Operator,
    short_name: &str,
    username: &str,
    granted: bool,
) -> Result<(), AppError> {
    let org = org(state, op, short_name).await?;
    let username = username.trim().to_lowercase();
    let admin = state
        .store
        .admin_by_username(&username)
        .await?
        .ok_or_else(|| AppError::not_found("The administrator"))?;
    let action = if granted {
        AuditAction::Enable
    } else {
        AuditAction::Disable
    };
    let audit = op.audit(&org.short_name, action, API_ACCESS, &username);
    Ok(state
        .store
        .set_api_access(admin.id, org.id, granted, &audit)
        .await??)
}

/// The audit log's sub-category of API access grants.
pub const API_ACCESS: &str = "API access";

/// Removes `username` from the organisation; their sessions there end on
/// their next request. A provider cannot remove themselves.
pub async fn remove_admin(
    state: &AppState,
    op: &Operator,
    short_name: &str,
    username: &str,
) -> Result<(), AppError> {
    let org = org(state, op, short_name).await?;
    let username = username.trim().to_lowercase();
    let admin = state
        .store
        .admin_by_username(&username)
        .await?
        .ok_or_else(|| AppError::not_found("The administrator"))?;
    if op.admin_id == Some(admin.id) {
        return Err(AppError::conflict(
            "You cannot remove yourself; another provider can.",
        ));
    }
    let audit = op.audit(
        &org.short_name,
        AuditAction::Delete,
        "Administrator",
        &username,
    );
    if !state
        .store
        .remove_membership(admin.id, org.id, &audit)
        .await?
    {
        return Err(AppError::not_found("The administrator"));
    }
    Ok(())
}

/// A new account for `username` with its initial `password`, which must be
/// given and of an allowed length; its id.
async fn create_account(
    state: &AppState,
    username: &str,
    password: Option<SecretString>,
) -> Result<i64, AppError> {
    let password = password
        .filter(|p| !p.expose_secret().is_empty())
        .ok_or_else(|| AppError::invalid("password", "A new account needs an initial password."))?;
    let length = password.expose_secret().chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(AppError::invalid(
            "password",
            format!("The password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters."),
        ));
    }
    let hash = state.hasher.hash(password).await.map_err(|e| {
        tracing::error!(error = %e, "hashing a password failed");
        AppError::internal()
    })?;
    Ok(state.store.create_admin(username, &hash, now_ms()).await?)
}
