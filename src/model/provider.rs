//! The service-provider console's data (docs/STATES.md, docs/ROLES.md: Provider role).

use super::{DisableReason, KeyKind, Role, Subscription};
use serde::{Deserialize, Serialize};

/// The two kinds of subscription (docs/STATES.md#subscriptions). Stored as TEXT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionKind {
    /// Gates the Sandbox API Token page and the submission API.
    Sandbox,
    /// Gates the API keys and OAuth servers.
    Api,
}

impl SubscriptionKind {
    pub const ALL: [SubscriptionKind; 2] = [SubscriptionKind::Sandbox, SubscriptionKind::Api];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionKind::Sandbox => "sandbox",
            SubscriptionKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            SubscriptionKind::Sandbox => "Sandbox",
            SubscriptionKind::Api => "API",
        }
    }
}

/// A subscription as the provider set it, and what it amounts to today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    /// Effective now: an active one past its expiry date counts as expired.
    pub state: Subscription,
    /// Epoch milliseconds, for an active subscription with an end date.
    pub expires_at: Option<i64>,
}

/// A token or key the provider can disable and enable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialRef {
    SandboxToken(i64),
    ApiKey(KeyKind),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderCredential {
    pub credential: CredentialRef,
    /// The token's name, or the key's kind.
    pub label: String,
    pub masked: String,
    pub disabled: Option<DisableReason>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub username: String,
    pub role: Role,
    /// Whether they hold API access (the grant, on a role that may hold it).
    pub api_access: bool,
}

/// One organisation as its provider sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderOrg {
    pub short_name: String,
    pub name: String,
    pub sandbox: SubscriptionInfo,
    pub api: SubscriptionInfo,
    pub token_limit: i64,
    pub daily_allowance: i64,
    /// Sandbox submissions so far today (UTC).
    pub used_today: i64,
    pub connector_self_manage: bool,
    pub credentials: Vec<ProviderCredential>,
    pub members: Vec<Member>,
}

impl ProviderOrg {
    pub fn subscription(&self, kind: SubscriptionKind) -> SubscriptionInfo {
        match kind {
            SubscriptionKind::Sandbox => self.sandbox,
            SubscriptionKind::Api => self.api,
        }
    }
}

/// A credential that activating a subscription created because the
/// organisation had none, with its secret: the answer to the provider who
/// made the change, shown once (the console shows it masked afterwards).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedCredential {
    pub credential: CredentialRef,
    /// The token's name, or the key's kind.
    pub label: String,
    pub secret: String,
}

/// The secret stays out of debug output (and so out of any log line).
impl std::fmt::Debug for ProvisionedCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionedCredential")
            .field("credential", &self.credential)
            .field("label", &self.label)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The organisations this provider operates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderConsole {
    pub orgs: Vec<ProviderOrg>,
}

/// The organisation settings the provider saves together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    /// Sandbox tokens allowed, 1 to 5.
    pub token_limit: i64,
    /// Sandbox submissions per day before the tokens are disabled.
    pub daily_allowance: i64,
    /// May the organisation's Super Admins manage the connector key?
    pub connector_self_manage: bool,
}

pub const TOKEN_LIMIT_RANGE: std::ops::RangeInclusive<i64> = 1..=5;
pub const ALLOWANCE_MAX: i64 = 1_000_000;

impl OrgSettings {
    /// The message the form shows for a bad value.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !TOKEN_LIMIT_RANGE.contains(&self.token_limit) {
            return Err(("token_limit", "The token limit must be 1 to 5.".into()));
        }
        if !(0..=ALLOWANCE_MAX).contains(&self.daily_allowance) {
            return Err((
                "daily_allowance",
                format!("The daily allowance must be 0 to {ALLOWANCE_MAX}."),
            ));
        }
        Ok(())
    }
}

/// An organisation's short name (used in Base URLs): 1 to 32 of a-z, 0-9, `-`.
pub fn validate_short_name(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err("Use 1 to 32 characters: a-z, 0-9 and -, not starting with -.".into())
    }
}

/// The longest organisation display name, in characters.
pub const ORG_NAME_MAX: usize = 64;

/// An organisation's display name: 1 to [`ORG_NAME_MAX`] characters, no control characters.
pub fn validate_org_name(s: &str) -> Result<(), String> {
    super::text::check_name(s, ORG_NAME_MAX, "organisation").map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_url_safe() {
        assert!(validate_short_name("initech-2").is_ok());
        for bad in ["", "Acme", "a b", "-x", "a/b", &"x".repeat(33)] {
            assert!(validate_short_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_bounded() {
        let ok = OrgSettings {
            token_limit: 5,
            daily_allowance: 100,
            connector_self_manage: false,
        };
        assert!(ok.validate().is_ok());
        assert!(
            OrgSettings {
                token_limit: 0,
                ..ok
            }
            .validate()
            .is_err()
        );
        assert!(
            OrgSettings {
                token_limit: 6,
                ..ok
            }
            .validate()
            .is_err()
        );
        assert!(
            OrgSettings {
                daily_allowance: -1,
                ..ok
            }
            .validate()
            .is_err()
        );
    }
}
