//! Saved table layouts (docs/PAGES.md#tables).

use crate::error::AppError;
use crate::model::TableLayout;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[cfg(feature = "ssr")]
use crate::{model::Permission, paths::TableKey, server::auth::require};

/// The key travels as text (not as a [`TableKey`]) so that an unknown one is
/// refused after authorization, as a validation error.
#[cfg(feature = "ssr")]
fn check_table(table: &str) -> Result<TableKey, AppError> {
    table
        .parse::<TableKey>()
        .map_err(|()| AppError::invalid("table", "Unknown table."))
}

/// `ViewApiConfiguration`: this admin's layout of `table` (the default if none saved).
#[server(prefix = "/api", endpoint = "tables/layout")]
pub async fn get_table_layout(table: String) -> Result<TableLayout, AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    check_table(&table)?;
    let state = crate::server::app_state()?;
    let saved = state.store.table_layout(who.admin_id, &table).await?;
    Ok(saved
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// `ViewApiConfiguration`: saves this admin's layout of `table`; no `layout`
/// resets it; a layout that hides the column naming the rows is refused.
/// JSON body: `{"table": "...", "layout": {"columns": [["key", true], …], "sort": ["key", true]}}`.
#[server(prefix = "/api", endpoint = "tables/save-layout", input = Json)]
pub async fn save_table_layout(
    table: String,
    #[server(default)] layout: Option<TableLayout>,
) -> Result<(), AppError> {
    let who = require(Permission::ViewApiConfiguration).await?;
    let key = check_table(&table)?;
    if let Some(Err(problem)) = layout.as_ref().map(|l| l.check(key.columns())) {
        return Err(AppError::invalid("layout", problem));
    }
    let json = layout
        .map(|l| serde_json::to_string(&l))
        .transpose()
        .map_err(|_| AppError::internal())?;
    let state = crate::server::app_state()?;
    state
        .store
        .set_table_layout(who.admin_id, &table, json.as_deref())
        .await?;
    Ok(())
}
