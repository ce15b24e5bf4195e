//! Organisations and their subscriptions.

use super::Store;
use super::{AuditRecord, Flag, Lock};
pub use crate::model::SubscriptionKind;
use crate::model::{Role, Subscription, SubscriptionInfo};
use sqlx::AnyConnection;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub short_name: String,
    pub name: String,
    pub sandbox_token_limit: i64,
    pub sandbox_daily_allowance: i64,
    #[sqlx(try_from = "i64")]
    pub connector_self_manage: Flag,
}

/// A provider change to an organisation, applied together with its audit entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgChange {
    /// `Subscription::None` removes the subscription.
    Subscription {
        kind: SubscriptionKind,
        state: Subscription,
        expires_at: Option<i64>,
    },
    TokenLimit(i64),
    DailyAllowance(i64),
    ConnectorSelfManage(bool),
}

const ORG_COLUMNS: &str = "id, short_name, name, sandbox_token_limit, sandbox_daily_allowance, super_admins_manage_connector_key AS connector_self_manage";

impl Store {
    /// The organisation's version: bumped by every change to what its
    /// pages show (`page_cache`); `None` for an organisation not there.
    /// Concurrent views of one organisation share the read (`flight.rs`).
    pub async fn page_version(&self, org_id: i64) -> Result<Option<i64>, sqlx::Error> {
        let (version, _) = self
            .flights
            .versions
            .run(org_id, |_| async {
                let row: Option<(i64,)> =
                    sqlx::query_as("SELECT version FROM org_versions WHERE org_id = $1")
                        .bind(org_id)
                        .fetch_optional(&self.read)
                        .await?;
                Ok::<_, sqlx::Error>(row.map(|(v,)| v))
            })
            .await?;
        Ok(version)
    }

    /// The organisation named `short_name` in URLs. A name that no
    /// organisation can have (see `validate_short_name`) is not looked up:
    /// it comes straight from the request path, and PostgreSQL refuses
    /// some bytes (NUL) outright.
    pub async fn org_by_short_name(&self, short_name: &str) -> Result<Option<OrgRow>, sqlx::Error> {
        if crate::model::validate_short_name(short_name).is_err() {
            return Ok(None);
        }
        sqlx::query_as(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations WHERE short_name = $1"
        ))
        .bind(short_name)
        .fetch_optional(&self.read)
        .await
    }

    pub async fn org_by_id(&self, id: i64) -> Result<Option<OrgRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await
    }

    pub async fn create_org(
        &self,
        short_name: &str,
        name: &str,
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        let row: (i64,) = sqlx::query_as("INSERT INTO organisations (short_name, name, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(short_name)
            .bind(name)
            .bind(now)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.0)
    }

    pub async fn count_orgs(&self) -> Result<i64, sqlx::Error> {
        let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM organisations")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.0)
    }

    /// The effective state of a subscription at `now`: an active one whose
    /// expiry date has passed counts as expired.
    pub async fn subscription(
        &self,
        org_id: i64,
        kind: SubscriptionKind,
        now: i64,
    ) -> Result<Subscription, sqlx::Error> {
        let mut conn = self.read.acquire().await?;
        subscription_in(&mut conn, org_id, kind, now).await
    }

    /// Sets a subscription; `Subscription::None` removes it (demo seed, tests).
    pub async fn set_subscription(
        &self,
        org_id: i64,
        kind: SubscriptionKind,
        state: Subscription,
        expires_at: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        let change = OrgChange::Subscription {
            kind,
            state,
            expires_at,
        };
        self.set_org(org_id, change).await
    }

    /// A change without an audit entry: the demo seed and tests. Provider
    /// operations go through [`Store::change_org`].
    pub async fn set_org(&self, org_id: i64, change: OrgChange) -> Result<(), sqlx::Error> {
        apply(&mut *self.pool.acquire().await?, org_id, change).await
    }

    /// A provider change and its audit entry, in one transaction.
    pub async fn change_org(
        &self,
        org_id: i64,
        change: OrgChange,
        audit: &AuditRecord,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        apply(&mut tx, org_id, change).await?;
        tx.commit().await
    }

    /// Every organisation, by short name (the CLI's provider).
    pub async fn all_orgs(&self) -> Result<Vec<OrgRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations ORDER BY short_name"
        ))
        .fetch_all(&self.pool)
        .await
    }

    /// The organisations in which `admin_id` has `role`, by short name.
    pub async fn orgs_with_role(
        &self,
        admin_id: i64,
        role: Role,
    ) -> Result<Vec<OrgRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations WHERE id IN
               (SELECT org_id FROM memberships WHERE admin_id = $1 AND role = $2)
             ORDER BY short_name"
        ))
        .bind(admin_id)
        .bind(role.as_str())
        .fetch_all(&self.pool)
        .await
    }

    /// A subscription as set, with its effective state at `now`.
    pub async fn subscription_info(
        &self,
        org_id: i64,
        kind: SubscriptionKind,
        now: i64,
    ) -> Result<SubscriptionInfo, sqlx::Error> {
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT status, expires_at FROM subscriptions WHERE org_id = $1 AND kind = $2",
        )
        .bind(org_id)
        .bind(kind.as_str())
        .fetch_optional(&self.read)
        .await?;
        Ok(match row {
            None => SubscriptionInfo {
                state: Subscription::None,
                expires_at: None,
            },
            Some((status, expires_at)) => SubscriptionInfo {
                state: effective(&status, expires_at, now),
                expires_at,
            },
        })
    }

    /// Creates an organisation (and, for a provider acting in the console,
    /// makes them its Provider) with the audit entry. `None` if the short
    /// name is taken.
    pub async fn create_org_audited(
        &self,
        short_name: &str,
        name: &str,
        provider: Option<i64>,
        audit: &AuditRecord,
    ) -> Result<Option<i64>, sqlx::Error> {
        let mut tx = self.write(Lock::Key("create-organisation"), audit).await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO organisations (short_name, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (short_name) DO NOTHING RETURNING id",
        )
        .bind(short_name)
        .bind(name)
        .bind(audit.at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id,)) = row else {
            return Ok(None);
        };
        if let Some(admin_id) = provider {
            sqlx::query("INSERT INTO memberships (admin_id, org_id, role) VALUES ($1, $2, $3)")
                .bind(admin_id)
                .bind(id)
                .bind(Role::Provider.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }
}

