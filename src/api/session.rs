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
}

/// Public: what the sign-in page needs (the demo banner).
#[server(prefix = "/api", endpoint = "session/info")]
pub async fn sign_in_info() -> Result<SignInDetails, AppError> {
    let state = crate::server::app_state()?;
    if !state.settings.demo {
        return Ok(SignInDetails {
            demo_accounts: Vec::new(),
            demo_password: None,
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
    })
}

/// Public: signs in and starts a session (new session id). Five failures to
/// one account within a minute lock it for five minutes.
/// Errors: `unauthorized` (wrong credentials), `too_many_requests` (locked).
#[server(prefix = "/api", endpoint = "session/sign-in")]
pub async fn sign_in(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<Viewer, AppError> {
    let actor = auth::sign_in_request(&username, secrecy::SecretString::from(password)).await?;
    // Only local paths: an open redirect would make the sign-in page a phishing aid.
    let next = next
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| crate::server::routes::OVERVIEW_PAGE.to_owned());
    leptos_axum::redirect(&next);
    Ok(actor.viewer())
}

/// Any session: ends it.
#[server(prefix = "/api", endpoint = "session/sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    auth::sign_out().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Any session: the signed-in admin, or `None` when nobody is.
#[server(prefix = "/api", endpoint = "session/current")]
pub async fn current_viewer() -> Result<Option<Viewer>, AppError> {
    match auth::current_actor().await {
        Ok(actor) => Ok(Some(actor.viewer())),
        Err(AppError::Unauthorized { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
