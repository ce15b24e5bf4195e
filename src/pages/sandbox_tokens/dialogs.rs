//! The Sandbox API Token tab's dialogs: Add and Edit (the name and the
//! restrictions), Regenerate and Delete (a confirmation with the blast radius).

use super::{Controls, Dialog};
use crate::api::sandbox::{
    AddSandboxToken, DeleteSandboxToken, RegenerateSandboxToken, RenameSandboxToken,
};
use crate::components::credential_policy::{PolicyFields, PolicyInputs, is_policy_error};
use crate::components::dialog::{ConfirmDialog, FormDialog};
use crate::error::AppError;
use crate::model::{CredentialPolicy, TOKEN_NAME_MAX, check_name};
use leptos::prelude::*;

#[component]
pub(super) fn Dialogs(controls: Controls) -> impl IntoView {
    let c = controls;
    let close = Callback::new(move |_| c.dialog.set(Dialog::Closed));
    move || {
        match c.dialog.get() {
        Dialog::Closed => ().into_any(),
        Dialog::Add => view! {
            <NameDialog
                title="Add Sandbox API Token"
                initial=String::new()
                initial_policy=CredentialPolicy::default()
                pending=c.add.pending()
                error=Signal::derive(move || c.add.value().get().and_then(Result::err))
                on_save=Callback::new(move |(name, policy)| { c.add.dispatch(AddSandboxToken { name, policy: Some(policy) }); })
                on_cancel=close
            />
        }
        .into_any(),
        Dialog::Edit { id, name, policy } => view! {
            <NameDialog
                title="Edit Sandbox API Token"
                initial=name
                initial_policy=policy
                pending=c.rename.pending()
                error=Signal::derive(move || c.rename.value().get().and_then(Result::err))
                on_save=Callback::new(move |(name, policy)| { c.rename.dispatch(RenameSandboxToken { id, name, policy: Some(policy) }); })
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

/// Name and restrictions form for Add and Edit: validated here for quick
/// feedback, and again by the server, whose message wins.
#[component]
fn NameDialog(
    title: &'static str,
    initial: String,
    initial_policy: CredentialPolicy,
    #[prop(into)] pending: Signal<bool>,
    #[prop(into)] error: Signal<Option<AppError>>,
    on_save: Callback<(String, CredentialPolicy)>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(initial);
    let local_error = RwSignal::new(None::<String>);
    let policy = PolicyInputs::new(&initial_policy);
    let policy_error = RwSignal::new(None::<(&'static str, String)>);
    let message = move || {
        local_error.get().or_else(|| {
            // A restriction's error shows at its own field.
            error.get().and_then(|e| {
                e.field("name")
                    .map(str::to_owned)
                    .or_else(|| (!is_policy_error(&e)).then(|| e.to_string()))
            })
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = check_name(&name.get_untracked(), TOKEN_NAME_MAX, "token");
        local_error.set(checked.as_ref().err().cloned());
        let restrictions = policy.read(true);
        policy_error.set(restrictions.as_ref().err().cloned());
        if let (Ok(value), Ok(restrictions)) = (checked, restrictions) {
            on_save.run((value, restrictions));
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
                    maxlength=TOKEN_NAME_MAX.to_string()
                    required
                    bind:value=name
                    aria-invalid=move || message().is_some().to_string()
                    aria-describedby="token-name-error"
                />
                <p id="token-name-error" class="field-error" role="alert">{message}</p>
                <PolicyFields inputs=policy with_cap=true error local=policy_error />
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
