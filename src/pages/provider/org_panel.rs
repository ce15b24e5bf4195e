//! One organisation in the provider console: subscriptions, settings, the
//! tokens and keys (disable with a reason, enable), and its admins with
//! their API access (grant, revoke).

mod admins;

use super::confirm::{self, ConfirmHost, Confirmer};
use super::subscription_label;
use crate::api::provider::{
    AddOrgAdmin, RemoveOrgAdmin, SaveOrgSettings, SetCredentialState, SetOrgAdminApiAccess,
    SetSubscription,
};
use crate::model::{
    CredentialRef, DisableReason, OrgSettings, ProviderCredential, ProviderOrg, Subscription,
    SubscriptionKind,
};
use admins::Admins;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct PanelActions {
    pub subscription: ServerAction<SetSubscription>,
    pub settings: ServerAction<SaveOrgSettings>,
    pub credential: ServerAction<SetCredentialState>,
    pub add_admin: ServerAction<AddOrgAdmin>,
    pub remove_admin: ServerAction<RemoveOrgAdmin>,
    pub api_access: ServerAction<SetOrgAdminApiAccess>,
}

#[component]
pub fn OrgPanel(org: ProviderOrg, actions: PanelActions) -> impl IntoView {
    let title = format!("{} ({})", org.name, org.short_name);
    // Disable, Remove and subscription changes ask first (`confirm`).
    let confirmer = Confirmer::provide(org.name.clone());
    view! {
        <ConfirmHost confirmer />
        <section class="provider-org" aria-labelledby="org-panel-title">
            <h2 id="org-panel-title">{title}</h2>
            <div class="provider-grid">
                {SubscriptionKind::ALL
                    .into_iter()
                    .map(|kind| view! { <SubscriptionForm org=org.clone() kind action=actions.subscription /> })
                    .collect_view()}
                <SettingsForm org=org.clone() action=actions.settings />
            </div>
            <Credentials org=org.clone() action=actions.credential />
            <Admins org actions />
        </section>
    }
}

fn state_value(s: Subscription) -> &'static str {
    match s {
        Subscription::Active => "active",
        Subscription::Expired => "expired",
        Subscription::None => "none",
    }
}

#[component]
fn SubscriptionForm(
    org: ProviderOrg,
    kind: SubscriptionKind,
    action: ServerAction<SetSubscription>,
) -> impl IntoView {
    let info = org.subscription(kind);
    let state = RwSignal::new(state_value(info.state).to_owned());
    let expires_on = RwSignal::new(
        info.expires_at
            .map(|t| crate::model::format_timestamp(t - 1000)[..10].to_owned())
            .unwrap_or_default(),
    );
    let id = kind.as_str();
    let confirmer = Confirmer::get();
    let current = org.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let state = match state.get_untracked().as_str() {
            "active" => Subscription::Active,
            "expired" => Subscription::Expired,
            _ => Subscription::None,
        };
        let change = SetSubscription {
            org: current.short_name.clone(),
            kind,
            state,
            expires_on: expires_on.get_untracked(),
        };
        let text = confirm::subscription(&current, kind, state, &change.expires_on);
        confirmer.ask(
            text,
            Callback::new(move |_| {
                action.dispatch(change.clone());
            }),
        );
    };
    view! {
        <form class="provider-card" on:submit=submit aria-labelledby=format!("sub-{id}-title")>
            <h3 id=format!("sub-{id}-title")>{format!("{} subscription", kind.label())}</h3>
            <p class="hint">{format!("Now: {}", subscription_label(info))}</p>
            <label for=format!("sub-{id}-state")>"State"</label>
            <select id=format!("sub-{id}-state") prop:value=move || state.get() on:change=move |ev| state.set(event_target_value(&ev))>
                <option value="active" selected=info.state == Subscription::Active>"Active"</option>
                <option value="expired" selected=info.state == Subscription::Expired>"Expired"</option>
                <option value="none" selected=info.state == Subscription::None>"None"</option>
            </select>
            <label for=format!("sub-{id}-expires")>"Active until (optional, UTC)"</label>
            <input id=format!("sub-{id}-expires") type="date" bind:value=expires_on />
            <button type="submit" disabled=move || action.pending().get()>{format!("Save {} subscription", kind.label())}</button>
        </form>
    }
}

