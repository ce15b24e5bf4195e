//! Every page's path and every saved table's key, declared once. The router
//! (`app.rs`), links, breadcrumbs, redirects and the server's checks read
//! them from here, so a path cannot drift between the places that use it.

use std::str::FromStr;

/// `/`: redirects to the overview or the sign-in page.
pub const ROOT: &str = "/";
pub const LOGIN: &str = "/login";
pub const OVERVIEW: &str = "/administration/api-configuration";
pub const CLOUD_SERVICE_API_KEY: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key";
pub const OAUTH_SERVERS: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/oauth-authorization-servers";
pub const SANDBOX_API_TOKEN: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token";
pub const CONNECTOR_KEY_MANAGEMENT: &str =
    "/administration/api-configuration/legacy-api/cloud-branch-connector-api/api-key-management";
pub const AUDIT_LOGS: &str = "/administration/audit-logs";
/// The audit log as CSV (an axum route, not a page).
pub const AUDIT_CSV_EXPORT: &str = "/administration/audit-logs/export.csv";
pub const PROVIDER: &str = "/provider";
/// Where the Sandbox API Token page used to be: bookmarks still work, via a
/// permanent redirect to [`SANDBOX_API_TOKEN`].
pub const OLD_SANDBOX_API_TOKEN: &str =
    "/administration/cloud-service-api-security/sandbox-api-token";

/// The paths the Leptos router renders (the others are axum routes).
pub const PAGES: [&str; 8] = [
    LOGIN,
    OVERVIEW,
    CLOUD_SERVICE_API_KEY,
    OAUTH_SERVERS,
    SANDBOX_API_TOKEN,
    CONNECTOR_KEY_MANAGEMENT,
    AUDIT_LOGS,
    PROVIDER,
];

/// The tables whose layouts are saved per admin; [`TableKey::as_str`] is
/// what the store keeps and what travels to `tables/*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum TableKey {
    #[serde(rename = "sandbox_tokens")]
    SandboxTokens,
    #[serde(rename = "cloud_service_key")]
    CloudServiceKey,
    #[serde(rename = "connector_key")]
    ConnectorKey,
    #[serde(rename = "oauth_servers")]
    OAuthServers,
    #[serde(rename = "audit_log")]
    AuditLog,
}

impl TableKey {
    pub const ALL: [TableKey; 5] = [
        TableKey::SandboxTokens,
        TableKey::CloudServiceKey,
        TableKey::ConnectorKey,
        TableKey::OAuthServers,
        TableKey::AuditLog,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            TableKey::SandboxTokens => "sandbox_tokens",
            TableKey::CloudServiceKey => "cloud_service_key",
            TableKey::ConnectorKey => "connector_key",
            TableKey::OAuthServers => "oauth_servers",
            TableKey::AuditLog => "audit_log",
        }
    }
}

impl FromStr for TableKey {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        TableKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_keys_round_trip() {
        for key in TableKey::ALL {
            assert_eq!(key.as_str().parse(), Ok(key));
        }
        assert_eq!("nope".parse::<TableKey>(), Err(()));
        // Island props carry it as the same text.
        for key in TableKey::ALL {
            let json = serde_json::to_string(&key).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", key.as_str()));
        }
    }
}
