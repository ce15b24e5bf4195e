//! The Sandbox API Token tab (docs/PAGES.md#sandbox-api-token, docs/STATES.md).

mod dialogs;

use crate::api::sandbox::{IssuedToken, list_sandbox_tokens};
use crate::components::clipboard::copy_to_clipboard;
use crate::components::credential_policy::{CredentialDetails, ExpiresCell, ExpiryNote};
use crate::components::data_table::{ActionsFn, CellFn, DataTable, LoadedLayout, SortKey};
use crate::components::dialog_host::DialogHost;
use crate::components::layout::{
    BaseUrl, ExpiredBanner, ViewOnlyNotice, internet_saas_tab, provide_role,
};
use crate::components::local_time::{LastUsed, LocalTime};
use crate::components::masked_secret::{MaskedSecret, Reveal};
use crate::components::page_state::page_signal;
use crate::components::toast::use_toaster;
use crate::model::{
    DisableReason, Expiry, Permission, Quota, Role, SandboxPage, SandboxTokenView, Subscription,
    TokenStatus,
};
use crate::paths::TableKey;
use leptos::prelude::*;
use std::sync::Arc;

#[component]
pub fn SandboxTokenPage() -> impl IntoView {
    internet_saas_tab("Sandbox API Token", |viewer| {
        view! { <SandboxTab role=viewer.role /> }
    })
}

