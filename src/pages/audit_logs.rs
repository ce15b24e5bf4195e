//! `/administration/audit-logs`: who did what, filterable, paged, exportable
//! (PRODUCT.md §5). The filter is a plain GET form, so it works without
//! WebAssembly and every view has a URL.

use crate::api::audit_log::list_audit_log;
use crate::components::layout::Breadcrumbs;
use crate::model::{AuditFilter, AuditPage, format_timestamp};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

const PATH: &str = "/administration/audit-logs";

#[component]
pub fn AuditLogsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| {
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
        })
    });
    let data = Resource::new(move || filter.get(), list_audit_log);
    view! {
        <Title text="Audit Logs" />
        <Breadcrumbs trail=vec![("Administration", None), ("Audit Logs", None)] />
        <h1>"Audit Logs"</h1>
        <Suspense fallback=|| view! { <p class="loading">"Loading the audit log…"</p> }>
            {move || Suspend::new(async move {
                let filter = filter.get_untracked();
                match data.await {
                    Ok(page) => view! { <AuditView page filter /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AuditView(page: AuditPage, filter: AuditFilter) -> impl IntoView {
    let csv_href = format!("{PATH}/export.csv?{}", filter.query_string(None));
    let pages = page.pages();
    let current = page.page;
    let link = {
        let filter = filter.clone();
        move |p: i64| format!("{PATH}?{}", filter.query_string(Some(p)))
    };
    let (prev, next) = (link(current - 1), link(current + 1));
    view! {
        <FilterForm page=page.clone() filter=filter.clone() />
        <div class="toolbar">
            <p class="hint" role="status">{format!("{} matching entries", page.total)}</p>
            <a class="button" href=csv_href download="keyport-audit-log.csv">"Export CSV"</a>
        </div>
        <div class="table-scroll" tabindex="0" role="region" aria-label="Audit log entries, scrollable">
            <table class="data audit">
                <caption class="visually-hidden">"Audit log entries"</caption>
                <thead>
                    <tr>
                        {["Timestamp", "Action", "Category", "Sub-Category", "Resource", "Admin", "Organisation", "Client IP", "Interface", "Trace ID", "Result"]
                            .into_iter()
                            .map(|h| view! { <th scope="col">{h}</th> })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {page.entries.is_empty().then(|| view! { <tr><td colspan="11" class="empty">"No entries match."</td></tr> })}
                    {page
                        .entries
                        .into_iter()
                        .map(|e| {
                            let result = match (e.result.as_str(), &e.reason) {
                                ("failure", Some(reason)) => format!("Failure: {reason}"),
                                ("failure", None) => "Failure".to_owned(),
                                _ => "Success".to_owned(),
                            };
                            view! {
                                <tr>
                                    <td>{format_timestamp(e.at)}</td>
                                    <td>{e.action}</td>
                                    <td>{e.category}</td>
                                    <td>{e.sub_category}</td>
                                    <td>{e.resource}</td>
                                    <td>{e.admin}</td>
                                    <td>{e.org}</td>
                                    <td>{e.client_ip}</td>
                                    <td>{e.interface}</td>
                                    <td><code>{e.trace_id}</code></td>
                                    <td>{result}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {(current > 1).then(|| view! { <a href=prev rel="prev">"Previous"</a> })}
            <span>{format!("Page {current} of {pages}")}</span>
            {(current < pages).then(|| view! { <a href=next rel="next">"Next"</a> })}
        </nav>
    }
}

#[component]
fn FilterForm(page: AuditPage, filter: AuditFilter) -> impl IntoView {
    let options = |values: Vec<String>, selected: Option<String>| {
        let selected = selected.unwrap_or_default();
        view! {
            <option value="">"All"</option>
            {values
                .into_iter()
                .map(|v| {
                    let is = v == selected;
                    let label = v.clone();
                    view! { <option value=v selected=is>{label}</option> }
                })
                .collect_view()}
        }
    };
    let result = filter.result.clone().unwrap_or_default();
    view! {
        <form method="get" action=PATH class="filters">
            <div>
                <label for="f-admin">"Admin"</label>
                <select id="f-admin" name="admin">{options(page.admins, filter.admin.clone())}</select>
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
                    <option value="success" selected=result == "success">"Success"</option>
                    <option value="failure" selected=result == "failure">"Failure"</option>
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
                <a href=PATH>"Reset"</a>
            </div>
        </form>
    }
}
