//! Organisations and their subscriptions.

use super::Store;
use crate::model::Subscription;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub short_name: String,
    pub name: String,
    pub sandbox_token_limit: i64,
    pub sandbox_daily_allowance: i64,
}

/// The two kinds of subscription (PRODUCT.md §3). Stored as TEXT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionKind {
    /// Gates the Sandbox API Token page and the submission API.
    Sandbox,
    /// Gates the API keys and OAuth servers.
    Api,
}

impl SubscriptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::Sandbox => "sandbox",
            SubscriptionKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sandbox" => Some(SubscriptionKind::Sandbox),
            "api" => Some(SubscriptionKind::Api),
            _ => None,
        }
    }
}

const ORG_COLUMNS: &str = "id, short_name, name, sandbox_token_limit, sandbox_daily_allowance";

impl Store {
    pub async fn org_by_short_name(&self, short_name: &str) -> Result<Option<OrgRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations WHERE short_name = ?"
        ))
        .bind(short_name)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn org_by_id(&self, id: i64) -> Result<Option<OrgRow>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT {ORG_COLUMNS} FROM organisations WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
    }

    pub async fn create_org(
        &self,
        short_name: &str,
        name: &str,
        now: i64,
    ) -> Result<i64, sqlx::Error> {
        let row: (i64,) = sqlx::query_as("INSERT INTO organisations (short_name, name, created_at) VALUES (?, ?, ?) RETURNING id")
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
        let row: Option<(String, Option<i64>)> = sqlx::query_as(
            "SELECT status, expires_at FROM subscriptions WHERE org_id = ? AND kind = ?",
        )
        .bind(org_id)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            None => Subscription::None,
            Some((status, expires_at)) => {
                if status == "expired" || expires_at.is_some_and(|t| t <= now) {
                    Subscription::Expired
                } else {
                    Subscription::Active
                }
            }
        })
    }

    /// Sets a subscription; `Subscription::None` removes it.
    pub async fn set_subscription(
        &self,
        org_id: i64,
        kind: SubscriptionKind,
        state: Subscription,
        expires_at: Option<i64>,
    ) -> Result<(), sqlx::Error> {
        let status = match state {
            Subscription::None => {
                sqlx::query("DELETE FROM subscriptions WHERE org_id = ? AND kind = ?")
                    .bind(org_id)
                    .bind(kind.as_str())
                    .execute(&self.pool)
                    .await?;
                return Ok(());
            }
            Subscription::Active => "active",
            Subscription::Expired => "expired",
        };
        sqlx::query(
            "INSERT INTO subscriptions (org_id, kind, status, expires_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (org_id, kind) DO UPDATE SET status = excluded.status, expires_at = excluded.expires_at",
        )
        .bind(org_id)
        .bind(kind.as_str())
        .bind(status)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_token_limit(&self, org_id: i64, limit: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE organisations SET sandbox_token_limit = ? WHERE id = ?")
            .bind(limit)
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_daily_allowance(
        &self,
        org_id: i64,
        allowance: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE organisations SET sandbox_daily_allowance = ? WHERE id = ?")
            .bind(allowance)
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
