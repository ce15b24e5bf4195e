//! Admin accounts and their memberships.

use super::{AuditRecord, Flag, Lock, Refusal, Ruled, Store};
use crate::model::{Permission, Role};

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
    /// empty list if they belong to no organisation. Concurrent requests of
    /// one admin share the read (`flight.rs`).
    pub async fn admin_with_memberships(
        &self,
        id: i64,
    ) -> Result<Option<(AdminRow, Vec<MembershipRow>)>, sqlx::Error> {
        let (loaded, _) = self
            .flights
            .admins
            .run(id, |_| self.read_admin_with_memberships(id))
            .await?;
        Ok(loaded)
    }

    async fn read_admin_with_memberships(
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
