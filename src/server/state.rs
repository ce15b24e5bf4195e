//! What every handler shares: the store, the keys and the settings.

use super::config::Settings;
use super::consumer::JwksCache;
use super::crypto::Secrets;
use super::page_cache::PageCache;
use super::password::Hasher;
use super::store::Store;
use super::throttle::AnonymousThrottle;
use crate::error::AppError;
use axum::extract::FromRef;
use leptos::prelude::{LeptosOptions, use_context};
use std::sync::Arc;

/// What every handler, page and server function reaches. Shared: axum
/// clones the state into each extractor of every request, and a clone is
/// one reference count, not a copy of the Leptos options and the store.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The parts of [`AppState`], read through it (`state.store`).
#[derive(Clone)]
pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub secrets: Arc<Secrets>,
    pub settings: Arc<Settings>,
    /// Bounded argon2 (every sign-in queues here).
    pub hasher: Arc<Hasher>,
    /// Anonymous failures per client address.
    pub throttle: Arc<AnonymousThrottle>,
    /// The OAuth servers' JWKS keys, for bearer tokens (never whether a
    /// server is enabled: that is read on every call).
    pub jwks: Arc<JwksCache>,
    /// Rendered pages kept while current (`page_cache`).
    pub pages: Arc<PageCache>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// leptos_axum's routes take the options from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state, from the Leptos context of a server function or page render.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::internal()
    })
}
