//! The two one-key pages: Cloud Service API Key (a tab of Internet & SaaS
//! API) and API Key Management (Cloud & Branch Connector API).

mod dialogs;
mod share;
mod test_auth;

use crate::api::api_keys::{AddApiKey, get_api_key};
use crate::components::credential_policy::{CredentialDetails, ExpiresCell, ExpiryNote};
use crate::components::data_table::{ActionsFn, CellFn, DataTable, LoadedLayout, SortKey};
use crate::components::dialog_host::{DialogButton, DialogHost};
use crate::components::layout::{
    BaseUrl, Breadcrumbs, ExpiredBanner, ViewOnlyNotice, internet_saas_tab, provide_role,
    with_viewer,
};
use crate::components::local_time::{LastUsed, LocalTime};
use crate::components::masked_secret::{MaskedSecret, Reveal};
use crate::components::refresh::spawn_refresh;
use crate::components::toast::report_outcome;
use crate::model::{ApiKeyPage, ApiKeyView, KeyDisabled, KeyKind, Permission, Role, Subscription};
use crate::paths::{OVERVIEW, TableKey};
use leptos::prelude::*;
use leptos_meta::Title;
use std::sync::Arc;

#[component]
pub fn CloudServiceApiKeyPage() -> impl IntoView {
    internet_saas_tab("Cloud Service API Key", |viewer| {
        view! { <KeySection kind=KeyKind::CloudService role=viewer.role /> }
    })
}

#[component]
pub fn ConnectorKeyPage() -> impl IntoView {
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

/// Either page's content, drawn on the server. The controls are islands:
/// Add ([`AddKeyButton`]), the dialogs ([`dialogs::KeyDialogs`], opened by
/// the row's actions and the toolbar's Share), the masked key and the
/// table's menu.
#[component]
fn KeySection(kind: KeyKind, role: Role) -> impl IntoView {
    provide_role(role);
    let title = match kind {
        KeyKind::CloudService => "Cloud Service API Key",
        KeyKind::Connector => "API Key Management",
    };
    let table = match kind {
        KeyKind::CloudService => TableKey::CloudServiceKey,
        KeyKind::Connector => TableKey::ConnectorKey,
    };
    view! {
        <section aria-labelledby="tab-title">
            <h2 id="tab-title">{title}</h2>
            {(kind == KeyKind::Connector).then(|| view! {
                <p class="hint">"Currently, only the provider modifies the key."</p>
            })}
            <Suspense fallback=|| view! { <p class="loading">"Loading the key…"</p> }>
                {Suspend::new(async move {
                    let layout = LoadedLayout::load(table).await;
                    match get_api_key(kind).await {
                        Ok(page) => view! { <KeyBody kind page layout /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        {(kind == KeyKind::CloudService).then(|| view! { <test_auth::TestAuthentication /> })}
    }
}

#[component]
fn KeyBody(kind: KeyKind, page: ApiKeyPage, layout: LoadedLayout) -> impl IntoView {
    if page.subscription == Subscription::None {
        return view! {
            <BaseUrl url=page.base_url.clone() />
            <p class="banner banner-error" role="status">"A valid subscription is required to use API keys."</p>
        }
        .into_any();
    }
    let reveal = page.can_reveal.then_some(Reveal::ApiKey(kind));
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
        // A refresh region: Add goes once there is a key, and comes back
        // when it is deleted.
        <div class="toolbar" id="key-toolbar" data-refresh="">
            {can_add.then(|| view! { <AddKeyButton kind /> })}
            {can_share.then(|| view! {
                <DialogButton host=dialogs::HOST request=dialogs::KeyDialog::Share { orgs: other_orgs }>
                    "Use this key in other organisations"
                </DialogButton>
            })}
        </div>
        <DataTable
            layout
            caption=kind.label().to_owned()
            rows
            cell=key_cell(reveal)
            sort_key=key_sort
            row_header=""
            actions=can_manage.then(|| key_actions(kind, row_actions))
            empty="No API key yet."
        />
        {can_manage.then(|| view! {
            <DialogHost id=dialogs::HOST><dialogs::KeyDialogs /></DialogHost>
        })}
    }
    .into_any()
}

/// Add, when there is no key: one click, no dialog.
#[island]
fn AddKeyButton(kind: KeyKind) -> impl IntoView {
    let add = ServerAction::<AddApiKey>::new();
    report_outcome(add, move |_| {
        spawn_refresh();
        "API key added."
    });
    view! {
        <button type="button" class="primary" disabled=move || add.pending().get() on:click=move |_| { add.dispatch(AddApiKey { kind, policy: None }); }>
            {move || if add.pending().get() { "Adding…" } else { "Add API Key" }}
        </button>
    }
}

fn key_cell(reveal: Option<Reveal>) -> CellFn<ApiKeyView> {
    Arc::new(move |column, key| {
        let key = key.clone();
        match column {
            "key" => view! {
                <MaskedSecret masked=key.masked reveal />
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

fn key_actions(kind: KeyKind, row_actions: bool) -> ActionsFn<ApiKeyView> {
    Arc::new(move |key: &ApiKeyView| {
        view! {
            <dialogs::KeyActions
                kind
                usage=key.usage.clone()
                policy=key.policy.form()
                replaceable=row_actions
            />
        }
        .into_any()
    })
}
