//! The five roles and the permission table of docs/ROLES.md.
//!
//! The table lives in exactly one place, [`Role::allows`]: the server's guard
//! asks it before every server function runs, and the pages ask it only to
//! decide which controls to draw.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An admin's role in one organisation. Stored as TEXT (`super_admin`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    ApiAdmin,
    ReadOnlyAdmin,
    CloudConnectorAdmin,
    Provider,
}

/// Something a signed-in admin may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the API Configuration pages, secrets masked.
    ViewApiConfiguration,
    /// Reveal or copy a token's or key's secret.
    RevealSecrets,
    /// Add, edit, regenerate and delete sandbox tokens.
    ManageSandboxTokens,
    /// Add, edit, regenerate and delete the Cloud Service API key.
    ManageCloudServiceKey,
    /// Add, edit, enable and delete OAuth 2.0 authorization servers.
    ManageOAuthServers,
    /// Modify the Cloud & Branch Connector API key (Super Admins only when the
    /// organisation setting allows it; that part is checked by the server).
    ManageConnectorKey,
    /// Read the audit log.
    ViewAuditLog,
    /// Disable and enable tokens, set subscriptions, limits and thresholds.
    OperateProvider,
    /// Open and use consumer-API sessions with the organisation's key ("API
    /// access"). The role says whether an admin *may hold* it; whether they
    /// do is their stored, per-membership grant (`memberships.api_access`,
    /// see [`Role::has_api_access`]). Checked at sign-in and on every call.
    UseApi,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SuperAdmin,
        Role::ApiAdmin,
        Role::ReadOnlyAdmin,
        Role::CloudConnectorAdmin,
        Role::Provider,
    ];

    /// docs/ROLES.md#the-permission-table, row by row.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            ViewApiConfiguration => true,
            RevealSecrets => matches!(self, SuperAdmin | ApiAdmin | CloudConnectorAdmin | Provider),
            ManageSandboxTokens | ManageCloudServiceKey | ManageOAuthServers => {
                matches!(self, SuperAdmin | ApiAdmin)
            }
            ManageConnectorKey => matches!(self, SuperAdmin | Provider),
            ViewAuditLog => matches!(self, SuperAdmin | ApiAdmin | ReadOnlyAdmin | Provider),
            OperateProvider => matches!(self, Provider),
            // Read-Only Admins may not even reveal the key a sign-in needs;
            // a Provider operates the console, not the organisation's API.
            UseApi => matches!(self, SuperAdmin | ApiAdmin | CloudConnectorAdmin),
        }
    }

    /// The API access grant a new membership of this role starts with (and
    /// a changed role is reset to): on for the roles that manage the
    /// organisation's credentials, off for the others.
    pub fn api_access_by_default(self) -> bool {
        matches!(self, Role::SuperAdmin | Role::ApiAdmin)
    }

    /// Whether an admin of this role holding the stored grant `granted` has
    /// API access: both must say yes, so a grant left on a role that may not
    /// hold it (e.g. by a direct database edit) opens nothing.
    pub fn has_api_access(self, granted: bool) -> bool {
        granted && self.allows(Permission::UseApi)
    }

    /// The name the portal shows.
    pub fn label(self) -> &'static str {
        match self {
            Role::SuperAdmin => "Super Admin",
            Role::ApiAdmin => "API Admin",
            Role::ReadOnlyAdmin => "Read-Only Admin",
            Role::CloudConnectorAdmin => "Cloud Connector Admin",
            Role::Provider => "Provider",
        }
    }

    /// The TEXT stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::ApiAdmin => "api_admin",
            Role::ReadOnlyAdmin => "read_only_admin",
            Role::CloudConnectorAdmin => "cloud_connector_admin",
            Role::Provider => "provider",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_only_roles_cannot_change_anything() {
        for role in [Role::ReadOnlyAdmin, Role::CloudConnectorAdmin] {
            assert!(!role.allows(Permission::ManageSandboxTokens), "{role}");
            assert!(!role.allows(Permission::ManageCloudServiceKey), "{role}");
            assert!(!role.allows(Permission::OperateProvider), "{role}");
        }
        assert!(!Role::ReadOnlyAdmin.allows(Permission::RevealSecrets));
        assert!(Role::CloudConnectorAdmin.allows(Permission::RevealSecrets));
        assert!(!Role::CloudConnectorAdmin.allows(Permission::ViewAuditLog));
    }

    #[test]
    fn provider_operates_but_does_not_manage_org_tokens() {
        assert!(Role::Provider.allows(Permission::OperateProvider));
        assert!(!Role::Provider.allows(Permission::ManageSandboxTokens));
        assert!(Role::Provider.allows(Permission::ManageConnectorKey));
    }

    #[test]
    fn api_access_is_a_grant_within_what_the_role_may_hold() {
        for role in Role::ALL {
            // Nobody has it without the grant.
            assert!(!role.has_api_access(false), "{role}");
            // The default is always something the role may hold.
            assert!(!role.api_access_by_default() || role.allows(Permission::UseApi));
        }
        assert!(Role::SuperAdmin.api_access_by_default());
        assert!(Role::ApiAdmin.api_access_by_default());
        assert!(!Role::CloudConnectorAdmin.api_access_by_default());
        assert!(Role::CloudConnectorAdmin.has_api_access(true));
        assert!(!Role::ReadOnlyAdmin.has_api_access(true));
        assert!(!Role::Provider.has_api_access(true));
    }

    #[test]
    fn roles_round_trip_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
