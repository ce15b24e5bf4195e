//! Signing in and out, and who is signed in.

use crate::error::AppError;
use crate::model::Viewer;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use crate::server::auth;

/// What the sign-in page shows before anyone signs in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignInDetails {
    /// Set in a demo: the accounts to try, with their role and password.
    pub demo_accounts: Vec<(String, String)>,
    pub demo_password: Option<String>,
    /// "Demo data — reset nightly at 03:00 UTC."
    pub demo_notice: Option<String>,
}

/// Public: what the sign-in page needs (the demo banner).
#[server(prefix = "/api", endpoint = "session/info")]
pub async fn sign_in_info() -> Result<SignInDetails, AppError> {
    let state = crate::server::app_state()?;
    if !state.settings.demo {
        return Ok(SignInDetails {
            demo_accounts: Vec::new(),
            demo_password: None,
            demo_notice: None,
        });
    }
    use crate::server::demo::{ACCOUNTS, DEMO_PASSWORD};
    let demo_accounts = ACCOUNTS
        .iter()
        .map(|(user, memberships)| {
            let roles: Vec<String> = memberships
                .iter()
                .map(|(org, role)| format!("{} of {org}", role.label()))
                .collect();
            ((*user).to_owned(), roles.join(", "))
        })
        .collect();
    Ok(SignInDetails {
        demo_accounts,
        demo_password: Some(DEMO_PASSWORD.to_owned()),
        demo_notice: crate::server::demo::notice(&state.settings),
    })
}

/// Public: signs in and starts a session (new session id). Five failures to
/// one account within a minute lock it for five minutes (docs/SECURITY.md).
/// Errors: `unauthorized` (wrong credentials or a locked account: one
/// answer), `validation` (username or password too long, hidden
/// characters), `too_many_requests` (the address is throttled), `busy`
/// (every hashing slot taken: retry after `Retry-After`).
#[server(prefix = "/api", endpoint = "session/sign-in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<Viewer, AppError> {
    let actor = auth::sign_in_request(&username, secrecy::SecretString::from(password)).await?;
    let next = next
        .filter(|n| is_local_path(n))
        .unwrap_or_else(|| crate::paths::OVERVIEW.to_owned());
    leptos_axum::redirect(&next);
    Ok(actor.viewer(&crate::server::app_state()?.settings))
}

/// Only plain local paths: an open redirect would make the sign-in page a
/// phishing aid (`//evil`, `/\evil` and control characters are all refused).
#[cfg(feature = "ssr")]
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 512
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.?=&%".contains(c))
}

/// `ViewApiConfiguration` (any signed-in admin): work in another of the
/// admin's organisations. Errors: `validation` if not a member.
#[server(prefix = "/api", endpoint = "session/switch-org")]
pub async fn switch_org(org: String) -> Result<(), AppError> {
    let who = auth::require(crate::model::Permission::ViewApiConfiguration).await?;
    auth::switch_org(&who, &org).await?;
    leptos_axum::redirect(crate::paths::OVERVIEW);
    Ok(())
}

/// Any session: ends it.
#[server(prefix = "/api", endpoint = "session/sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    auth::sign_out().await?;
    leptos_axum::redirect(crate::paths::LOGIN);
    Ok(())
}

/// Any session: the signed-in admin, or `None` when nobody is.
#[server(prefix = "/api", endpoint = "session/current")]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    match auth::current_actor().await {
        Ok(actor) => Ok(Some(actor.viewer(&crate::server::app_state()?.settings))),
        Err(AppError::Unauthorized { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