/// The tab: drawn on the server from the page's data. The controls are
/// islands: the dialogs ([`dialogs::SandboxDialogs`], opened by Add and each
/// row's actions), the new secret
/// ([`IssuedTokenPanel`]), the masked tokens and the table's menu.
#[component]
fn SandboxTab(role: Role) -> impl IntoView {
    provide_role(role);
    view! {
        <section aria-labelledby="tab-title">
            <h2 id="tab-title">"Sandbox API Token"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
                {Suspend::new(async move {
                    let layout = LoadedLayout::load(TableKey::SandboxTokens).await;
                    match list_sandbox_tokens().await {
                        Ok(page) => view! { <PageBody page layout /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The token just added or regenerated, shown in full once: set by the
/// island that got it, shown by [`IssuedTokenPanel`].
#[derive(Clone, Default)]
struct JustIssued(Option<IssuedToken>);

fn just_issued() -> ArcRwSignal<JustIssued> {
    page_signal(JustIssued::default)
}

#[component]
fn PageBody(page: SandboxPage, layout: LoadedLayout) -> impl IntoView {
    if page.subscription == Subscription::None {
        return view! {
            <BaseUrl url=page.base_url.clone() />
            <p class="banner banner-error" role="status">"A valid subscription is required to use Sandbox API Tokens."</p>
        }
        .into_any();
    }
    let can_add = page.can_add();
    let at_limit = page.can_manage && page.disabled_reason.is_none() && !can_add;
    let limit = page.limit;
    let actions_column = page.can_manage;
    let row_actions = page.can_manage && page.disabled_reason.is_none();
    let can_reveal = page.can_reveal;
    let view_only = !page.can_manage && page.subscription == Subscription::Active;
    view! {
        {view_only.then(|| view! { <ViewOnlyNotice permission=Permission::ManageSandboxTokens /> })}
        <BaseUrl url=page.base_url.clone() />
        {(page.subscription == Subscription::Expired).then(|| view! {
            <ExpiredBanner
                text="Your Sandbox subscription has expired. Tokens are kept and quota calls still answer, but submissions are refused and nothing can be changed until the subscription is renewed."
                contact=page.support_contact.clone()
            />
        })}
        {page.disabled_reason.map(|reason| view! { <ProviderDisabledBanner reason /> })}
        <QuotaMeter quota=page.quota />
        <IssuedTokenPanel />
        // A refresh region: at the limit, Add is withdrawn.
        <div class="toolbar" id="sandbox-toolbar" data-refresh="">
            {can_add.then(|| view! { <dialogs::AddTokenButton /> })}
            {at_limit.then(|| view! {
                <p class="hint">{format!("This organisation has its maximum of {limit} token(s). Delete an existing token before adding a new one.")}</p>
            })}
        </div>
        <DataTable
            layout
            caption="Sandbox API Tokens".to_owned()
            rows=page.tokens
            cell=token_cell(can_reveal)
            sort_key=token_sort_key
            row_header="name"
            actions=token_actions(row_actions).filter(|_| actions_column)
            empty="No Sandbox API Tokens yet."
        />
        {actions_column.then(|| view! {
            <DialogHost id=dialogs::HOST><dialogs::SandboxDialogs /></DialogHost>
        })}
    }
    .into_any()
}

#[component]
fn ProviderDisabledBanner(reason: DisableReason) -> impl IntoView {
    view! {
        <div class="banner banner-error" role="status">
            <p><strong>"Disabled by your service provider"</strong> {format!(" ({}).", reason.label())}</p>
            <p>"Contact support or your service provider to re-enable the token."</p>
        </div>
    }
}

/// Today's submissions against the daily allowance; from 80 % it warns that
/// the provider's threshold will disable the organisation's tokens.
#[component]
fn QuotaMeter(quota: Quota) -> impl IntoView {
    let warns = quota.warns();
    let label = format!(
        "{} of {} Sandbox API calls used today ({} %)",
        quota.used,
        quota.allowed,
        quota.percent()
    );
    view! {
        <div class="quota" class:quota-warning=warns>
            <label for="quota-meter">"Daily Sandbox API calls"</label>
            <meter
                id="quota-meter"
                min="0"
                max=quota.allowed.max(1).to_string()
                low=(quota.allowed * 8 / 10).to_string()
                high=(quota.allowed * 8 / 10).to_string()
                optimum="0"
                value=quota.used.to_string()
                aria-describedby="quota-text"
            ></meter>
            <span id="quota-text" class="quota-text">{label}</span>
            {warns.then(|| view! {
                <p class="banner banner-warning" role="status">
                    "The organisation has used 80 % or more of its daily Sandbox API-call allowance. Past the allowance, the service provider's threshold disables every Sandbox API token until it is re-enabled."
                </p>
            })}
        </div>
    }
}

fn token_cell(can_reveal: bool) -> CellFn<SandboxTokenView> {
    Arc::new(move |key, token| {
        let token = token.clone();
        match key {
            "name" => view! {
                {token.name}
                <CredentialDetails policy=token.policy reveals=token.reveals />
            }
            .into_any(),
            "token" => {
                let reveal = can_reveal.then_some(Reveal::SandboxToken(token.id));
                view! { <MaskedSecret masked=token.masked reveal /> }.into_any()
            }
            "status" => {
                view! { <StatusCell status=token.status expiry=token.policy.expiry /> }.into_any()
            }
            "expires" => view! { <ExpiresCell expiry=token.policy.expiry /> }.into_any(),
            "modified_by" => token.last_modified_by.into_any(),
            "modified_on" => view! { <LocalTime at=token.last_modified_on /> }.into_any(),
            "last_used" => view! { <LastUsed usage=token.usage /> }.into_any(),
            "calls_24h" => token.usage.calls_24h.to_string().into_any(),
            _ => ().into_any(),
        }
    })
}

fn token_sort_key(key: &'static str, t: &SandboxTokenView) -> SortKey {
    match key {
        "modified_on" => SortKey::Number(t.last_modified_on),
        "last_used" => SortKey::Number(t.usage.last_used_on.unwrap_or(0)),
        "calls_24h" => SortKey::Number(t.usage.calls_24h),
        // Never expiring sorts last.
        "expires" => SortKey::Number(t.policy.expiry.at().unwrap_or(i64::MAX)),
        "status" => SortKey::Text(t.status.label().to_owned()),
        "modified_by" => SortKey::Text(t.last_modified_by.to_lowercase()),
        "token" => SortKey::Text(t.masked.clone()),
        _ => SortKey::Text(t.name.to_lowercase()),
    }
}

/// Edit always; Regenerate and Delete unless the provider disabled tokens.
fn token_actions(row_actions: bool) -> Option<ActionsFn<SandboxTokenView>> {
    Some(Arc::new(move |token: &SandboxTokenView| {
        let replaceable =
            row_actions && !matches!(token.status, TokenStatus::DisabledByProvider(_));
        view! {
            <dialogs::TokenActions
                id=token.id
                name=token.name.clone()
                usage=token.usage.clone()
                policy=token.policy.form()
                replaceable
            />
        }
        .into_any()
    }))
}

/// The status, why it is disabled, and an expiry within a week (or past).
#[component]
fn StatusCell(status: TokenStatus, expiry: Expiry) -> impl IntoView {
    let detail = match status {
        TokenStatus::Enabled => None,
        TokenStatus::DisabledByProvider(reason) => {
            Some(format!("By the service provider: {}", reason.label()))
        }
        TokenStatus::SubscriptionExpired => Some("Subscription expired".to_owned()),
    };
    view! {
        <span class="status" class:status-disabled=status != TokenStatus::Enabled>{status.label()}</span>
        {detail.map(|d| view! { <span class="status-detail">{d}</span> })}
        <ExpiryNote expiry />
    }
}

/// The secret of a token just added or regenerated. Outside the refresh
/// regions: it stays up while the table is drawn again.
#[island]
fn IssuedTokenPanel() -> impl IntoView {
    let toaster = use_toaster();
    let issued = just_issued();
    let dismiss = issued.clone();
    move || {
        issued.get().0.map(|issued| {
            let secret = issued.secret.clone();
            let dismiss = dismiss.clone();
            view! {
                <div class="banner banner-success issued" role="status">
                    <p>
                        {format!("New token for “{}”: ", issued.token.name)}
                        <code class="issued-secret">{issued.secret.clone()}</code>
                    </p>
                    <button type="button" on:click=move |_| {
                        if copy_to_clipboard(&secret) {
                            toaster.success("Copied to the clipboard.");
                        }
                    }>"Copy new token"</button>
                    <button type="button" class="link" on:click=move |_| dismiss.set(JustIssued(None))>"Dismiss"</button>
                </div>
            }
        })
    }
}
