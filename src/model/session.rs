//! Who is signed in, as the pages see it.

use super::{Permission, Role};
use serde::{Deserialize, Serialize};

/// The signed-in admin in the organisation the session is working in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub username: String,
    pub role: Role,
    pub org: OrgSummary,
    /// Every organisation the admin belongs to (the switcher shows when > 1).
    pub orgs: Vec<OrgSummary>,
    /// The organisation's Base URL for the consumer API (docs/CONSUMER-API.md#base-urls).
    pub base_url: String,
    /// In a demo, the banner every page shows ("Demo data — reset nightly
    /// at 03:00 UTC."), so nobody mistakes it for real credentials.
    pub demo_notice: Option<String>,
}

impl Viewer {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSummary {
    /// The short name used in Base URLs (`acme`).
    pub short_name: String,
    /// The display name (`Acme Corp`).
    pub name: String,
}
