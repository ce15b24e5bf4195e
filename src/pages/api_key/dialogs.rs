//! The dialogs of a key page: Add, Edit, Regenerate, Delete and Restrictions.

use super::{Controls, Dialog};
use crate::api::api_keys::{DeleteApiKey, EditApiKey, RegenerateApiKey, SetApiKeyPolicy};
use crate::components::credential_policy::{PolicyFields, PolicyInputs, is_policy_error};
use crate::components::dialog::{ConfirmDialog, FormDialog};
use crate::error::AppError;
use crate::model::{API_KEY_LEN, CredentialPolicy, validate_api_key};
use leptos::prelude::*;

#[component]
pub(super) fn Dialogs(c: Controls) -> impl IntoView {
    let close = Callback::new(move |_| c.dialog.set(Dialog::Closed));
    let kind = c.kind;
    move || {
        match c.dialog.get() {
        Dialog::Closed => ().into_any(),
        Dialog::Edit => view! { <EditKeyDialog c on_cancel=close /> }.into_any(),
        Dialog::Restrict(policy) => view! { <RestrictDialog c policy on_cancel=close /> }.into_any(),
        Dialog::Regenerate => view! {
            <ConfirmDialog
                title="Regenerate API Key"
                message="Regenerate the key? The current key and every API session made with it stop working immediately."
                blast_radius=c.usage.get_untracked().blast_radius()
                pending=c.regenerate.pending()
                on_ok=Callback::new(move |_| { c.regenerate.dispatch(RegenerateApiKey { kind, policy: None }); })
                on_cancel=close
            />
        }
        .into_any(),
        Dialog::Delete => view! {
            <ConfirmDialog
                title="Delete API Key"
                message="Delete the key? It and every API session made with it stop working immediately."
                blast_radius=c.usage.get_untracked().blast_radius()
                pending=c.delete.pending()
                on_ok=Callback::new(move |_| { c.delete.dispatch(DeleteApiKey { kind }); })
                on_cancel=close
            />
        }
        .into_any(),
        Dialog::Share(orgs) => view! {
            <super::share::ShareDialog action=c.share orgs on_close=close />
        }
        .into_any(),
    }
    }
}

/// Typing a specific key, e.g. to share one key between organisations.
#[component]
fn EditKeyDialog(c: Controls, on_cancel: Callback<()>) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let local_error = RwSignal::new(None::<String>);
    let server_error = move || c.edit.value().get().and_then(Result::err);
    let message = move || {
        local_error.get().or_else(|| {
            server_error().map(|e: AppError| {
                e.field("key")
                    .map(str::to_owned)
                    .unwrap_or_else(|| e.to_string())
            })
        })
    };
    let kind = c.kind;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = key.get_untracked();
        let problem = validate_api_key(&value).err();
        local_error.set(problem.clone());
        if problem.is_none() {
            c.edit.dispatch(EditApiKey {
                kind,
                key: value,
                policy: None,
            });
        }
    };
    let pending = c.edit.pending();
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
fn RestrictDialog(c: Controls, policy: CredentialPolicy, on_cancel: Callback<()>) -> impl IntoView {
    let inputs = PolicyInputs::new(&policy);
    let local = RwSignal::new(None::<(&'static str, String)>);
    let error = Signal::derive(move || c.restrict.value().get().and_then(Result::err));
    let general = move || {
        error
            .get()
            .filter(|e| !is_policy_error(e))
            .map(|e| e.to_string())
    };
    let kind = c.kind;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let read = inputs.read(false);
        local.set(read.as_ref().err().cloned());
        if let Ok(policy) = read {
            c.restrict.dispatch(SetApiKeyPolicy { kind, policy });
        }
    };
    let pending = c.restrict.pending();
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
