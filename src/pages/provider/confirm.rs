//! What the console's confirmations say before the provider acts: what
//! stops, for whom, and whether it can be put back (the blast radius).
//! Plain functions of the console's data, so the wording is tested without
//! a browser.

use crate::components::dialog::{CANNOT_BE_UNDONE, ConfirmDialog};
use crate::model::{
    CredentialRef, DisableReason, Member, ProviderCredential, ProviderOrg, Subscription,
    SubscriptionKind,
};
use leptos::prelude::*;

/// The organisation panel's one confirmation slot, in context for its rows:
/// a control [`ask`](Confirmer::ask)s, and Ok runs its action.
#[derive(Clone, Copy)]
pub struct Confirmer {
    waiting: RwSignal<Option<(Confirmation, Callback<()>)>>,
    org_name: StoredValue<String>,
}

impl Confirmer {
    /// Provides a confirmer for the panel of `org_name`; draw its
    /// [`ConfirmHost`] once.
    pub fn provide(org_name: String) -> Self {
        let confirmer = Confirmer {
            waiting: RwSignal::new(None),
            org_name: StoredValue::new(org_name),
        };
        provide_context(confirmer);
        confirmer
    }

    pub fn get() -> Self {
        expect_context::<Confirmer>()
    }

    pub fn org_name(self) -> String {
        self.org_name.get_value()
    }

    /// Shows `confirmation`; `ok` runs only after Ok.
    pub fn ask(self, confirmation: Confirmation, ok: Callback<()>) {
        self.waiting.set(Some((confirmation, ok)));
    }
}

/// The dialog of the confirmation waiting, if any. Ok closes it and runs the
/// action, whose outcome the console's toast reports.
#[component]
pub fn ConfirmHost(confirmer: Confirmer) -> impl IntoView {
    let waiting = confirmer.waiting;
    let close = Callback::new(move |_| waiting.set(None));
    move || {
        waiting.get().map(|(c, ok)| {
            view! {
                <ConfirmDialog
                    title=c.title
                    message=c.message
                    blast_radius=c.blast_radius
                    blast_label="What happens: "
                    warning=c.warning.unwrap_or_else(|| CANNOT_BE_UNDONE.to_owned())
                    destructive=c.destructive
                    pending=false
                    on_ok=Callback::new(move |_| {
                        waiting.set(None);
                        ok.run(());
                    })
                    on_cancel=close
                />
            }
        })
    }
}

/// One confirmation dialog's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    pub title: String,
    pub message: String,
    pub blast_radius: String,
    /// Replaces "This action cannot be undone." when it can be.
    pub warning: Option<String>,
    /// Whether Ok is drawn as destructive (red).
    pub destructive: bool,
}

const RE_ENABLE: &str = "You can enable it again at any time.";

/// Disabling one token or key (with `reason`).
pub fn disable(
    org_name: &str,
    credential: &ProviderCredential,
    reason: Option<DisableReason>,
) -> Confirmation {
    let reason = reason.map_or(String::new(), |r| format!(" (reason: {})", r.label()));
    let (title, blast_radius) = match credential.credential {
        CredentialRef::SandboxToken(_) => (
            "Disable Sandbox API Token".to_owned(),
            format!(
                "Disabling “{}” stops it at once: every submission and quota call made with it is refused, so integrations using it fail until it is re-enabled. While any of {}'s tokens is disabled, its admins cannot add, regenerate or delete Sandbox API tokens.",
                credential.label, org_name
            ),
        ),
        CredentialRef::ApiKey(_) => (
            format!("Disable {}", credential.label),
            format!(
                "Disabling {}'s {} stops it at once and ends every API session made with it: integrations using it fail until it is re-enabled, and its admins cannot edit, regenerate or delete it meanwhile.",
                org_name, credential.label
            ),
        ),
    };
    Confirmation {
        title,
        message: format!("Disable “{}” in {org_name}{reason}?", credential.label),
        blast_radius,
        warning: Some(RE_ENABLE.to_owned()),
        destructive: true,
    }
}

