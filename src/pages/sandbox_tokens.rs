//! The Sandbox API Token tab (PRODUCT.md §2.1, §3).

use crate::api::sandbox::{
    AddSandboxToken, DeleteSandboxToken, IssuedToken, RegenerateSandboxToken, RenameSandboxToken,
    list_sandbox_tokens, reveal_sandbox_token,
};
use crate::api::tables::get_table_layout;
use crate::components::clipboard::copy_to_clipboard;
use crate::components::data_table::{ActionsFn, CellFn, DataTable, SortKey};
use crate::components::dialog::{ConfirmDialog, FormDialog};
use crate::components::layout::{BaseUrl, Breadcrumbs, internet_saas_trail};
use crate::components::masked_secret::MaskedSecret;
use crate::components::tabs::InternetSaasTabs;
use crate::components::toast::{Toaster, use_toaster};
use crate::error::AppError;
use crate::model::{
    ColumnSpec, DisableReason, Quota, SandboxPage, SandboxTokenView, Subscription, TableLayout,
    TokenStatus, Usage, format_timestamp,
};
use leptos::prelude::*;
use leptos_meta::Title;
use std::sync::Arc;

/// Which dialog is open.
#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Closed,
    Add,
    Edit {
        id: i64,
        name: String,
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
    let layout = Resource::new(|| (), |_| get_table_layout("sandbox_tokens".to_owned()));
    report_outcomes(controls, use_toaster());

    view! {
        <Title text="Sandbox API Token" />
        <Breadcrumbs trail=internet_saas_trail("Sandbox API Token") />
        <h1>"Internet & SaaS API"</h1>
        <InternetSaasTabs />
        <section aria-labelledby="tab-title">
            <h2 id="tab-title">"Sandbox API Token"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading tokens…"</p> }>
                {move || Suspend::new(async move {
                    let layout = layout.await.unwrap_or_default();
                    match data.await {
                        Ok(page) => view! { <PageBody page layout controls /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <Dialogs controls />
    }
}

/// Toasts for every action's outcome; closes the dialog on success.
fn report_outcomes(c: Controls, toaster: Toaster) {
    let done = move |message: String| {
        c.dialog.set(Dialog::Closed);
        toaster.success(message);
    };
    Effect::new(move |_| match c.add.value().get() {
        Some(Ok(t)) => {
            done(format!("Token “{}” added.", t.token.name));
            c.issued.set(Some(t));
        }
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
    Effect::new(move |_| match c.regenerate.value().get() {
        Some(Ok(t)) => {
            done(format!(
                "Token “{}” regenerated. The old token no longer works.",
                t.token.name
            ));
            c.issued.set(Some(t));
        }
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
    Effect::new(move |_| match c.rename.value().get() {
        Some(Ok(())) => done("Token renamed.".into()),
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
    Effect::new(move |_| match c.delete.value().get() {
        Some(Ok(())) => {
            c.issued.set(None);
            done("Token deleted. It no longer works.".into());
        }
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
}

#[component]
fn PageBody(page: SandboxPage, layout: TableLayout, controls: Controls) -> impl IntoView {
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
    view! {
        <BaseUrl url=page.base_url.clone() />
        {(page.subscription == Subscription::Expired).then(|| view! {
            <p class="banner banner-warning" role="status">
                "Your Sandbox subscription has expired. Tokens are kept but disabled, and nothing can be changed until the subscription is renewed."
            </p>
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
            table="sandbox_tokens"
            caption="Sandbox API Tokens".to_owned()
            specs=&SANDBOX_COLUMNS
            layout
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

/// The table's columns (PRODUCT.md §2.1); the last two are optional.
static SANDBOX_COLUMNS: [ColumnSpec; 7] = [
    ColumnSpec::fixed("name", "Name"),
    ColumnSpec::fixed("token", "Sandbox API Token"),
    ColumnSpec::fixed("status", "Status"),
    ColumnSpec::fixed("modified_by", "Last Modified By"),
    ColumnSpec::fixed("modified_on", "Last Modified On"),
    ColumnSpec::optional("last_used", "Last Used", false),
    ColumnSpec::optional("calls_24h", "API Calls (24h)", false),
];

fn token_cell(can_reveal: bool) -> CellFn<SandboxTokenView> {
    Arc::new(move |key, token| {
        let token = token.clone();
        match key {
            "name" => token.name.into_any(),
            "token" => {
                let id = token.id;
                let reveal =
                    can_reveal.then(|| Action::new(move |_: &()| reveal_sandbox_token(id)));
                view! { <MaskedSecret masked=token.masked reveal /> }.into_any()
            }
            "status" => view! { <StatusCell status=token.status /> }.into_any(),
            "modified_by" => token.last_modified_by.into_any(),
            "modified_on" => format_timestamp(token.last_modified_on).into_any(),
            "last_used" => token.usage.last_used_label().into_any(),
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
        let enabled_actions =
            row_actions && !matches!(token.status, TokenStatus::DisabledByProvider(_));
        view! {
            <button type="button" on:click=move |_| {
                controls.rename.value().set(None);
                controls.dialog.set(Dialog::Edit { id, name: edit_name.clone() });
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

#[component]
fn StatusCell(status: TokenStatus) -> impl IntoView {
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

#[component]
fn Dialogs(controls: Controls) -> impl IntoView {
    let c = controls;
    let close = Callback::new(move |_| c.dialog.set(Dialog::Closed));
    move || {
        match c.dialog.get() {
        Dialog::Closed => ().into_any(),
        Dialog::Add => view! {
            <NameDialog
                title="Add Sandbox API Token"
                initial=String::new()
                pending=c.add.pending()
                error=Signal::derive(move || c.add.value().get().and_then(Result::err))
                on_save=Callback::new(move |name| { c.add.dispatch(AddSandboxToken { name }); })
                on_cancel=close
            />
        }
        .into_any(),
        Dialog::Edit { id, name } => view! {
            <NameDialog
                title="Edit Sandbox API Token"
                initial=name
                pending=c.rename.pending()
                error=Signal::derive(move || c.rename.value().get().and_then(Result::err))
                on_save=Callback::new(move |name| { c.rename.dispatch(RenameSandboxToken { id, name }); })
                on_cancel=close
            />
        }
        .into_any(),
        Dialog::Regenerate { id, name, usage } => view! {
            <ConfirmDialog
                title="Regenerate Sandbox API Token"
                message=format!("Regenerate “{name}”? The current token stops working immediately, everywhere it is used.")
                blast_radius=usage.blast_radius()
                pending=c.regenerate.pending()
                on_ok=Callback::new(move |_| { c.regenerate.dispatch(RegenerateSandboxToken { id }); })
                on_cancel=close
            />
        }
        .into_any(),
        Dialog::Delete { id, name, usage } => view! {
            <ConfirmDialog
                title="Delete Sandbox API Token"
                message=format!("Delete “{name}”? It stops working immediately, everywhere it is used.")
                blast_radius=usage.blast_radius()
                pending=c.delete.pending()
                on_ok=Callback::new(move |_| { c.delete.dispatch(DeleteSandboxToken { id }); })
                on_cancel=close
            />
        }
        .into_any(),
    }
    }
}

/// Name form for Add and Edit: validated here for quick feedback, and again
/// by the server, whose message wins.
#[component]
fn NameDialog(
    title: &'static str,
    initial: String,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<AppError>>,
    on_save: Callback<String>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(initial);
    let local_error = RwSignal::new(None::<String>);
    let message = move || {
        local_error.get().or_else(|| {
            error.get().map(|e| {
                e.field("name")
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.to_string())
            })
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = name.get_untracked().trim().to_owned();
        let problem = if value.is_empty() {
            Some("Enter a name for the token.".to_owned())
        } else if value.chars().count() > 64 {
            Some("The name must be at most 64 characters.".to_owned())
        } else {
            None
        };
        local_error.set(problem.clone());
        if problem.is_none() {
            on_save.run(value);
        }
    };
    view! {
        <FormDialog title>
            <form on:submit=submit novalidate>
                <label for="token-name">"Name"</label>
                <input
                    id="token-name"
                    name="name"
                    type="text"
                    maxlength="64"
                    required
                    bind:value=name
                    aria-invalid=move || message().is_some().to_string()
                    aria-describedby="token-name-error"
                />
                <p id="token-name-error" class="field-error" role="alert">{message}</p>
                <div class="dialog-actions">
                    <button type="submit" class="primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button type="button" disabled=move || pending.get() on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </form>
        </FormDialog>
    }
}
