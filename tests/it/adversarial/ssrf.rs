//! Server-side request forgery through the JWKS location: an admin's URL
//! must not reach this machine or a private network (in any spelling),
//! must not read an endless body, and must not echo the remote answer.

use crate::common::{Reply, TestApp};
use axum::http::StatusCode;
use keyport::error::AppError;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

const NOT_ALLOWED: &str = "The address is not allowed: it points into a private or local network.";

fn form(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("form[enabled]", "true".to_owned()),
        ("form[name]", "Probe".to_owned()),
        ("form[description]", "SSRF probe".to_owned()),
        ("form[jwks_url]", url.to_owned()),
        ("form[validate_cert]", "true".to_owned()),
        ("form[audience]", "api://keyport".to_owned()),
        ("form[issuer]", "https://idp.example".to_owned()),
        ("form[client_id]", "keyport-client".to_owned()),
    ]
}

async fn validate(app: &TestApp, cookie: &str, url: &str) -> Reply {
    app.call(
        Some(cookie),
        "oauth-servers/validate",
        &[("jwks_url", url), ("validate_cert", "true")],
    )
    .await
}

async fn save(app: &TestApp, cookie: &str, url: &str) -> Reply {
    let fields = form(url);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.call(Some(cookie), "oauth-servers/save", &pairs).await
}

/// The jwks_url field message of a clean 400.
fn field_message(reply: &Reply, what: &str) -> String {
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{what}: {}",
        reply.text
    );
    reply
        .parse::<AppError>()
        .field("jwks_url")
        .unwrap_or_else(|| panic!("{what}: no jwks_url message in {}", reply.text))
        .to_owned()
}

async fn stored(app: &TestApp) -> usize {
    let org_id = app.org_id("acme").await;
    app.state.store.oauth_servers(org_id).await.unwrap().len()
}

#[tokio::test]
async fn jwks_locations_into_this_machine_or_private_networks_are_refused() {
    let app = TestApp::with_settings(|s| s.allow_insecure_jwks = false).await;
    let api = app.sign_in("api@acme.example").await;
    for url in [
        "https://127.0.0.1/",
        "https://localhost/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/",
    ] {
        for reply in [validate(&app, &api, url).await, save(&app, &api, url).await] {
            assert_eq!(field_message(&reply, url), NOT_ALLOWED, "{url}");
        }
    }
    for reply in [
        validate(&app, &api, "http://example.com/").await,
        save(&app, &api, "http://example.com/").await,
    ] {
        assert_eq!(
            field_message(&reply, "http"),
            "The JWKS location must be an https URL."
        );
    }
    assert_eq!(stored(&app).await, 0, "nothing was saved");
}

/// A local server answering every request with `response` (raw HTTP).
fn raw_server(response: String) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf);
            let _ = socket.write_all(response.as_bytes());
        }
    });
    port
}

#[tokio::test]
async fn a_redirect_is_checked_again() {
    let app = TestApp::new().await; // the development switch: loopback allowed
    let api = app.sign_in("api@acme.example").await;
    for to in ["http://10.0.0.1/jwks", "http://[::ffff:127.0.0.1]/jwks"] {
        let port = raw_server(format!(
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ));
        let url = format!("http://127.0.0.1:{port}/jwks");
        assert_eq!(
            field_message(&validate(&app, &api, &url).await, to),
            NOT_ALLOWED
        );
        assert_eq!(
            field_message(&save(&app, &api, &url).await, to),
            NOT_ALLOWED
        );
    }
    assert_eq!(stored(&app).await, 0);
}

#[tokio::test]
async fn an_endless_body_is_cut_off_early() {
    const TOTAL: usize = 8 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let sent = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    {
        let (sent, done) = (sent.clone(), done.clone());
        std::thread::spawn(move || {
            // One request is enough: the body is chunked, with no length.
            if let Ok((mut socket, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                            Transfer-Encoding: chunked\r\n\r\n";
                let chunk = format!("{CHUNK:x}\r\n{}\r\n", "a".repeat(CHUNK));
                let mut ok = socket.write_all(head.as_bytes()).is_ok();
                while ok && sent.load(Ordering::SeqCst) < TOTAL {
                    ok = socket.write_all(chunk.as_bytes()).is_ok();
                    if ok {
                        sent.fetch_add(CHUNK, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(2));
                    }
                }
                let _ = socket.write_all(b"0\r\n\r\n");
            }
            done.store(true, Ordering::SeqCst);
        });
    }
    let url = format!("http://127.0.0.1:{port}/jwks");
    let reply = validate(&app, &api, &url).await;
    assert_eq!(
        field_message(&reply, "big"),
        "The JWKS is larger than 1 MiB."
    );
    for _ in 0..500 {
        if done.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        done.load(Ordering::SeqCst),
        "the server is still sending ({sent} bytes)"
    );
    assert!(
        sent < 3 * 1024 * 1024,
        "{sent} bytes were sent before the client stopped"
    );
}

#[tokio::test]
async fn an_error_answer_is_not_echoed() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(|| async {
            (StatusCode::INTERNAL_SERVER_ERROR, "SECRET-INTERNAL-BODY")
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    let url = format!("http://127.0.0.1:{port}/jwks");
    for reply in [
        validate(&app, &api, &url).await,
        save(&app, &api, &url).await,
    ] {
        let message = field_message(&reply, "500");
        assert_eq!(message, "The server did not answer with the document.");
        assert!(
            !reply.text.contains("SECRET-INTERNAL-BODY"),
            "{}",
            reply.text
        );
        assert!(!reply.text.contains("500"), "{}", reply.text);
    }
    assert_eq!(stored(&app).await, 0);
}
