//! A Keyport instance for tests: the real router over a fresh database
//! seeded with the demo, driven in-process with `tower::ServiceExt::oneshot`.
//!
//! The database is a SQLite file in a temporary directory, or — when
//! `KEYPORT_TEST_DATABASE_URL` names a PostgreSQL database (`make test` sets
//! it when PostgreSQL is reachable) — a fresh schema of its own in that
//! database, so the whole suite runs once per backend.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use keyport::server::auth::Actor;
use keyport::server::config::Settings;
use keyport::server::crypto::Secrets;
use keyport::server::demo::DEMO_PASSWORD;
use keyport::server::http::RequestMeta;
use keyport::server::store::Store;
use keyport::server::{AppState, demo, routes};
use leptos::prelude::LeptosOptions;
use serde_json::Value;
use tower::ServiceExt;

pub const HOST: &str = "127.0.0.1:3000";

pub struct TestApp {
    pub state: AppState,
    pub caller: Caller,
    _dir: tempfile::TempDir,
}

/// Sends requests to the router; cheap to clone into spawned tasks.
#[derive(Clone)]
pub struct Caller {
    router: Router,
}

/// A test's answer: status, headers and the body (JSON when it parses).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    /// The body as the wire type `T` (a page from `keyport::model`, an
    /// `AppError`, …); panics with the status and body when it is not one.
    #[track_caller]
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.text).unwrap_or_else(|e| {
            panic!(
                "{} answer is not a {}: {e}\n{}",
                self.status,
                std::any::type_name::<T>(),
                self.text
            )
        })
    }
}

impl Caller {
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, cookie: Option<&str>, path: &str) -> Reply {
        let mut req = Request::get(path).header(header::HOST, HOST);
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    /// POSTs a form to the server function at `/api/{endpoint}`.
    pub async fn call(&self, cookie: Option<&str>, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut req = Request::post(format!("/api/{endpoint}"))
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        self.send(req.body(Body::from(body)).expect("request"))
            .await
    }
}

/// Asserts the status, showing the body when it differs.
pub fn assert_status(reply: &Reply, expected: StatusCode, what: &str) {
    assert_eq!(reply.status, expected, "{what}: {}", reply.text);
}

