//! The table every page uses (docs/PAGES.md#tables): a Columns menu to show or
//! hide optional columns and move columns up or down, sorting by header,
//! and Reset. The layout is saved per admin per table on the server and
//! arrives with the page, so the server-rendered HTML already has it.

use crate::api::tables::{SaveTableLayout, get_table_layout};
use crate::error::AppError;
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

/// A table's saved layout, fetched once with the page. Create it at the top
/// of the page's component (never inside a `Suspend`) and `load` it inside.
#[derive(Clone, Copy)]
pub struct SavedLayout {
    table: TableKey,
    saved: Resource<Result<TableLayout, AppError>>,
}

impl SavedLayout {
    pub fn new(table: TableKey) -> Self {
        let saved = Resource::new(|| (), move |_| get_table_layout(table.as_str().to_owned()));
        SavedLayout { table, saved }
    }

    /// The layout to draw: the saved one, or the default if it cannot be read.
    pub async fn load(self) -> LoadedLayout {
        let layout = self.saved.await.unwrap_or_default();
        LoadedLayout {
            saved: self,
            layout,
        }
    }

    /// Keeps the admin's latest layout without redrawing anything, so when
    /// an action reloads the rows the table comes back as the admin left it.
    fn remember(self, layout: &TableLayout) {
        self.saved
            .update_untracked(|saved| *saved = Some(Ok(layout.clone())));
    }
}

/// A [`SavedLayout`] once loaded: what [`DataTable`] draws from.
#[derive(Clone)]
pub struct LoadedLayout {
    saved: SavedLayout,
    layout: TableLayout,
}

/// The layout being shown, and how a change reaches the server.
#[derive(Clone, Copy)]
struct LayoutState {
    saved: SavedLayout,
    specs: &'static [ColumnSpec],
    current: RwSignal<TableLayout>,
    save: ServerAction<SaveTableLayout>,
}

impl LayoutState {
    fn new(loaded: LoadedLayout, specs: &'static [ColumnSpec]) -> Self {
        LayoutState {
            saved: loaded.saved,
            specs,
            current: RwSignal::new(loaded.layout),
            save: ServerAction::new(),
        }
    }

    /// Applies `f` to the full layout, shows it and saves it.
    fn change(self, f: &dyn Fn(&mut TableLayout)) {
        let mut next = self.current.get_untracked().explicit(self.specs);
        f(&mut next);
        self.show_and_save(next.clone(), Some(next));
    }

    /// Back to the default layout (the saved one is deleted).
    fn reset(self) {
        self.show_and_save(TableLayout::default(), None);
    }

