//! A secret shown masked, with an eye button that fetches it from the server
//! only when clicked, hides it again after 30 seconds, and a Copy button.

use super::clipboard::copy_to_clipboard;
use super::toast::use_toaster;
use crate::error::AppError;
use leptos::prelude::*;

/// How long a revealed secret stays on screen.
pub const REVEAL_MS: u32 = 30_000;

/// `reveal` fetches the secret (the server checks the role and audits it);
/// `None` when this admin may not reveal, and then no buttons are drawn.
#[component]
pub fn MaskedSecret(
    masked: String,
    reveal: Option<Action<(), Result<String, AppError>>>,
    /// What the secret is called in button names ("token", "key").
    #[prop(default = "token")]
    noun: &'static str,
) -> impl IntoView {
    let shown = RwSignal::new(None::<String>);
    // Each reveal bumps this, so only the latest one's timer hides.
    let generation = StoredValue::new(0u32);
    let copy_when_fetched = StoredValue::new(false);
    let toaster = use_toaster();

    if let Some(action) = reveal {
        Effect::new(move |_| {
            let Some(result) = action.value().get() else {
                return;
            };
            match result {
                Ok(secret) if copy_when_fetched.get_value() => {
                    copy_when_fetched.set_value(false);
                    if copy_to_clipboard(&secret) {
                        toaster.success("Copied to the clipboard.");
                    }
                }
                Ok(secret) => {
                    shown.set(Some(secret));
                    let this = generation.get_value() + 1;
                    generation.set_value(this);
                    hide_later(shown, generation, this);
                }
                Err(e) => {
                    copy_when_fetched.set_value(false);
                    toaster.error(e.to_string());
                }
            }
        });
    }

    let masked_text = masked.clone();
    view! {
        <span class="secret">
            <code class="secret-value">{move || shown.get().unwrap_or_else(|| masked_text.clone())}</code>
            {reveal
                .map(|action| {
                    view! {
                        <button
                            type="button"
                            class="icon"
                            aria-label=move || if shown.with(Option::is_some) { format!("Hide {noun}") } else { format!("Show {noun}") }
                            aria-pressed=move || shown.with(Option::is_some).to_string()
                            disabled=move || action.pending().get()
                            on:click=move |_| {
                                if shown.with(Option::is_some) {
                                    shown.set(None);
                                } else {
                                    action.dispatch(());
                                }
                            }
                        >
                            <EyeIcon open=Signal::derive(move || shown.with(Option::is_some)) />
                        </button>
                        <button
                            type="button"
                            class="small"
                            disabled=move || action.pending().get()
                            on:click=move |_| {
                                if let Some(secret) = shown.get_untracked() {
                                    if copy_to_clipboard(&secret) {
                                        toaster.success("Copied to the clipboard.");
                                    }
                                } else {
                                    copy_when_fetched.set_value(true);
                                    action.dispatch(());
                                }
                            }
                        >
                            "Copy"
                        </button>
                    }
                })}
        </span>
    }
}

fn hide_later(shown: RwSignal<Option<String>>, generation: StoredValue<u32>, this: u32) {
    #[cfg(feature = "hydrate")]
    gloo_timers::callback::Timeout::new(REVEAL_MS, move || {
        if generation.get_value() == this {
            shown.set(None);
        }
    })
    .forget();
    #[cfg(not(feature = "hydrate"))]
    let _ = (shown, generation, this);
}

#[component]
fn EyeIcon(#[prop(into)] open: Signal<bool>) -> impl IntoView {
    view! {
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
            <path d="M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z" fill="none" stroke="currentColor" stroke-width="2" />
            <circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="2" />
            <Show when=move || !open.get()>
                <line x1="3" y1="3" x2="21" y2="21" stroke="currentColor" stroke-width="2" />
            </Show>
        </svg>
    }
}