/// A subscription's effective state, read on `conn` (a write's transaction
/// reads it there, see `write.rs`).
pub(super) async fn subscription_in(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    kind: SubscriptionKind,
    now: i64,
) -> Result<Subscription, sqlx::Error> {
    let row: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT status, expires_at FROM subscriptions WHERE org_id = $1 AND kind = $2",
    )
    .bind(org_id)
    .bind(kind.as_str())
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => Subscription::None,
        Some((status, expires_at)) => effective(&status, expires_at, now),
    })
}

/// Active, unless marked expired or past its end date at `now`.
pub(super) fn effective(status: &str, expires_at: Option<i64>, now: i64) -> Subscription {
    if let Some(end) = expires_at.filter(|&end| end > now) {
        crate::server::page_cache::changes_at(end);
    }
    if status == "expired" || expires_at.is_some_and(|t| t <= now) {
        Subscription::Expired
    } else {
        Subscription::Active
    }
}

/// Applies a provider change on `conn` (the caller's transaction).
pub(super) async fn apply(
    conn: &mut AnyConnection,
    org_id: i64,
    change: OrgChange,
) -> Result<(), sqlx::Error> {
    match change {
        OrgChange::Subscription {
            kind,
            state,
            expires_at,
        } => set_subscription(conn, org_id, kind, state, expires_at).await?,
        OrgChange::TokenLimit(limit) => {
            sqlx::query("UPDATE organisations SET sandbox_token_limit = $1 WHERE id = $2")
                .bind(limit)
                .bind(org_id)
                .execute(conn)
                .await?;
        }
        OrgChange::DailyAllowance(allowance) => {
            sqlx::query("UPDATE organisations SET sandbox_daily_allowance = $1 WHERE id = $2")
                .bind(allowance)
                .bind(org_id)
                .execute(conn)
                .await?;
        }
        OrgChange::ConnectorSelfManage(allowed) => {
            sqlx::query(
                "UPDATE organisations SET super_admins_manage_connector_key = $1 WHERE id = $2",
            )
            .bind(i64::from(allowed))
            .bind(org_id)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Sets a subscription: none deletes its row; active or expired upserts it.
async fn set_subscription(
    conn: &mut AnyConnection,
    org_id: i64,
    kind: SubscriptionKind,
    state: Subscription,
    expires_at: Option<i64>,
) -> Result<(), sqlx::Error> {
    if state == Subscription::None {
        sqlx::query("DELETE FROM subscriptions WHERE org_id = $1 AND kind = $2")
            .bind(org_id)
            .bind(kind.as_str())
            .execute(conn)
            .await?;
        return Ok(());
    }
    let status = if state == Subscription::Active {
        "active"
    } else {
        "expired"
    };
    sqlx::query(
        "INSERT INTO subscriptions (org_id, kind, status, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (org_id, kind) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at",
    )
    .bind(org_id)
    .bind(kind.as_str())
    .bind(status)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}
