//! Table layouts (docs/PAGES.md#tables): column order, visibility and sort,
//! saved per admin per table.

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
    /// Optional columns can be hidden; the others always show.
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

impl TableLayout {
    /// Whether the layout is within the bounds a real table needs.
    pub fn check(&self) -> Result<(), String> {
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
        Ok(())
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
}
