//! HTTP plumbing shared by every route: who is calling from where (for the
//! audit log), the Origin check on state-changing requests, and the security
//! headers (docs/SECURITY.md).

use super::config::{Cidr, Settings};
use crate::model::Interface;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Facts about the request that the audit log records.
#[derive(Clone, Debug)]
pub struct RequestMeta {
    pub client_ip: String,
    pub trace_id: String,
    pub interface: Interface,
}

impl RequestMeta {
    /// For work started from the command line.
    pub fn cli() -> Self {
        RequestMeta {
            client_ip: "127.0.0.1".into(),
            trace_id: new_trace_id(),
            interface: Interface::Cli,
        }
    }
}

pub fn new_trace_id() -> String {
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub const TRACE_HEADER: HeaderName = HeaderName::from_static("x-trace-id");

/// The client's address: the peer's, unless the peer is a trusted proxy
/// (`--trusted-proxy`); then X-Forwarded-For is read from the right, and
/// the first address that is not itself a trusted proxy is the client.
/// Entries left of it were written by the client and are not believed.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[Cidr]) -> String {
    let Some(mut client) = peer.map(|p| p.to_canonical()) else {
        return "unknown".into();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(client) {
        return client.to_string();
    }
    let hops: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip.to_canonical();
                if !is_trusted(client) {
                    break;
                }
            }
            // Garbage: the last proxy we believe is as far as we can see.
            Err(_) => break,
        }
    }
    client.to_string()
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Attaches a [`RequestMeta`] to every request and echoes its trace id.
pub async fn request_meta(
    State(settings): State<Arc<Settings>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip());
    let client_ip = client_ip(peer, req.headers(), &settings.trusted_proxies);
    let interface = if req.uri().path().starts_with("/o/") {
        Interface::Api
    } else {
        Interface::AdminUi
    };
    let meta = RequestMeta {
        client_ip,
        trace_id: new_trace_id(),
        interface,
    };
    let trace = HeaderValue::from_str(&meta.trace_id).ok();
    req.extensions_mut().insert(meta);
    let mut res = next.run(req).await;
    if let Some(trace) = trace {
        res.headers_mut().insert(TRACE_HEADER, trace);
    }
    res
}

/// Refuses a state-changing request whose Origin (or, failing that, Referer)
/// names another host than the one it was sent to. Requests with neither
/// come from scripts, not browsers, and carry no ambient cookie risk.
pub async fn check_origin(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(&req) {
        let body = axum::Json(serde_json::json!({
            "code": "forbidden",
            "message": "Cross-origin requests are not allowed."
        }));
        return (StatusCode::FORBIDDEN, body).into_response();
    }
    next.run(req).await
}

fn same_origin(req: &Request) -> bool {
    let headers = req.headers();
    // Browsers say where a request comes from; cross-site is never ours.
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v == "cross-site" || v == "same-site")
    {
        return false;
    }
    let Some(source) = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // `scheme://host[:port][/path]` → `host[:port]`
    let authority = source
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .unwrap_or("");
    authority.eq_ignore_ascii_case(host)
}

