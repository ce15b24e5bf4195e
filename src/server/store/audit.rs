//! The audit log table. Entries are appended, never updated.

use super::Store;
use sqlx::SqliteConnection;

/// One audit entry as stored. Built by `server::audit`, which fills the
/// request's admin, organisation, address, interface and trace id.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct AuditRecord {
    pub at: i64,
    pub action: String,
    pub category: String,
    pub sub_category: String,
    pub resource: String,
    pub admin: String,
    pub org: String,
    pub client_ip: String,
    pub interface: String,
    pub trace_id: String,
    /// `success` or `failure`.
    pub result: String,
    pub reason: Option<String>,
}

impl AuditRecord {
    /// Appends the entry on `conn`, so a change and its record commit together.
    pub(crate) async fn insert(&self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(self.at)
        .bind(&self.action)
        .bind(&self.category)
        .bind(&self.sub_category)
        .bind(&self.resource)
        .bind(&self.admin)
        .bind(&self.org)
        .bind(&self.client_ip)
        .bind(&self.interface)
        .bind(&self.trace_id)
        .bind(&self.result)
        .bind(&self.reason)
        .execute(conn)
        .await?;
        Ok(())
    }
}

impl Store {
    /// Appends an entry that goes with no other change (sign-ins, reveals, refusals).
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<(), sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        record.insert(&mut conn).await
    }

    /// The newest entries of an organisation, newest first (tests and, later, the log page).
    pub async fn recent_audit(
        &self,
        org: &str,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason
             FROM audit_log WHERE org = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(org)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Every entry (tests: nothing secret may appear in any of them).
    pub async fn all_audit(&self) -> Result<Vec<AuditRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason
             FROM audit_log ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
    }
}