/// Removing an admin from the organisation.
pub fn remove_admin(org_name: &str, member: &Member) -> Confirmation {
    Confirmation {
        title: "Remove administrator".to_owned(),
        message: format!(
            "Remove {} ({}) from {}?",
            member.username,
            member.role.label(),
            org_name
        ),
        blast_radius: format!(
            "Removing {} ends their portal sessions and API sessions in {} now. Their account, and their roles in other organisations, stay; adding them again starts API access from the role's default.",
            member.username, org_name
        ),
        warning: None,
        destructive: true,
    }
}

/// Saving a subscription as `to` (with `expires_on`, `YYYY-MM-DD` or empty,
/// for an active one).
pub fn subscription(
    org: &ProviderOrg,
    kind: SubscriptionKind,
    to: Subscription,
    expires_on: &str,
) -> Confirmation {
    let what = format!("{}'s {} subscription", org.name, kind.label());
    let stops = match to {
        Subscription::None => removed(org, kind),
        _ => expired(org, kind),
    };
    let expires_on = expires_on.trim();
    match to {
        Subscription::Active => Confirmation {
            title: format!("Save the {} subscription", kind.label()),
            message: match expires_on {
                "" => format!("Set {what} to Active, with no end date?"),
                day => format!("Set {what} to Active until the end of {day} (UTC)?"),
            },
            blast_radius: match expires_on {
                "" => format!(
                    "{} work again at once, unless you disabled them; a missing one is created and shown to you once.",
                    covered(org, kind)
                ),
                day => format!("After {day} (UTC) it expires by itself. {stops}"),
            },
            warning: Some("You can change the subscription again at any time.".to_owned()),
            destructive: false,
        },
        Subscription::Expired => Confirmation {
            title: format!("Expire the {} subscription", kind.label()),
            message: format!("Set {what} to Expired?"),
            blast_radius: stops,
            warning: Some(
                "Renewing it re-enables everything at once, unless you disabled it.".to_owned(),
            ),
            destructive: true,
        },
        Subscription::None => Confirmation {
            title: format!("Remove the {} subscription", kind.label()),
            message: format!("Remove {what}?"),
            blast_radius: stops,
            warning: Some(
                "Tokens and keys are kept: setting a subscription again brings them back."
                    .to_owned(),
            ),
            destructive: true,
        },
    }
}

/// What a subscription covers: "Its 3 Sandbox API tokens", "Its Cloud
/// Service API Key and Cloud & Branch Connector API Key".
fn covered(org: &ProviderOrg, kind: SubscriptionKind) -> String {
    match kind {
        SubscriptionKind::Sandbox => match sandbox_tokens(org) {
            1 => "Its 1 Sandbox API token".to_owned(),
            n => format!("Its {n} Sandbox API tokens"),
        },
        SubscriptionKind::Api => {
            let keys: Vec<&str> = org
                .credentials
                .iter()
                .filter(|c| matches!(c.credential, CredentialRef::ApiKey(_)))
                .map(|c| c.label.as_str())
                .collect();
            match keys.as_slice() {
                [] => "Its API keys and OAuth 2.0 authorization servers".to_owned(),
                keys => format!(
                    "Its {} and OAuth 2.0 authorization servers",
                    keys.join(", ")
                ),
            }
        }
    }
}

fn sandbox_tokens(org: &ProviderOrg) -> usize {
    org.credentials
        .iter()
        .filter(|c| matches!(c.credential, CredentialRef::SandboxToken(_)))
        .count()
}

/// What an expired subscription stops (docs/STATES.md#the-state-table).
fn expired(org: &ProviderOrg, kind: SubscriptionKind) -> String {
    let covered = covered(org, kind);
    match kind {
        SubscriptionKind::Sandbox => format!(
            "{covered} stop accepting submissions at once (quota calls still answer), and {}'s admins can change nothing on the Sandbox API Token page until it is renewed.",
            org.name
        ),
        SubscriptionKind::Api => format!(
            "{covered} become read-only at once: API changes (POST, PUT, DELETE) are refused and {}'s admins can change nothing until it is renewed; sign-ins and GET calls still answer.",
            org.name
        ),
    }
}

