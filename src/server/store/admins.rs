//! Admin accounts, their memberships, and failed sign-ins.

use super::{AuditRecord, Backend, Flag, Lock, Refusal, Ruled, Store};
use crate::model::{Permission, Role};

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

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AdminRow {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
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

/// One row of [`Store::admin_with_memberships`]: the admin's columns, and
/// one membership's (all `NULL` for an admin without any).
#[derive(sqlx::FromRow)]
struct AdminMembershipRow {
    id: i64,
    username: String,
    password_hash: String,
    org_id: Option<i64>,
    short_name: Option<String>,
    name: Option<String>,
    role: Option<String>,
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
    /// The stored API access grant (see `Role::has_api_access`).
    #[sqlx(try_from = "i64")]
    pub api_access: Flag,
}

impl Store {
    /// An organisation's admins, by username.
    pub async fn org_members(&self, org_id: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT a.id AS admin_id, a.username, m.role, m.api_access FROM memberships m JOIN admins a ON a.id = m.admin_id
             WHERE m.org_id = $1 ORDER BY a.username",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await
    }

    /// Gives `admin_id` the role `role` in `org_id` (added, or changed) and
    /// the API access grant `api_access`, with the audit entry.
    pub async fn set_membership(
        &self,
        admin_id: i64,
        org_id: i64,
        role: Role,
        api_access: bool,
        audit: &AuditRecord,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        upsert_membership(&mut tx, admin_id, org_id, role, api_access).await?;
        // A new role is a new grant: sessions opened under the old one end.
        end_api_sessions_of(&mut tx, admin_id, org_id).await?;
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
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        let removed = sqlx::query("DELETE FROM memberships WHERE admin_id = $1 AND org_id = $2")
            .bind(admin_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        end_api_sessions_of(&mut tx, admin_id, org_id).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether `admin_id` holds the API access grant in `org_id` (false for
    /// a non-member). The role decides too: `Role::has_api_access`.
    pub async fn api_access_granted(
        &self,
        admin_id: i64,
        org_id: i64,
    ) -> Result<bool, sqlx::Error> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT api_access FROM memberships WHERE admin_id = $1 AND org_id = $2",
        )
        .bind(admin_id)
        .bind(org_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some_and(|(granted,)| granted != 0))
    }

    /// Grants or revokes `admin_id`'s API access in `org_id`, with the audit
    /// entry. The role is read inside the write, so a role changed a moment
    /// ago is the one that decides: a grant to a role that may not hold it
    /// is refused (audited). A revoke deletes the admin's API sessions in
    /// the organisation in the same transaction, so the next call fails.
    pub async fn set_api_access(
        &self,
        admin_id: i64,
        org_id: i64,
        granted: bool,
        audit: &AuditRecord,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        let role: Option<(String,)> =
            sqlx::query_as("SELECT role FROM memberships WHERE admin_id = $1 AND org_id = $2")
                .bind(admin_id)
                .bind(org_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(role) = role.and_then(|(r,)| r.parse::<Role>().ok()) else {
            return tx.refuse(Refusal::NotFound("The administrator")).await;
        };
        if granted && !role.allows(Permission::UseApi) {
            return tx.refuse(api_access_not_for(role)).await;
        }
        sqlx::query("UPDATE memberships SET api_access = $1 WHERE admin_id = $2 AND org_id = $3")
            .bind(i64::from(granted))
            .bind(admin_id)
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        if !granted {
            end_api_sessions_of(&mut tx, admin_id, org_id).await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    pub async fn admin_by_username(&self, username: &str) -> Result<Option<AdminRow>, sqlx::Error> {
        sqlx::query_as("SELECT id, username, password_hash FROM admins WHERE username = $1")
            .bind(username)
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

    /// Adds or changes a membership without an audit entry (demo seed,
    /// tests), with the role's default API access.
    pub async fn add_membership(
        &self,
        admin_id: i64,
        org_id: i64,
        role: Role,
    ) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let api_access = role.api_access_by_default();
        upsert_membership(&mut conn, admin_id, org_id, role, api_access).await
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

    /// The admin `id` and all their memberships (by short name), in one
    /// statement: what every signed-in request needs to know who acts
    /// (`auth::actor_for_session`). `None` if there is no such admin; an
    /// empty list if they belong to no organisation.
    pub async fn admin_with_memberships(
        &self,
        id: i64,
    ) -> Result<Option<(AdminRow, Vec<MembershipRow>)>, sqlx::Error> {
        let rows: Vec<AdminMembershipRow> = sqlx::query_as(
            "SELECT a.id, a.username, a.password_hash,
                    o.id AS org_id, o.short_name, o.name, m.role
             FROM admins a
             LEFT JOIN memberships m ON m.admin_id = a.id
             LEFT JOIN organisations o ON o.id = m.org_id
             WHERE a.id = $1 ORDER BY o.short_name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let admin = AdminRow {
            id: first.id,
            username: first.username.clone(),
            password_hash: first.password_hash.clone(),
        };
        let mut memberships = Vec::with_capacity(rows.len());
        for row in rows {
            // The admin's columns repeat on every row; a row without an
            // organisation is the one of an admin with no memberships.
            if let (Some(org_id), Some(short_name), Some(name), Some(role)) =
                (row.org_id, row.short_name, row.name, row.role)
            {
                let role = RoleText::try_from(role).map_err(|e| sqlx::Error::ColumnDecode {
                    index: "role".into(),
                    source: e.into(),
                })?;
                memberships.push(MembershipRow {
                    org_id,
                    short_name,
                    name,
                    role,
                });
            }
        }
        Ok(Some((admin, memberships)))
    }

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

async fn upsert_membership(
    conn: &mut sqlx::AnyConnection,
    admin_id: i64,
    org_id: i64,
    role: Role,
    api_access: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO memberships (admin_id, org_id, role, api_access) VALUES ($1, $2, $3, $4)
         ON CONFLICT (admin_id, org_id) DO UPDATE SET role = excluded.role, api_access = excluded.api_access",
    )
    .bind(admin_id)
    .bind(org_id)
    .bind(role.as_str())
    .bind(i64::from(api_access && role.allows(Permission::UseApi)))
    .execute(conn)
    .await?;
    Ok(())
}

/// The refusal of an API access grant to `role` (docs/ROLES.md).
pub fn api_access_not_for(role: Role) -> Refusal {
    Refusal::Invalid {
        field: "api_access",
        message: format!("A {} cannot be given API access.", role.label()),
        hint: format!("{}s cannot be given API access.", role.label()),
    }
}

/// Ends the admin's consumer-API sessions in the organisation.
async fn end_api_sessions_of(
    conn: &mut sqlx::AnyConnection,
    admin_id: i64,
    org_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM api_sessions WHERE admin_id = $1 AND org_id = $2")
        .bind(admin_id)
        .bind(org_id)
        .execute(conn)
        .await?;
    Ok(())
}
