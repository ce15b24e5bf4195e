//! "Use this key in other organisations" (docs/PAGES.md#beyond-the-reference-portal): one step sets
//! this organisation's Cloud Service API key in the organisations chosen,
//! with a result per organisation. The key never travels to the browser:
//! the server copies it, deciding each organisation by the admin's role there.

pub use crate::api::api_keys::ShareApiKey;
use crate::components::dialog::FormDialog;
use crate::error::AppError;
use crate::model::{KeyShareOutcome, OrgSummary};
use leptos::prelude::*;

#[component]
pub fn ShareDialog(
    action: ServerAction<ShareApiKey>,
    orgs: Vec<OrgSummary>,
    on_close: Callback<()>,
) -> impl IntoView {
    let chosen = RwSignal::new(Vec::<String>::new());
    let local_error = RwSignal::new(None::<String>);
    let pending = action.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let orgs = chosen.get_untracked();
        if orgs.is_empty() {
            local_error.set(Some("Choose at least one organisation.".into()));
            return;
        }
        local_error.set(None);
        action.dispatch(ShareApiKey { orgs });
    };
    let results = move || action.value().get().map(share_results);
    view! {
        <FormDialog title="Use this key in other organisations">
            <form on:submit=submit novalidate>
                <p>"This organisation's Cloud Service API key will be set in the organisations you choose. There, the previous key and its API sessions stop working immediately."</p>
                <OrgChoices orgs chosen />
                <p class="field-error" role="alert">{move || local_error.get()}</p>
                <div role="status">{results}</div>
                <div class="dialog-actions">
                    <button type="submit" class="primary" disabled=move || pending.get()>
                        {move || if pending.get() { "Setting…" } else { "Set the key" }}
                    </button>
                    <button type="button" disabled=move || pending.get() on:click=move |_| on_close.run(())>"Close"</button>
                </div>
            </form>
        </FormDialog>
    }
}

/// A checkbox per organisation; `chosen` holds the short names ticked.
#[component]
fn OrgChoices(orgs: Vec<OrgSummary>, chosen: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <fieldset>
            <legend>"Organisations"</legend>
            {orgs
                .into_iter()
                .map(|o| {
                    let id = format!("share-{}", o.short_name);
                    let short = o.short_name.clone();
                    view! {
                        <div class="checkbox">
                            <input
                                type="checkbox"
                                id=id.clone()
                                name="orgs"
                                value=o.short_name.clone()
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|list| {
                                        list.retain(|s| *s != short);
                                        if on {
                                            list.push(short.clone());
                                        }
                                    });
                                }
                            />
                            <label for=id>{o.name}</label>
                        </div>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

/// The server's answer: a line per organisation, or why nothing was done.
fn share_results(answer: Result<Vec<KeyShareOutcome>, AppError>) -> AnyView {
    match answer {
        Ok(outcomes) => view! {
            <ul class="share-results" aria-label="Results per organisation">
                {outcomes
                    .into_iter()
                    .map(|o| view! {
                        <li class:ok=o.ok class:refused=!o.ok>
                            <strong>{o.org.name}</strong>
                            {if o.ok { " — Done: " } else { " — Refused: " }}
                            {o.message}
                        </li>
                    })
                    .collect_view()}
            </ul>
        }
        .into_any(),
        Err(e) => view! { <p class="field-error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
