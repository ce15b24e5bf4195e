//! The Sandbox API Token tab's dialogs: Add and Edit (a name form),
//! Regenerate and Delete (a confirmation with the blast radius).

use super::{Controls, Dialog};
use crate::api::sandbox::{
    AddSandboxToken, DeleteSandboxToken, RegenerateSandboxToken, RenameSandboxToken,
};
use crate::components::dialog::{ConfirmDialog, FormDialog};
use crate::error::AppError;
use crate::model::{TOKEN_NAME_MAX, check_name};
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
                pending=c.add.pending()
                error=Signal::derive(move || c.add.value().get().and_then(Result::err))
                on_save=Callback::new(move |name| { c.add.dispatch(AddSandboxToken { name, policy: None }); })
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
                on_save=Callback::new(move |name| { c.rename.dispatch(RenameSandboxToken { id, name, policy: None }); })
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
        match check_name(&name.get_untracked(), TOKEN_NAME_MAX, "token") {
            Ok(value) => {
                local_error.set(None);
                on_save.run(value);
            }
            Err(problem) => local_error.set(Some(problem)),
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