/// What no subscription stops.
fn removed(org: &ProviderOrg, kind: SubscriptionKind) -> String {
    format!(
        "{} stop working at once: every call with them is refused, and {}'s admins see no table on the page, until a subscription is set again.",
        covered(org, kind),
        org.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyKind, Role, SubscriptionInfo};

    fn acme() -> ProviderOrg {
        let active = SubscriptionInfo {
            state: Subscription::Active,
            expires_at: None,
        };
        let token = |id, label: &str| ProviderCredential {
            credential: CredentialRef::SandboxToken(id),
            label: label.to_owned(),
            masked: "••••abcd".to_owned(),
            disabled: None,
        };
        ProviderOrg {
            short_name: "acme".into(),
            name: "Acme Corp".into(),
            sandbox: active,
            api: active,
            token_limit: 5,
            daily_allowance: 100,
            used_today: 0,
            connector_self_manage: false,
            credentials: vec![
                token(1, "Primary"),
                token(2, "CI pipeline"),
                token(3, "Nightly"),
                ProviderCredential {
                    credential: CredentialRef::ApiKey(KeyKind::CloudService),
                    label: KeyKind::CloudService.label().to_owned(),
                    masked: "••••wxyz".to_owned(),
                    disabled: None,
                },
            ],
            members: Vec::new(),
        }
    }

    #[test]
    fn disabling_says_what_stops_and_that_it_can_be_undone() {
        let org = acme();
        let token = disable(
            &org.name,
            &org.credentials[0],
            Some(DisableReason::TermsViolation),
        );
        assert_eq!(
            token.message,
            "Disable “Primary” in Acme Corp (reason: Terms violation)?"
        );
        assert!(token.blast_radius.contains("integrations using it fail"));
        assert!(
            token
                .blast_radius
                .contains("cannot add, regenerate or delete")
        );
        assert_eq!(token.warning.as_deref(), Some(RE_ENABLE));
        assert!(token.destructive);
        let key = disable(&org.name, &org.credentials[3], None);
        assert_eq!(key.title, "Disable Cloud Service API Key");
        assert!(
            key.blast_radius
                .contains("ends every API session made with it")
        );
    }

    #[test]
    fn removing_an_admin_says_their_sessions_end() {
        let member = Member {
            username: "alice@acme.example".into(),
            role: Role::ApiAdmin,
            api_access: true,
        };
        let c = remove_admin("Acme Corp", &member);
        assert_eq!(
            c.message,
            "Remove alice@acme.example (API Admin) from Acme Corp?"
        );
        assert!(
            c.blast_radius
                .starts_with("Removing alice@acme.example ends their portal sessions and API sessions in Acme Corp now.")
        );
        assert_eq!(c.warning, None, "the default: cannot be undone");
    }

    #[test]
    fn subscription_changes_count_what_they_stop() {
        let org = acme();
        let expire = subscription(&org, SubscriptionKind::Sandbox, Subscription::Expired, "");
        assert!(expire.destructive);
        assert!(
            expire
                .blast_radius
                .starts_with("Its 3 Sandbox API tokens stop accepting submissions at once"),
            "{}",
            expire.blast_radius
        );
        let none = subscription(&org, SubscriptionKind::Api, Subscription::None, "");
        assert!(
            none.blast_radius.starts_with(
                "Its Cloud Service API Key and OAuth 2.0 authorization servers stop working at once"
            ),
            "{}",
            none.blast_radius
        );
        let renew = subscription(&org, SubscriptionKind::Sandbox, Subscription::Active, "");
        assert!(!renew.destructive, "a renewal is not drawn as destructive");
        let until = subscription(
            &org,
            SubscriptionKind::Sandbox,
            Subscription::Active,
            "2026-12-31",
        );
        assert_eq!(
            until.message,
            "Set Acme Corp's Sandbox subscription to Active until the end of 2026-12-31 (UTC)?"
        );
        assert!(
            until
                .blast_radius
                .starts_with("After 2026-12-31 (UTC) it expires by itself. Its 3")
        );
    }
}
