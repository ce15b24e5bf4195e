//! Saved table layouts, per admin per table.

use super::Store;

impl Store {
    pub async fn table_layout(
        &self,
        admin_id: i64,
        table_key: &str,
    ) -> Result<Option<String>, sqlx::Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT layout FROM table_layouts WHERE admin_id = $1 AND table_key = $2",
        )
        .bind(admin_id)
        .bind(table_key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.0))
    }

    /// Saves a layout; `None` removes it (back to the default).
    pub async fn set_table_layout(
        &self,
        admin_id: i64,
        table_key: &str,
        layout: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        match layout {
            Some(layout) => {
                sqlx::query(
                    "INSERT INTO table_layouts (admin_id, table_key, layout) VALUES ($1, $2, $3)
                     ON CONFLICT (admin_id, table_key) DO UPDATE SET layout = excluded.layout",
                )
                .bind(admin_id)
                .bind(table_key)
                .bind(layout)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM table_layouts WHERE admin_id = $1 AND table_key = $2")
                    .bind(admin_id)
                    .bind(table_key)
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }
}
