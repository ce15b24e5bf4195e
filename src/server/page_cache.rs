//! Signed-in admin pages, rendered once and served again while nothing
//! they show has changed (docs/PAGES.md#page-cache).
//!
//! A render is kept under the admin acting (who they are, their role, the
//! organisation and the organisations they can switch to) and the page's
//! address, with the organisation's version at the time: every change to
//! the organisation's data bumps that version in the changing transaction
//! (triggers, migrations `*_org_versions.sql`), so a change made on any
//! instance is seen on the next view. Each view still signs the admin in
//! from the session and reads the version; only the render is saved.
//!
//! What changes with the clock alone is bounded too: a render is kept until
//! the next minute starts (usage counts are per minute, quotas per day) or
//! until the first expiry it showed as upcoming ([`changes_at`]). A render
//! that recorded a refusal or met an error ([`dont_keep`]) is not kept, nor
//! anything but a 200. The Content-Security-Policy nonce is new on every
//! view: a render is kept in pieces around its nonce.

use super::auth::{self, ActorCache};
use super::http::RequestMeta;
use super::state::AppState;
use crate::model::Role;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tower_sessions::Session;

/// Pages larger than this are served but not kept.
const MAX_PAGE_BYTES: usize = 1 << 20;
/// All kept renders together; past it, renders that are no longer current
/// go first, then all.
const MAX_BYTES: usize = 16 << 20;
const MINUTE_MS: i64 = 60_000;

/// The kept renders of this process.
#[derive(Default)]
pub struct PageCache {
    kept: Mutex<Kept>,
    /// Views answered from a kept render.
    served: AtomicU64,
}

#[derive(Default)]
struct Kept {
    pages: HashMap<Key, Arc<Rendered>>,
    bytes: usize,
}

/// Whose view of which page.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Key {
    admin_id: i64,
    org_id: i64,
    role: Role,
    /// The rest of what the page shows of the actor: name, organisation and
    /// the organisations to switch to.
    actor: u64,
    /// Path and query.
    uri: String,
}

impl Key {
    fn new(actor: &auth::Actor, uri: &axum::http::Uri) -> Key {
        let mut hasher = DefaultHasher::new();
        actor.username.hash(&mut hasher);
        for org in std::iter::once(&actor.org).chain(&actor.orgs) {
            org.short_name.hash(&mut hasher);
            org.name.hash(&mut hasher);
        }
        Key {
            admin_id: actor.admin_id,
            org_id: actor.org_id,
            role: actor.role,
            actor: hasher.finish(),
            uri: uri
                .path_and_query()
                .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        }
    }
}

/// One kept render.
struct Rendered {
    /// The organisation's version it was rendered at.
    version: i64,
    /// Kept until then (epoch ms).
    until: i64,
    headers: HeaderMap,
    /// The body, cut where the render's nonce was.
    pieces: Vec<Bytes>,
    bytes: usize,
}

impl Rendered {
    /// A render's `headers` and `body`, cut around the nonce of its policy;
    /// `None` if it has none to replace.
    fn new(version: i64, until: i64, mut headers: HeaderMap, body: &Bytes) -> Option<Rendered> {
        let nonce = nonce_of(&headers)?;
        headers.remove(header::CONTENT_SECURITY_POLICY);
        headers.remove(header::CONTENT_LENGTH);
        let mut pieces = Vec::new();
        let mut rest = body.clone();
        while let Some(at) = find(&rest, nonce.as_bytes()) {
            pieces.push(rest.slice(..at));
            rest = rest.slice(at + nonce.len()..);
        }
        pieces.push(rest);
        Some(Rendered {
            version,
            until,
            headers,
            pieces,
            bytes: body.len(),
        })
    }

    /// The page again, with a new nonce in its body and its policy.
    fn response(&self) -> Response {
        let nonce = leptos::nonce::Nonce::new();
        let nonce = nonce.as_inner();
        let mut body = Vec::with_capacity(self.bytes + self.pieces.len() * nonce.len());
        for (i, piece) in self.pieces.iter().enumerate() {
            if i > 0 {
                body.extend_from_slice(nonce.as_bytes());
            }
            body.extend_from_slice(piece);
        }
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = self.headers.clone();
        if let Ok(csp) = HeaderValue::from_str(&super::http::page_csp(nonce)) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        response
    }
}

