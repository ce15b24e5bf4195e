//! The table every page uses (docs/PAGES.md#tables): a Columns menu to show or
//! hide optional columns and move columns up or down, sorting by header,
//! and Reset. The layout is saved per admin per table on the server.
//!
//! The server draws the table, with the admin's saved layout: its columns
//! in order, its rows sorted. In the browser only the controls are islands,
//! the Columns menu ([`ColumnsMenu`]) and each header's sort button
//! ([`SortButton`]). A change is saved, then the server draws the table
//! again ([`super::refresh`]); the table is a refresh region
//! (`data-refresh`, [`super::refresh::REGION`]).

use crate::api::tables::get_table_layout;
use crate::model::{ColumnSpec, TableLayout};
use crate::paths::TableKey;
use leptos::prelude::*;
use std::sync::Arc;

/// Renders one cell: the column key and the row.
pub type CellFn<T> = Arc<dyn Fn(&'static str, &T) -> AnyView + Send + Sync>;
/// Renders the row's action buttons.
pub type ActionsFn<T> = Arc<dyn Fn(&T) -> AnyView + Send + Sync>;

/// What a column sorts by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Number(i64),
    Text(String),
}

/// A table's saved layout, read on the server with the page's data.
#[derive(Clone)]
pub struct LoadedLayout {
    table: TableKey,
    layout: TableLayout,
}

impl LoadedLayout {
    /// The admin's layout of `table`: the saved one, or the default if it
    /// cannot be read.
    pub async fn load(table: TableKey) -> Self {
        let layout = get_table_layout(table.as_str().to_owned())
            .await
            .unwrap_or_default();
        LoadedLayout { table, layout }
    }
}

#[component]
pub fn DataTable<T>(
    /// The saved layout, which also names the table (and so its columns,
    /// [`TableKey::columns`]).
    layout: LoadedLayout,
    caption: String,
    rows: Vec<T>,
    cell: CellFn<T>,
    sort_key: fn(&'static str, &T) -> SortKey,
    /// The column drawn as the row's header cell.
    row_header: &'static str,
    #[prop(default = None)] actions: Option<ActionsFn<T>>,
    empty: &'static str,
) -> impl IntoView
where
    T: Send + Sync + 'static,
{
    let LoadedLayout { table, layout } = layout;
    let specs = table.columns();
    let visible: Vec<ColumnSpec> = layout
        .resolve(specs)
        .into_iter()
        .filter(|(_, shown)| *shown)
        .map(|(s, _)| s)
        .collect();
    let mut rows = rows;
    if let Some((key, ascending)) = &layout.sort
        && let Some(spec) = specs.iter().find(|s| s.key == key)
    {
        rows.sort_by_cached_key(|r| sort_key(spec.key, r));
        if !ascending {
            rows.reverse();
        }
    }
    let has_actions = actions.is_some();
    let colspan = (visible.len() + usize::from(has_actions)).to_string();
    let headers = visible
        .iter()
        .map(|spec| {
            let aria = match layout.sort.as_ref().filter(|(k, _)| k == spec.key) {
                Some((_, true)) => "ascending",
                Some((_, false)) => "descending",
                None => "none",
            };
            view! {
                <th scope="col" aria-sort=aria>
                    <SortButton table column=spec.key.to_owned() layout=layout.clone() />
                </th>
            }
        })
        .collect_view();
    let body = rows
        .iter()
        .map(|row| {
            let cells = visible
                .iter()
                .map(|spec| {
                    let content = cell(spec.key, row);
                    if spec.key == row_header {
                        view! { <th scope="row">{content}</th> }.into_any()
                    } else {
                        view! { <td>{content}</td> }.into_any()
                    }
                })
                .collect_view();
            let acts = actions
                .as_ref()
                .map(|a| view! { <td class="row-actions">{a(row)}</td> });
            view! { <tr>{cells}{acts}</tr> }
        })
        .collect_view();
    view! {
        <div class="table-tools">
            <ColumnsMenu table layout />
        </div>
        // Wide tables scroll sideways; the region is focusable so keyboard
        // users can scroll it too.
        <div
            class="table-scroll"
            id=format!("table-{}", table.as_str())
            data-refresh=""
            tabindex="0"
            role="region"
            aria-label=format!("{caption} (scrollable)")
        >
            <table class="data">
                <caption class="visually-hidden">{caption.clone()}</caption>
                <thead>
                    <tr>
                        {headers}
                        {has_actions.then(|| view! { <th scope="col" class="row-actions"><span class="visually-hidden">"Actions"</span></th> })}
                    </tr>
                </thead>
                <tbody>
                    {rows.is_empty().then(|| view! { <tr><td colspan=colspan class="empty">{empty}</td></tr> })}
                    {body}
                </tbody>
            </table>
        </div>
    }
}

/// The layout on screen, shared by the table's islands: the Columns menu
/// and every sort button show it, and a change by one is seen by the
/// others before the server has drawn the table again.
fn shown_layout(table: TableKey, initial: TableLayout) -> ArcRwSignal<TableLayout> {
    #[cfg(feature = "hydrate")]
    {
        thread_local! {
            static SHOWN: std::cell::RefCell<std::collections::HashMap<TableKey, ArcRwSignal<TableLayout>>> =
                Default::default();
        }
        SHOWN.with(|shown| {
            shown
                .borrow_mut()
                .entry(table)
                .or_insert_with(|| ArcRwSignal::new(initial))
                .clone()
        })
    }
    // On the server each render has its own.
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = table;
        ArcRwSignal::new(initial)
    }
}

