//! Toasts: short success and error messages in a live region, removed after a
//! few seconds (gloo-timers) or when dismissed.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

/// Handle to the page's toasts, shown by [`ToastRegion`]. Every island of
/// the page shares one list (islands are siblings, so no context reaches
/// from one to another, and islands hydrated after a refresh
/// ([`super::refresh`]) have no parent at all). The list lives in the
/// browser only; on the server a toast is never raised.
#[derive(Clone, Copy)]
pub struct Toaster;

#[cfg(feature = "hydrate")]
thread_local! {
    /// The page's toasts. An `ArcRwSignal`: owned by no island, so no
    /// island's cleanup can dispose of it.
    static TOASTS: ArcRwSignal<Vec<Toast>> = ArcRwSignal::new(Vec::new());
    static NEXT_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl Toaster {
    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message.into());
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    #[cfg(feature = "hydrate")]
    fn push(&self, kind: ToastKind, message: String) {
        let id = NEXT_ID.with(|n| n.replace(n.get() + 1));
        let toasts = TOASTS.with(Clone::clone);
        toasts.update(|t| t.push(Toast { id, kind, message }));
        gloo_timers::callback::Timeout::new(6_000, move || {
            toasts.update(|t| t.retain(|x| x.id != id))
        })
        .forget();
    }

    #[cfg(not(feature = "hydrate"))]
    fn push(&self, _kind: ToastKind, _message: String) {}

    /// The toasts on screen (none on the server).
    fn list(&self) -> Vec<Toast> {
        #[cfg(feature = "hydrate")]
        return TOASTS.with(|t| t.get());
        #[cfg(not(feature = "hydrate"))]
        Vec::new()
    }

    fn dismiss(&self, id: u64) {
        #[cfg(feature = "hydrate")]
        TOASTS.with(|t| t.update(|t| t.retain(|x| x.id != id)));
        #[cfg(not(feature = "hydrate"))]
        let _ = id;
    }
}

/// The page's toaster.
pub fn use_toaster() -> Toaster {
    Toaster
}

/// Toasts each outcome of `action` as it settles: on success the message
/// `done` returns (it may also close a dialog or keep the result), on
/// failure the error.
pub fn report_outcome<S, M>(action: ServerAction<S>, done: impl Fn(S::Output) -> M + 'static)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
    M: Into<String>,
{
    let toaster = use_toaster();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(value)) => toaster.success(done(value)),
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
}

/// Shows the page's toasts: a small island of its own, once per signed-in
/// page, after the page's content.
#[island]
pub fn ToastRegion() -> impl IntoView {
    let toaster = use_toaster();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toaster.list() key=|t| t.id let:toast>
                <div class="toast" class:toast-error=toast.kind == ToastKind::Error>
                    <span>{toast.message.clone()}</span>
                    <button type="button" class="link" aria-label="Dismiss" on:click=move |_| toaster.dismiss(toast.id)>
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
