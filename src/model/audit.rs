//! Audit vocabulary (docs/AUDIT.md#codes-shown-as-labels), shared by the recorder and the log page.

use super::Permission;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// What was done. Stored as its code (`sign_in`, …), shown as its label, so
/// a label can be reworded without touching old entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    pub const ALL: [AuditAction; 10] = [
        AuditAction::SignIn,
        AuditAction::SignOut,
        AuditAction::Create,
        AuditAction::Update,
        AuditAction::Delete,
        AuditAction::Regenerate,
        AuditAction::Reveal,
        AuditAction::Enable,
        AuditAction::Disable,
        AuditAction::Access,
    ];

    /// The TEXT stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignOut => "sign_out",
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Regenerate => "regenerate",
            AuditAction::Reveal => "reveal",
            AuditAction::Enable => "enable",
            AuditAction::Disable => "disable",
            AuditAction::Access => "access",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The label of a stored code; a code this version does not know, as it is.
    pub fn label_of(code: &str) -> &str {
        Self::from_code(code).map_or(code, |a| a.label())
    }

    /// The name the log shows.
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

impl FromStr for AuditAction {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or_else(|| format!("unknown audit action `{s}`"))
    }
}

/// Where a request came from. Stored as its code (`admin_ui`, `api`, `cli`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    AdminUi,
    Api,
    Cli,
}

impl Interface {
    pub const ALL: [Interface; 3] = [Interface::AdminUi, Interface::Api, Interface::Cli];

    /// The TEXT stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Interface::AdminUi => "admin_ui",
            Interface::Api => "api",
            Interface::Cli => "cli",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.code() == code)
    }

    /// The label of a stored code; a code this version does not know, as it is.
    pub fn label_of(code: &str) -> &str {
        Self::from_code(code).map_or(code, |a| a.label())
    }

    pub fn label(self) -> &'static str {
        match self {
            Interface::AdminUi => "Admin UI",
            Interface::Api => "API",
            Interface::Cli => "CLI",
        }
    }
}

impl FromStr for Interface {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or_else(|| format!("unknown interface `{s}`"))
    }
}

/// How it ended. Stored as its code (`success`, `failure`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditResult {
    Success,
    /// Refused or failed; the entry's reason says why.
    Failure,
}

impl AuditResult {
    pub const ALL: [AuditResult; 2] = [AuditResult::Success, AuditResult::Failure];

    /// The TEXT stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            AuditResult::Success => "success",
            AuditResult::Failure => "failure",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            AuditResult::Success => "Success",
            AuditResult::Failure => "Failure",
        }
    }
}

impl FromStr for AuditResult {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s).ok_or_else(|| format!("unknown audit result `{s}`"))
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

impl Permission {
    pub const ALL: [Permission; 9] = [
        Permission::ViewApiConfiguration,
        Permission::RevealSecrets,
        Permission::ManageSandboxTokens,
        Permission::ManageCloudServiceKey,
        Permission::ManageOAuthServers,
        Permission::ManageConnectorKey,
        Permission::ViewAuditLog,
        Permission::OperateProvider,
        Permission::UseApi,
    ];

    /// The Sub-Category a refusal by the guard is recorded under: what the
    /// refused call would have touched, named as the pages name it, so a
    /// refused Regenerate sits beside the Regenerates it failed to be.
    pub fn audit_subject(self) -> &'static str {
        match self {
            Permission::ViewApiConfiguration => "API Configuration",
            Permission::RevealSecrets => "Tokens and keys",
            Permission::ManageSandboxTokens => category::SANDBOX_API_TOKEN,
            Permission::ManageCloudServiceKey => "Cloud Service API Key",
            Permission::ManageOAuthServers => "OAuth 2.0 Authorization Servers",
            Permission::ManageConnectorKey => "Cloud & Branch Connector API Key",
            Permission::ViewAuditLog => "Audit Logs",
            Permission::OperateProvider => "Provider Console",
            Permission::UseApi => "API access",
        }
    }

    /// The name entries recorded before [`Permission::audit_subject`]
    /// stored (the Rust variant, `ManageSandboxTokens`).
    fn legacy_name(self) -> &'static str {
        match self {
            Permission::ViewApiConfiguration => "ViewApiConfiguration",
            Permission::RevealSecrets => "RevealSecrets",
            Permission::ManageSandboxTokens => "ManageSandboxTokens",
            Permission::ManageCloudServiceKey => "ManageCloudServiceKey",
            Permission::ManageOAuthServers => "ManageOAuthServers",
            Permission::ManageConnectorKey => "ManageConnectorKey",
            Permission::ViewAuditLog => "ViewAuditLog",
            Permission::OperateProvider => "OperateProvider",
            Permission::UseApi => "UseApi",
        }
    }
}

/// How a stored Sub-Category is shown. Sub-categories are stored as their
/// labels ("Cloud Service API Key"); older refusals stored the permission's
/// Rust name, which is shown as [`Permission::audit_subject`]. Anything
/// else shows as it is (like an unknown action code).
pub fn sub_category_label(stored: &str) -> &str {
    Permission::ALL
        .into_iter()
        .find(|p| p.legacy_name() == stored)
        .map_or(stored, |p| p.audit_subject())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_show_as_they_are() {
        for action in AuditAction::ALL {
            assert_eq!(action.code().parse(), Ok(action));
        }
        for interface in Interface::ALL {
            assert_eq!(interface.code().parse(), Ok(interface));
        }
        for result in AuditResult::ALL {
            assert_eq!(result.code().parse(), Ok(result));
        }
        assert_eq!(AuditAction::label_of("sign_in"), "Sign In");
        assert_eq!(AuditAction::label_of("Sign In"), "Sign In");
        assert_eq!(Interface::label_of("admin_ui"), "Admin UI");
        assert_eq!(Interface::label_of("fax"), "fax");
        assert!("Sign In".parse::<AuditAction>().is_err());
    }

    #[test]
    fn sub_categories_show_as_labels() {
        assert_eq!(
            sub_category_label("ManageSandboxTokens"),
            "Sandbox API Token"
        );
        assert_eq!(
            sub_category_label("ManageCloudServiceKey"),
            "Cloud Service API Key"
        );
        assert_eq!(sub_category_label("OperateProvider"), "Provider Console");
        assert_eq!(
            sub_category_label("Cloud Service API Key"),
            "Cloud Service API Key"
        );
        assert_eq!(sub_category_label("Subscription"), "Subscription");
        // Every subject reads like the page it is about: no code, no Rust name.
        for p in Permission::ALL {
            let label = p.audit_subject();
            assert!(
                label.starts_with(|c: char| c.is_ascii_uppercase()),
                "{label}"
            );
            assert!(!label.contains('_') && label != p.legacy_name(), "{label}");
            assert_eq!(sub_category_label(label), label);
        }
    }
}
