//! A credential's restrictions on its page (docs/PAGES.md#credential-restrictions): the
//! form fields the sandbox token and API key dialogs share, the Expires
//! cell with its warning, and the row's details with "Who looked".

use super::local_time::LocalTime;
use crate::error::AppError;
use crate::model::{
    CredentialPolicy, Expiry, PolicyView, RevealEntry, date_of_expiry, expiry_from_date,
};
use leptos::prelude::*;

/// What the admin typed into the restriction fields.
#[derive(Clone, Copy)]
pub struct PolicyInputs {
    /// A date input's value (`2027-01-31`), or empty for never.
    pub expires_on: RwSignal<String>,
    pub ip_allowlist: RwSignal<String>,
    /// Digits, or empty for no cap (sandbox tokens only).
    pub daily_cap: RwSignal<String>,
}

impl PolicyInputs {
    /// The fields filled with `start` (a new credential: all empty).
    pub fn new(start: &CredentialPolicy) -> Self {
        PolicyInputs {
            expires_on: RwSignal::new(start.expires_at.map(date_of_expiry).unwrap_or_default()),
            ip_allowlist: RwSignal::new(start.ip_allowlist.clone()),
            daily_cap: RwSignal::new(start.daily_cap.map(|c| c.to_string()).unwrap_or_default()),
        }
    }

    /// The form to send, or the field and message for what cannot be sent
    /// at all (not a date, not a number). The server checks the rest, and
    /// its messages win.
    pub fn read(&self, with_cap: bool) -> Result<CredentialPolicy, (&'static str, String)> {
        let date = self.expires_on.get_untracked();
        let expires_at = match date.trim() {
            "" => None,
            text => Some(expiry_from_date(text).ok_or((
                "expires_at",
                "Enter a date like 2027-01-31, or leave it empty.".to_owned(),
            ))?),
        };
        let cap = self.daily_cap.get_untracked();
        let daily_cap = match cap.trim() {
            "" => None,
            _ if !with_cap => None,
            text => Some(text.parse().map_err(|_| {
                (
                    "daily_cap",
                    "Enter a whole number of submissions, or leave it empty.".to_owned(),
                )
            })?),
        };
        Ok(CredentialPolicy {
            expires_at,
            ip_allowlist: self.ip_allowlist.get_untracked(),
            daily_cap,
        })
    }
}

/// The fields [`PolicyFields`] shows errors for.
const POLICY_FIELDS: [&str; 3] = ["expires_at", "ip_allowlist", "daily_cap"];

/// Whether the server's error is about a restriction (so it shows at that
/// field, not as the form's general message).
pub fn is_policy_error(error: &AppError) -> bool {
    POLICY_FIELDS.iter().any(|f| error.field(f).is_some())
}

/// Expires on, Allowed IP addresses and (for tokens) Daily submission cap,
/// each with its own error line: `local` (from [`PolicyInputs::read`]) or
/// the server's for that field.
#[component]
pub fn PolicyFields(
    inputs: PolicyInputs,
    with_cap: bool,
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(into)] local: Signal<Option<(&'static str, String)>>,
) -> impl IntoView {
    let message = move |field: &'static str| {
        local
            .get()
            .filter(|(f, _)| *f == field)
            .map(|(_, m)| m)
            .or_else(|| error.get().and_then(|e| e.field(field).map(str::to_owned)))
    };
    view! {
        <fieldset class="policy-fields">
            <legend>"Restrictions (optional)"</legend>
            <label for="policy-expires">"Expires on (UTC)"</label>
            <input
                id="policy-expires"
                name="expires_on"
                type="date"
                bind:value=inputs.expires_on
                aria-invalid=move || message("expires_at").is_some().to_string()
                aria-describedby="policy-expires-help policy-expires-error"
            />
            <p id="policy-expires-help" class="hint">"Empty: never. At most 2 years ahead; it stops working at 00:00 UTC that day."</p>
            <p id="policy-expires-error" class="field-error" role="alert">{move || message("expires_at")}</p>
            <label for="policy-allowlist">"Allowed IP addresses"</label>
            <textarea
                id="policy-allowlist"
                name="ip_allowlist"
                rows="3"
                spellcheck="false"
                prop:value=move || inputs.ip_allowlist.get()
                on:input=move |ev| inputs.ip_allowlist.set(event_target_value(&ev))
                aria-invalid=move || message("ip_allowlist").is_some().to_string()
                aria-describedby="policy-allowlist-help policy-allowlist-error"
            ></textarea>
            <p id="policy-allowlist-help" class="hint">"Addresses or CIDR blocks (IPv4, IPv6), separated by commas or new lines; at most 32. Empty: any address."</p>
            <p id="policy-allowlist-error" class="field-error" role="alert">{move || message("ip_allowlist")}</p>
            {with_cap.then(|| view! {
                <label for="policy-cap">"Daily submission cap"</label>
                <input
                    id="policy-cap"
                    name="daily_cap"
                    type="number"
                    min="1"
                    inputmode="numeric"
                    bind:value=inputs.daily_cap
                    aria-invalid=move || message("daily_cap").is_some().to_string()
                    aria-describedby="policy-cap-help policy-cap-error"
                />
                <p id="policy-cap-help" class="hint">"Submissions this token may make per day (from midnight UTC), so it cannot use up the organisation's allowance. Empty: no cap."</p>
                <p id="policy-cap-error" class="field-error" role="alert">{move || message("daily_cap")}</p>
            })}
        </fieldset>
    }
}

/// The Expires cell: the date, or Never; from 7 days before, a warning.
#[component]
pub fn ExpiresCell(expiry: Expiry) -> impl IntoView {
    view! {
        <span class:expiry-warning=expiry.warning().is_some()>{expiry.label()}</span>
    }
}

/// What a Status cell adds for a credential about to expire or expired:
/// "Expires in 3 days", "Expired".
#[component]
pub fn ExpiryNote(expiry: Expiry) -> impl IntoView {
    expiry
        .warning()
        .map(|w| view! { <span class="status-detail expiry-warning">{w}</span> })
}

/// The row's details: its restrictions and "Who looked" — the last
/// reveals of the secret (admin, time, client address), as the server
/// read them with the page.
#[component]
pub fn CredentialDetails(policy: PolicyView, reveals: Vec<RevealEntry>) -> impl IntoView {
    let who = if reveals.is_empty() {
        view! { <p class="hint">"Nobody has revealed it."</p> }.into_any()
    } else {
        view! {
            <ol class="reveals">
                {reveals
                    .into_iter()
                    .map(|r| view! {
                        <li>{r.admin}", " <LocalTime at=r.at /> {format!(", from {}", r.client_ip)}</li>
                    })
                    .collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <details class="row-details">
            <summary>"Details"</summary>
            <dl>
                <dt>"Expires"</dt>
                <dd>{policy.expiry.label()}</dd>
                <dt>"Allowed IP addresses"</dt>
                <dd>{policy.allowlist_label()}</dd>
                {policy.daily_cap.map(|cap| view! {
                    <dt>"Daily submission cap"</dt>
                    <dd>{format!("{cap} per day")}</dd>
                })}
            </dl>
            <p><strong>"Who looked"</strong>" (last 10 reveals)"</p>
            {who}
        </details>
    }
}
