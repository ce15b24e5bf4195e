//! The two one-key pages: Cloud Service API Key (a tab of Internet & SaaS
//! API) and API Key Management (Cloud & Branch Connector API).

mod dialogs;
mod share;
mod test_auth;

use dialogs::Dialogs;

use crate::api::api_keys::{
    AddApiKey, DeleteApiKey, EditApiKey, RegenerateApiKey, SetApiKeyPolicy, get_api_key,
    reveal_api_key,
};
use crate::components::credential_policy::{CredentialDetails, ExpiresCell, ExpiryNote};
use crate::components::data_table::{
    ActionsFn, CellFn, DataTable, LoadedLayout, SavedLayout, SortKey,
};
use crate::components::layout::{
    BaseUrl, Breadcrumbs, ExpiredBanner, ViewOnlyNotice, internet_saas_tab, provide_role,
    with_viewer,
};
use crate::components::local_time::{LastUsed, LocalTime};
use crate::components::masked_secret::MaskedSecret;
use crate::components::toast::report_outcome;
use crate::error::AppError;
use crate::model::{
    ApiKeyPage, ApiKeyView, CredentialPolicy, KeyDisabled, KeyKind, OrgSummary, Permission, Role,
    Subscription, Usage,
};
use crate::paths::{OVERVIEW, TableKey};
use leptos::prelude::*;
use leptos_meta::Title;
use std::sync::Arc;

#[component]
pub fn CloudServiceApiKeyPage() -> impl IntoView {
    internet_saas_tab(
        "Cloud Service API Key",
        "key_section_loader",
        |viewer| view! { <KeySection kind=KeyKind::CloudService role=viewer.role /> },
    )
}

#[component]
pub fn ConnectorKeyPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::preload_island("key_section_loader");
    let trail = vec![
        ("Administration", None),
        ("API Configuration", Some(OVERVIEW)),
        ("Legacy API", None),
        ("Cloud & Branch Connector API", None),
        ("API Key Management", None),
    ];
    view! {
        <Title text="API Key Management" />
        <Breadcrumbs trail />
        <h1>"Cloud & Branch Connector API"</h1>
        {with_viewer(|viewer| view! { <KeySection kind=KeyKind::Connector role=viewer.role /> })}
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Closed,
    Edit,
    Regenerate,
    Delete,
    /// "Use this key in other organisations", offering these.
    Share(Vec<OrgSummary>),
    /// The key's expiry and IP allowlist, starting from these.
    Restrict(CredentialPolicy),
}

#[derive(Clone, Copy)]
struct Controls {
    kind: KeyKind,
    dialog: RwSignal<Dialog>,
    add: ServerAction<AddApiKey>,
    edit: ServerAction<EditApiKey>,
    regenerate: ServerAction<RegenerateApiKey>,
    delete: ServerAction<DeleteApiKey>,
    share: ServerAction<share::ShareApiKey>,
    restrict: ServerAction<SetApiKeyPolicy>,
    /// The key's usage, for the blast radius of Regenerate and Delete.
    usage: RwSignal<Usage>,
}

