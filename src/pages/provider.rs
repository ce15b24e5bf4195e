//! The service-provider console `/provider` (docs/STATES.md, docs/ROLES.md): the
//! organisations this provider operates, and for the one chosen its
//! subscriptions, limits, tokens and keys, and admins. Every control calls a
//! `provider/*` server function, which the server authorizes and audits.

mod confirm;
mod org_panel;

use crate::api::provider::{
    AddOrgAdmin, CreateOrg, RemoveOrgAdmin, SaveOrgSettings, SetCredentialState,
    SetOrgAdminApiAccess, SetSubscription, get_provider_console,
};
use crate::components::clipboard::copy_to_clipboard;
use crate::components::layout::{Breadcrumbs, with_viewer};
use crate::components::toast::{report_outcome, use_toaster};
use crate::model::{
    ORG_NAME_MAX, Permission, ProviderConsole, ProviderOrg, Subscription, SubscriptionInfo,
    format_timestamp,
};
use crate::pages::not_permitted::NotPermitted;
use leptos::prelude::*;
use leptos_meta::Title;

/// Every console action; any success reloads the console.
#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateOrg>,
    subscription: ServerAction<SetSubscription>,
    settings: ServerAction<SaveOrgSettings>,
    credential: ServerAction<SetCredentialState>,
    add_admin: ServerAction<AddOrgAdmin>,
    remove_admin: ServerAction<RemoveOrgAdmin>,
    api_access: ServerAction<SetOrgAdminApiAccess>,
}

impl Actions {
    fn versions(self) -> [usize; 7] {
        [
            self.create.version().get(),
            self.subscription.version().get(),
            self.settings.version().get(),
            self.credential.version().get(),
            self.add_admin.version().get(),
            self.remove_admin.version().get(),
            self.api_access.version().get(),
        ]
    }
}

#[component]
pub fn ProviderConsolePage() -> impl IntoView {
    // Other roles get the not-permitted page (403) and none of the
    // console's controls; the server functions refuse them all the same.
    with_viewer(|viewer| {
        if viewer.can(Permission::OperateProvider) {
            #[cfg(feature = "ssr")]
            crate::server::http::preload_island("org_console_loader");
            view! {
                <Title text="Provider Console" />
                <Breadcrumbs trail=vec![("Provider Console", None)] />
                <h1>"Provider Console"</h1>
                <OrgConsole />
            }
            .into_any()
        } else {
            view! { <NotPermitted what="The Provider Console" who="the service provider's operators" /> }
                .into_any()
        }
    })
}

