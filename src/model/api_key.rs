//! The 12-character API keys (docs/PAGES.md#cloud-service-api-key, #api-key-management).

use super::{DisableReason, OrgSummary, Permission, PolicyView, RevealEntry, Subscription, Usage};
use serde::{Deserialize, Serialize};

/// Which key. Stored as TEXT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyKind {
    /// Unlocks the Cloud Service API (`/api/v1/authenticatedSession`).
    CloudService,
    /// Unlocks the Cloud & Branch Connector API (`/connector/api/v1/auth`).
    Connector,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::CloudService => "cloud_service",
            KeyKind::Connector => "connector",
        }
    }

    /// The permission that modifying this key needs.
    pub fn manage_permission(self) -> Permission {
        match self {
            KeyKind::CloudService => Permission::ManageCloudServiceKey,
            KeyKind::Connector => Permission::ManageConnectorKey,
        }
    }

    /// The audit sub-category and page title.
    pub fn label(self) -> &'static str {
        match self {
            KeyKind::CloudService => "Cloud Service API Key",
            KeyKind::Connector => "Cloud & Branch Connector API Key",
        }
    }
}

/// Length of an API key; characters are A-Z a-z 0-9.
pub const API_KEY_LEN: usize = 12;

/// Checks a typed key, with the message the form shows.
pub fn validate_api_key(key: &str) -> Result<(), String> {
    if key.chars().count() != API_KEY_LEN {
        return Err(format!(
            "The key must be exactly {API_KEY_LEN} characters (A-Z, a-z, 0-9)."
        ));
    }
    if !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("The key may contain only the letters A-Z, a-z and the digits 0-9.".to_owned());
    }
    Ok(())
}

/// The key's row, secret masked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub masked: String,
    /// `None` when enabled.
    pub disabled: Option<KeyDisabled>,
    pub last_modified_by: String,
    pub last_modified_on: i64,
    pub usage: Usage,
    /// Expiry and IP allowlist (docs/PAGES.md#credential-restrictions).
    pub policy: PolicyView,
    /// "Who looked": the newest reveals of this key (at most 10).
    pub reveals: Vec<RevealEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyDisabled {
    ByProvider(DisableReason),
    SubscriptionExpired,
}

/// Everything an API key page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyPage {
    pub kind: KeyKind,
    pub base_url: String,
    pub subscription: Subscription,
    /// Whom the expired-subscription banner says to contact
    /// (`--support-contact`).
    pub support_contact: String,
    pub key: Option<ApiKeyView>,
    /// Whether this admin may add, edit, regenerate and delete right now.
    pub can_manage: bool,
    pub can_reveal: bool,
    /// The admin's other organisations, offered by "Use this key in other
    /// organisations" (Cloud Service key, for an admin who may manage it).
    pub other_orgs: Vec<OrgSummary>,
}

/// One step of "Test authentication", as the page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAuthStep {
    pub label: String,
    pub ok: bool,
    /// What was sent or received; secrets only for roles that may reveal them.
    pub detail: String,
}

/// The whole round trip: timestamp, obfuscation, sign-in, a call, sign-out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAuthReport {
    pub steps: Vec<TestAuthStep>,
}

impl TestAuthReport {
    pub fn succeeded(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.ok)
    }
}

/// What "Use this key in other organisations" did in one organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyShareOutcome {
    pub org: OrgSummary,
    pub ok: bool,
    /// "Key set." or why it was refused.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_keys_are_checked() {
        assert!(validate_api_key("abcDEF123456").is_ok());
        for bad in [
            "short",
            "abcDEF1234567",
            "abcDEF12345!",
            "abcDEF12345é",
            "abc DEF12345",
            "",
        ] {
            assert!(validate_api_key(bad).is_err(), "{bad}");
        }
    }
}
