//! The audit log (docs/AUDIT.md).

use crate::error::AppError;
use crate::model::{AuditFilter, AuditPage};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{model::Permission, server::audit_log, server::auth::require};

/// `ViewAuditLog`: one page (25 entries, newest first) of the session's
/// organisation's log matching `filter`. The same filter as a query string
/// on `GET /administration/audit-logs/export.csv` downloads every match.
#[server(prefix = "/api", endpoint = "audit-log/list")]
pub async fn list_audit_log(#[server(default)] filter: AuditFilter) -> Result<AuditPage, AppError> {
    let who = require(Permission::ViewAuditLog).await?;
    audit_log::page(&crate::server::app_state()?, &who, filter).await
}
