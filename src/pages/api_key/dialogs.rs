//! The key page's dialogs: the row's Edit, Regenerate, Delete and
//! Restrictions, and the toolbar's "Use this key in other organisations".
//! The buttons are server-rendered; the dialogs are one lazy island,
//! [`KeyDialogs`], downloaded when one first opens
//! (`components::dialog_host`). After a change it toasts and has the
//! server draw the page again.

use super::share::{ShareApiKey, ShareDialog};
use crate::api::api_keys::{DeleteApiKey, EditApiKey, RegenerateApiKey, SetApiKeyPolicy};
use crate::components::credential_policy::{PolicyFields, PolicyInputs, is_policy_error};
use crate::components::dialog::{ConfirmDialog, FormDialog};
use crate::components::dialog_host::{DialogButton, open_dialog};
use crate::components::refresh::spawn_refresh;
use crate::components::toast::report_outcome;
use crate::error::AppError;
use crate::model::{API_KEY_LEN, CredentialPolicy, KeyKind, OrgSummary, Usage, validate_api_key};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The id of the page's dialog host (its `<template>`).
pub(super) const HOST: &str = "key-dialogs";

/// A dialog of the page, as its button asks for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) enum KeyDialog {
    Edit {
        kind: KeyKind,
    },
    Regenerate {
        kind: KeyKind,
        /// Who would notice ([`Usage::blast_radius`]).
        blast_radius: String,
    },
    Delete {
        kind: KeyKind,
        blast_radius: String,
    },
    Restrict {
        kind: KeyKind,
        /// The form's start.
        policy: CredentialPolicy,
    },
    /// "Use this key in other organisations", with the ones it can go to.
    Share {
        orgs: Vec<OrgSummary>,
    },
}

/// Restrictions always (a provider disable does not block restricting
/// the key); Edit, Regenerate and Delete when `replaceable`.
#[component]
pub(super) fn KeyActions(
    kind: KeyKind,
    /// Who would notice a regenerate or delete.
    usage: Usage,
    /// The Restrictions form's start.
    policy: CredentialPolicy,
    replaceable: bool,
) -> impl IntoView {
    let blast_radius = usage.blast_radius();
    view! {
        {replaceable.then(|| view! {
            <DialogButton host=HOST request=KeyDialog::Edit { kind }>"Edit"</DialogButton>
            <DialogButton host=HOST request=KeyDialog::Regenerate { kind, blast_radius: blast_radius.clone() }>"Regenerate"</DialogButton>
            <DialogButton host=HOST request=KeyDialog::Delete { kind, blast_radius } class="danger">"Delete"</DialogButton>
        })}
        <DialogButton host=HOST request=KeyDialog::Restrict { kind, policy }>"Restrictions"</DialogButton>
    }
}

