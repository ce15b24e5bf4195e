//! Reading the audit log: a page of entries, and the CSV export of every
//! entry that matches (docs/AUDIT.md#reading-the-log). Only the session's organisation, and
//! for providers also the entries of no organisation.

use super::auth::Actor;
use super::state::AppState;
use super::store::{AuditColumn, AuditRow};
use crate::error::AppError;
use crate::model::{
    AuditAction, AuditEntry, AuditFilter, AuditPage, CSV_HEADER, Permission, Role, format_timestamp,
};

pub const PAGE_SIZE: i64 = 25;
/// The most rows one export holds.
pub const CSV_MAX_ROWS: i64 = 50_000;

/// Internal form of a filter: times parsed to epoch milliseconds.
struct Parsed {
    filter: AuditFilter,
    from: Option<i64>,
    to: Option<i64>,
}

pub async fn page(
    state: &AppState,
    actor: &Actor,
    filter: AuditFilter,
) -> Result<AuditPage, AppError> {
    actor.ensure(Permission::ViewAuditLog)?;
    let parsed = parse(filter)?;
    let page = parsed.filter.page.unwrap_or(1).max(1);
    let store_filter = store_filter(&parsed, actor);
    let org = &actor.org.short_name;
    let (rows, total) = state
        .store
        .audit_page(org, &store_filter, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await?;
    Ok(AuditPage {
        entries: rows.into_iter().map(entry).collect(),
        total,
        page,
        page_size: PAGE_SIZE,
        admins: state
            .store
            .audit_values(org, AuditColumn::Admin, sees_unscoped(actor))
            .await?,
        actions: state
            .store
            .audit_values(org, AuditColumn::Action, sees_unscoped(actor))
            .await?
            .into_iter()
            .map(|code| {
                let label = AuditAction::label_of(&code).to_owned();
                (code, label)
            })
            .collect(),
        categories: category_choices(
            state
                .store
                .audit_values(org, AuditColumn::SubCategory, sees_unscoped(actor))
                .await?,
        ),
    })
}

/// The category menu: each stored sub-category with its label, one entry
/// per label (an older refusal's `ManageSandboxTokens` and today's
/// "Sandbox API Token" are one choice).
fn category_choices(stored: Vec<String>) -> Vec<(String, String)> {
    let mut choices: Vec<(String, String)> = Vec::new();
    for value in stored {
        let label = crate::model::sub_category_label(&value).to_owned();
        if !choices.iter().any(|(_, l)| *l == label) {
            choices.push((value, label));
        }
    }
    choices
}

/// Every matching entry as CSV (spreadsheet-safe: cells that a spreadsheet
/// would run as a formula are prefixed with `'`).
pub async fn csv(state: &AppState, actor: &Actor, filter: AuditFilter) -> Result<String, AppError> {
    actor.ensure(Permission::ViewAuditLog)?;
    let parsed = parse(filter)?;
    let (rows, _) = state
        .store
        .audit_page(
            &actor.org.short_name,
            &store_filter(&parsed, actor),
            CSV_MAX_ROWS,
            0,
        )
        .await?;
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for r in rows.into_iter().map(entry) {
        let sub_category = r.sub_category_label().to_owned();
        let sub = if sub_category.is_empty() {
            r.category.clone()
        } else {
            format!("{} / {sub_category}", r.category)
        };
        let (action, interface, result) = (
            r.action_label().to_owned(),
            r.interface_label().to_owned(),
            r.result_label(),
        );
        let cells = [
            format_timestamp(r.at),
            action,
            sub.clone(),
            sub_category,
            r.resource,
            r.admin,
            r.org,
            r.client_ip,
            interface,
            r.trace_id,
            result,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    Ok(out)
}

fn parse(mut filter: AuditFilter) -> Result<Parsed, AppError> {
    for (field, value) in [
        ("admin", &filter.admin),
        ("action", &filter.action),
        ("category", &filter.category),
        ("result", &filter.result),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().count() > 256 || v.chars().any(char::is_control))
        {
            return Err(AppError::invalid(field, "Choose a value from the list."));
        }
    }
    // Links saved before actions were stored as codes name the label.
    if let Some(action) = filter.action.as_mut()
        && let Some(known) = AuditAction::ALL.into_iter().find(|a| a.label() == action)
    {
        *action = known.code().to_owned();
    }
    let from = parse_time("from", filter.from.as_deref())?;
    let to = parse_time("to", filter.to.as_deref())?.map(|t| t + 59_999);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(AppError::invalid(
            "to",
            "The end of the time range must be after its start.",
        ));
    }
    Ok(Parsed { filter, from, to })
}

/// `YYYY-MM-DDTHH:MM` (UTC) to epoch milliseconds.
fn parse_time(field: &str, value: Option<&str>) -> Result<Option<i64>, AppError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    time::PrimitiveDateTime::parse(value, &format)
        .map(|t| Some((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64))
        .map_err(|_| AppError::invalid(field, "Use a date and time like 2026-11-22T09:30 (UTC)."))
}

/// Providers also see the entries of no organisation: failed sign-ins
/// with usernames nobody has.
fn sees_unscoped(actor: &Actor) -> bool {
    actor.role == Role::Provider
}

fn store_filter(p: &Parsed, actor: &Actor) -> super::store::AuditQuery {
    super::store::AuditQuery {
        unscoped: sees_unscoped(actor),
        admin: p.filter.admin.clone(),
        action: p.filter.action.clone(),
        category: p.filter.category.clone(),
        result: p.filter.result.clone(),
        from: p.from,
        to: p.to,
    }
}

fn entry(r: AuditRow) -> AuditEntry {
    AuditEntry {
        at: r.at,
        action: r.action,
        category: r.category,
        sub_category: r.sub_category,
        resource: r.resource,
        admin: r.admin,
        org: r.org,
        client_ip: r.client_ip,
        interface: r.interface,
        trace_id: r.trace_id,
        result: r.result,
        reason: r.reason,
    }
}

fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn times_parse_as_utc_minutes() {
        assert_eq!(
            parse_time("from", Some("1970-01-01T00:01")).unwrap(),
            Some(60_000)
        );
        assert!(parse_time("from", Some("yesterday")).is_err());
        assert_eq!(parse_time("from", Some("")).unwrap(), None);
    }
}
