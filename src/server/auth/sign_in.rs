//! Signing in to the portal, in named steps: [`sign_in_input`] bounds what
//! was typed, [`check_sign_in`] checks it under the one lockout policy
//! (`server::lockout`, docs/SECURITY.md), [`start_session`] gives the
//! session a fresh id.

use super::{
    Actor, RENEWED_KEY, SESSION_KEY, SessionAuth, forget_actor, password_tag, request_meta,
    session, session_error,
};
use crate::error::AppError;
use crate::model::{AuditAction, PASSWORD_MAX, USERNAME_MAX, category, normalise_username};
use crate::server::http::RequestMeta;
use crate::server::state::AppState;
use crate::server::store::{AdminRow, MembershipRow};
use crate::server::{lockout, now_ms};
use secrecy::SecretString;
use tower_sessions::Session;

/// The one answer to every failed sign-in — wrong username, wrong password,
/// locked account — so none can be told from another.
fn invalid_sign_in() -> AppError {
    AppError::Unauthorized {
        message: "Invalid username or password. After five failed attempts within a minute, \
                  an account is locked for five minutes."
            .into(),
    }
}

/// Signs in (the steps below) and starts a session with a fresh id.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    username: &str,
    password: SecretString,
) -> Result<Actor, AppError> {
    let username = sign_in_input(username, &password)?;
    let (admin, memberships) = check_sign_in(state, meta, &username, password).await?;
    start_session(state, session, meta, admin, memberships).await
}

/// Sign-in as a server function sees it: the session comes from the request.
pub async fn sign_in_request(username: &str, password: SecretString) -> Result<Actor, AppError> {
    let state = crate::server::app_state()?;
    sign_in(&state, &session()?, &request_meta(), username, password).await
}

/// Step 1: bounded before any work (argon2 on a megabyte password is a
/// cheap DoS) and refused without storing anything.
fn sign_in_input(username: &str, password: &SecretString) -> Result<String, AppError> {
    let username = normalise_username(username).ok_or_else(|| {
        AppError::invalid(
            "username",
            format!(
                "Enter a username of at most {USERNAME_MAX} characters, without hidden characters."
            ),
        )
    })?;
    if secrecy::ExposeSecret::expose_secret(password).len() > PASSWORD_MAX {
        return Err(AppError::invalid(
            "password",
            format!("A password has at most {PASSWORD_MAX} characters."),
        ));
    }
    Ok(username)
}

/// Step 2: the admin and their organisations, if the password is right and
/// the account neither locked nor without organisations; otherwise the one
/// answer of [`invalid_sign_in`] (audited).
async fn check_sign_in(
    state: &AppState,
    meta: &RequestMeta,
    username: &str,
    password: SecretString,
) -> Result<(AdminRow, Vec<MembershipRow>), AppError> {
    let store = &state.store;
    let now = now_ms();
    let checked = lockout::check(state, username, password, &meta.client_ip, now)
        .await
        .map_err(|e| match e {
            lockout::CheckError::Database(e) => AppError::from(e),
            lockout::CheckError::Busy => AppError::busy(),
        })?;
    let (attempt, admin, password_ok) = match checked {
        lockout::Checked::Password {
            attempt,
            admin,
            password_ok,
        } => (attempt, admin, password_ok),
        lockout::Checked::Locked => {
            let admin = store.admin_by_username(username).await?;
            audit_failure(state, meta, username, admin.as_ref(), "account locked").await?;
            return Err(invalid_sign_in());
        }
        lockout::Checked::AddressThrottled => {
            let admin = store.admin_by_username(username).await?;
            let reason = "too many failed sign-ins from this address";
            audit_failure(state, meta, username, admin.as_ref(), reason).await?;
            return Err(AppError::TooManyRequests {
                message: "Too many failed sign-ins from your address. Try again in a few minutes."
                    .into(),
            });
        }
    };
    // Read whatever the outcome, so a known username costs the same.
    let memberships = store
        .memberships(admin.as_ref().map_or(-1, |a| a.id))
        .await?;
    match admin {
        Some(admin) if password_ok && !memberships.is_empty() => {
            attempt.succeeded(state).await?;
            Ok((admin, memberships))
        }
        admin => {
            let reason = if attempt.failed(state, now).await? {
                "invalid credentials; account locked"
            } else {
                "invalid credentials"
            };
            let records =
                lockout::failure_records(meta, username, admin.as_ref(), &memberships, reason);
            for record in &records {
                store.append_audit(record).await?;
            }
            Err(invalid_sign_in())
        }
    }
}

/// Step 3: a new id at sign-in (a session id planted before sign-in is
/// worthless), acting in the admin's first organisation.
async fn start_session(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    admin: AdminRow,
    memberships: Vec<MembershipRow>,
) -> Result<Actor, AppError> {
    let first = memberships.first().ok_or_else(AppError::internal)?;
    session.cycle_id().await.map_err(session_error)?;
    let auth = SessionAuth {
        admin_id: admin.id,
        org_id: first.org_id,
        signed_in_at: now_ms(),
        password_tag: password_tag(&admin.password_hash),
    };
    session
        .insert(SESSION_KEY, &auth)
        .await
        .map_err(session_error)?;
    // The idle window starts now: the next views need not renew it.
    session
        .insert(RENEWED_KEY, auth.signed_in_at)
        .await
        .map_err(session_error)?;
    // Whoever this request saw before, it is this admin from here on.
    forget_actor().await;
    let actor = Actor::from_rows(admin, &memberships, first.org_id, meta.clone())
        .ok_or_else(AppError::internal)?;
    state
        .store
        .append_audit(&actor.audit(AuditAction::SignIn, category::SIGN_IN, &actor.username))
        .await?;
    Ok(actor)
}

/// Records a refused sign-in where the account's admins (or, for unknown
/// usernames, the providers) will see it.
async fn audit_failure(
    state: &AppState,
    meta: &RequestMeta,
    username: &str,
    admin: Option<&AdminRow>,
    reason: &str,
) -> Result<(), AppError> {
    let memberships = match admin {
        Some(a) => state.store.memberships(a.id).await?,
        None => Vec::new(),
    };
    for record in lockout::failure_records(meta, username, admin, &memberships, reason) {
        state.store.append_audit(&record).await?;
    }
    Ok(())
}
