//! Every server function and consumer endpoint, sent malformed, oversized
//! and wrong-typed input by every kind of caller: nothing answers 5xx and
//! nothing panics (a panic would surface as a failed request here).

use crate::common::{HOST, TestApp};
use axum::body::Body;
use axum::http::{Request, header};

/// Every server function (`src/api/`); the `input = Json` ones take JSON.
const FORM_ENDPOINTS: &[&str] = &[
    "audit-log/list",
    "provider/console",
    "oauth-servers/list",
    "oauth-servers/validate",
    "oauth-servers/save",
    "oauth-servers/delete",
    "tables/layout",
    "sandbox-tokens/list",
    "sandbox-tokens/add",
    "sandbox-tokens/rename",
    "sandbox-tokens/regenerate",
    "sandbox-tokens/delete",
    "sandbox-tokens/reveal",
    "sandbox-tokens/reveals",
    "api-keys/get",
    "api-keys/add",
    "api-keys/edit",
    "api-keys/regenerate",
    "api-keys/delete",
    "api-keys/reveal",
    "api-keys/reveals",
    "api-keys/policy",
    "api-keys/test-auth",
    "session/info",
    "session/sign-in",
    "session/switch-org",
    "session/current",
    "session/sign-out",
];
const JSON_ENDPOINTS: &[&str] = &[
    "provider/create-org",
    "provider/set-subscription",
    "provider/save-settings",
    "provider/set-credential-state",
    "provider/add-admin",
    "provider/remove-admin",
    "tables/save-layout",
    "api-keys/share",
];

/// Form bodies: empty, junk, wrong types, huge values, hidden characters,
/// invalid percent-encoding and bytes that are not UTF-8.
fn form_bodies() -> Vec<Vec<u8>> {
    let huge = "A".repeat(40_000);
    let fields = [
        "id",
        "name",
        "key",
        "kind",
        "org",
        "table",
        "url",
        "jwks_url",
        "password",
        "username",
        "filter[page]",
        "filter[from]",
        "filter[admin]",
        "filter[action]",
        "form[name]",
        "form[jwks_url]",
        "policy[expires_at]",
        "policy[ip_allowlist]",
        "policy[daily_cap]",
        "validate_cert",
        "force",
    ];
    let mut out: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"&&&===&".to_vec(),
        b"%zz%%%".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x80],
    ];
    for value in [
        "-1",
        "9223372036854775808",
        "NaN",
        "true",
        "[1,2]",
        "\u{202e}\u{200b}x",
        "nul\u{0}byte",
        "../../etc/passwd",
        "'; DROP TABLE admins; --",
        huge.as_str(),
    ] {
        let body: Vec<String> = fields
            .iter()
            .map(|f| {
                format!(
                    "{}={}",
                    crate::common::urlencode(f),
                    crate::common::urlencode(value)
                )
            })
            .collect();
        out.push(body.join("&").into_bytes());
    }
    out
}

fn json_bodies() -> Vec<Vec<u8>> {
    let huge = "B".repeat(200_000);
    vec![
        b"".to_vec(),
        b"{".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        br#"{"org": 1, "kind": [], "state": {}, "settings": "x", "layout": 5, "table": null}"#.to_vec(),
        serde_json::json!({
            "org": huge, "short_name": huge, "name": huge, "username": huge, "table": "sandbox_tokens",
            "layout": {"columns": [[huge, true]], "sort": [huge, false]},
            "key": huge, "orgs": [huge], "kind": "api", "state": "active",
        })
        .to_string()
        .into_bytes(),
        serde_json::json!({
            "table": "sandbox_tokens",
            "layout": {"columns": (0..5000).map(|i| (format!("c{i}"), true)).collect::<Vec<_>>()},
        })
        .to_string()
        .into_bytes(),
        vec![0xff, 0xfe, 0x00],
    ]
}

async fn post(
    app: &TestApp,
    cookie: Option<&str>,
    endpoint: &str,
    json: bool,
    body: Vec<u8>,
) -> (u16, String) {
    let mut req = Request::post(format!("/api/{endpoint}"))
        .header(header::HOST, HOST)
        .header(header::ACCEPT, "application/json")
        .header(
            header::CONTENT_TYPE,
            if json {
                "application/json"
            } else {
                "application/x-www-form-urlencoded"
            },
        );
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let r = app.send(req.body(Body::from(body)).unwrap()).await;
    (r.status.as_u16(), r.text)
}

