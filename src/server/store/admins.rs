//! Admin accounts, their memberships, and failed sign-ins.

use super::{AuditRecord, Lock, Store};
use crate::model::Role;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub locked_until: Option<i64>,
}

/// An admin's role in one organisation, with the organisation's names.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MembershipRow {
    pub org_id: i64,
    pub short_name: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: RoleText,
}

/// `Role` read from its TEXT column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleText(pub Role);

impl TryFrom<String> for RoleText {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse().map(RoleText)
    }
}

/// A member of an organisation.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub admin_id: i64,
    pub username: String,
    #[sqlx(try_from = "String")]
    pub role: RoleText,
}

impl Store {
    /// An organisation's admins, by username.
    pub async fn org_members(&self, org_id: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT a.id AS admin_id, a.username, m.role FROM memberships m JOIN admins a ON a.id = m.admin_id
             WHERE m.org_id = $1 ORDER BY a.username",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Gives `admin_id` the role `role` in `org_id` (added, or changed), with the audit entry.
    pub async fn set_membership(
        &self,
        admin_id: i64,
        org_id: i64,
        role: Role,
        audit: &AuditRecord,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        upsert_membership(&mut tx, admin_id, org_id, role).await?;
        audit.insert(&mut tx).await?;
        tx.commit().await
    }

    /// Removes `admin_id` from `org_id`, with the audit entry. `false` if
    /// they were not a member.
    pub async fn remove_membership(
        &self,
        admin_id: i64,
        org_id: i64,
        audit: &AuditRecord,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(org_id)).await?;
        let removed = sqlx::query("DELETE FROM memberships WHERE admin_id = $1 AND org_id = $2")
            .bind(admin_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        audit.insert(&mut tx).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn admin_by_username(&self, username: &str) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT id, username, password_hash, locked_until FROM admins WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn admin_by_id(&self, id: i64) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as("SELECT id, username, password_hash, locked_until FROM admins WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
    }

    pub async fn create_admin(
        &self,
        username: &str,
        password_hash: &str,
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        let row: (i64,) = sqlx::query_as("INSERT INTO admins (username, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(username)
            .bind(password_hash)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.0)
    }

    pub async fn add_membership(
        &self,
        admin_id: i64,
        org_id: i64,
        role: Role,
    ) -> Result<(), sqlx::Error> {
        upsert_membership(&mut *self.pool.acquire().await?, admin_id, org_id, role).await
    }

    /// The admin's organisations, in a stable order (by short name).
    pub async fn memberships(&self, admin_id: i64) -> Result<Vec<MembershipRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT o.id AS org_id, o.short_name, o.name, m.role FROM memberships m
             JOIN organisations o ON o.id = m.org_id WHERE m.admin_id = $1 ORDER BY o.short_name",
        )
        .bind(admin_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Records a failed sign-in and, if it is the fifth for this account
    /// within `window_ms`, locks the account until `now + lock_ms`. Returns
    /// whether the account is now locked.
    pub async fn record_sign_in_failure(
        &self,
        username: &str,
        client_ip: &str,
        now: i64,
        window_ms: i64,
        max_failures: i64,
        lock_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Key(username)).await?;
        sqlx::query("INSERT INTO sign_in_failures (username, client_ip, at) VALUES ($1, $2, $3)")
            .bind(username)
            .bind(client_ip)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let (recent,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM sign_in_failures WHERE username = $1 AND at > $2")
                .bind(username)
                .bind(now - window_ms)
                .fetch_one(&mut *tx)
                .await?;
        let locked = recent >= max_failures;
        if locked {
            // The lock (minutes) outlasts the counting window (a minute), so
            // the failures need no reset; they still count for the address.
            sqlx::query("UPDATE admins SET locked_until = $1 WHERE username = $2")
                .bind(now + lock_ms)
                .bind(username)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(locked)
    }

    /// Failed sign-ins from one address since `since`.
    pub async fn failures_from(&self, client_ip: &str, since: i64) -> Result<i64, sqlx::Error> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sign_in_failures WHERE client_ip = $1 AND at > $2",
        )
        .bind(client_ip)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(n)
    }

    /// Whether the account is locked at `now` (re-read after a slow check,
    /// so guesses made in parallel cannot outrun the lock).
    pub async fn is_locked(&self, username: &str, now: i64) -> Result<bool, sqlx::Error> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT locked_until FROM admins WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.and_then(|r| r.0).is_some_and(|t| t > now))
    }

    /// Drops failed sign-ins older than `before` (housekeeping).
    pub async fn prune_sign_in_failures(&self, before: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn clear_sign_in_failures(&self, username: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sign_in_failures WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

async fn upsert_membership(
    conn: &mut sqlx::AnyConnection,
    admin_id: i64,
    org_id: i64,
    role: Role,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO memberships (admin_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT (admin_id, org_id) DO UPDATE SET role = excluded.role")
        .bind(admin_id)
        .bind(org_id)
        .bind(role.as_str())
        .execute(conn)
        .await?;
    Ok(())
}
