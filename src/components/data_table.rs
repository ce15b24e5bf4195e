//! The table every page uses (PRODUCT.md §2.5): a Columns menu to show or
//! hide optional columns and move columns up or down, sorting by header,
//! and Reset. The layout is saved per admin per table on the server and
//! arrives with the page, so the server-rendered HTML already has it.

use crate::api::tables::SaveTableLayout;
use crate::model::{ColumnSpec, TableLayout};
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

#[component]
pub fn DataTable<T>(
    /// The key the layout is saved under (one of `TABLE_KEYS`).
    table: &'static str,
    caption: String,
    specs: &'static [ColumnSpec],
    layout: TableLayout,
    rows: Vec<T>,
    cell: CellFn<T>,
    sort_key: fn(&'static str, &T) -> SortKey,
    /// The column drawn as the row's header cell.
    row_header: &'static str,
    #[prop(default = None)] actions: Option<ActionsFn<T>>,
    empty: &'static str,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let layout = RwSignal::new(layout);
    let menu_open = RwSignal::new(false);
    let save = ServerAction::<SaveTableLayout>::new();
    let change = move |f: &dyn Fn(&mut TableLayout)| {
        let mut next = layout.get_untracked().explicit(specs);
        f(&mut next);
        layout.set(next.clone());
        save.dispatch(SaveTableLayout {
            table: table.to_owned(),
            layout: Some(next),
        });
    };
    let rows = StoredValue::new(rows);
    let has_actions = actions.is_some();
    let actions = StoredValue::new(actions);
    let cell = StoredValue::new(cell);

    let menu = move || {
        let columns = layout.get().resolve(specs);
        let last = columns.len().saturating_sub(1);
        columns
            .into_iter()
            .enumerate()
            .map(|(i, (spec, shown))| {
                let id = format!("col-{table}-{}", spec.key);
                view! {
                    <li>
                        <input
                            type="checkbox"
                            id=id.clone()
                            prop:checked=shown
                            disabled=!spec.optional
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                change(&|l| {
                                    if let Some(c) = l.columns.iter_mut().find(|c| c.0 == spec.key) {
                                        c.1 = on;
                                    }
                                });
                            }
                        />
                        <label for=id>{spec.label}</label>
                        <button type="button" class="small" aria-label=format!("Move {} up", spec.label) disabled=i == 0
                            on:click=move |_| change(&|l| { if i > 0 { l.columns.swap(i, i - 1); } })>"↑"</button>
                        <button type="button" class="small" aria-label=format!("Move {} down", spec.label) disabled=i == last
                            on:click=move |_| change(&|l| { if i + 1 < l.columns.len() { l.columns.swap(i, i + 1); } })>"↓"</button>
                    </li>
                }
            })
            .collect_view()
    };

    let body = move || {
        let current = layout.get();
        let visible: Vec<ColumnSpec> = current
            .resolve(specs)
            .into_iter()
            .filter(|(_, shown)| *shown)
            .map(|(s, _)| s)
            .collect();
        let mut sorted = rows.get_value();
        if let Some((key, ascending)) = current.sort.clone()
            && let Some(spec) = specs.iter().find(|s| s.key == key)
        {
            sorted.sort_by_key(|r| sort_key(spec.key, r));
            if !ascending {
                sorted.reverse();
            }
        }
        let header = visible
            .iter()
            .map(|spec| {
                let spec = *spec;
                let state = current.sort.as_ref().filter(|(k, _)| k == spec.key).map(|(_, asc)| *asc);
                let aria = match state {
                    Some(true) => "ascending",
                    Some(false) => "descending",
                    None => "none",
                };
                view! {
                    <th scope="col" aria-sort=aria>
                        <button type="button" class="sort" on:click=move |_| {
                            let asc = state != Some(true);
                            change(&|l| l.sort = Some((spec.key.to_owned(), asc)));
                        }>
                            {spec.label}
                            <span aria-hidden="true">{match state { Some(true) => " ▲", Some(false) => " ▼", None => "" }}</span>
                        </button>
                    </th>
                }
            })
            .collect_view();
        let colspan = (visible.len() + usize::from(has_actions)).to_string();
        let body_rows = sorted
            .iter()
            .map(|row| {
                let cells = visible
                    .iter()
                    .map(|spec| {
                        let content = cell.with_value(|c| c(spec.key, row));
                        if spec.key == row_header {
                            view! { <th scope="row">{content}</th> }.into_any()
                        } else {
                            view! { <td>{content}</td> }.into_any()
                        }
                    })
                    .collect_view();
                let acts = actions.with_value(|a| {
                    a.as_ref()
                        .map(|a| view! { <td class="row-actions">{a(row)}</td> })
                });
                view! { <tr>{cells}{acts}</tr> }
            })
            .collect_view();
        view! {
            <thead>
                <tr>
                    {header}
                    {has_actions.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>
                {sorted.is_empty().then(|| view! { <tr><td colspan=colspan class="empty">{empty}</td></tr> })}
                {body_rows}
            </tbody>
        }
    };

    view! {
        <div class="table-tools">
            // The menu's controls exist only while it is open, so their
            // labels (the column names) do not shadow the page's own fields.
            <details class="columns-menu">
                <summary on:click=move |_| menu_open.update(|o| *o = !*o)>"Columns"</summary>
                {move || menu_open.get().then(|| view! {
                    <div class="columns-panel">
                        <ul>{menu}</ul>
                        <button type="button" on:click=move |_| {
                            layout.set(TableLayout::default());
                            save.dispatch(SaveTableLayout { table: table.to_owned(), layout: None });
                        }>"Reset"</button>
                    </div>
                })}
            </details>
        </div>
        // Wide tables scroll sideways; the region is focusable so keyboard
        // users can scroll it too.
        <div class="table-scroll" tabindex="0" role="region" aria-label=format!("{caption} (scrollable)")>
            <table class="data">
                <caption class="visually-hidden">{caption.clone()}</caption>
                {body}
            </table>
        </div>
    }
}