#[tokio::test]
async fn no_server_function_answers_5xx_to_junk() {
    let app = TestApp::with_settings(|s| s.allow_insecure_jwks = false).await;
    let callers = [
        None,
        Some(app.sign_in("super@acme.example").await),
        Some(app.sign_in("readonly@acme.example").await),
        Some(app.sign_in("provider@keyport.example").await),
        Some("keyport_session=forged-cookie-value".to_owned()),
    ];
    let mut sent = 0;
    let mut failures = Vec::new();
    for cookie in &callers {
        for endpoint in FORM_ENDPOINTS.iter().filter(|e| **e != "session/sign-out") {
            for body in form_bodies() {
                let (status, text) = post(&app, cookie.as_deref(), endpoint, false, body).await;
                sent += 1;
                if status >= 500 {
                    failures.push(format!(
                        "{endpoint} → {status} {}",
                        &text[..text.len().min(200)]
                    ));
                }
            }
        }
        for endpoint in JSON_ENDPOINTS {
            for body in json_bodies() {
                let (status, text) = post(&app, cookie.as_deref(), endpoint, true, body).await;
                sent += 1;
                if status >= 500 {
                    failures.push(format!(
                        "{endpoint} (json) → {status} {}",
                        &text[..text.len().min(200)]
                    ));
                }
            }
        }
    }
    eprintln!("sent {sent} malformed server-function calls");
    assert!(
        failures.is_empty(),
        "{} answers ≥ 500:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Nothing oversized was stored as a layout.
    let (longest,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(LENGTH(layout)), 0) FROM table_layouts")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert!(longest < 4096, "a {longest}-byte layout was stored");
}

#[tokio::test]
async fn no_consumer_endpoint_answers_5xx_to_junk() {
    let app = TestApp::new().await;
    let huge = "C".repeat(100_000);
    let paths = [
        "/o/acme/api/v1/authenticatedSession",
        "/o/acme/connector/api/v1/auth",
        "/o/acme/api/v1/status",
        "/o/acme/zscsb/submit?api_token=x&force=1",
        "/o/acme/zscsb/submit",
        "/o/acme/sandbox/report/quota?api_token=%ff%fe",
        "/o/nope/api/v1/status",
        "/o/%00/api/v1/authenticatedSession",
    ];
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{".to_vec(),
        br#"{"apiKey": null, "username": 5, "password": [], "timestamp": 1.5}"#.to_vec(),
        serde_json::json!({"apiKey": huge, "username": huge, "password": huge, "timestamp": huge})
            .to_string()
            .into_bytes(),
        serde_json::json!({"apiKey": "x", "username": "a@b", "password": "p", "timestamp": "99999999999999999999999"})
            .to_string()
            .into_bytes(),
        vec![0xff; 1000],
    ];
    let cookies = [
        None,
        Some("JSESSIONID=forged"),
        Some(&*format!("JSESSIONID={huge}")),
    ];
    let mut failures = Vec::new();
    let mut sent = 0;
    for path in paths {
        for method in ["GET", "POST", "DELETE", "PUT"] {
            for cookie in &cookies {
                for body in &bodies {
                    let mut req = Request::builder()
                        .method(method)
                        .uri(path)
                        .header(header::HOST, HOST)
                        .header(header::CONTENT_TYPE, "application/json");
                    if let Some(c) = cookie {
                        req = req.header(header::COOKIE, *c);
                    }
                    let r = app.send(req.body(Body::from(body.clone())).unwrap()).await;
                    sent += 1;
                    if r.status.as_u16() >= 500 {
                        failures.push(format!(
                            "{method} {path} → {} {}",
                            r.status,
                            &r.text[..r.text.len().min(200)]
                        ));
                    }
                }
            }
        }
    }
    eprintln!("sent {sent} malformed consumer-API calls");
    assert!(
        failures.is_empty(),
        "{} answers ≥ 500:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
