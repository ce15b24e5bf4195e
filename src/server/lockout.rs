//! One sign-in policy for the portal and the consumer API (docs/SECURITY.md):
//! five failures to one account within a minute lock it for five minutes,
//! twenty from one address within five minutes throttle the address.
//!
//! The attempt is counted *before* argon2 runs ([`Store::admit_sign_in`]),
//! so parallel guesses cannot outrun the lock: at most five passwords are
//! ever checked per account and minute. A locked account checks nothing,
//! and callers answer it exactly like a wrong password, so the lock cannot
//! tell an attacker which guess was right. Usernames nobody has lock the
//! same way, so the lock does not reveal which accounts exist.

use super::http::RequestMeta;
use super::password::Busy;
use super::state::AppState;
use super::store::{AdminRow, Admission, AuditRecord, MembershipRow, SignInPolicy};
use crate::model::{AuditAction, category};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

pub const POLICY: SignInPolicy = SignInPolicy {
    lock_after: 5,
    lock_window_ms: 60_000,
    lock_for_ms: 5 * 60_000,
    address_after: 20,
    address_window_ms: 5 * 60_000,
};

/// What checking a sign-in found.
#[derive(Debug)]
pub enum Checked {
    /// The password was checked; `admin` is `None` for an unknown username.
    /// Finish the [`Attempt`] once the caller's other checks are done.
    Password {
        attempt: Attempt,
        admin: Option<AdminRow>,
        password_ok: bool,
    },
    /// Locked: nothing was checked. Answer as for a wrong password.
    Locked,
    /// Too many failures from this address: nothing was checked.
    AddressThrottled,
}

/// An admitted sign-in attempt, counted as a failure until it succeeds.
#[derive(Debug)]
#[must_use = "finish the attempt with succeeded() or failed()"]
pub struct Attempt {
    id: i64,
    username: String,
}

impl Attempt {
    /// The sign-in succeeded: the attempt is no failure.
    pub async fn succeeded(self, state: &AppState) -> Result<(), sqlx::Error> {
        state.store.sign_in_withdrawn(self.id).await
    }

    /// The sign-in failed; whether the account is now locked.
    pub async fn failed(self, state: &AppState, now: i64) -> Result<bool, sqlx::Error> {
        state
            .store
            .sign_in_failed(&self.username, now, &POLICY)
            .await
    }
}

/// A check that could not run.
#[derive(Debug)]
pub enum CheckError {
    Database(sqlx::Error),
    /// Every hashing slot stayed busy: 503, try again.
    Busy,
}

impl From<sqlx::Error> for CheckError {
    fn from(e: sqlx::Error) -> Self {
        CheckError::Database(e)
    }
}

/// Counts the attempt, then — if admitted — checks `password` for
/// `username` (normalised already), always running argon2: against a dummy
/// hash when nobody has the username.
pub async fn check(
    state: &AppState,
    username: &str,
    password: SecretString,
    client_ip: &str,
    now: i64,
) -> Result<Checked, CheckError> {
    let id = match state
        .store
        .admit_sign_in(username, client_ip, now, &POLICY)
        .await?
    {
        Admission::Admitted(id) => id,
        Admission::Locked => return Ok(Checked::Locked),
        Admission::AddressThrottled => return Ok(Checked::AddressThrottled),
    };
    let attempt = Attempt {
        id,
        username: username.to_owned(),
    };
    let admin = state.store.admin_by_username(username).await?;
    let hash = admin.as_ref().map(|a| a.password_hash.clone());
    match state.hasher.verify(password, hash).await {
        Ok(password_ok) => Ok(Checked::Password {
            attempt,
            admin,
            password_ok,
        }),
        Err(Busy) => {
            // Never checked: it must not count against the account.
            attempt.succeeded(state).await?;
            Err(CheckError::Busy)
        }
    }
}

/// What the audit log names a failed sign-in after. A known account is
/// named; a username nobody has is not stored as typed (it is whatever an
/// anonymous caller chose to write into the log) but as a short digest, so
/// repeated attempts with one name can still be told apart.
pub fn audit_name(typed: &str, admin: Option<&AdminRow>) -> String {
    match admin {
        Some(a) => a.username.clone(),
        None => {
            let digest = Sha256::digest(typed.as_bytes());
            format!("unknown user #{}", hex::encode(&digest[..4]))
        }
    }
}

/// The audit entries of a failed portal sign-in: one in each organisation
/// of a known account (so its admins see attempts on it), or one outside
/// any organisation (shown to providers) for an unknown username.
pub fn failure_records(
    meta: &RequestMeta,
    typed: &str,
    admin: Option<&AdminRow>,
    memberships: &[MembershipRow],
    reason: &str,
) -> Vec<AuditRecord> {
    let name = audit_name(typed, admin);
    let record = |org: &str| {
        super::auth::audit_record(
            meta,
            &name,
            org,
            AuditAction::SignIn,
            category::SIGN_IN,
            &name,
        )
        .failed(reason)
    };
    if admin.is_none() || memberships.is_empty() {
        vec![record("")]
    } else {
        memberships.iter().map(|m| record(&m.short_name)).collect()
    }
}