    fn show_and_save(self, shown: TableLayout, saved: Option<TableLayout>) {
        self.saved.remember(&shown);
        self.current.set(shown);
        self.save.dispatch(SaveTableLayout {
            table: self.saved.table.as_str().to_owned(),
            layout: saved,
        });
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
    T: Clone + Send + Sync + 'static,
{
    let specs = layout.saved.table.columns();
    let state = LayoutState::new(layout, specs);
    let rows = Rows {
        rows: StoredValue::new(rows),
        cell: StoredValue::new(cell),
        actions: StoredValue::new(actions),
        sort_key,
        row_header,
        empty,
    };
    view! {
        <div class="table-tools">
            <ColumnsMenu state />
        </div>
        // Wide tables scroll sideways; the region is focusable so keyboard
        // users can scroll it too.
        <div class="table-scroll" tabindex="0" role="region" aria-label=format!("{caption} (scrollable)")>
            <table class="data">
                <caption class="visually-hidden">{caption.clone()}</caption>
                {move || table_body(state, rows)}
            </table>
        </div>
    }
}

/// The Columns menu: show or hide, move up or down, Reset.
#[component]
fn ColumnsMenu(state: LayoutState) -> impl IntoView {
    let menu_open = RwSignal::new(false);
    view! {
        // The menu's controls exist only while it is open, so their
        // labels (the column names) do not shadow the page's own fields.
        <details class="columns-menu">
            <summary on:click=move |_| menu_open.update(|o| *o = !*o)>"Columns"</summary>
            {move || menu_open.get().then(|| view! {
                <div class="columns-panel">
                    <ul>{move || column_choices(state)}</ul>
                    <button type="button" on:click=move |_| state.reset()>"Reset"</button>
                </div>
            })}
        </details>
    }
}

fn column_choices(state: LayoutState) -> impl IntoView {
    let columns = state.current.get().resolve(state.specs);
    let last = columns.len().saturating_sub(1);
    columns
        .into_iter()
        .enumerate()
        .map(|(i, (spec, shown))| {
            let id = format!("col-{}-{}", state.saved.table.as_str(), spec.key);
            view! {
                <li>
                    <input
                        type="checkbox"
                        id=id.clone()
                        prop:checked=shown
                        disabled=!spec.optional
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            state.change(&|l| {
                                if let Some(c) = l.columns.iter_mut().find(|c| c.0 == spec.key) {
                                    c.1 = on;
                                }
                            });
                        }
                    />
                    <label for=id>{spec.label}</label>
                    <button type="button" class="small" aria-label=format!("Move {} up", spec.label) disabled=i == 0
                        on:click=move |_| state.change(&|l| { if i > 0 { l.columns.swap(i, i - 1); } })>"↑"</button>
                    <button type="button" class="small" aria-label=format!("Move {} down", spec.label) disabled=i == last
                        on:click=move |_| state.change(&|l| { if i + 1 < l.columns.len() { l.columns.swap(i, i + 1); } })>"↓"</button>
                </li>
            }
        })
        .collect_view()
}

/// The rows and how to draw them.
struct Rows<T: Send + Sync + 'static> {
    rows: StoredValue<Vec<T>>,
    cell: StoredValue<CellFn<T>>,
    actions: StoredValue<Option<ActionsFn<T>>>,
    sort_key: fn(&'static str, &T) -> SortKey,
    row_header: &'static str,
    empty: &'static str,
}

impl<T: Send + Sync + 'static> Clone for Rows<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Rows<T> {}

/// The header and body for the current layout: visible columns in order,
/// rows sorted as chosen.
fn table_body<T>(state: LayoutState, rows: Rows<T>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let current = state.current.get();
    let visible: Vec<ColumnSpec> = current
        .resolve(state.specs)
        .into_iter()
        .filter(|(_, shown)| *shown)
        .map(|(s, _)| s)
        .collect();
    let mut sorted = rows.rows.get_value();
    if let Some((key, ascending)) = current.sort.clone()
        && let Some(spec) = state.specs.iter().find(|s| s.key == key)
    {
        sorted.sort_by_key(|r| (rows.sort_key)(spec.key, r));
        if !ascending {
            sorted.reverse();
        }
    }
    let has_actions = rows.actions.with_value(Option::is_some);
    let colspan = (visible.len() + usize::from(has_actions)).to_string();
    let empty = rows.empty;
    view! {
        <thead>
            <tr>
                {header_cells(state, &visible, &current)}
                {has_actions.then(|| view! { <th scope="col" class="row-actions"><span class="visually-hidden">"Actions"</span></th> })}
            </tr>
        </thead>
        <tbody>
            {sorted.is_empty().then(|| view! { <tr><td colspan=colspan class="empty">{empty}</td></tr> })}
            {sorted.iter().map(|row| body_row(rows, &visible, row)).collect_view()}
        </tbody>
    }
}

/// Column headers: each a button that sorts by it (ascending first).
fn header_cells(
    state: LayoutState,
    visible: &[ColumnSpec],
    current: &TableLayout,
) -> impl IntoView + use<> {
    visible
        .iter()
        .map(|spec| {
            let spec = *spec;
            let sorted = current.sort.as_ref().filter(|(k, _)| k == spec.key).map(|(_, asc)| *asc);
            let aria = match sorted {
                Some(true) => "ascending",
                Some(false) => "descending",
                None => "none",
            };
            view! {
                <th scope="col" aria-sort=aria>
                    <button type="button" class="sort" on:click=move |_| {
                        let asc = sorted != Some(true);
                        state.change(&|l| l.sort = Some((spec.key.to_owned(), asc)));
                    }>
                        {spec.label}
                        <span aria-hidden="true">{match sorted { Some(true) => " ▲", Some(false) => " ▼", None => "" }}</span>
                    </button>
                </th>
            }
        })
        .collect_view()
}

fn body_row<T>(rows: Rows<T>, visible: &[ColumnSpec], row: &T) -> impl IntoView + use<T>
where
    T: Clone + Send + Sync + 'static,
{
    let cells = visible
        .iter()
        .map(|spec| {
            let content = rows.cell.with_value(|c| c(spec.key, row));
            if spec.key == rows.row_header {
                view! { <th scope="row">{content}</th> }.into_any()
            } else {
                view! { <td>{content}</td> }.into_any()
            }
        })
        .collect_view();
    let acts = rows.actions.with_value(|a| {
        a.as_ref()
            .map(|a| view! { <td class="row-actions">{a(row)}</td> })
    });
    view! { <tr>{cells}{acts}</tr> }
}