impl TestApp {
    /// Signs in to the consumer API at `path` (authenticatedSession or the
    /// connector's auth) as the reference SDKs do, with `key` obfuscated and
    /// the demo password; the reply and the JSESSIONID cookie if one was set.
    pub async fn api_login(
        &self,
        path: &str,
        key: &str,
        username: &str,
    ) -> (Reply, Option<String>) {
        let timestamp = keyport::server::now_ms().to_string();
        let body = serde_json::json!({
            "apiKey": keyport::server::consumer::obfuscate_api_key(key, &timestamp).unwrap(),
            "username": username,
            "password": DEMO_PASSWORD,
            "timestamp": timestamp,
        });
        let reply = self.consumer("POST", path, None, Some(body)).await;
        let cookie = reply
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_owned());
        (reply, cookie)
    }

    /// A Cloud Service API session (its `JSESSIONID` cookie) of `username`
    /// in `org`, signed in with `key`; the sign-in must succeed.
    pub async fn api_session(&self, org: &str, key: &str, username: &str) -> String {
        let path = format!("/o/{org}/api/v1/authenticatedSession");
        let (login, cookie) = self.api_login(&path, key, username).await;
        assert_status(
            &login,
            StatusCode::OK,
            &format!("API sign-in of {username} in {org}"),
        );
        cookie.expect("a successful API sign-in sets a session cookie")
    }

    /// POSTs a JSON body to a server function declared with `input = Json`.
    pub async fn call_json(
        &self,
        cookie: Option<&str>,
        endpoint: &str,
        body: serde_json::Value,
    ) -> Reply {
        let mut req = Request::post(format!("/api/{endpoint}"))
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        self.send(req.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    /// Serves the app on a real port as well (for code that calls its own
    /// Base URL over HTTP); `public_url` is set to that port.
    pub async fn listening() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("address");
        let app = Self::with_settings(|s| {
            s.public_url = format!("http://{addr}");
            s.api_rate_per_second = 10_000;
        })
        .await;
        let router = routes::router(app.state.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        app
    }

    pub async fn new() -> Self {
        Self::with_settings(|_| {}).await
    }

    /// A test app whose settings `adjust` changes first (e.g. rate limits).
    pub async fn with_settings(adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings::for_tests();
        adjust(&mut settings);
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(&dir).await;
        let store = Store::connect(&url).await.expect("database");
        let secrets = Secrets::from_master(&[42u8; 32]);
        let options = LeptosOptions::builder()
            .output_name("keyport")
            .site_root(dir.path().display().to_string())
            .build();
        let state = routes::state(store, secrets, settings, options)
            .await
            .expect("state");
        demo::seed_if_empty(&state).await.expect("demo seed");
        let router = routes::router(state.clone());
        let caller = Caller { router };
        TestApp {
            state,
            caller,
            _dir: dir,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        self.caller.send(req).await
    }

    /// A second router over the same database and keys that renders every
    /// page afresh (`--page-cache false`), to compare kept pages with.
    pub fn uncached(&self) -> Caller {
        let mut shared = (*self.state).clone();
        shared.settings = std::sync::Arc::new(Settings {
            page_cache: false,
            ..(*shared.settings).clone()
        });
        shared.pages = std::sync::Arc::default();
        Caller {
            router: routes::router(AppState::new(shared)),
        }
    }

    pub async fn call(&self, cookie: Option<&str>, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        self.caller.call(cookie, endpoint, form).await
    }

    /// Signs in through the real server function; returns the cookie header value.
    pub async fn sign_in(&self, username: &str) -> String {
        self.try_sign_in(username, DEMO_PASSWORD)
            .await
            .unwrap_or_else(|r| panic!("sign-in of {username} failed: {} {}", r.status, r.text))
    }

    pub async fn try_sign_in(&self, username: &str, password: &str) -> Result<String, Reply> {
        let reply = self
            .call(
                None,
                "session/sign-in",
                &[("username", username), ("password", password)],
            )
            .await;
        if !reply.status.is_success() {
            return Err(reply);
        }
        let cookie = reply
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(routes::SESSION_COOKIE))
            .expect("a session cookie");
        Ok(cookie.split(';').next().unwrap_or_default().to_owned())
    }

    pub async fn get(&self, cookie: Option<&str>, path: &str) -> Reply {
        let mut req = Request::get(path).header(header::HOST, HOST);
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        self.send(req.body(Body::empty()).expect("request")).await
    }

    /// POSTs a file to the sandbox submit endpoint.
    pub async fn submit(&self, org: &str, token: &str, body: &'static [u8]) -> Reply {
        let req = Request::post(format!(
            "/o/{org}/zscsb/submit?api_token={}&force=0",
            urlencode(token)
        ))
        .header(header::HOST, HOST)
        .body(Body::from(body))
        .expect("request");
        self.send(req).await
    }

    /// Sends a consumer-API request with an optional JSON body and cookie.
    pub async fn consumer(
        &self,
        method: &str,
        path: &str,
        cookie: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, HOST);
        if let Some(cookie) = cookie {
            req = req.header(header::COOKIE, cookie);
        }
        let body = match body {
            Some(json) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).expect("request")).await
    }

    /// The admin `username` acting in `org`, for calling domain code directly.
    pub async fn actor(&self, username: &str, org: &str) -> Actor {
        let store = &self.state.store;
        let admin = store
            .admin_by_username(username)
            .await
            .unwrap()
            .expect("admin");
        let org = store.org_by_short_name(org).await.unwrap().expect("org");
        Actor::load(&self.state, admin.id, org.id, RequestMeta::cli())
            .await
            .unwrap()
            .expect("membership")
    }

    /// The id of `org`'s token named `name`.
    pub async fn token_id(&self, org: &str, name: &str) -> i64 {
        let org_id = self.org_id(org).await;
        self.state
            .store
            .sandbox_tokens(org_id, keyport::server::now_ms())
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.name == name)
            .expect("token")
            .id
    }

    /// Disables (`Some`) or enables (`None`) as the command-line provider.
    pub async fn provider_set(
        &self,
        org: &str,
        target: keyport::server::provider::Target,
        reason: Option<keyport::model::DisableReason>,
    ) {
        keyport::server::provider::set_disabled(
            &self.state,
            &keyport::server::provider::Operator::cli(),
            org,
            target,
            reason,
        )
        .await
        .expect("provider operation");
    }

    pub async fn org_id(&self, org: &str) -> i64 {
        self.state
            .store
            .org_by_short_name(org)
            .await
            .unwrap()
            .expect("org")
            .id
    }
}

/// The PostgreSQL database the suite runs against, if one is configured.
pub fn postgres_url() -> Option<String> {
    std::env::var("KEYPORT_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
}

/// A fresh database for one test: a SQLite file in `dir`, or a new schema in
/// the configured PostgreSQL database (the URL selects it as search_path).
pub async fn database_url(dir: &tempfile::TempDir) -> String {
    match postgres_url() {
        Some(base) => fresh_schema(&base).await,
        None => format!("sqlite://{}/keyport.db", dir.path().display()),
    }
}

/// Creates schema `t_<random>` in the PostgreSQL database at `base`.
pub async fn fresh_schema(base: &str) -> String {
    use rand::Rng;
    let name = format!("t_{:016x}", rand::thread_rng().r#gen::<u64>());
    let admin = sqlx::PgPool::connect(base).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE SCHEMA {name}"))
        .execute(&admin)
        .await
        .expect("create schema");
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options[search_path]={name}")
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
