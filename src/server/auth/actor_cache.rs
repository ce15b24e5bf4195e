//! The actor of a request, loaded once however many resources ask.

use super::Actor;
use crate::error::AppError;
use leptos::prelude::use_context;
use std::sync::Arc;

/// The actor of the request being served, loaded at most once: a page's
/// resources each call [`require`], and without this each would read the
/// session's admin again. [`actor_cache`] puts one in every request's
/// extensions; the clones Leptos hands each resource share it. Only a
/// successful load is kept (a refusal is cheap to repeat and flushes the
/// session, so the next attempt is refused without the database); what
/// changes the session's admin or organisation calls [`forget_actor`].
#[derive(Clone, Default)]
pub struct ActorCache(Arc<tokio::sync::Mutex<Option<Actor>>>);

impl ActorCache {
    /// The kept actor, or `load`'s (kept if it succeeds). Concurrent callers
    /// wait for the first one's load instead of starting their own.
    pub(super) async fn get_or_load<F>(&self, load: F) -> Result<Actor, AppError>
    where
        F: Future<Output = Result<Actor, AppError>>,
    {
        let mut kept = self.0.lock().await;
        if let Some(actor) = kept.as_ref() {
            return Ok(actor.clone());
        }
        let actor = load.await?;
        *kept = Some(actor.clone());
        Ok(actor)
    }

    /// Keeps `actor`, loaded by the caller (`page_cache::serve`).
    pub(in crate::server) async fn keep(&self, actor: Actor) {
        *self.0.lock().await = Some(actor);
    }

    pub(super) async fn forget(&self) {
        *self.0.lock().await = None;
    }
}

/// Middleware: a fresh [`ActorCache`] for each request.
pub async fn actor_cache(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    request.extensions_mut().insert(ActorCache::default());
    next.run(request).await
}

/// Drops this request's kept actor, after the session changed: later reads
/// in the same request load the actor the session now names.
pub(super) async fn forget_actor() {
    let cache = use_context::<axum::http::request::Parts>()
        .and_then(|p| p.extensions.get::<ActorCache>().cloned());
    if let Some(cache) = cache {
        cache.forget().await;
    }
}