#[component]
fn SettingsForm(org: ProviderOrg, action: ServerAction<SaveOrgSettings>) -> impl IntoView {
    let limit = RwSignal::new(org.token_limit.to_string());
    let allowance = RwSignal::new(org.daily_allowance.to_string());
    let connector = RwSignal::new(org.connector_self_manage);
    let local_error = RwSignal::new(None::<String>);
    let short_name = org.short_name.clone();
    let message = move || {
        local_error.get().or_else(|| {
            action.value().get().and_then(Result::err).map(|e| {
                ["token_limit", "daily_allowance"]
                    .iter()
                    .find_map(|f| e.field(f).map(str::to_owned))
                    .unwrap_or_else(|| e.to_string())
            })
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Ok(token_limit), Ok(daily_allowance)) = (
            limit.get_untracked().trim().parse::<i64>(),
            allowance.get_untracked().trim().parse::<i64>(),
        ) else {
            local_error.set(Some("Enter whole numbers.".into()));
            return;
        };
        let settings = OrgSettings {
            token_limit,
            daily_allowance,
            connector_self_manage: connector.get_untracked(),
        };
        if let Err((_, m)) = settings.validate() {
            local_error.set(Some(m));
            return;
        }
        local_error.set(None);
        action.dispatch(SaveOrgSettings {
            org: short_name.clone(),
            settings,
        });
    };
    view! {
        <form class="provider-card" on:submit=submit aria-labelledby="settings-title" novalidate>
            <h3 id="settings-title">"Limits and settings"</h3>
            <label for="token-limit">"Sandbox token limit (1 to 5)"</label>
            <input id="token-limit" type="number" min="1" max="5" bind:value=limit />
            <label for="daily-allowance">"Daily Sandbox API-call allowance"</label>
            <input id="daily-allowance" type="number" min="0" bind:value=allowance />
            <div class="checkbox">
                <input id="connector-self-manage" type="checkbox" bind:checked=connector />
                <label for="connector-self-manage">"Super Admins manage the connector key"</label>
            </div>
            <p class="field-error" role="alert">{message}</p>
            <button type="submit" disabled=move || action.pending().get()>"Save settings"</button>
        </form>
    }
}

#[component]
fn Credentials(org: ProviderOrg, action: ServerAction<SetCredentialState>) -> impl IntoView {
    let short_name = org.short_name.clone();
    view! {
        <section aria-labelledby="credentials-title">
            <h3 id="credentials-title">"Tokens and keys"</h3>
            {org.credentials.is_empty().then(|| view! { <p class="hint">"No tokens or keys."</p> })}
            <ul class="credential-list">
                {org
                    .credentials
                    .into_iter()
                    .map(|c| view! { <CredentialRow org=short_name.clone() credential=c action /> })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn CredentialRow(
    org: String,
    credential: ProviderCredential,
    action: ServerAction<SetCredentialState>,
) -> impl IntoView {
    let reason = RwSignal::new(DisableReason::Other.as_str().to_owned());
    let confirmer = Confirmer::get();
    let asked = credential.clone();
    let which = credential.credential;
    let label = credential.label.clone();
    let status = match credential.disabled {
        None => "Enabled".to_owned(),
        Some(r) => format!("Disabled: {}", r.label()),
    };
    let control = match credential.disabled {
        Some(_) => {
            let org = org.clone();
            view! {
                <button type="button" aria-label=format!("Enable {label}") on:click=move |_| {
                    action.dispatch(SetCredentialState { org: org.clone(), credential: which, reason: None });
                }>"Enable"</button>
            }
            .into_any()
        }
        None => {
            let select_id = match which {
                CredentialRef::SandboxToken(id) => format!("reason-token-{id}"),
                CredentialRef::ApiKey(kind) => format!("reason-key-{}", kind.as_str()),
            };
            view! {
                <label for=select_id.clone() class="visually-hidden">{format!("Reason for disabling {label}")}</label>
                <select id=select_id on:change=move |ev| reason.set(event_target_value(&ev))>
                    {DisableReason::ALL
                        .into_iter()
                        .map(|r| view! { <option value=r.as_str() selected=r == DisableReason::Other>{r.label()}</option> })
                        .collect_view()}
                </select>
                <button type="button" class="danger" aria-label=format!("Disable {label}") on:click=move |_| {
                    let reason = reason.get_untracked().parse().ok();
                    let change = SetCredentialState { org: org.clone(), credential: which, reason };
                    confirmer.ask(
                        confirm::disable(&confirmer.org_name(), &asked, reason),
                        Callback::new(move |_| { action.dispatch(change.clone()); }),
                    );
                }>"Disable"</button>
            }
            .into_any()
        }
    };
    view! {
        <li class="credential">
            <span class="credential-label">{credential.label}</span>
            <code>{credential.masked}</code>
            <span class="status" class:status-disabled=credential.disabled.is_some()>{status}</span>
            <span class="credential-actions">{control}</span>
        </li>
    }
}
