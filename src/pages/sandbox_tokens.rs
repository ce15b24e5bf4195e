//! The Sandbox API Token tab (docs/PAGES.md#sandbox-api-token, docs/STATES.md).

mod dialogs;

use crate::api::sandbox::{
    AddSandboxToken, DeleteSandboxToken, IssuedToken, RegenerateSandboxToken, RenameSandboxToken,
    list_sandbox_tokens, reveal_sandbox_token,
};
use crate::components::clipboard::copy_to_clipboard;
use crate::components::credential_policy::{CredentialDetails, ExpiresCell, ExpiryNote};
use crate::components::data_table::{
    ActionsFn, CellFn, DataTable, LoadedLayout, SavedLayout, SortKey,
};
use crate::components::layout::{
    BaseUrl, ExpiredBanner, ViewOnlyNotice, internet_saas_tab, provide_role,
};
use crate::components::local_time::{LastUsed, LocalTime};
use crate::components::masked_secret::MaskedSecret;
use crate::components::toast::{report_outcome, use_toaster};
use crate::model::{
    CredentialPolicy, DisableReason, Expiry, Permission, Quota, Role, SandboxPage,
    SandboxTokenView, Subscription, TokenStatus, Usage,
};
use crate::paths::TableKey;
use leptos::prelude::*;
use std::sync::Arc;

/// Which dialog is open.
#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Closed,
    Add,
    /// The form starts from the token's name and restrictions.
    Edit {
        id: i64,
        name: String,
        policy: CredentialPolicy,
    },
    /// The token's usage goes with it: the dialog shows the blast radius.
    Regenerate {
        id: i64,
        name: String,
        usage: Usage,
    },
    Delete {
        id: i64,
        name: String,
        usage: Usage,
    },
}

/// The page's actions and dialog state, shared with its rows.
#[derive(Clone, Copy)]
struct Controls {
    dialog: RwSignal<Dialog>,
    add: ServerAction<AddSandboxToken>,
    rename: ServerAction<RenameSandboxToken>,
    regenerate: ServerAction<RegenerateSandboxToken>,
    delete: ServerAction<DeleteSandboxToken>,
    /// The token just added or regenerated, shown in full once.
    issued: RwSignal<Option<IssuedToken>>,
}

#[component]
pub fn SandboxTokenPage() -> impl IntoView {
    internet_saas_tab(
        "Sandbox API Token",
        "sandbox_tokens_loader",
        |viewer| view! { <SandboxTokens role=viewer.role /> },
    )
}

/// The tab's island: the tokens, their controls and dialogs.
#[island(lazy)]
fn SandboxTokens(role: Role) -> impl IntoView {
    provide_role(role);
    let controls = Controls {
        dialog: RwSignal::new(Dialog::Closed),
        add: ServerAction::new(),
        rename: ServerAction::new(),
        regenerate: ServerAction::new(),
        delete: ServerAction::new(),
        issued: RwSignal::new(None),
    };
    let Controls {
        add,
        rename,
        regenerate,
        delete,
        ..
    } = controls;
    let data = Resource::new(
        move || {
            (
                add.version().get(),
                rename.version().get(),
                regenerate.version().get(),
                delete.version().get(),
            )
        },
        |_| list_sandbox_tokens(),
    );
    let layout = SavedLayout::new(TableKey::SandboxTokens);
    report_outcomes(controls);

    view! {
        <section aria-labelledby="tab-title">
            <h2 id="tab-title">"Sandbox API Token"</h2>
            // Transition: after an action the tokens stay on screen until
            // the reloaded list arrives.
            <Transition fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    let layout = layout.load().await;
                    match data.await {
                        Ok(page) => view! { <PageBody page layout controls /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <dialogs::Dialogs controls />
    }
}

/// Toasts for every action's outcome; closes the dialog on success and
/// shows a new token's secret.
fn report_outcomes(c: Controls) {
    let done = move |message: String| {
        c.dialog.set(Dialog::Closed);
        message
    };
    report_outcome(c.add, move |t| {
        let message = format!("Token “{}” added.", t.token.name);
        c.issued.set(Some(t));
        done(message)
    });
    report_outcome(c.regenerate, move |t| {
        let message = format!(
            "Token “{}” regenerated. The old token no longer works.",
            t.token.name
        );
        c.issued.set(Some(t));
        done(message)
    });
    report_outcome(c.rename, move |()| done("Token renamed.".into()));
    report_outcome(c.delete, move |()| {
        c.issued.set(None);
        done("Token deleted. It no longer works.".into())
    });
}

#[component]
fn PageBody(page: SandboxPage, layout: LoadedLayout, controls: Controls) -> impl IntoView {
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
        <IssuedPanel controls />
        <div class="toolbar">
            {can_add.then(|| view! {
                <button type="button" class="primary" on:click=move |_| {
                    controls.add.value().set(None);
                    controls.dialog.set(Dialog::Add);
                }>
                    "Add Sandbox API Token"
                </button>
            })}
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
            actions=token_actions(controls, row_actions).filter(|_| actions_column)
            empty="No Sandbox API Tokens yet."
        />
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
                let id = token.id;
                let reveal =
                    can_reveal.then(|| Action::new(move |_: &()| reveal_sandbox_token(id)));
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
fn token_actions(controls: Controls, row_actions: bool) -> Option<ActionsFn<SandboxTokenView>> {
    Some(Arc::new(move |token: &SandboxTokenView| {
        let id = token.id;
        let name = token.name.clone();
        let (edit_name, regen_name, delete_name) = (name.clone(), name.clone(), name);
        let usage = token.usage.clone();
        let policy = token.policy.form();
        let enabled_actions =
            row_actions && !matches!(token.status, TokenStatus::DisabledByProvider(_));
        view! {
            <button type="button" on:click=move |_| {
                controls.rename.value().set(None);
                controls.dialog.set(Dialog::Edit { id, name: edit_name.clone(), policy: policy.clone() });
            }>"Edit"</button>
            {enabled_actions.then(|| view! {
                <button type="button" on:click={
                    let usage = usage.clone();
                    move |_| controls.dialog.set(Dialog::Regenerate { id, name: regen_name.clone(), usage: usage.clone() })
                }>
                    "Regenerate"
                </button>
                <button type="button" class="danger" on:click=move |_| controls.dialog.set(Dialog::Delete { id, name: delete_name.clone(), usage: usage.clone() })>
                    "Delete"
                </button>
            })}
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

/// The secret of a token just added or regenerated.
#[component]
fn IssuedPanel(controls: Controls) -> impl IntoView {
    let toaster = use_toaster();
    move || {
        controls.issued.get().map(|issued| {
            let secret = issued.secret.clone();
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
                    <button type="button" class="link" on:click=move |_| controls.issued.set(None)>"Dismiss"</button>
                </div>
            }
        })
    }
}