/// The page's dialogs (docs/FIRST-LOAD.md: downloaded at the first open).
#[island(lazy)]
pub(super) fn KeyDialogs() -> impl IntoView {
    let dialog = open_dialog::<KeyDialog>();
    let edit = ServerAction::<EditApiKey>::new();
    let regenerate = ServerAction::<RegenerateApiKey>::new();
    let delete = ServerAction::<DeleteApiKey>::new();
    let restrict = ServerAction::<SetApiKeyPolicy>::new();
    let share = ServerAction::<ShareApiKey>::new();
    // A form opens without the last attempt's answer.
    Effect::new(move |_| {
        if dialog.with(Option::is_some) {
            edit.value().set(None);
            restrict.value().set(None);
            share.value().set(None);
        }
    });
    let done = move |message: &'static str| {
        dialog.set(None);
        spawn_refresh();
        message
    };
    report_outcome(edit, move |()| {
        done("API key changed. The old key and its API sessions no longer work.")
    });
    report_outcome(regenerate, move |_| {
        done("API key regenerated. The old key and its API sessions no longer work.")
    });
    report_outcome(delete, move |()| done("API key deleted."));
    report_outcome(restrict, move |()| {
        done("Restrictions saved. They apply from the next request, to existing API sessions too.")
    });
    let close = Callback::new(move |_| dialog.set(None));
    move || {
        match dialog.get() {
        None => ().into_any(),
        Some(KeyDialog::Edit { kind }) => view! { <EditKeyDialog kind edit on_cancel=close /> }.into_any(),
        Some(KeyDialog::Restrict { kind, policy }) => {
            view! { <RestrictDialog kind restrict policy on_cancel=close /> }.into_any()
        }
        Some(KeyDialog::Regenerate { kind, blast_radius }) => view! {
            <ConfirmDialog
                title="Regenerate API Key"
                message="Regenerate the key? The current key and every API session made with it stop working immediately."
                blast_radius
                pending=regenerate.pending()
                on_ok=Callback::new(move |_| { regenerate.dispatch(RegenerateApiKey { kind, policy: None }); })
                on_cancel=close
            />
        }
        .into_any(),
        Some(KeyDialog::Delete { kind, blast_radius }) => view! {
            <ConfirmDialog
                title="Delete API Key"
                message="Delete the key? It and every API session made with it stop working immediately."
                blast_radius
                pending=delete.pending()
                on_ok=Callback::new(move |_| { delete.dispatch(DeleteApiKey { kind }); })
                on_cancel=close
            />
        }
        .into_any(),
        Some(KeyDialog::Share { orgs }) => {
            view! { <ShareDialog action=share orgs on_close=close /> }.into_any()
        }
    }
    }
}

/// Typing a specific key, e.g. to share one key between organisations.
#[component]
fn EditKeyDialog(
    kind: KeyKind,
    edit: ServerAction<EditApiKey>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let server_error = move || edit.value().get().and_then(Result::err);
    let message = move || {
        local_error.get().or_else(|| {
            server_error().map(|e: AppError| {
                e.field("key")
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.to_string())
            })
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = key.get_untracked();
        let problem = validate_api_key(&value).err();
        local_error.set(problem.clone());
        if problem.is_none() {
            edit.dispatch(EditApiKey {
                kind,
                key: value,
                policy: None,
            });
        }
    };
    let pending = edit.pending();
    view! {
        <FormDialog title="Edit API Key">
            <form on:submit=submit novalidate>
                <label for="api-key">"New key"</label>
                <input
                    id="api-key"
                    name="key"
                    type="text"
                    autocomplete="off"
                    spellcheck="false"
                    maxlength=API_KEY_LEN.to_string()
                    bind:value=key
                    aria-invalid=move || message().is_some().to_string()
                    aria-describedby="api-key-help api-key-error"
                />
                <p id="api-key-help" class="hint">{format!("Exactly {API_KEY_LEN} characters: A-Z, a-z and 0-9. The current key stops working when you save.")}</p>
                <p id="api-key-error" class="field-error" role="alert">{message}</p>
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

/// The key's expiry and IP allowlist (docs/PAGES.md#credential-restrictions); the key
/// itself and its API sessions stay, and each call meets the new rules.
#[component]
fn RestrictDialog(
    kind: KeyKind,
    restrict: ServerAction<SetApiKeyPolicy>,
    policy: CredentialPolicy,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let inputs = PolicyInputs::new(&policy);
    let local = RwSignal::new(None::<(&'static str, String)>);
    let error = Signal::derive(move || restrict.value().get().and_then(Result::err));
    let general = move || {
        error
            .get()
            .filter(|e| !is_policy_error(e))
            .map(|e| e.to_string())
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let read = inputs.read(false);
        local.set(read.as_ref().err().cloned());
        if let Ok(policy) = read {
            restrict.dispatch(SetApiKeyPolicy { kind, policy });
        }
    };
    let pending = restrict.pending();
    view! {
        <FormDialog title="API Key Restrictions">
            <form on:submit=submit novalidate>
                <PolicyFields inputs with_cap=false error local />
                <p class="field-error" role="alert">{general}</p>
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