/// Either page's island: the key, its controls and dialogs.
#[island(lazy)]
fn KeySection(kind: KeyKind, role: Role) -> impl IntoView {
    provide_role(role);
    let title = match kind {
        KeyKind::CloudService => "Cloud Service API Key",
        KeyKind::Connector => "API Key Management",
    };
    let c = Controls {
        kind,
        dialog: RwSignal::new(Dialog::Closed),
        add: ServerAction::new(),
        edit: ServerAction::new(),
        regenerate: ServerAction::new(),
        delete: ServerAction::new(),
        share: ServerAction::new(),
        restrict: ServerAction::new(),
        usage: RwSignal::new(Usage::default()),
    };
    let data = Resource::new(
        move || {
            (
                c.add.version().get(),
                c.edit.version().get(),
                c.regenerate.version().get(),
                c.delete.version().get(),
                c.share.version().get(),
                c.restrict.version().get(),
            )
        },
        move |_| get_api_key(kind),
    );
    let layout = SavedLayout::new(match kind {
        KeyKind::CloudService => TableKey::CloudServiceKey,
        KeyKind::Connector => TableKey::ConnectorKey,
    });
    report_outcomes(c);
    view! {
        <section aria-labelledby="tab-title">
            <h2 id="tab-title">{title}</h2>
            {(kind == KeyKind::Connector).then(|| view! {
                <p class="hint">"Currently, only the provider modifies the key."</p>
            })}
            // Transition: after an action the key stays on screen until
            // the reloaded one arrives.
            <Transition fallback=|| view! { <p class="loading">"Loading the key…"</p> }>
                {move || Suspend::new(async move {
                    let layout = layout.load().await;
                    match data.await {
                        Ok(page) => view! { <KeyBody page layout c /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        {(kind == KeyKind::CloudService).then(|| view! { <test_auth::TestAuthentication /> })}
        <Dialogs c />
    }
}

/// Toasts for every action's outcome; closes the dialog on success.
fn report_outcomes(c: Controls) {
    let done = move |message: &'static str| {
        c.dialog.set(Dialog::Closed);
        message
    };
    report_outcome(c.add, move |_| done("API key added."));
    report_outcome(c.edit, move |()| {
        done("API key changed. The old key and its API sessions no longer work.")
    });
    report_outcome(c.regenerate, move |_| {
        done("API key regenerated. The old key and its API sessions no longer work.")
    });
    report_outcome(c.delete, move |()| done("API key deleted."));
    report_outcome(c.restrict, move |()| {
        done("Restrictions saved. They apply from the next request, to existing API sessions too.")
    });
}

#[component]
fn KeyBody(page: ApiKeyPage, layout: LoadedLayout, c: Controls) -> impl IntoView {
    if page.subscription == Subscription::None {
        return view! {
            <BaseUrl url=page.base_url.clone() />
            <p class="banner banner-error" role="status">"A valid subscription is required to use API keys."</p>
        }
        .into_any();
    }
    let kind = c.kind;
    let reveal = page
        .can_reveal
        .then(|| Action::new(move |_: &()| reveal_api_key(kind)));
    let by_provider = matches!(
        page.key.as_ref().and_then(|k| k.disabled),
        Some(KeyDisabled::ByProvider(_))
    );
    let can_manage = page.can_manage;
    let row_actions = can_manage && !by_provider;
    let can_add = can_manage && page.key.is_none();
    let can_share = row_actions && !page.other_orgs.is_empty();
    let other_orgs = page.other_orgs.clone();
    let rows: Vec<ApiKeyView> = page.key.clone().into_iter().collect();
    let view_only = !can_manage && page.subscription == Subscription::Active;
    let permission = match kind {
        KeyKind::CloudService => Permission::ManageCloudServiceKey,
        KeyKind::Connector => Permission::ManageConnectorKey,
    };
    view! {
        {view_only.then(|| view! { <ViewOnlyNotice permission /> })}
        <BaseUrl url=page.base_url.clone() />
        {(page.subscription == Subscription::Expired).then(|| view! {
            <ExpiredBanner
                text="Your API subscription has expired. The key is kept and read-only API calls still answer, but nothing can be changed until the subscription is renewed."
                contact=page.support_contact.clone()
            />
        })}
        {by_provider.then(|| view! {
            <div class="banner banner-error" role="status">
                <p><strong>"Disabled by your service provider."</strong></p>
                <p>"Contact support or your service provider to re-enable the token."</p>
            </div>
        })}
        <KeyToolbar c can_add can_share other_orgs />
        <DataTable
            layout
            caption=kind.label().to_owned()
            rows
            cell=key_cell(reveal)
            sort_key=key_sort
            row_header=""
            actions=can_manage.then(|| key_actions(c, row_actions))
            empty="No API key yet."
        />
    }
    .into_any()
}

/// Add (when there is no key) and "Use this key in other organisations".
#[component]
fn KeyToolbar(
    c: Controls,
    can_add: bool,
    can_share: bool,
    other_orgs: Vec<OrgSummary>,
) -> impl IntoView {
    let kind = c.kind;
    view! {
        <div class="toolbar">
            {can_add.then(|| view! {
                <button type="button" class="primary" disabled=move || c.add.pending().get() on:click=move |_| { c.add.dispatch(AddApiKey { kind, policy: None }); }>
                    {move || if c.add.pending().get() { "Adding…" } else { "Add API Key" }}
                </button>
            })}
            {can_share.then(|| view! {
                <button type="button" on:click=move |_| { c.share.value().set(None); c.dialog.set(Dialog::Share(other_orgs.clone())); }>
                    "Use this key in other organisations"
                </button>
            })}
        </div>
    }
}

fn key_cell(reveal: Option<Action<(), Result<String, AppError>>>) -> CellFn<ApiKeyView> {
    Arc::new(move |column, key| {
        let key = key.clone();
        match column {
            "key" => view! {
                <MaskedSecret masked=key.masked reveal noun="key" />
                <CredentialDetails policy=key.policy.clone() reveals=key.reveals />
            }
            .into_any(),
            "expires" => view! { <ExpiresCell expiry=key.policy.expiry /> }.into_any(),
            "status" => {
                view! { {status_cell(key.disabled)} <ExpiryNote expiry=key.policy.expiry /> }
                    .into_any()
            }
            "modified_by" => key.last_modified_by.into_any(),
            "modified_on" => view! { <LocalTime at=key.last_modified_on /> }.into_any(),
            "last_used" => view! { <LastUsed usage=key.usage /> }.into_any(),
            "calls_24h" => key.usage.calls_24h.to_string().into_any(),
            _ => ().into_any(),
        }
    })
}

/// Enabled, or Disabled and why.
fn status_cell(disabled: Option<KeyDisabled>) -> AnyView {
    match disabled {
                None => view! { <span class="status">"Enabled"</span> }.into_any(),
                Some(KeyDisabled::ByProvider(reason)) => view! {
                    <span class="status status-disabled">"Disabled"</span>
                    <span class="status-detail">{format!("By the service provider: {}", reason.label())}</span>
                }
                .into_any(),
                Some(KeyDisabled::SubscriptionExpired) => view! {
                    <span class="status status-disabled">"Disabled"</span>
                    <span class="status-detail">"Subscription expired"</span>
                }
                .into_any(),
            }
}

/// One row: nothing to sort.
fn key_sort(_: &'static str, _: &ApiKeyView) -> SortKey {
    SortKey::Number(0)
}

fn key_actions(c: Controls, row_actions: bool) -> ActionsFn<ApiKeyView> {
    Arc::new(move |key: &ApiKeyView| {
        let usage = key.usage.clone();
        let open = move |dialog: Dialog| {
            c.usage.set(usage.clone());
            c.dialog.set(dialog);
        };
        let (regenerate, delete) = (open.clone(), open);
        let policy = key.policy.form();
        view! {
            {row_actions.then(|| view! {
                <button type="button" on:click=move |_| { c.edit.value().set(None); c.dialog.set(Dialog::Edit); }>"Edit"</button>
                <button type="button" on:click=move |_| regenerate(Dialog::Regenerate)>"Regenerate"</button>
                <button type="button" class="danger" on:click=move |_| delete(Dialog::Delete)>"Delete"</button>
            })}
            // A provider disable does not block restricting the key.
            <button type="button" on:click=move |_| { c.restrict.value().set(None); c.dialog.set(Dialog::Restrict(policy.clone())); }>"Restrictions"</button>
        }
        .into_any()
    })
}
