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

/// Handle to the page's toasts, provided by [`ToastRegion`].
#[derive(Clone, Copy)]
pub struct Toaster {
    toasts: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

impl Toaster {
    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message.into());
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    fn push(&self, kind: ToastKind, message: String) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.toasts.update(|t| t.push(Toast { id, kind, message }));
        #[cfg(feature = "hydrate")]
        {
            let toasts = self.toasts;
            gloo_timers::callback::Timeout::new(6_000, move || {
                toasts.update(|t| t.retain(|x| x.id != id))
            })
            .forget();
        }
    }

    fn dismiss(&self, id: u64) {
        self.toasts.update(|t| t.retain(|x| x.id != id));
    }
}

/// The toaster provided by the nearest [`ToastRegion`].
pub fn use_toaster() -> Toaster {
    use_context::<Toaster>().unwrap_or_else(|| Toaster {
        toasts: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(0),
    })
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

/// Provides a [`Toaster`] to `children` and shows its toasts. An island
/// around the whole frame: the page's islands inside it reach its toaster
/// through their context, as a component's children would.
#[island]
pub fn ToastRegion(children: Children) -> impl IntoView {
    let toaster = Toaster {
        toasts: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(0),
    };
    provide_context(toaster);
    view! {
        {children()}
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toaster.toasts.get() key=|t| t.id let:toast>
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