/// Headers every response carries. HTML pages set their own
/// Content-Security-Policy with the render's nonce (see `app::shell`); every
/// other response gets one that allows nothing.
pub async fn security_headers(req: Request, next: Next) -> Response {
    // Server functions and the consumer API may answer with secrets.
    let no_store = req.uri().path().starts_with("/api/") || req.uri().path().starts_with("/o/");
    let asset_cache = asset_cache_control(req.uri().path());
    let mut res = next.run(req).await;
    if let Some(policy) = asset_cache
        && (res.status().is_success() || res.status() == axum::http::StatusCode::NOT_MODIFIED)
    {
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        // The body depends on Accept-Encoding (a precompressed .br or .gz,
        // or the file itself): caches must keep them apart.
        if !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    if no_store {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let headers = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    res
}

/// How long a browser may keep a built asset (`/pkg/…`): a year for one
/// whose name carries its content's hash (`keyport.3f9a…c1.wasm`, a new
/// build gets new names), otherwise it must ask again (`no-cache`: a 304
/// when unchanged). `None` for everything else.
fn asset_cache_control(path: &str) -> Option<&'static str> {
    let name = path.strip_prefix("/pkg/")?;
    let hashed = name.split('.').nth(1).is_some_and(|part| {
        part.len() >= 16
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) && name.matches('.').count() >= 2;
    Some(if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    })
}

/// Whether the current server-function call is a browser navigation (a
/// form posted without WebAssembly), which expects HTML or a redirect back.
pub fn is_form_navigation() -> bool {
    leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|p| {
            p.headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false)
}

/// During a page render: answer with a real `302 Found` to `path`, whatever
/// the request's Accept header (scripts and crawlers get a redirect too).
pub fn redirect_page(path: &str) {
    if let (Some(options), Ok(location)) = (
        leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(path),
    ) {
        options.insert_header(header::LOCATION, location);
        options.set_status(StatusCode::FOUND);
    }
}

/// The `--split` build's loader script (`/pkg/__wasm_split.<hash>.js`),
/// which the main module imports statically, for a `modulepreload` in the
/// head: Chromium's `modulepreload` of the main module does not fetch its
/// imports, so without it the loader was requested only once the main
/// module ran, a round trip before any island hydrated (it arrived at
/// 204-287 ms in three cold Sandbox loads, and at 87-111 ms with the
/// preload; docs/FIRST-LOAD.md). `None` without a split build.
pub fn split_loader_href() -> Option<String> {
    use leptos::prelude::{ReadValue, use_context};
    let manifest = use_context::<leptos::WasmSplitManifest>()?;
    let (pkg, _, loader) = &*manifest.0.read_value();
    Some(format!("{pkg}/{loader}"))
}

/// During a page render: have the page's `<head>` preload the wasm chunks
/// of its lazy island `loader` (the island's name in snake case, then
/// `_loader`), so they download beside the main module instead of after it
/// has started. The chunks are read from the `--split` build's manifest,
/// which `components::island_scripts` provides; without one this does nothing.
/// Only the provider console preloads: the small controls are in the main
/// module (making each lazy cut them into dozens of tiny chunks, slower to
/// fetch and to preload), and the pages' dialog hosts are fetched at their
/// first open (`components::dialog_host`; docs/FIRST-LOAD.md).
pub fn preload_island(loader: &str) {
    use leptos::prelude::{ReadValue, use_context};
    use std::sync::{Mutex, OnceLock};

    let Some(manifest) = use_context::<leptos::WasmSplitManifest>() else {
        return;
    };
    let prefix = format!("{loader}_");
    let key = manifest
        .0
        .read_value()
        .1
        .keys()
        .find(|k| {
            k.strip_prefix(&prefix)
                .is_some_and(|h| h.bytes().all(|b| b.is_ascii_digit()))
        })
        .cloned();
    let Some(key) = key else {
        return;
    };
    // The integration keeps `&'static str` keys: one copy per island, for
    // the life of the process.
    static KEYS: OnceLock<Mutex<Vec<&'static str>>> = OnceLock::new();
    let mut keys = KEYS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = match keys.iter().find(|k| **k == key) {
        Some(k) => *k,
        None => {
            let k: &'static str = Box::leak(key.into_boxed_str());
            keys.push(k);
            k
        }
    };
    drop(keys);
    leptos::prefetch_lazy_fn_on_server(key);
}

/// The policy for server-rendered pages: scripts and the inline stylesheet
/// only with this render's nonce (Leptos puts it on its hydration scripts,
/// `app::PageStyle` on the `<style>`) and WebAssembly compilation.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashed_assets_are_kept_a_year_and_the_others_revalidated() {
        use super::asset_cache_control as cache;
        let year = Some("public, max-age=31536000, immutable");
        assert_eq!(cache("/pkg/keyport.Yh0aDmkPKqC3Pf3LpMdFsg.wasm"), year);
        assert_eq!(cache("/pkg/keyport.Yh0a-mkPKqC3_f3LpMdFsg.js"), year);
        assert_eq!(cache("/pkg/keyport.wasm"), Some("no-cache"));
        assert_eq!(cache("/pkg/keyport_bg.wasm"), Some("no-cache"));
        assert_eq!(cache("/pkg/keyport.css"), Some("no-cache"));
        assert_eq!(cache("/favicon.svg"), None);
        assert_eq!(cache("/administration/sandbox"), None);
    }

    use super::*;
    use axum::body::Body;

    fn req(method: Method, origin: Option<&str>, host: &str) -> Request {
        let mut b = axum::http::Request::builder()
            .method(method)
            .uri("/api/x")
            .header("host", host);
        if let Some(o) = origin {
            b = b.header("origin", o);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let with = |xff: &str| {
            let mut h = HeaderMap::new();
            h.insert(X_FORWARDED_FOR, HeaderValue::from_str(xff).unwrap());
            h
        };
        let proxy = Some("10.0.0.5".parse().unwrap());
        let stranger = Some("203.0.113.9".parse().unwrap());
        // Through the proxy: the address it saw.
        assert_eq!(
            client_ip(proxy, &with("198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        // A client's own X-Forwarded-For entries are not believed.
        assert_eq!(
            client_ip(proxy, &with("1.2.3.4, 198.51.100.7"), &trusted),
            "198.51.100.7"
        );
        // Two proxies in a row.
        assert_eq!(
            client_ip(proxy, &with("198.51.100.7, 10.0.0.9"), &trusted),
            "198.51.100.7"
        );
        // Straight from the internet, the header is ignored.
        assert_eq!(
            client_ip(stranger, &with("1.2.3.4"), &trusted),
            "203.0.113.9"
        );
        // Without a header (or with garbage), the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &trusted), "10.0.0.5");
        assert_eq!(client_ip(proxy, &with("not-an-ip"), &trusted), "10.0.0.5");
        // Mapped peers are the IPv4 address.
        assert_eq!(
            client_ip(
                Some("::ffff:203.0.113.9".parse().unwrap()),
                &HeaderMap::new(),
                &[]
            ),
            "203.0.113.9"
        );
    }

    #[test]
    fn origin_must_match_host() {
        assert!(same_origin(&req(
            Method::POST,
            Some("http://127.0.0.1:3000"),
            "127.0.0.1:3000"
        )));
        assert!(!same_origin(&req(
            Method::POST,
            Some("http://evil.example"),
            "127.0.0.1:3000"
        )));
        assert!(!same_origin(&req(
            Method::POST,
            Some("null"),
            "127.0.0.1:3000"
        )));
        assert!(same_origin(&req(Method::POST, None, "127.0.0.1:3000")));
    }
}