/// The page's island: the provisioning panel, the organisations with the
/// chosen one's panel, and the form that creates one.
#[island(lazy)]
fn OrgConsole() -> impl IntoView {
    let actions = Actions {
        create: ServerAction::new(),
        subscription: ServerAction::new(),
        settings: ServerAction::new(),
        credential: ServerAction::new(),
        add_admin: ServerAction::new(),
        remove_admin: ServerAction::new(),
        api_access: ServerAction::new(),
    };
    let console = Resource::new(move || actions.versions(), |_| get_provider_console());
    let selected = RwSignal::new(None::<String>);
    report_outcomes(actions);
    view! {
        <ProvisionedPanel action=actions.subscription />
        <Transition fallback=|| view! { <p class="loading">"Loading organisations…"</p> }>
            {move || Suspend::new(async move {
                match console.await {
                    Ok(console) => view! { <Console console selected actions /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <CreateOrgForm action=actions.create />
    }
}

/// The organisations, and the panel of the one selected (the first if none).
#[component]
fn Console(
    console: ProviderConsole,
    selected: RwSignal<Option<String>>,
    actions: Actions,
) -> impl IntoView {
    let orgs = console.orgs;
    let current = {
        let orgs = orgs.clone();
        move || {
            selected
                .get()
                .and_then(|s| orgs.iter().find(|o| o.short_name == s).cloned())
                .or_else(|| orgs.first().cloned())
        }
    };
    let panel_actions = org_panel::PanelActions {
        subscription: actions.subscription,
        settings: actions.settings,
        credential: actions.credential,
        add_admin: actions.add_admin,
        remove_admin: actions.remove_admin,
        api_access: actions.api_access,
    };
    view! {
        <OrgList orgs selected />
        {move || current().map(|org| view! { <org_panel::OrgPanel org actions=panel_actions /> })}
    }
}

/// A toast for each action's outcome.
fn report_outcomes(a: Actions) {
    report_outcome(a.create, |_| "Organisation created.");
    report_outcome(a.subscription, |created: Vec<_>| match created.len() {
        0 => "Subscription saved.",
        _ => "Subscription saved. New credentials were created: copy them now.",
    });
    report_outcome(a.settings, |_| "Settings saved.");
    report_outcome(a.credential, |_| "Status changed.");
    report_outcome(a.add_admin, |_| "Administrator saved.");
    report_outcome(a.remove_admin, |_| "Administrator removed.");
    report_outcome(a.api_access, |_| "API access changed.");
}

/// The credentials the last subscription change created, in full, with
/// Copy buttons: only in this answer, so they are gone once dismissed or
/// the page is left (the console shows them masked).
#[component]
fn ProvisionedPanel(action: ServerAction<SetSubscription>) -> impl IntoView {
    let toaster = use_toaster();
    let created = move || {
        action
            .value()
            .get()
            .and_then(Result::ok)
            .filter(|c| !c.is_empty())
    };
    move || {
        created().map(|created| {
            view! {
                <div class="banner banner-success issued" role="status">
                    <p><strong>"Created with the subscription. Copy them now: they are shown only once."</strong></p>
                    <ul>
                        {created
                            .into_iter()
                            .map(|c| {
                                let secret = c.secret.clone();
                                let label = c.label.clone();
                                view! {
                                    <li>
                                        {format!("{}: ", c.label)}
                                        <code class="issued-secret">{c.secret.clone()}</code>
                                        " "
                                        <button type="button" aria-label=format!("Copy {label}") on:click=move |_| {
                                            if copy_to_clipboard(&secret) {
                                                toaster.success("Copied to the clipboard.");
                                            }
                                        }>"Copy"</button>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                    <button type="button" class="link" on:click=move |_| action.value().set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}

/// "Active until 2026-12-31 23:59:59 UTC", "Expired", "None".
pub fn subscription_label(info: SubscriptionInfo) -> String {
    match (info.state, info.expires_at) {
        (Subscription::Active, Some(t)) => format!("Active until {}", format_timestamp(t - 1000)),
        (Subscription::Active, None) => "Active".into(),
        (Subscription::Expired, _) => "Expired".into(),
        (Subscription::None, _) => "None".into(),
    }
}

#[component]
fn OrgList(orgs: Vec<ProviderOrg>, selected: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <section>
            <h2 id="orgs-title">"Organisations"</h2>
            <div class="table-scroll" tabindex="0" role="region" aria-labelledby="orgs-title">
                <table class="data-table">
                    <thead>
                        <tr>
                            <th scope="col">"Organisation"</th>
                            <th scope="col">"Short name"</th>
                            <th scope="col">"Sandbox subscription"</th>
                            <th scope="col">"API subscription"</th>
                            <th scope="col">"Token limit"</th>
                            <th scope="col">"Sandbox calls today"</th>
                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                        </tr>
                    </thead>
                    <tbody>
                        {orgs
                            .into_iter()
                            .map(|o| {
                                let short = o.short_name.clone();
                                view! {
                                    <tr>
                                        <th scope="row">{o.name.clone()}</th>
                                        <td>{o.short_name.clone()}</td>
                                        <td>{subscription_label(o.sandbox)}</td>
                                        <td>{subscription_label(o.api)}</td>
                                        <td>{o.token_limit}</td>
                                        <td>{format!("{} of {}", o.used_today, o.daily_allowance)}</td>
                                        <td>
                                            <button type="button" aria-label=format!("Manage {}", o.name) on:click=move |_| selected.set(Some(short.clone()))>
                                                "Manage"
                                            </button>
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn CreateOrgForm(action: ServerAction<CreateOrg>) -> impl IntoView {
    let short_name = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let error = move |field: &'static str| {
        move || {
            action
                .value()
                .get()
                .and_then(Result::err)
                .and_then(|e| e.field(field).map(str::to_owned))
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(CreateOrg {
            short_name: short_name.get_untracked(),
            name: name.get_untracked(),
        });
    };
    view! {
        <section aria-labelledby="create-org-title">
            <h2 id="create-org-title">"Create an organisation"</h2>
            <form class="inline-form" on:submit=submit novalidate>
                <div>
                    <label for="new-org-short">"Short name"</label>
                    <input id="new-org-short" type="text" maxlength="32" bind:value=short_name aria-describedby="new-org-short-error" />
                    <p id="new-org-short-error" class="field-error" role="alert">{error("short_name")}</p>
                </div>
                <div>
                    <label for="new-org-name">"Name"</label>
                    <input id="new-org-name" type="text" maxlength=ORG_NAME_MAX.to_string() bind:value=name aria-describedby="new-org-name-error" />
                    <p id="new-org-name-error" class="field-error" role="alert">{error("name")}</p>
                </div>
                <button type="submit" class="primary" disabled=move || action.pending().get()>"Create"</button>
            </form>
            <p class="hint">"A new organisation has no subscriptions; you become its Provider."</p>
        </section>
    }
}
