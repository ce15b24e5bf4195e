//! Restrictions per credential (docs/PAGES.md#credential-restrictions,
//! docs/CONSUMER-API.md#credential-restrictions): expiry dates and IP
//! allowlists on sandbox tokens and API keys, the per-token daily cap, and
//! "Who looked". One module per theme under `tests/it/credential_policies/`;
//! the helpers here send consumer requests from a chosen client address.

mod daily_cap;
mod forms;
mod keys;
mod pages;
mod sandbox;
mod who_looked;

use crate::common::{Caller, HOST, Reply, TestApp, urlencode};
use axum::body::Body;
use axum::http::{Request, header};
use keyport::model::KeyKind;
use keyport::server::store::{CallCounts, Credential};

/// A request as the listener would record it from `peer` (`127.0.0.2:5000`).
pub fn from_peer(mut req: Request<Body>, peer: &str) -> Request<Body> {
    let addr: std::net::SocketAddr = peer.parse().expect("a socket address");
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

/// A sandbox submission from `peer`.
pub async fn submit_from(caller: &Caller, org: &str, token: &str, peer: &str) -> Reply {
    let req = Request::post(format!(
        "/o/{org}/zscsb/submit?api_token={}&force=0",
        urlencode(token)
    ))
    .header(header::HOST, HOST)
    .body(Body::from(&b"MZ\x90\x00 pretend executable"[..]))
    .expect("request");
    caller.send(from_peer(req, peer)).await
}

/// A quota call from `peer`.
pub async fn quota_from(app: &TestApp, org: &str, token: &str, peer: &str) -> Reply {
    let req = Request::get(format!(
        "/o/{org}/sandbox/report/quota?api_token={}",
        urlencode(token)
    ))
    .header(header::HOST, HOST)
    .body(Body::empty())
    .expect("request");
    app.send(from_peer(req, peer)).await
}

/// Signs in to the Cloud Service API from `peer` with `key` (plaintext) as
/// the SDKs do; the reply and the session cookie, if one was set.
pub async fn api_login_from(
    app: &TestApp,
    key: &str,
    username: &str,
    password: &str,
    peer: &str,
) -> (Reply, Option<String>) {
    let timestamp = keyport::server::now_ms().to_string();
    let body = serde_json::json!({
        "apiKey": keyport::server::consumer::obfuscate_api_key(key, &timestamp).unwrap(),
        "username": username,
        "password": password,
        "timestamp": timestamp,
    });
    let req = Request::post("/o/acme/api/v1/authenticatedSession")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let reply = app.send(from_peer(req, peer)).await;
    let cookie = reply
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    (reply, cookie)
}

/// `GET /o/acme/api/v1/status` with a session cookie, from `peer`.
pub async fn status_from(app: &TestApp, cookie: &str, peer: &str) -> Reply {
    let req = Request::get("/o/acme/api/v1/status")
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request");
    app.send(from_peer(req, peer)).await
}

/// acme's Cloud Service API key in plaintext.
pub async fn cloud_key(app: &TestApp) -> String {
    let org = app.org_id("acme").await;
    let (_, key) = keyport::server::api_keys::current_key(&app.state, org, KeyKind::CloudService)
        .await
        .unwrap()
        .expect("acme has a Cloud Service key");
    secrecy::ExposeSecret::expose_secret(&key).to_owned()
}

/// The calls a credential of acme served in the last day.
pub async fn calls(app: &TestApp, credential: Credential) -> CallCounts {
    let org = app.org_id("acme").await;
    app.state
        .store
        .call_counts(org, credential, keyport::server::now_ms())
        .await
        .unwrap()
}

/// Sets a stored expiry directly: the forms only accept future dates, and
/// these tests need one that has passed.
pub async fn expire_token(app: &TestApp, id: i64, at: i64) {
    sqlx::query("UPDATE sandbox_tokens SET expires_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(app.state.store.pool())
        .await
        .unwrap();
}

pub async fn expire_key(app: &TestApp, at: i64) {
    let org = app.org_id("acme").await;
    sqlx::query("UPDATE api_keys SET expires_at = $1 WHERE org_id = $2 AND kind = 'cloud_service'")
        .bind(at)
        .bind(org)
        .execute(app.state.store.pool())
        .await
        .unwrap();
}
