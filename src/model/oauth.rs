//! OAuth 2.0 Authorization Servers (docs/PAGES.md#oauth-20-authorization-servers).

use super::Subscription;
use serde::{Deserialize, Serialize};

pub const OAUTH_MAX_SERVERS: i64 = 2;

/// The Add/Edit form, as sent to the server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthServerForm {
    pub enabled: bool,
    pub name: String,
    pub description: String,
    pub jwks_url: String,
    pub validate_cert: bool,
    pub audience: String,
    pub issuer: String,
    pub client_id: String,
}

/// One key found in a JWKS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwksKey {
    pub kid: Option<String>,
    pub kty: String,
    pub alg: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthServerView {
    pub id: i64,
    pub form: OAuthServerForm,
    pub keys: Vec<JwksKey>,
    pub last_fetch_at: Option<i64>,
    pub last_modified_by: String,
    pub last_modified_on: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthPage {
    pub base_url: String,
    pub subscription: Subscription,
    /// Whom the expired-subscription banner says to contact
    /// (`--support-contact`).
    pub support_contact: String,
    pub servers: Vec<OAuthServerView>,
    pub can_manage: bool,
}

impl OAuthPage {
    pub fn can_add(&self) -> bool {
        self.can_manage && (self.servers.len() as i64) < OAUTH_MAX_SERVERS
    }
}

/// Field checks shared by the form (instant feedback) and the server (the
/// rule). Returns (field, message) pairs.
pub fn validate_oauth_form(form: &OAuthServerForm) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let name = form.name.trim();
    if name.is_empty() {
        problems.push(("name", "Enter a name.".to_owned()));
    } else if name.chars().count() > 64 {
        problems.push(("name", "The name must be at most 64 characters.".to_owned()));
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        problems.push((
            "name",
            "Use letters and digits only, without spaces.".to_owned(),
        ));
    }
    if super::text::has_hidden_characters(&form.description) {
        problems.push((
            "description",
            "The description cannot contain control or invisible characters.".to_owned(),
        ));
    } else if form.description.chars().count() > 256 {
        problems.push((
            "description",
            "The description must be at most 256 characters.".to_owned(),
        ));
    }
    if form.jwks_url.trim().is_empty() {
        problems.push((
            "jwks_url",
            "Enter the JWKS location (an https URL).".to_owned(),
        ));
    } else if form.jwks_url.chars().count() > 2048
        || super::text::has_hidden_characters(&form.jwks_url)
    {
        problems.push((
            "jwks_url",
            "Enter a valid URL of at most 2048 characters.".to_owned(),
        ));
    }
    for (field, value) in [
        ("audience", &form.audience),
        ("issuer", &form.issuer),
        ("client_id", &form.client_id),
    ] {
        if value.chars().count() > 256 {
            problems.push((field, "At most 256 characters.".to_owned()));
        } else if super::text::has_hidden_characters(value) {
            problems.push((field, "No control or invisible characters.".to_owned()));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str) -> OAuthServerForm {
        OAuthServerForm {
            name: name.into(),
            jwks_url: "https://idp.example/jwks".into(),
            ..Default::default()
        }
    }

    #[test]
    fn names_are_letters_and_digits() {
        assert!(validate_oauth_form(&form("Okta1")).is_empty());
        for bad in ["", "has space", "dash-ed", &"a".repeat(65), "ünicode"] {
            assert!(!validate_oauth_form(&form(bad)).is_empty(), "{bad}");
        }
    }
}
