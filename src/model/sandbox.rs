//! The Sandbox API Token page's data (docs/PAGES.md#sandbox-api-token, docs/STATES.md).

use super::{PolicyView, Quota, RevealEntry, Usage};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The longest Sandbox API token name, in characters: the form and the
/// server check it with [`check_name`](super::check_name).
pub const TOKEN_NAME_MAX: usize = 64;

/// The state of one of an organisation's subscriptions (Sandbox or API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    Active,
    Expired,
    /// The organisation has never had this subscription.
    None,
}

/// Why the provider disabled a token. Stored as TEXT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisableReason {
    /// Set automatically when the organisation exceeds its daily allowance.
    ThresholdExceeded,
    TermsViolation,
    Other,
}

impl DisableReason {
    pub const ALL: [DisableReason; 3] = [
        DisableReason::ThresholdExceeded,
        DisableReason::TermsViolation,
        DisableReason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DisableReason::ThresholdExceeded => "threshold_exceeded",
            DisableReason::TermsViolation => "terms_violation",
            DisableReason::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DisableReason::ThresholdExceeded => "API call threshold exceeded",
            DisableReason::TermsViolation => "Terms violation",
            DisableReason::Other => "Other",
        }
    }
}

impl FromStr for DisableReason {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DisableReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown reason `{s}` (threshold_exceeded, terms_violation, other)")
            })
    }
}

/// Effective status: Enabled only when no state of docs/STATES.md holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenStatus {
    Enabled,
    /// Disabled by the provider, for the given reason.
    DisabledByProvider(DisableReason),
    /// Kept, but unusable while the subscription is expired.
    SubscriptionExpired,
}

impl TokenStatus {
    pub fn label(self) -> &'static str {
        match self {
            TokenStatus::Enabled => "Enabled",
            _ => "Disabled",
        }
    }
}

/// One row of the Sandbox API Token table. The secret is never part of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SandboxTokenView {
    pub id: i64,
    pub name: String,
    /// `••••` followed by the last four characters.
    pub masked: String,
    pub status: TokenStatus,
    pub last_modified_by: String,
    /// Epoch milliseconds.
    pub last_modified_on: i64,
    pub usage: Usage,
    /// Expiry, IP allowlist and daily cap (docs/PAGES.md#credential-restrictions).
    pub policy: PolicyView,
    /// "Who looked": the newest reveals of this token (at most 10).
    pub reveals: Vec<RevealEntry>,
}

/// Everything the Sandbox API Token page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SandboxPage {
    pub base_url: String,
    pub subscription: Subscription,
    /// Whom the expired-subscription banner says to contact
    /// (`--support-contact`).
    pub support_contact: String,
    /// The organisation's token limit (1 to 5).
    pub limit: i64,
    /// Today's submissions against the daily allowance (the quota meter).
    pub quota: Quota,
    /// Empty when there is no subscription (the page shows no table then).
    pub tokens: Vec<SandboxTokenView>,
    /// Whether this admin may add/edit/regenerate/delete right now (role,
    /// subscription and provider state all considered).
    pub can_manage: bool,
    pub can_reveal: bool,
    /// Set when the provider disabled any of the organisation's tokens: Add is
    /// withheld until the provider re-enables them.
    pub disabled_reason: Option<DisableReason>,
}

impl SandboxPage {
    /// The Add button is offered only below the limit and when nothing blocks.
    pub fn can_add(&self) -> bool {
        self.can_manage && self.disabled_reason.is_none() && (self.tokens.len() as i64) < self.limit
    }
}

/// The string shown in place of a secret: `••••` plus at most its last four characters.
pub fn mask(last4: &str) -> String {
    format!("••••{last4}")
}
