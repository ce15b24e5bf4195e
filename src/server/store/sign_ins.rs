//! Failed sign-ins and the lockout they feed (one policy for the portal and
//! the consumer API; see `server::lockout`): each attempt is counted before
//! its password is checked.

use super::{Backend, Lock, Store};

/// The numbers of the sign-in lockout (one policy for the portal and the
/// consumer API; see `server::lockout`).
#[derive(Clone, Copy, Debug)]
pub struct SignInPolicy {
    /// Failures to one account within `lock_window_ms` that lock it…
    pub lock_after: i64,
    pub lock_window_ms: i64,
    /// …for this long.
    pub lock_for_ms: i64,
    /// Failures from one address within `address_window_ms` before it is throttled.
    pub address_after: i64,
    pub address_window_ms: i64,
}

/// What [`Store::admit_sign_in`] decided. Every outcome was counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Check the password; the attempt's row id (withdrawn on success).
    Admitted(i64),
    /// The account is locked: check nothing.
    Locked,
    /// Too many failures from this address: check nothing.
    AddressThrottled,
}

impl Store {
    /// Admits one sign-in attempt under `policy`, counting it *before* the
    /// password is checked: the attempt is stored as a failure at once, so
    /// guesses sent in parallel see each other and at most
    /// `policy.lock_after` are ever checked per account and window. Locked
    /// and throttled attempts are counted too (against the address).
    pub async fn admit_sign_in(
        &self,
        username: &str,
        client_ip: &str,
        now: i64,
        policy: &SignInPolicy,
    ) -> Result<Admission, sqlx::Error> {
        // The address first, then the account: the same order everywhere.
        let mut tx = self
            .begin_write(Lock::Key(&format!("sign-in-ip:{client_ip}")))
            .await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT CAST(pg_advisory_xact_lock(hashtext($1)) AS TEXT)")
                .bind(format!("sign-in-user:{username}"))
                .fetch_optional(&mut *tx)
                .await?;
        }
        let (from_address,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sign_in_failures WHERE client_ip = $1 AND at > $2",
        )
        .bind(client_ip)
        .bind(now - policy.address_window_ms)
        .fetch_one(&mut *tx)
        .await?;
        let locked: Option<(i64,)> = sqlx::query_as(
            "SELECT locked_until FROM sign_in_locks WHERE username = $1 AND locked_until > $2",
        )
        .bind(username)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let (recent,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sign_in_failures WHERE username = $1 AND at > $2")
                .bind(username)
                .bind(now - policy.lock_window_ms)
                .fetch_one(&mut *tx)
                .await?;
        // Every attempt is stored, checked or not, so the address throttle
        // counts locked and throttled attempts too.
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO sign_in_failures (username, client_ip, at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(username)
        .bind(client_ip)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(if from_address >= policy.address_after {
            Admission::AddressThrottled
        } else if locked.is_some() || recent >= policy.lock_after {
            Admission::Locked
        } else {
            Admission::Admitted(id)
        })
    }

    /// The admitted attempt `attempt_id` failed: if the account now has
    /// `policy.lock_after` failures within the window, it is locked for
    /// `policy.lock_for_ms`. Returns whether it is locked.
    pub async fn sign_in_failed(
        &self,
        username: &str,
        now: i64,
        policy: &SignInPolicy,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self
            .begin_write(Lock::Key(&format!("sign-in-user:{username}")))
            .await?;
        let (recent,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sign_in_failures WHERE username = $1 AND at > $2")
                .bind(username)
                .bind(now - policy.lock_window_ms)
                .fetch_one(&mut *tx)
                .await?;
        let locked = recent >= policy.lock_after;
        if locked {
            // The lock (minutes) outlasts the counting window (a minute).
            sqlx::query(
                "INSERT INTO sign_in_locks (username, locked_until) VALUES ($1, $2)
                 ON CONFLICT (username) DO UPDATE SET locked_until = excluded.locked_until",
            )
            .bind(username)
            .bind(now + policy.lock_for_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(locked)
    }

    /// The admitted attempt succeeded (or was never checked): it is no
    /// failure. Earlier failures keep counting until they age out, so a
    /// success in the middle of someone else's guesses frees no slots.
    pub async fn sign_in_withdrawn(&self, attempt_id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE id = $1")
            .bind(attempt_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Drops failed sign-ins older than `before` (housekeeping).
    pub async fn prune_sign_in_failures(&self, before: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM sign_in_locks WHERE locked_until < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
