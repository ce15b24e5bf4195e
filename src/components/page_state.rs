//! State that a page's islands share in the browser.
//!
//! Islands are siblings, so context does not reach from one to another,
//! and an island hydrated after a refresh ([`super::refresh`]) has no
//! parent at all. What several islands of a page show (the secret just
//! issued, say) is therefore one signal per type for the browser tab,
//! owned by no island, so no island's cleanup disposes of it. On the
//! server every call gets a signal of its own: renders never share state.

use leptos::prelude::*;

/// The tab's signal for `T` (made with `init` the first time). Give each
/// piece of state a type of its own.
pub fn page_signal<T: Send + Sync + 'static>(init: impl FnOnce() -> T) -> ArcRwSignal<T> {
    #[cfg(feature = "hydrate")]
    {
        use std::any::{Any, TypeId};
        use std::collections::HashMap;
        thread_local! {
            static SIGNALS: std::cell::RefCell<HashMap<TypeId, Box<dyn Any>>> = Default::default();
        }
        SIGNALS.with(|signals| {
            let mut signals = signals.borrow_mut();
            let signal = signals
                .entry(TypeId::of::<T>())
                .or_insert_with(|| Box::new(ArcRwSignal::new(init())));
            match signal.downcast_ref::<ArcRwSignal<T>>() {
                Some(signal) => signal.clone(),
                None => unreachable!("the map is keyed by the signal's type"),
            }
        })
    }
    #[cfg(not(feature = "hydrate"))]
    ArcRwSignal::new(init())
}
