//! Table layouts (docs/PAGES.md#tables): column order, visibility and sort,
//! saved per admin per table, and each table's columns.

use crate::paths::TableKey;
use serde::{Deserialize, Serialize};

/// An admin's layout of one table. Columns not listed keep their default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableLayout {
    /// Column keys in display order, with whether each is shown.
    pub columns: Vec<(String, bool)>,
    /// The column sorted by, and whether ascending.
    pub sort: Option<(String, bool)>,
}

/// A column as a page declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    pub key: &'static str,
    pub label: &'static str,
    /// Optional columns can be hidden; the others (the column that names
    /// the row) always show.
    pub optional: bool,
    /// Whether an optional column shows before the admin chooses.
    pub shown_by_default: bool,
}

impl ColumnSpec {
    pub const fn fixed(key: &'static str, label: &'static str) -> Self {
        ColumnSpec {
            key,
            label,
            optional: false,
            shown_by_default: true,
        }
    }

    pub const fn optional(key: &'static str, label: &'static str, shown_by_default: bool) -> Self {
        ColumnSpec {
            key,
            label,
            optional: true,
            shown_by_default,
        }
    }
}

/// The most columns a saved layout lists, and the longest column key: a
/// layout is a few hundred bytes, never the megabytes a script could send.
pub const LAYOUT_MAX_COLUMNS: usize = 32;
pub const LAYOUT_MAX_KEY: usize = 64;

/// The Sandbox API Token table (docs/PAGES.md#sandbox-api-token): every
/// column but Name can be hidden; API Calls (24h) and Expires start hidden
/// (a coming expiry also shows in the Status cell).
static SANDBOX_TOKEN_COLUMNS: [ColumnSpec; 8] = [
    ColumnSpec::fixed("name", "Name"),
    ColumnSpec::optional("token", "Sandbox API Token", true),
    ColumnSpec::optional("status", "Status", true),
    ColumnSpec::optional("modified_by", "Last Modified By", true),
    ColumnSpec::optional("modified_on", "Last Modified On", true),
    ColumnSpec::optional("last_used", "Last Used", true),
    ColumnSpec::optional("calls_24h", "API Calls (24h)", false),
    ColumnSpec::optional("expires", "Expires", false),
];

/// The two one-key tables (docs/PAGES.md#cloud-service-api-key): the Key
/// names the row and always shows.
static API_KEY_COLUMNS: [ColumnSpec; 7] = [
    ColumnSpec::fixed("key", "Key"),
    ColumnSpec::optional("status", "Status", true),
    ColumnSpec::optional("modified_by", "Last Modified By", true),
    ColumnSpec::optional("modified_on", "Last Modified On", true),
    ColumnSpec::optional("last_used", "Last Used", true),
    ColumnSpec::optional("calls_24h", "API Calls (24h)", false),
    ColumnSpec::optional("expires", "Expires", false),
];

/// docs/PAGES.md#oauth-20-authorization-servers; the last five start hidden.
static OAUTH_SERVER_COLUMNS: [ColumnSpec; 9] = [
    ColumnSpec::fixed("name", "Authorization Server Name"),
    ColumnSpec::optional("status", "Status", true),
    ColumnSpec::optional("description", "Description", true),
    ColumnSpec::optional("last_fetch", "Last Successful Fetch Time", true),
    ColumnSpec::optional("issuer", "Issuer URI", false),
    ColumnSpec::optional("audience", "Audience URI", false),
    ColumnSpec::optional("client_id", "Client ID", false),
    ColumnSpec::optional("modified_by", "Last Modified By", false),
    ColumnSpec::optional("modified_on", "Last Modified On", false),
];

/// docs/AUDIT.md's columns; an entry always shows when, what and how it ended.
static AUDIT_LOG_COLUMNS: [ColumnSpec; 11] = [
    ColumnSpec::fixed("at", "Timestamp"),
    ColumnSpec::fixed("action", "Action"),
    ColumnSpec::optional("category", "Category", true),
    ColumnSpec::optional("sub_category", "Sub-Category", true),
    ColumnSpec::optional("resource", "Resource", true),
    ColumnSpec::optional("admin", "Admin", true),
    ColumnSpec::optional("org", "Organisation", true),
    ColumnSpec::optional("client_ip", "Client IP", true),
    ColumnSpec::optional("interface", "Interface", true),
    ColumnSpec::optional("trace_id", "Trace ID", true),
    ColumnSpec::fixed("result", "Result"),
];

impl TableKey {
    /// The table's columns in their default order. Declared here, not in
    /// the pages, because the server checks saved layouts against them.
    pub fn columns(self) -> &'static [ColumnSpec] {
        match self {
            TableKey::SandboxTokens => &SANDBOX_TOKEN_COLUMNS,
            TableKey::CloudServiceKey | TableKey::ConnectorKey => &API_KEY_COLUMNS,
            TableKey::OAuthServers => &OAUTH_SERVER_COLUMNS,
            TableKey::AuditLog => &AUDIT_LOG_COLUMNS,
        }
    }
}

