//! The audit log table. Entries are appended, never updated.

use super::Store;
use crate::model::{AuditAction, AuditResult, Interface, REVEALS_LISTED, RevealEntry, for_audit};
use sqlx::AnyConnection;

/// One audit entry to store. Built by `server::auth::audit_record`, which
/// fills the request's admin, organisation, address, interface and trace
/// id. Action, interface and result are stored as their codes.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct AuditRecord {
    pub at: i64,
    #[sqlx(try_from = "String")]
    pub action: AuditAction,
    pub category: String,
    pub sub_category: String,
    pub resource: String,
    pub admin: String,
    pub org: String,
    pub client_ip: String,
    #[sqlx(try_from = "String")]
    pub interface: Interface,
    pub trace_id: String,
    #[sqlx(try_from = "String")]
    pub result: AuditResult,
    pub reason: Option<String>,
}

// Reading the codes back (`#[sqlx(try_from = "String")]`).
impl TryFrom<String> for AuditAction {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for Interface {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for AuditResult {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// One entry as the log page reads it: the codes as text, so an entry with
/// a code this version does not know still shows (as that code).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
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
    pub result: String,
    pub reason: Option<String>,
}

impl AuditRecord {
    /// Appends the entry on `conn`, so a change and its record commit
    /// together. Every free text is stored as [`for_audit`] makes it (capped,
    /// nothing hidden): some of it comes from people who are not signed in.
    pub(crate) async fn insert(&self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_log (at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(self.at)
        .bind(self.action.code())
        .bind(for_audit(&self.category))
        .bind(for_audit(&self.sub_category))
        .bind(for_audit(&self.resource))
        .bind(for_audit(&self.admin))
        .bind(for_audit(&self.org))
        .bind(for_audit(&self.client_ip))
        .bind(self.interface.code())
        .bind(for_audit(&self.trace_id))
        .bind(self.result.code())
        .bind(self.reason.as_deref().map(for_audit))
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

    /// The newest entries of an organisation, newest first (tests).
    pub async fn recent_audit(
        &self,
        org: &str,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, sqlx::Error> {
        sqlx::query_as(
            "SELECT at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason
             FROM audit_log WHERE org = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(org)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// "Who looked": the newest successful reveals of one credential —
    /// entries of `org` with action Reveal, `sub_category` and `resource`
    /// as the reveal recorded them, from `since` on — newest first, at
    /// most [`REVEALS_LISTED`]: who, when and from where.
    pub async fn reveals(
        &self,
        org: &str,
        sub_category: &str,
        resource: &str,
        since: i64,
    ) -> Result<Vec<RevealEntry>, sqlx::Error> {
        let mut each = self
            .reveals_each(org, sub_category, &[(resource, since)])
            .await?;
        Ok(each.pop().unwrap_or_default())
    }

    /// [`Store::reveals`] of several credentials in one query (a page lists
    /// up to five tokens): for each `(resource, since)` of `wanted`, in its
    /// order, its newest reveals.
    pub async fn reveals_each(
        &self,
        org: &str,
        sub_category: &str,
        wanted: &[(&str, i64)],
    ) -> Result<Vec<Vec<RevealEntry>>, sqlx::Error> {
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<(String, i64)> = wanted
            .iter()
            .map(|&(resource, since)| (for_audit(resource), since))
            .collect();
        // One `(resource = $n AND at >= $n+1)` per credential; numbered
        // after the four fixed parameters.
        let each: Vec<String> = (0..wanted.len())
            .map(|i| format!("(resource = ${} AND at >= ${})", 5 + 2 * i, 6 + 2 * i))
            .collect();
        let sql = format!(
            "SELECT resource, admin, at, client_ip FROM (
                 SELECT resource, admin, at, client_ip, id,
                        ROW_NUMBER() OVER (PARTITION BY resource ORDER BY id DESC) AS newest
                 FROM audit_log
                 WHERE org = $1 AND sub_category = $2 AND action = $3 AND result = $4 AND ({})
             ) AS reveals
             WHERE newest <= ${} ORDER BY id DESC",
            each.join(" OR "),
            5 + 2 * wanted.len()
        );
        let mut query = sqlx::query_as::<_, (String, String, i64, String)>(&sql)
            .bind(for_audit(org))
            .bind(for_audit(sub_category))
            .bind(AuditAction::Reveal.code())
            .bind(AuditResult::Success.code());
        for (resource, since) in &wanted {
            query = query.bind(resource.as_str()).bind(*since);
        }
        let rows = query.bind(REVEALS_LISTED).fetch_all(&self.pool).await?;
        Ok(wanted
            .iter()
            .map(|(resource, since)| {
                rows.iter()
                    .filter(|(r, _, at, _)| r == resource && at >= since)
                    .map(|(_, admin, at, client_ip)| RevealEntry {
                        admin: admin.clone(),
                        at: *at,
                        client_ip: client_ip.clone(),
                    })
                    .collect()
            })
            .collect())
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

const AUDIT_COLUMNS: &str = "at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason";

/// What the audit log is filtered by; times in epoch milliseconds.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub admin: Option<String>,
    pub action: Option<String>,
    /// Matches the category or the sub-category.
    pub category: Option<String>,
    pub result: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Include the entries of no organisation (failed sign-ins with
    /// usernames nobody has): for providers only.
    pub unscoped: bool,
}

/// `FROM audit_log WHERE …` for the filter: one statement whatever is set
/// (an unset filter binds NULL and matches everything), parameters `$1`–`$8`.
const FILTERED: &str = " FROM audit_log WHERE (org = $1 OR (CAST($8 AS BIGINT) = 1 AND org = ''))
    AND (CAST($2 AS TEXT) IS NULL OR admin = $2)
    AND (CAST($3 AS TEXT) IS NULL OR action = $3)
    AND (CAST($4 AS TEXT) IS NULL OR category = $4 OR sub_category = $4)
    AND (CAST($5 AS TEXT) IS NULL OR result = $5)
    AND (CAST($6 AS BIGINT) IS NULL OR at >= $6)
    AND (CAST($7 AS BIGINT) IS NULL OR at <= $7)";

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

impl Store {
    /// One page of an organisation's entries matching `filter`, newest
    /// first, and how many match in all.
    pub async fn audit_page(
        &self,
        org: &str,
        filter: &AuditQuery,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AuditRow>, i64), sqlx::Error> {
        let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*){FILTERED}"))
            .bind(org)
            .bind(non_empty(&filter.admin))
            .bind(non_empty(&filter.action))
            .bind(non_empty(&filter.category))
            .bind(non_empty(&filter.result))
            .bind(filter.from)
            .bind(filter.to)
            .bind(i64::from(filter.unscoped))
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query_as(&format!(
            "SELECT {AUDIT_COLUMNS}{FILTERED} ORDER BY id DESC LIMIT $9 OFFSET $10"
        ))
        .bind(org)
        .bind(non_empty(&filter.admin))
        .bind(non_empty(&filter.action))
        .bind(non_empty(&filter.category))
        .bind(non_empty(&filter.result))
        .bind(filter.from)
        .bind(filter.to)
        .bind(i64::from(filter.unscoped))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok((rows, total))
    }

    /// Distinct values of a column in an organisation's log (filter menus).
    pub async fn audit_values(
        &self,
        org: &str,
        column: AuditColumn,
        unscoped: bool,
    ) -> Result<Vec<String>, sqlx::Error> {
        let sql = format!(
            "SELECT DISTINCT {} FROM audit_log WHERE org = $1 OR (CAST($2 AS BIGINT) = 1 AND org = '') ORDER BY 1",
            column.name()
        );
        let rows: Vec<(String,)> = sqlx::query_as(&sql)
            .bind(org)
            .bind(i64::from(unscoped))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| r.0)
            .filter(|v| !v.is_empty())
            .collect())
    }
}

/// The columns whose values fill the filter menus.
#[derive(Clone, Copy, Debug)]
pub enum AuditColumn {
    Admin,
    Action,
    SubCategory,
}

impl AuditColumn {
    fn name(self) -> &'static str {
        match self {
            AuditColumn::Admin => "admin",
            AuditColumn::Action => "action",
            AuditColumn::SubCategory => "sub_category",
        }
    }
}