/// Applies `f` to the full layout, shows it and saves it.
fn change(table: TableKey, shown: &ArcRwSignal<TableLayout>, f: impl FnOnce(&mut TableLayout)) {
    let mut next = shown.get_untracked().explicit(table.columns());
    f(&mut next);
    shown.set(next.clone());
    save(table, Some(next));
}

/// Back to the default layout (the saved one is deleted).
fn reset(table: TableKey, shown: &ArcRwSignal<TableLayout>) {
    shown.set(TableLayout::default());
    save(table, None);
}

/// Saves a table's layout, then has the server draw the page again. Saves
/// go one at a time, in order, and only the latest layout waiting is sent:
/// two quick clicks on a header end as the second one says.
fn save(table: TableKey, layout: Option<TableLayout>) {
    #[cfg(feature = "hydrate")]
    {
        use super::{refresh::refresh_page, toast::use_toaster};
        use crate::api::tables::save_table_layout;
        use std::cell::{Cell, RefCell};
        thread_local! {
            static WAITING: RefCell<Vec<(TableKey, Option<TableLayout>)>> = const { RefCell::new(Vec::new()) };
            static SAVING: Cell<bool> = const { Cell::new(false) };
        }
        WAITING.with(|w| {
            let mut w = w.borrow_mut();
            w.retain(|(t, _)| *t != table);
            w.push((table, layout));
        });
        if SAVING.with(|s| s.replace(true)) {
            return;
        }
        let toaster = use_toaster();
        leptos::task::spawn_local(async move {
            while let Some((table, layout)) = WAITING.with(|w| w.borrow_mut().pop()) {
                if let Err(e) = save_table_layout(table.as_str().to_owned(), layout).await {
                    toaster.error(e.to_string());
                }
            }
            SAVING.with(|s| s.set(false));
            refresh_page().await;
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (table, layout);
}

/// A column header's button: sorts by the column, ascending first.
#[island]
fn SortButton(table: TableKey, column: String, layout: TableLayout) -> impl IntoView {
    let Some(spec) = table.columns().iter().find(|s| s.key == column).copied() else {
        return ().into_any();
    };
    let shown = shown_layout(table, layout);
    let sorted = {
        let shown = shown.clone();
        move || {
            shown.with(|l| {
                l.sort
                    .as_ref()
                    .filter(|(k, _)| k == spec.key)
                    .map(|(_, asc)| *asc)
            })
        }
    };
    let arrow = sorted.clone();
    view! {
        <button type="button" class="sort" on:click=move |_| {
            let ascending = sorted() != Some(true);
            change(table, &shown, |l| l.sort = Some((spec.key.to_owned(), ascending)));
        }>
            {spec.label}
            <span aria-hidden="true">{move || match arrow() { Some(true) => " ▲", Some(false) => " ▼", None => "" }}</span>
        </button>
    }
    .into_any()
}

/// The Columns menu: show or hide, move up or down, Reset.
#[island]
fn ColumnsMenu(table: TableKey, layout: TableLayout) -> impl IntoView {
    let shown = shown_layout(table, layout);
    let menu_open = RwSignal::new(false);
    let reset_to = shown.clone();
    view! {
        // The menu's controls exist only while it is open, so their
        // labels (the column names) do not shadow the page's own fields.
        <details class="columns-menu">
            <summary on:click=move |_| menu_open.update(|o| *o = !*o)>"Columns"</summary>
            {move || menu_open.get().then(|| {
                let shown = shown.clone();
                let reset_to = reset_to.clone();
                view! {
                    <div class="columns-panel">
                        <ul>{move || column_choices(table, shown.clone())}</ul>
                        <button type="button" on:click=move |_| reset(table, &reset_to)>"Reset"</button>
                    </div>
                }
            })}
        </details>
    }
}

fn column_choices(table: TableKey, shown: ArcRwSignal<TableLayout>) -> impl IntoView {
    let columns = shown.get().resolve(table.columns());
    let last = columns.len().saturating_sub(1);
    columns
        .into_iter()
        .enumerate()
        .map(|(i, (spec, on))| {
            let id = format!("col-{}-{}", table.as_str(), spec.key);
            let (check, up, down) = (shown.clone(), shown.clone(), shown.clone());
            view! {
                <li>
                    <input
                        type="checkbox"
                        id=id.clone()
                        prop:checked=on
                        disabled=!spec.optional
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            change(table, &check, |l| {
                                if let Some(c) = l.columns.iter_mut().find(|c| c.0 == spec.key) {
                                    c.1 = on;
                                }
                            });
                        }
                    />
                    <label for=id>{spec.label}</label>
                    <button type="button" class="small" aria-label=format!("Move {} up", spec.label) disabled=i == 0
                        on:click=move |_| change(table, &up, |l| { if i > 0 { l.columns.swap(i, i - 1); } })>"↑"</button>
                    <button type="button" class="small" aria-label=format!("Move {} down", spec.label) disabled=i == last
                        on:click=move |_| change(table, &down, |l| { if i + 1 < l.columns.len() { l.columns.swap(i, i + 1); } })>"↓"</button>
                </li>
            }
        })
        .collect_view()
}
