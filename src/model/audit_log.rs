//! The audit log page's query and answer (docs/AUDIT.md#reading-the-log).

use super::{AuditAction, AuditResult, Interface, sub_category_label};
use serde::{Deserialize, Serialize};

/// Filters, all optional, as the page's GET form sends them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub admin: Option<String>,
    /// An action's code (`sign_in`, …).
    pub action: Option<String>,
    /// Matches the category or the sub-category.
    pub category: Option<String>,
    /// `success` or `failure`.
    pub result: Option<String>,
    /// `YYYY-MM-DDTHH:MM` in UTC (an HTML `datetime-local` value).
    pub from: Option<String>,
    pub to: Option<String>,
    /// 1-based.
    pub page: Option<i64>,
}

impl AuditFilter {
    /// The filter as a query string (for pagination and CSV links).
    pub fn query_string(&self, page: Option<i64>) -> String {
        let pairs = [
            ("admin", self.admin.clone()),
            ("action", self.action.clone()),
            ("category", self.category.clone()),
            ("result", self.result.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
            ("page", page.map(|p| p.to_string())),
        ];
        pairs
            .into_iter()
            .filter_map(|(k, v)| {
                v.filter(|v| !v.is_empty())
                    .map(|v| format!("{k}={}", encode(&v)))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One entry as stored: action, interface and result are codes, which the
/// page and the CSV show by their labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: i64,
    pub action: String,
    pub category: String,
    pub sub_category: String,
    pub resource: String,
    pub admin: String,
    pub org: String,
    pub client_ip: String,
    pub interface: String,
    pub trace_id: String,
    pub result: String,
    pub reason: Option<String>,
}

impl AuditEntry {
    pub fn action_label(&self) -> &str {
        AuditAction::label_of(&self.action)
    }

    pub fn interface_label(&self) -> &str {
        Interface::label_of(&self.interface)
    }

    pub fn sub_category_label(&self) -> &str {
        sub_category_label(&self.sub_category)
    }

    /// `Success`, `Failure` or `Failure: {reason}`.
    pub fn result_label(&self) -> String {
        match (AuditResult::from_code(&self.result), &self.reason) {
            (Some(AuditResult::Failure), Some(reason)) => format!("Failure: {reason}"),
            (Some(result), _) => result.label().to_owned(),
            (None, _) => self.result.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    /// Values for the filter menus.
    pub admins: Vec<String>,
    /// `(code, label)`.
    pub actions: Vec<(String, String)>,
    /// `(stored value, label)`, one per label.
    pub categories: Vec<(String, String)>,
}

impl AuditPage {
    pub fn pages(&self) -> i64 {
        ((self.total + self.page_size - 1) / self.page_size).max(1)
    }
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 11] = [
    "Timestamp",
    "Action",
    "Category",
    "Sub-Category",
    "Resource",
    "Admin",
    "Organisation",
    "Client IP",
    "Interface",
    "Trace ID",
    "Result",
];
