//! Audit vocabulary (PRODUCT.md §5), shared by the recorder and the log page.

use serde::{Deserialize, Serialize};

/// What was done. Stored as TEXT, shown as the label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditAction {
    SignIn,
    SignOut,
    Create,
    Update,
    Delete,
    Regenerate,
    Reveal,
    Enable,
    Disable,
    /// A call the guard refused before it did anything.
    Access,
}

impl AuditAction {
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::SignIn => "Sign In",
            AuditAction::SignOut => "Sign Out",
            AuditAction::Create => "Create",
            AuditAction::Update => "Update",
            AuditAction::Delete => "Delete",
            AuditAction::Regenerate => "Regenerate",
            AuditAction::Reveal => "Reveal",
            AuditAction::Enable => "Enable",
            AuditAction::Disable => "Disable",
            AuditAction::Access => "Access",
        }
    }
}

/// Where a request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interface {
    AdminUi,
    Api,
    Cli,
}

impl Interface {
    pub fn label(self) -> &'static str {
        match self {
            Interface::AdminUi => "Admin UI",
            Interface::Api => "API",
            Interface::Cli => "CLI",
        }
    }
}

/// Audit categories (`Category / Sub-Category`).
pub mod category {
    pub const ADMINISTRATION: &str = "Administration";
    pub const API_CONFIGURATION: &str = "API Configuration";
    pub const AUTHENTICATION: &str = "Authentication";
    pub const SANDBOX_API_TOKEN: &str = "Sandbox API Token";
    pub const SIGN_IN: &str = "Sign In";
    pub const PROVIDER: &str = "Provider";
}
