//! Types that cross the wire between the server and the browser.

mod api_key;
mod audit;
mod audit_log;
mod credential_policy;
mod oauth;
mod provider;
mod role;
mod sandbox;
mod session;
mod table;
mod text;
mod time_fmt;
mod usage;

pub use api_key::{
    API_KEY_LEN, ApiKeyPage, ApiKeyView, KeyDisabled, KeyKind, KeyShareOutcome, TestAuthReport,
    TestAuthStep, validate_api_key,
};
pub use audit::{AuditAction, AuditResult, Interface, category, sub_category_label};
pub use audit_log::{AuditEntry, AuditFilter, AuditPage, CSV_HEADER};
pub use credential_policy::{
    ALLOWLIST_MAX_ENTRIES, CredentialPolicy, EXPIRY_MAX_DAYS, EXPIRY_WARN_DAYS, Expiry, PolicyView,
    REVEALS_LISTED, RevealEntry, date_of_expiry, expiry_from_date,
};
pub use oauth::{
    JwksKey, OAUTH_MAX_SERVERS, OAuthPage, OAuthServerForm, OAuthServerView, validate_oauth_form,
};
pub use provider::{
    ALLOWANCE_MAX, CredentialRef, Member, ORG_NAME_MAX, OrgSettings, ProviderConsole,
    ProviderCredential, ProviderOrg, ProvisionedCredential, SubscriptionInfo, SubscriptionKind,
    TOKEN_LIMIT_RANGE, validate_org_name, validate_short_name,
};
pub use role::{Permission, Role};
pub use sandbox::{
    DisableReason, SandboxPage, SandboxTokenView, Subscription, TOKEN_NAME_MAX, TokenStatus, mask,
};
pub use session::{OrgSummary, Viewer};
pub use table::{ColumnSpec, TableLayout};
pub use text::{
    AUDIT_FIELD_MAX, PASSWORD_MAX, USERNAME_MAX, check_name, for_audit, has_hidden_characters,
    is_invisible, normalise_username,
};
pub use time_fmt::{format_iso, format_local, format_timestamp};
pub use usage::{QUOTA_WARN_PERCENT, Quota, Usage};
