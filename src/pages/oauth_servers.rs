//! The OAuth 2.0 Authorization Servers tab (docs/PAGES.md#oauth-20-authorization-servers).

use crate::api::oauth::{DeleteOauthServer, SaveOauthServer, ValidateJwks, list_oauth_servers};
use crate::components::data_table::{ActionsFn, CellFn, DataTable, LoadedLayout, SortKey};
use crate::components::dialog::{ConfirmDialog, FormDialog};
use crate::components::dialog_host::{DialogButton, DialogHost, open_dialog};
use crate::components::layout::{
    BaseUrl, ExpiredBanner, ViewOnlyNotice, internet_saas_tab, provide_role,
};
use crate::components::local_time::LocalTime;
use crate::components::refresh::spawn_refresh;
use crate::components::toast::report_outcome;
use crate::model::{
    OAUTH_MAX_SERVERS, OAuthPage, OAuthServerForm, OAuthServerView, Permission, Role, Subscription,
    validate_oauth_form,
};
use crate::paths::TableKey;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[component]
pub fn OAuthServersPage() -> impl IntoView {
    internet_saas_tab("OAuth 2.0 Authorization Servers", |viewer| {
        view! { <OAuthServers role=viewer.role /> }
    })
}

/// The tab, drawn on the server. Its dialogs are one lazy island
/// ([`OAuthDialogs`]), opened by Add ([`AddServerButton`]) and each row's
/// Edit and Delete ([`ServerActions`]).
#[component]
fn OAuthServers(role: Role) -> impl IntoView {
    provide_role(role);
    view! {
        <section aria-labelledby="tab-title">
            <h2 id="tab-title">"OAuth 2.0 Authorization Servers"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {Suspend::new(async move {
                    let layout = LoadedLayout::load(TableKey::OAuthServers).await;
                    match list_oauth_servers().await {
                        Ok(page) => view! { <ServerTable page layout /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ServerTable(page: OAuthPage, layout: LoadedLayout) -> impl IntoView {
    if page.subscription == Subscription::None {
        return view! {
            <BaseUrl url=page.base_url.clone() />
            <p class="banner banner-error" role="status">"A valid subscription is required to use authorization servers."</p>
        }
        .into_any();
    }
    let can_add = page.can_add();
    let at_limit = page.can_manage && !can_add;
    let can_manage = page.can_manage;
    let view_only = !can_manage && page.subscription == Subscription::Active;
    view! {
        {view_only.then(|| view! { <ViewOnlyNotice permission=Permission::ManageOAuthServers /> })}
        <BaseUrl url=page.base_url.clone() />
        {(page.subscription == Subscription::Expired).then(|| view! {
            <ExpiredBanner
                text="Your API subscription has expired. Authorization servers can be viewed but not changed until the subscription is renewed."
                contact=page.support_contact.clone()
            />
        })}
        // A refresh region: at the limit, Add is withdrawn.
        <div class="toolbar" id="oauth-toolbar" data-refresh="">
            {can_add.then(|| view! { <AddServerButton /> })}
            {at_limit.then(|| view! { <p class="hint">{format!("An organisation can have at most {OAUTH_MAX_SERVERS} authorization servers.")}</p> })}
        </div>
        <DataTable
            layout
            caption="OAuth 2.0 Authorization Servers".to_owned()
            rows=page.servers
            cell=oauth_cell()
            sort_key=oauth_sort
            row_header="name"
            actions=can_manage.then(oauth_actions)
            empty="No authorization servers yet."
        />
        {can_manage.then(|| view! { <DialogHost id=HOST><OAuthDialogs /></DialogHost> })}
    }
    .into_any()
}

fn oauth_cell() -> CellFn<OAuthServerView> {
    Arc::new(|column, s| {
        let s = s.clone();
        match column {
            "name" => s.form.name.into_any(),
            "status" => view! {
                <span class="status" class:status-disabled=!s.form.enabled>{if s.form.enabled { "Enabled" } else { "Disabled" }}</span>
            }
            .into_any(),
            "description" => s.form.description.into_any(),
            "last_fetch" => s.last_fetch_at.map(|at| view! { <LocalTime at /> }).into_any(),
            "issuer" => s.form.issuer.into_any(),
            "audience" => s.form.audience.into_any(),
            "client_id" => s.form.client_id.into_any(),
            "modified_by" => s.last_modified_by.into_any(),
            "modified_on" => view! { <LocalTime at=s.last_modified_on /> }.into_any(),
            _ => ().into_any(),
        }
    })
}

fn oauth_sort(column: &'static str, s: &OAuthServerView) -> SortKey {
    match column {
        "last_fetch" => SortKey::Number(s.last_fetch_at.unwrap_or(0)),
        "modified_on" => SortKey::Number(s.last_modified_on),
        "status" => SortKey::Number(i64::from(s.form.enabled)),
        "description" => SortKey::Text(s.form.description.to_lowercase()),
        "issuer" => SortKey::Text(s.form.issuer.clone()),
        "audience" => SortKey::Text(s.form.audience.clone()),
        "client_id" => SortKey::Text(s.form.client_id.clone()),
        "modified_by" => SortKey::Text(s.last_modified_by.clone()),
        _ => SortKey::Text(s.form.name.to_lowercase()),
    }
}

fn oauth_actions() -> ActionsFn<OAuthServerView> {
    Arc::new(move |s: &OAuthServerView| {
        view! { <ServerActions id=s.id form=s.form.clone() /> }.into_any()
    })
}

/// The id of the tab's dialog host (its `<template>`).
const HOST: &str = "oauth-dialogs";

/// A dialog of the tab, as its button asks for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum OAuthDialog {
    Add,
    Edit { id: i64, form: OAuthServerForm },
    Delete { id: i64, name: String },
}

/// The toolbar's "Add Authorization Server".
#[component]
fn AddServerButton() -> impl IntoView {
    view! {
        <DialogButton host=HOST request=OAuthDialog::Add class="primary">"Add Authorization Server"</DialogButton>
    }
}

/// A row's Edit and Delete.
#[component]
fn ServerActions(id: i64, form: OAuthServerForm) -> impl IntoView {
    let name = form.name.clone();
    view! {
        <DialogButton host=HOST request=OAuthDialog::Edit { id, form }>"Edit"</DialogButton>
        <DialogButton host=HOST request=OAuthDialog::Delete { id, name } class="danger">"Delete"</DialogButton>
    }
}

/// The tab's dialogs (docs/FIRST-LOAD.md: downloaded at the first open).
#[island(lazy)]
fn OAuthDialogs() -> impl IntoView {
    let dialog = open_dialog::<OAuthDialog>();
    let save = ServerAction::<SaveOauthServer>::new();
    let delete = ServerAction::<DeleteOauthServer>::new();
    // A form opens without the last attempt's error.
    Effect::new(move |_| {
        if dialog.with(Option::is_some) {
            save.value().set(None);
        }
    });
    report_outcome(save, move |_| {
        dialog.set(None);
        spawn_refresh();
        "Authorization server saved."
    });
    report_outcome(delete, move |()| {
        dialog.set(None);
        spawn_refresh();
        "Authorization server deleted."
    });
    let close = Callback::new(move |_| dialog.set(None));
    move || match dialog.get() {
        None => ().into_any(),
        Some(OAuthDialog::Add) => {
            let form = OAuthServerForm {
                validate_cert: true,
                ..Default::default()
            };
            view! { <ServerForm id=None form save on_cancel=close /> }.into_any()
        }
        Some(OAuthDialog::Edit { id, form }) => {
            view! { <ServerForm id=Some(id) form save on_cancel=close /> }.into_any()
        }
        Some(OAuthDialog::Delete { id, name }) => view! {
            <ConfirmDialog
                title="Delete Authorization Server"
                message=format!("Delete “{name}”? Tokens it signed are no longer accepted.")
                pending=delete.pending()
                on_ok=Callback::new(move |_| { delete.dispatch(DeleteOauthServer { id }); })
                on_cancel=close
            />
        }
        .into_any(),
    }
}

/// Add/Edit. Save is offered only after Validate fetched and parsed the JWKS
/// at the location currently typed (the server fetches it again on save).
#[component]
fn ServerForm(
    id: Option<i64>,
    form: OAuthServerForm,
    save: ServerAction<SaveOauthServer>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let s = FormState::new(form, save);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        s.submit(id);
    };
    let title = if id.is_some() {
        "Edit Authorization Server"
    } else {
        "Add Authorization Server"
    };
    view! {
        <FormDialog title>
            <form on:submit=submit novalidate class="oauth-form">
                {s.toggle(" Enable", |f| f.enabled, |f, on| f.enabled = on)}
                {s.text("Name", "name", |f| f.name.clone(), |f, v| f.name = v)}
                {s.text("Description", "description", |f| f.description.clone(), |f, v| f.description = v)}
                <JwksField s />
                {s.toggle(" JWKS Server Certificate Validation", |f| f.validate_cert, |f, on| f.validate_cert = on)}
                {s.text("Audience URI", "audience", |f| f.audience.clone(), |f, v| f.audience = v)}
                {s.text("Issuer URI", "issuer", |f| f.issuer.clone(), |f, v| f.issuer = v)}
                {s.text("Client ID", "client_id", |f| f.client_id.clone(), |f, v| f.client_id = v)}
                <div class="dialog-actions">
                    <Show when=move || s.is_validated() fallback=|| view! { <p class="hint">"Validate the JWKS location to save."</p> }>
                        <button type="submit" class="primary" disabled=move || save.pending().get()>
                            {move || if save.pending().get() { "Saving…" } else { "Save" }}
                        </button>
                    </Show>
                    <button type="button" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
            </form>
        </FormDialog>
    }
}

/// The form being edited, its messages, and the JWKS validation.
#[derive(Clone, Copy)]
struct FormState {
    f: RwSignal<OAuthServerForm>,
    /// The form's own check, shown before the server's answers.
    local_errors: RwSignal<Vec<(&'static str, String)>>,
    save: ServerAction<SaveOauthServer>,
    validate: ServerAction<ValidateJwks>,
    /// The (url, cert check) pair the last successful validation was for.
    validated_for: RwSignal<Option<(String, bool)>>,
}

impl FormState {
    fn new(form: OAuthServerForm, save: ServerAction<SaveOauthServer>) -> Self {
        let s = FormState {
            f: RwSignal::new(form),
            local_errors: RwSignal::new(Vec::new()),
            save,
            validate: ServerAction::new(),
            validated_for: RwSignal::new(None),
        };
        Effect::new(move |_| {
            if let Some(Ok(_)) = s.validate.value().get() {
                s.validated_for
                    .set(Some(s.f.with_untracked(Self::jwks_target)));
            }
        });
        s
    }

    fn jwks_target(f: &OAuthServerForm) -> (String, bool) {
        (f.jwks_url.clone(), f.validate_cert)
    }

    fn is_validated(self) -> bool {
        self.validated_for.get() == Some(self.f.with(Self::jwks_target))
    }

    /// The message for `field`: the form's own check, then Save's answer,
    /// then (for the JWKS location) Validate's.
    fn error(self, field: &'static str) -> Option<String> {
        self.local_errors
            .get()
            .into_iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m)
            .or_else(|| {
                let e = self.save.value().get().and_then(Result::err)?;
                e.field(field).map(str::to_owned)
            })
            .or_else(|| {
                let e = self.validate.value().get().and_then(Result::err);
                e.filter(|_| field == "jwks_url").map(|e| {
                    e.field("jwks_url")
                        .map(str::to_owned)
                        .unwrap_or_else(|| e.to_string())
                })
            })
    }

    fn submit(self, id: Option<i64>) {
        let form = self.f.get_untracked();
        let problems = validate_oauth_form(&form);
        let ok = problems.is_empty();
        self.local_errors.set(problems);
        if ok {
            self.save.dispatch(SaveOauthServer { id, form });
        }
    }

    fn text(
        self,
        label: &'static str,
        field: &'static str,
        get: fn(&OAuthServerForm) -> String,
        set: fn(&mut OAuthServerForm, String),
    ) -> impl IntoView {
        let f = self.f;
        let input_id = format!("oauth-{field}");
        let err_id = format!("oauth-{field}-error");
        view! {
            <label for=input_id.clone()>{label}</label>
            <input
                id=input_id
                type="text"
                prop:value=move || f.with(get)
                on:input=move |ev| f.update(|form| set(form, event_target_value(&ev)))
                aria-describedby=err_id.clone()
            />
            <p id=err_id class="field-error" role="alert">{move || self.error(field)}</p>
        }
    }

    fn toggle(
        self,
        label: &'static str,
        get: fn(&OAuthServerForm) -> bool,
        set: fn(&mut OAuthServerForm, bool),
    ) -> impl IntoView {
        let f = self.f;
        view! {
            <label class="toggle">
                <input type="checkbox" role="switch" prop:checked=move || f.with(get) on:change=move |ev| f.update(|form| set(form, event_target_checked(&ev))) />
                {label}
            </label>
        }
    }
}

/// The JWKS location with its Validate button, and the keys found.
#[component]
fn JwksField(s: FormState) -> impl IntoView {
    let (f, validate) = (s.f, s.validate);
    let keys = move || {
        validate.value().get().and_then(Result::ok).filter(|_| s.is_validated()).map(|keys| view! {
            <div class="banner banner-success" role="status">
                <p>{format!("The JWKS is valid: {} key(s).", keys.len())}</p>
                <ul class="keys">
                    {keys.into_iter().map(|k| view! {
                        <li>{format!("kid {} · {} · {}", k.kid.unwrap_or_else(|| "(none)".into()), k.kty, k.alg.unwrap_or_else(|| "any algorithm".into()))}</li>
                    }).collect_view()}
                </ul>
            </div>
        })
    };
    view! {
        <label for="oauth-jwks_url">"OAuth 2.0 JWKS Location"</label>
        <div class="inline">
            <input
                id="oauth-jwks_url"
                type="url"
                placeholder="https://idp.example.com/oauth2/v1/keys"
                prop:value=move || f.with(|f| f.jwks_url.clone())
                on:input=move |ev| f.update(|form| form.jwks_url = event_target_value(&ev))
                aria-describedby="oauth-jwks_url-error"
            />
            <button type="button" disabled=move || validate.pending().get() on:click=move |_| {
                let (jwks_url, validate_cert) = f.with_untracked(FormState::jwks_target);
                validate.dispatch(ValidateJwks { jwks_url, validate_cert });
            }>{move || if validate.pending().get() { "Validating…" } else { "Validate" }}</button>
        </div>
        <p id="oauth-jwks_url-error" class="field-error" role="alert">{move || s.error("jwks_url")}</p>
        {keys}
    }
}
