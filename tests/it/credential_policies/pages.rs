//! What the pages show of the restrictions, in the server-rendered HTML
//! (so without WebAssembly too): the expiry warning in the row, the
//! Expires column when chosen, and the row's details with "Who looked".

use crate::common::{HOST, TestApp, assert_status};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keyport::model::{CredentialPolicy, KeyKind};
use keyport::server::{DAY_MS, api_keys, now_ms, sandbox};
use serde_json::json;

const SANDBOX: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token";
const CLOUD_KEY: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key";

async fn show_expires(app: &TestApp, cookie: &str, table: &str, first: &str) {
    let body = json!({
        "table": table,
        "layout": {"columns": [[first, true], ["expires", true]], "sort": null}
    });
    let req = Request::post("/api/tables/save-layout")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(body.to_string()))
        .unwrap();
    assert_status(&app.send(req).await, StatusCode::OK, "save layout");
}

/// The table's header row.
fn headers(html: &str) -> &str {
    let start = html.find("<thead>").expect("a table");
    let end = html[start..].find("</thead>").expect("its end") + start;
    &html[start..end]
}

#[tokio::test]
async fn the_sandbox_page_warns_and_lists_who_looked() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let policy = CredentialPolicy {
        expires_at: Some(now_ms() + 3 * DAY_MS),
        ip_allowlist: "192.0.2.0/24".into(),
        daily_cap: Some(40),
    };
    let issued = sandbox::add_with_policy(&app.state, &admin, "Soon gone", &policy)
        .await
        .unwrap();
    sandbox::reveal(&app.state, &admin, issued.view.id)
        .await
        .unwrap();

    let cookie = app.sign_in("readonly@acme.example").await;
    let html = app.get(Some(&cookie), SANDBOX).await.text;
    assert!(html.contains("Expires in 3 days"), "the row warns");
    assert!(
        html.contains("192.0.2.0/24"),
        "the details list the allowlist"
    );
    assert!(html.contains("40 per day"), "and the cap");
    assert!(html.contains("Who looked"));
    assert!(html.contains("api@acme.example"), "the reveal is listed");
    assert!(html.contains("from 127.0.0.1"), "with its client address");
    let secret = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();
    assert!(!html.contains(&secret), "never the secret");

    // Expires is in the Columns menu, hidden until chosen.
    assert!(!headers(&html).contains("Expires"), "hidden by default");
    show_expires(&app, &cookie, "sandbox_tokens", "name").await;
    let html = app.get(Some(&cookie), SANDBOX).await.text;
    assert!(headers(&html).contains("Expires"), "the chosen column");
    assert!(html.contains(">Never</"), "tokens without an expiry");
}

#[tokio::test]
async fn the_key_page_says_expired() {
    let app = TestApp::new().await;
    super::expire_key(&app, now_ms() - 1).await;
    let admin = app.actor("api@acme.example", "acme").await;
    api_keys::reveal(&app.state, &admin, KeyKind::CloudService)
        .await
        .unwrap();
    let cookie = app.sign_in("api@acme.example").await;
    show_expires(&app, &cookie, "cloud_service_key", "key").await;
    let html = app.get(Some(&cookie), CLOUD_KEY).await.text;
    assert!(html.contains(">Expired</"), "the Status cell says Expired");
    assert!(
        html.contains("Expired 20"),
        "the Expires column gives the date"
    );
    assert!(
        html.contains(">Restrictions</"),
        "managing roles can change them"
    );
    assert!(html.contains("api@acme.example"), "who looked");
}
