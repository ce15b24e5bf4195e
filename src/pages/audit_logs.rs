//! `/administration/audit-logs`: who did what, filterable, paged, exportable
//! (docs/AUDIT.md#reading-the-log). The filter is a plain GET form, so it works without
//! WebAssembly and every view has a URL.

use crate::api::audit_log::list_audit_log;
use crate::components::data_table::{CellFn, DataTable, LoadedLayout, SortKey};
use crate::components::layout::{Breadcrumbs, with_viewer};
use crate::components::local_time::LocalTime;
use crate::model::{AuditEntry, AuditFilter, AuditPage, Permission};
use crate::pages::not_permitted::NotPermitted;
use crate::paths::{AUDIT_CSV_EXPORT, AUDIT_LOGS, TableKey};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::sync::Arc;

#[component]
pub fn AuditLogsPage() -> impl IntoView {
    // Read once: a new filter or page is a new request (a GET form, links).
    let filter = use_query_map().with_untracked(|q| {
        let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
        AuditFilter {
            admin: get("admin"),
            action: get("action"),
            category: get("category"),
            result: get("result"),
            from: get("from"),
            to: get("to"),
            page: get("page").and_then(|p| p.parse().ok()),
        }
    });
    // A role without the log (Cloud Connector Admin) gets the
    // not-permitted page (403); the server function refuses it all the same.
    with_viewer(move |viewer| {
        if viewer.can(Permission::ViewAuditLog) {
            view! {
                <Title text="Audit Logs" />
                <Breadcrumbs trail=vec![("Administration", None), ("Audit Logs", None)] />
                <h1>"Audit Logs"</h1>
                <AuditLog filter=filter.clone() />
            }
            .into_any()
        } else {
            view! { <NotPermitted what="The audit log" who="Super Admins, API Admins, Read-Only Admins and the service provider" /> }
                .into_any()
        }
    })
}

/// The entries of this filter and page, drawn on the server, in the table
/// whose columns and sort the admin chooses (its menu, its sort buttons
/// and the times are the page's only islands).
#[component]
fn AuditLog(filter: AuditFilter) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
            {Suspend::new(async move {
                let layout = LoadedLayout::load(TableKey::AuditLog).await;
                match list_audit_log(filter.clone()).await {
                    Ok(page) => view! { <AuditView page layout filter /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AuditView(page: AuditPage, layout: LoadedLayout, filter: AuditFilter) -> impl IntoView {
    let csv_href = format!("{AUDIT_CSV_EXPORT}?{}", filter.query_string(None));
    let pages = page.pages();
    let current = page.page;
    let link = {
        let filter = filter.clone();
        move |p: i64| format!("{AUDIT_LOGS}?{}", filter.query_string(Some(p)))
    };
    let (prev, next) = (link(current - 1), link(current + 1));
    view! {
        <FilterForm page=page.clone() filter=filter.clone() />
        <div class="toolbar">
            <p class="hint" role="status">{format!("{} matching entries", page.total)}</p>
            <a class="button" href=csv_href download="keyport-audit-log.csv">"Export CSV"</a>
        </div>
        <DataTable
            layout
            caption="Audit log entries".to_owned()
            rows=page.entries
            cell=audit_cell()
            sort_key=audit_sort
            row_header=""
            empty="No entries match."
        />
        <nav class="pager" aria-label="Pages">
            {(current > 1).then(|| view! { <a href=prev rel="prev">"Previous"</a> })}
            <span>{format!("Page {current} of {pages}")}</span>
            {(current < pages).then(|| view! { <a href=next rel="next">"Next"</a> })}
        </nav>
    }
}

fn audit_cell() -> CellFn<AuditEntry> {
    Arc::new(|column, e| {
        let e = e.clone();
        match column {
            "at" => view! { <LocalTime at=e.at /> }.into_any(),
            "action" => e.action_label().to_owned().into_any(),
            "category" => e.category.into_any(),
            "sub_category" => e.sub_category_label().to_owned().into_any(),
            "resource" => e.resource.into_any(),
            "admin" => e.admin.into_any(),
            "org" => e.org.into_any(),
            "client_ip" => e.client_ip.into_any(),
            "interface" => e.interface_label().to_owned().into_any(),
            "trace_id" => view! { <code>{e.trace_id}</code> }.into_any(),
            "result" => e.result_label().into_any(),
            _ => ().into_any(),
        }
    })
}

/// Sorts the entries of the page shown (the server sends newest first).
fn audit_sort(column: &'static str, e: &AuditEntry) -> SortKey {
    let text = |s: &str| SortKey::Text(s.to_lowercase());
    match column {
        "at" => SortKey::Number(e.at),
        "action" => text(e.action_label()),
        "category" => text(&e.category),
        "sub_category" => text(e.sub_category_label()),
        "resource" => text(&e.resource),
        "admin" => text(&e.admin),
        "org" => text(&e.org),
        "client_ip" => text(&e.client_ip),
        "interface" => text(e.interface_label()),
        "trace_id" => text(&e.trace_id),
        _ => text(&e.result_label()),
    }
}

#[component]
fn FilterForm(page: AuditPage, filter: AuditFilter) -> impl IntoView {
    // `(value, label)` pairs; admins are their own labels.
    let options = |values: Vec<(String, String)>, selected: Option<String>| {
        let selected = selected.unwrap_or_default();
        view! {
            <option value="">"All"</option>
            {values
                .into_iter()
                .map(|(v, label)| {
                    let is = v == selected;
                    view! { <option value=v selected=is>{label}</option> }
                })
                .collect_view()}
        }
    };
    let as_is = |values: Vec<String>| values.into_iter().map(|v| (v.clone(), v)).collect();
    let result = filter.result.clone().unwrap_or_default();
    view! {
        <form method="get" action=AUDIT_LOGS class="filters">
            <div>
                <label for="f-admin">"Admin"</label>
                <select id="f-admin" name="admin">{options(as_is(page.admins), filter.admin.clone())}</select>
            </div>
            <div>
                <label for="f-action">"Action"</label>
                <select id="f-action" name="action">{options(page.actions, filter.action.clone())}</select>
            </div>
            <div>
                <label for="f-category">"Category"</label>
                <select id="f-category" name="category">{options(page.categories, filter.category.clone())}</select>
            </div>
            <div>
                <label for="f-result">"Result"</label>
                <select id="f-result" name="result">
                    <option value="">"All"</option>
                    {crate::model::AuditResult::ALL
                        .map(|r| view! { <option value=r.code() selected=result == r.code()>{r.label()}</option> })
                        .collect_view()}
                </select>
            </div>
            <div>
                <label for="f-from">"From (UTC)"</label>
                <input id="f-from" name="from" type="datetime-local" value=filter.from.clone().unwrap_or_default() />
            </div>
            <div>
                <label for="f-to">"To (UTC)"</label>
                <input id="f-to" name="to" type="datetime-local" value=filter.to.clone().unwrap_or_default() />
            </div>
            <div class="filter-actions">
                <button type="submit" class="primary">"Apply"</button>
                <a href=AUDIT_LOGS>"Reset"</a>
            </div>
        </form>
    }
}
