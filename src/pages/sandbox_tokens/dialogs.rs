//! The Sandbox API Token tab's dialogs: Add with its form, and a row's Edit
//! (the name and the restrictions), Regenerate and Delete (a confirmation
//! with the blast radius). The buttons are server-rendered; the dialogs are
//! one lazy island, [`SandboxDialogs`], downloaded when one first opens
//! (`components::dialog_host`). After a change it toasts and has the
//! server draw the table again.

use super::{JustIssued, just_issued};
use crate::api::sandbox::{
    AddSandboxToken, DeleteSandboxToken, IssuedToken, RegenerateSandboxToken, RenameSandboxToken,
};
use crate::components::credential_policy::{PolicyFields, PolicyInputs, is_policy_error};
use crate::components::dialog::{ConfirmDialog, FormDialog};
use crate::components::dialog_host::{DialogButton, open_dialog};
use crate::components::refresh::spawn_refresh;
use crate::components::toast::report_outcome;
use crate::error::AppError;
use crate::model::{CredentialPolicy, TOKEN_NAME_MAX, Usage, check_name};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The id of the tab's dialog host (its `<template>`).
pub(super) const HOST: &str = "sandbox-dialogs";

/// A dialog of the tab, as its button asks for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum SandboxDialog {
    Add,
    Edit {
        id: i64,
        name: String,
        policy: CredentialPolicy,
    },
    Regenerate {
        id: i64,
        name: String,
        /// Who would notice ([`Usage::blast_radius`]).
        blast_radius: String,
    },
    Delete {
        id: i64,
        name: String,
        blast_radius: String,
    },
}

/// Shows a token's new secret, then redraws the page; the message to toast.
fn issued(token: IssuedToken, message: String) -> String {
    just_issued().set(JustIssued(Some(token)));
    spawn_refresh();
    message
}

/// The toolbar's "Add Sandbox API Token".
#[component]
pub(super) fn AddTokenButton() -> impl IntoView {
    view! {
        <DialogButton host=HOST request=SandboxDialog::Add class="primary">
            "Add Sandbox API Token"
        </DialogButton>
    }
}

/// A row's Edit, and unless the provider disabled the token (`replaceable`
/// false), Regenerate and Delete.
#[component]
pub(super) fn TokenActions(
    id: i64,
    name: String,
    /// Who would notice a regenerate or delete.
    usage: Usage,
    /// The form's start: the token's restrictions.
    policy: CredentialPolicy,
    replaceable: bool,
) -> impl IntoView {
    let blast_radius = usage.blast_radius();
    let edit = SandboxDialog::Edit {
        id,
        name: name.clone(),
        policy,
    };
    view! {
        <DialogButton host=HOST request=edit>"Edit"</DialogButton>
        {replaceable.then(|| view! {
            <DialogButton host=HOST request=SandboxDialog::Regenerate { id, name: name.clone(), blast_radius: blast_radius.clone() }>
                "Regenerate"
            </DialogButton>
            <DialogButton host=HOST request=SandboxDialog::Delete { id, name, blast_radius } class="danger">
                "Delete"
            </DialogButton>
        })}
    }
}

/// The tab's dialogs (docs/FIRST-LOAD.md: downloaded at the first open).
#[island(lazy)]
pub(super) fn SandboxDialogs() -> impl IntoView {
    let dialog = open_dialog::<SandboxDialog>();
    let add = ServerAction::<AddSandboxToken>::new();
    let rename = ServerAction::<RenameSandboxToken>::new();
    let regenerate = ServerAction::<RegenerateSandboxToken>::new();
    let delete = ServerAction::<DeleteSandboxToken>::new();
    // A form opens without the last attempt's error.
    Effect::new(move |_| {
        if dialog.with(Option::is_some) {
            add.value().set(None);
            rename.value().set(None);
        }
    });
    let close = Callback::new(move |_| dialog.set(None));
    report_outcome(add, move |t: IssuedToken| {
        dialog.set(None);
        let message = format!("Token “{}” added.", t.token.name);
        issued(t, message)
    });
    report_outcome(rename, move |()| {
        dialog.set(None);
        spawn_refresh();
        "Token renamed."
    });
    report_outcome(regenerate, move |t: IssuedToken| {
        dialog.set(None);
        let message = format!(
            "Token “{}” regenerated. The old token no longer works.",
            t.token.name
        );
        issued(t, message)
    });
    report_outcome(delete, move |()| {
        dialog.set(None);
        just_issued().set(JustIssued(None));
        spawn_refresh();
        "Token deleted. It no longer works."
    });
    move || {
        match dialog.get() {
        None => ().into_any(),
        Some(SandboxDialog::Add) => view! {
            <NameDialog
                title="Add Sandbox API Token"
                initial=String::new()
                initial_policy=CredentialPolicy::default()
                pending=add.pending()
                error=Signal::derive(move || add.value().get().and_then(Result::err))
                on_save=Callback::new(move |(name, policy)| { add.dispatch(AddSandboxToken { name, policy: Some(policy) }); })
                on_cancel=close
            />
        }
        .into_any(),
        Some(SandboxDialog::Edit { id, name, policy }) => view! {
            <NameDialog
                title="Edit Sandbox API Token"
                initial=name
                initial_policy=policy
                pending=rename.pending()
                error=Signal::derive(move || rename.value().get().and_then(Result::err))
                on_save=Callback::new(move |(name, policy)| { rename.dispatch(RenameSandboxToken { id, name, policy: Some(policy) }); })
                on_cancel=close
            />
        }
        .into_any(),
        Some(SandboxDialog::Regenerate { id, name, blast_radius }) => view! {
            <ConfirmDialog
                title="Regenerate Sandbox API Token"
                message=format!("Regenerate “{name}”? The current token stops working immediately, everywhere it is used.")
                blast_radius
                pending=regenerate.pending()
                on_ok=Callback::new(move |_| { regenerate.dispatch(RegenerateSandboxToken { id }); })
                on_cancel=close
            />
        }
        .into_any(),
        Some(SandboxDialog::Delete { id, name, blast_radius }) => view! {
            <ConfirmDialog
                title="Delete Sandbox API Token"
                message=format!("Delete “{name}”? It stops working immediately, everywhere it is used.")
                blast_radius
                pending=delete.pending()
                on_ok=Callback::new(move |_| { delete.dispatch(DeleteSandboxToken { id }); })
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
