//! A secret shown masked, with an eye button that fetches it from the server
//! only when clicked, hides it again after 30 seconds, and a Copy button.
//! An island of its own in a server-rendered table cell.

use super::clipboard::copy_to_clipboard;
use super::toast::{Toaster, use_toaster};
use crate::api::{api_keys::reveal_api_key, sandbox::reveal_sandbox_token};
use crate::error::AppError;
use crate::model::KeyKind;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How long a revealed secret stays on screen.
pub const REVEAL_MS: u32 = 30_000;

/// Which secret a reveal fetches. The server checks the role, finds the
/// secret in the session's organisation and audits the reveal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reveal {
    SandboxToken(i64),
    ApiKey(KeyKind),
}

impl Reveal {
    async fn fetch(self) -> Result<String, AppError> {
        match self {
            Reveal::SandboxToken(id) => reveal_sandbox_token(id).await,
            Reveal::ApiKey(kind) => reveal_api_key(kind).await,
        }
    }

    /// What the secret is called in button names.
    fn noun(self) -> &'static str {
        match self {
            Reveal::SandboxToken(_) => "token",
            Reveal::ApiKey(_) => "key",
        }
    }
}

/// The server call that fetches the secret.
type RevealAction = Action<(), Result<String, AppError>>;

/// `reveal` names the secret; `None` when this admin may not reveal, and
/// then no buttons are drawn.
#[island]
pub fn MaskedSecret(masked: String, reveal: Option<Reveal>) -> impl IntoView {
    let state = RevealState::new();
    let buttons = reveal.map(|reveal| {
        let action: RevealAction = Action::new(move |_: &()| reveal.fetch());
        Effect::new(move |_| {
            if let Some(result) = action.value().get() {
                state.settle(result);
            }
        });
        view! { <RevealButtons action state noun=reveal.noun() /> }
    });
    view! {
        <span class="secret">
            <code class="secret-value">{move || state.shown.get().unwrap_or_else(|| masked.clone())}</code>
            {buttons}
        </span>
    }
}

/// What is on screen, and what the fetch in flight is for.
#[derive(Clone, Copy)]
struct RevealState {
    shown: RwSignal<Option<String>>,
    /// Each reveal bumps this, so only the latest one's timer hides.
    generation: StoredValue<u32>,
    /// The fetch in flight was started by Copy, not by the eye.
    copy_when_fetched: StoredValue<bool>,
    toaster: Toaster,
}

impl RevealState {
    fn new() -> Self {
        Self {
            shown: RwSignal::new(None),
            generation: StoredValue::new(0),
            copy_when_fetched: StoredValue::new(false),
            toaster: use_toaster(),
        }
    }

    fn is_shown(self) -> bool {
        self.shown.with(Option::is_some)
    }

    fn copy(self, secret: &str) {
        if copy_to_clipboard(secret) {
            self.toaster.success("Copied to the clipboard.");
        }
    }

    /// A fetch finished: copy or show the secret, or toast the refusal.
    fn settle(self, result: Result<String, AppError>) {
        match result {
            Ok(secret) if self.copy_when_fetched.get_value() => {
                self.copy_when_fetched.set_value(false);
                self.copy(&secret);
            }
            Ok(secret) => {
                self.shown.set(Some(secret));
                let this = self.generation.get_value() + 1;
                self.generation.set_value(this);
                hide_later(self.shown, self.generation, this);
            }
            Err(e) => {
                self.copy_when_fetched.set_value(false);
                self.toaster.error(e.to_string());
            }
        }
    }
}

/// The eye (show / hide) and Copy buttons.
#[component]
fn RevealButtons(action: RevealAction, state: RevealState, noun: &'static str) -> impl IntoView {
    view! {
        <button
            type="button"
            class="icon"
            aria-label=move || if state.is_shown() { format!("Hide {noun}") } else { format!("Show {noun}") }
            aria-pressed=move || state.is_shown().to_string()
            disabled=move || action.pending().get()
            on:click=move |_| {
                if state.is_shown() {
                    state.shown.set(None);
                } else {
                    action.dispatch(());
                }
            }
        >
            <EyeIcon open=Signal::derive(move || state.is_shown()) />
        </button>
        <button
            type="button"
            class="small"
            disabled=move || action.pending().get()
            on:click=move |_| {
                if let Some(secret) = state.shown.get_untracked() {
                    state.copy(&secret);
                } else {
                    state.copy_when_fetched.set_value(true);
                    action.dispatch(());
                }
            }
        >
            "Copy"
        </button>
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
