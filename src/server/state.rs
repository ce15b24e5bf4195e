//! What every handler shares: the store, the keys and the settings.

use super::config::Settings;
use super::consumer::JwksCache;
use super::crypto::Secrets;
use super::password::Hasher;
use super::store::Store;
use super::throttle::AnonymousThrottle;
use crate::error::AppError;
use axum::extract::FromRef;
use leptos::prelude::{LeptosOptions, use_context};
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
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
}

/// The state, from the Leptos context of a server function or page render.
pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the Leptos context");
        AppError::internal()
    })
}