/// The nonce of the policy a render set (`app::shell`).
fn nonce_of(headers: &HeaderMap) -> Option<String> {
    let csp = headers
        .get(header::CONTENT_SECURITY_POLICY)?
        .to_str()
        .ok()?;
    let start = csp.find("'nonce-")? + "'nonce-".len();
    let len = csp[start..].find('\'')?;
    (len > 0).then(|| csp[start..start + len].to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl PageCache {
    fn get(&self, key: &Key, version: i64, now: i64) -> Option<Arc<Rendered>> {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.pages
            .get(key)
            .filter(|r| r.version == version && now < r.until)
            .cloned()
    }

    fn keep(&self, key: Key, rendered: Rendered, now: i64) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.bytes + rendered.bytes > MAX_BYTES {
            kept.pages.retain(|_, r| now < r.until);
            kept.bytes = kept.pages.values().map(|r| r.bytes).sum();
            if kept.bytes + rendered.bytes > MAX_BYTES {
                kept.pages.clear();
                kept.bytes = 0;
            }
        }
        kept.bytes += rendered.bytes;
        if let Some(old) = kept.pages.insert(key, Arc::new(rendered)) {
            kept.bytes -= old.bytes;
        }
    }

    /// How many views a kept render answered.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

/// What the render of one page tells the cache: whether it may be kept and
/// until when. In the request's extensions, so the render reaches it
/// through the request parts in its context.
#[derive(Clone, Debug)]
pub struct PageRender(Arc<RenderNotes>);

#[derive(Debug)]
struct RenderNotes {
    dont_keep: AtomicBool,
    until: AtomicI64,
}

impl PageRender {
    fn new(until: i64) -> PageRender {
        PageRender(Arc::new(RenderNotes {
            dont_keep: AtomicBool::new(false),
            until: AtomicI64::new(until),
        }))
    }
}

fn this_render() -> Option<PageRender> {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<PageRender>().cloned())
}

/// The page being rendered, if any, is not to be kept: it recorded a
/// refusal (which each view records again) or shows an error.
pub fn dont_keep() {
    if let Some(render) = this_render() {
        render.0.dont_keep.store(true, Ordering::Relaxed);
    }
}

/// What the page being rendered shows changes by itself at `at` (epoch ms;
/// an expiry it shows as upcoming): it is kept no longer.
pub fn changes_at(at: i64) {
    if let Some(render) = this_render() {
        render.0.until.fetch_min(at, Ordering::Relaxed);
    }
}

/// The start of the minute after `now`.
fn next_minute(now: i64) -> i64 {
    (now.div_euclid(MINUTE_MS) + 1) * MINUTE_MS
}

/// Middleware on the pages' routes: a signed-in admin's `GET` is answered
/// from a kept render when one is current, else rendered (and kept if it
/// may be). Anything else, and a request without a signed-in admin, goes to
/// the render as before.
pub async fn serve(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // An organisation's pages; not the provider console, which shows many.
    let admin_page = request.uri().path().starts_with("/administration/");
    if request.method() != Method::GET || !admin_page || !state.settings.page_cache {
        return next.run(request).await;
    }
    let extensions = request.extensions();
    let (Some(session), Some(actors)) = (
        extensions.get::<Session>().cloned(),
        extensions.get::<ActorCache>().cloned(),
    ) else {
        return next.run(request).await;
    };
    let meta = extensions
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_else(auth::unknown_meta);
    let Ok(actor) = auth::actor_for_session(&state, &session, meta).await else {
        // Signed out or gone: the render answers (the sign-in page).
        return next.run(request).await;
    };
    // The render's resources take this actor instead of loading it again.
    actors.keep(actor.clone()).await;
    let version = match state.store.page_version(actor.org_id).await {
        Ok(Some(version)) => version,
        Ok(None) | Err(_) => return next.run(request).await,
    };
    let key = Key::new(&actor, request.uri());
    let now = super::now_ms();
    if let Some(rendered) = state.pages.get(&key, version, now) {
        state.pages.served.fetch_add(1, Ordering::Relaxed);
        return rendered.response();
    }
    let render = PageRender::new(next_minute(now));
    request.extensions_mut().insert(render.clone());
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || render.0.dont_keep.load(Ordering::Relaxed) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let body = match read_up_to(body, MAX_PAGE_BYTES).await {
        Ok(Read::Whole(body)) => body,
        Ok(Read::TooLarge(body)) => return Response::from_parts(parts, body),
        Err(e) => {
            tracing::warn!(error = %e, "a page's body failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let until = render.0.until.load(Ordering::Relaxed);
    if let Some(rendered) = Rendered::new(version, until, parts.headers.clone(), &body) {
        state.pages.keep(key, rendered, now);
    }
    Response::from_parts(parts, Body::from(body))
}

enum Read {
    Whole(Bytes),
    /// What was read, then the rest, to be sent as it comes.
    TooLarge(Body),
}

/// A render's body (a stream of chunks), whole if it is at most `limit`.
async fn read_up_to(mut body: Body, limit: usize) -> Result<Read, axum::Error> {
    use futures_util::StreamExt;
    use http_body_util::BodyExt;
    let mut read = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        read.extend_from_slice(&data);
        if read.len() > limit {
            let head = futures_util::stream::once(std::future::ready(Ok(Bytes::from(read))));
            return Ok(Read::TooLarge(Body::from_stream(
                head.chain(body.into_data_stream()),
            )));
        }
    }
    Ok(Read::Whole(Bytes::from(read)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(uri: &str) -> Key {
        Key {
            admin_id: 1,
            org_id: 1,
            role: Role::ApiAdmin,
            actor: 0,
            uri: uri.to_owned(),
        }
    }

    fn rendered(body: &str, until: i64) -> Rendered {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("script-src 'self' 'nonce-OLDNONCE'"),
        );
        Rendered::new(1, until, headers, &Bytes::from(body.to_owned())).expect("a nonce")
    }

    #[tokio::test]
    async fn a_kept_page_comes_back_with_a_new_nonce_everywhere_the_old_one_was() {
        let page = rendered(
            r#"<link crossorigin="OLDNONCE"><script nonce="OLDNONCE">x</script>"#,
            i64::MAX,
        );
        let response = page.response();
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("csp")
            .to_owned();
        let nonce = nonce_of(response.headers()).expect("a new nonce");
        assert_ne!(nonce, "OLDNONCE");
        assert!(csp.contains(&format!("'nonce-{nonce}'")));
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(
            String::from_utf8_lossy(&body),
            format!(r#"<link crossorigin="{nonce}"><script nonce="{nonce}">x</script>"#)
        );
    }

    #[test]
    fn a_render_without_a_nonce_is_not_kept() {
        assert!(Rendered::new(1, i64::MAX, HeaderMap::new(), &Bytes::from_static(b"x")).is_none());
    }

    #[test]
    fn kept_renders_stay_under_the_byte_bound_past_ones_going_first() {
        let cache = PageCache::default();
        let big = "n".repeat(MAX_BYTES / 4);
        // Three current renders and one past its time.
        cache.keep(key("/past"), rendered(&big, 10), 0);
        for uri in ["/a", "/b", "/c"] {
            cache.keep(key(uri), rendered(&big, 1_000), 0);
        }
        // Over the bound at 20 ms: the past one goes, the current stay.
        cache.keep(key("/d"), rendered(&big, 1_000), 20);
        let kept = cache.kept.lock().expect("lock");
        assert!(kept.bytes <= MAX_BYTES, "{} bytes kept", kept.bytes);
        assert!(!kept.pages.contains_key(&key("/past")));
        assert!(kept.pages.contains_key(&key("/a")) && kept.pages.contains_key(&key("/d")));
        assert_eq!(
            kept.bytes,
            kept.pages.values().map(|r| r.bytes).sum::<usize>()
        );
    }

    #[test]
    fn a_render_is_current_for_its_version_until_its_time() {
        let cache = PageCache::default();
        cache.keep(key("/a"), rendered("<p nonce=\"OLDNONCE\">", 1_000), 0);
        assert!(cache.get(&key("/a"), 1, 999).is_some());
        assert!(cache.get(&key("/a"), 2, 999).is_none(), "another version");
        assert!(cache.get(&key("/a"), 1, 1_000).is_none(), "its time passed");
        assert!(cache.get(&key("/b"), 1, 0).is_none(), "another page");
        assert_eq!(next_minute(59_999), 60_000);
        assert_eq!(next_minute(60_000), 120_000);
    }
}
