//! Modal dialogs: the confirmation every irreversible action asks for, and a
//! frame for small forms.

use leptos::prelude::*;

/// What a confirmation warns of unless told otherwise.
pub const CANNOT_BE_UNDONE: &str = "This action cannot be undone.";

/// "This action cannot be undone." (or `warning`) with Ok and Cancel.
/// `on_ok` runs the action; the dialog stays up (Ok disabled) while
/// `pending`. Ok is red unless the action is not `destructive`.
#[component]
pub fn ConfirmDialog(
    /// Heading, e.g. "Regenerate Sandbox API Token".
    #[prop(into)]
    title: Signal<String>,
    /// What is about to happen, shown above the warning.
    #[prop(into)]
    message: Signal<String>,
    /// Who would notice: when and from where the credential was last used,
    /// and its calls in the last hour (docs/PAGES.md#beyond-the-reference-portal).
    #[prop(optional, into)]
    blast_radius: Option<String>,
    /// What the blast radius is introduced with.
    #[prop(default = "In use: ")]
    blast_label: &'static str,
    /// Replaces "This action cannot be undone." for actions that can be
    /// (e.g. "You can enable it again at any time.").
    #[prop(optional, into)]
    warning: Option<String>,
    /// Whether Ok breaks something (red); false for, say, a renewal.
    #[prop(default = true)]
    destructive: bool,
    #[prop(into)] pending: Signal<bool>,
    on_ok: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="backdrop">
            <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-text">
                <h2 id="confirm-title">{move || title.get()}</h2>
                <div id="confirm-text">
                    <p>{move || message.get()}</p>
                    {blast_radius.map(|text| view! { <p class="blast-radius"><strong>{blast_label}</strong>{text}</p> })}
                    <p class="warning">{warning.unwrap_or_else(|| CANNOT_BE_UNDONE.to_owned())}</p>
                </div>
                <div class="dialog-actions">
                    <button type="button" class="primary" class:danger=destructive disabled=move || pending.get() on:click=move |_| on_ok.run(())>
                        {move || if pending.get() { "Working…" } else { "Ok" }}
                    </button>
                    <button type="button" disabled=move || pending.get() on:click=move |_| on_cancel.run(())>
                        "Cancel"
                    </button>
                </div>
            </div>
        </div>
    }
}

/// A modal frame with a heading, for forms.
#[component]
pub fn FormDialog(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <div class="backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="form-dialog-title">
                <h2 id="form-dialog-title">{title}</h2>
                {children()}
            </div>
        </div>
    }
}