impl TableLayout {
    /// Whether the layout is within the bounds a real table needs and
    /// hides none of `specs`' fixed columns (a row without its name is a row
    /// nobody can tell apart). Keys `specs` does not know are allowed: a
    /// layout saved before a column was removed stays valid.
    pub fn check(&self, specs: &[ColumnSpec]) -> Result<(), String> {
        let keys = self
            .columns
            .iter()
            .map(|(k, _)| k)
            .chain(self.sort.as_ref().map(|(k, _)| k));
        if self.columns.len() > LAYOUT_MAX_COLUMNS {
            return Err(format!(
                "A layout has at most {LAYOUT_MAX_COLUMNS} columns."
            ));
        }
        for key in keys {
            if key.is_empty()
                || key.len() > LAYOUT_MAX_KEY
                || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err("A column key is 1 to 64 of a-z, 0-9 and _.".into());
            }
        }
        let hidden_fixed = self
            .columns
            .iter()
            .filter(|(_, shown)| !shown)
            .find_map(|(key, _)| specs.iter().find(|s| s.key == key && !s.optional));
        match hidden_fixed {
            Some(spec) => Err(format!("{} cannot be hidden.", spec.label)),
            None => Ok(()),
        }
    }
}

impl TableLayout {
    /// The columns to draw, in order: the saved order for known keys, then
    /// any column the saved layout does not mention, with its default.
    pub fn resolve(&self, specs: &[ColumnSpec]) -> Vec<(ColumnSpec, bool)> {
        let mut out: Vec<(ColumnSpec, bool)> = self
            .columns
            .iter()
            .filter_map(|(key, shown)| {
                specs
                    .iter()
                    .find(|s| s.key == key)
                    .map(|s| (*s, *shown || !s.optional))
            })
            .collect();
        for spec in specs {
            if !out.iter().any(|(s, _)| s.key == spec.key) {
                out.push((*spec, spec.shown_by_default || !spec.optional));
            }
        }
        out
    }

    /// The layout with every column as `resolve` gives it (the start of an edit).
    pub fn explicit(&self, specs: &[ColumnSpec]) -> TableLayout {
        TableLayout {
            columns: self
                .resolve(specs)
                .into_iter()
                .map(|(s, shown)| (s.key.to_owned(), shown))
                .collect(),
            sort: self.sort.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: [ColumnSpec; 3] = [
        ColumnSpec::fixed("name", "Name"),
        ColumnSpec::optional("used", "Last Used", false),
        ColumnSpec::optional("by", "Last Modified By", true),
    ];

    #[test]
    fn defaults_then_saved_order() {
        let default: Vec<_> = TableLayout::default()
            .resolve(&SPECS)
            .into_iter()
            .map(|(s, v)| (s.key, v))
            .collect();
        assert_eq!(default, [("name", true), ("used", false), ("by", true)]);
        let saved = TableLayout {
            columns: vec![
                ("by".into(), false),
                ("name".into(), false),
                ("gone".into(), true),
            ],
            sort: None,
        };
        let resolved: Vec<_> = saved
            .resolve(&SPECS)
            .into_iter()
            .map(|(s, v)| (s.key, v))
            .collect();
        // Unknown keys are dropped; a fixed column cannot be hidden; missing ones come last.
        assert_eq!(resolved, [("by", false), ("name", true), ("used", false)]);
    }

    fn layout(columns: &[(&str, bool)]) -> TableLayout {
        TableLayout {
            columns: columns.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            sort: None,
        }
    }

    #[test]
    fn every_column_but_the_name_may_be_hidden() {
        let specs = TableKey::SandboxTokens.columns();
        let all_hidden_but_name: Vec<(&str, bool)> =
            specs.iter().map(|s| (s.key, s.key == "name")).collect();
        assert_eq!(layout(&all_hidden_but_name).check(specs), Ok(()));
        assert_eq!(
            layout(&[("token", true), ("name", false)]).check(specs),
            Err("Name cannot be hidden.".to_owned())
        );
        assert_eq!(
            layout(&[("key", false)]).check(TableKey::CloudServiceKey.columns()),
            Err("Key cannot be hidden.".to_owned())
        );
        // A column removed since the layout was saved does not make it invalid.
        assert_eq!(layout(&[("retired", false)]).check(specs), Ok(()));
        assert!(layout(&[("no spaces", true)]).check(specs).is_err());
        // Each table's row-naming column is its one fixed column; Last Used
        // shows by default (the audit log keeps when, what and the result).
        for table in TableKey::ALL
            .into_iter()
            .filter(|t| *t != TableKey::AuditLog)
        {
            let fixed: Vec<_> = table.columns().iter().filter(|s| !s.optional).collect();
            assert_eq!(fixed.len(), 1, "{table:?}");
            if let Some(used) = table.columns().iter().find(|s| s.key == "last_used") {
                assert!(used.shown_by_default, "{table:?}");
            }
        }
    }
}
