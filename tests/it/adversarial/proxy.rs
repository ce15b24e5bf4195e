//! Behind a reverse proxy (`--trusted-proxy`): each client keeps its own
//! address for throttles, audit and Last Used, and nobody else can choose
//! theirs by sending X-Forwarded-For.

use crate::common::TestApp;
use axum::http::StatusCode;
use keyport::server::config::Cidr;
use keyport::server::routes;

/// The app served on a real port (so the peer address is real), trusting
/// `trusted` as proxies.
async fn serve(trusted: &[&str]) -> (TestApp, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let trusted: Vec<Cidr> = trusted.iter().map(|c| Cidr::parse(c).unwrap()).collect();
    let app = TestApp::with_settings(|s| s.trusted_proxies = trusted).await;
    let router = routes::router(app.state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (app, format!("http://{addr}"))
}

async fn sign_in(base: &str, forwarded_for: &str, password: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{base}/api/session/sign-in"))
        .header("x-forwarded-for", forwarded_for)
        .header("accept", "application/json")
        .form(&[("username", "api@acme.example"), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn last_sign_in_ip(app: &TestApp) -> String {
    app.state.store.recent_audit("acme", 1).await.unwrap()[0]
        .client_ip
        .clone()
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_address_is_the_client() {
    let (app, base) = serve(&["127.0.0.1/32"]).await;
    assert_eq!(
        sign_in(&base, "198.51.100.23", "Keyport-demo-1").await,
        StatusCode::OK
    );
    assert_eq!(last_sign_in_ip(&app).await, "198.51.100.23");
    // A client's own entry to the left is not believed.
    assert_eq!(
        sign_in(&base, "10.9.9.9, 198.51.100.24", "Keyport-demo-1").await,
        StatusCode::OK
    );
    assert_eq!(last_sign_in_ip(&app).await, "198.51.100.24");
}

#[tokio::test]
async fn without_the_setting_the_header_is_ignored() {
    let (app, base) = serve(&[]).await;
    assert_eq!(
        sign_in(&base, "198.51.100.23", "Keyport-demo-1").await,
        StatusCode::OK
    );
    assert_eq!(last_sign_in_ip(&app).await, "127.0.0.1");
}

#[tokio::test]
async fn one_noisy_client_behind_the_proxy_does_not_throttle_the_others() {
    let (_app, base) = serve(&["127.0.0.1/32"]).await;
    // Twenty failures from one client (on different accounts' worth of
    // guesses: the account locks first, the address after).
    let mut last = StatusCode::OK;
    for _ in 0..21 {
        last = sign_in(&base, "203.0.113.50", "wrong-password-1").await;
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "the noisy client is throttled"
    );
    // Another client behind the same proxy is not; its account (the same
    // one, locked by the noise) answers 401 — and a fresh account works.
    let other = reqwest::Client::new()
        .post(format!("{base}/api/session/sign-in"))
        .header("x-forwarded-for", "198.51.100.77")
        .header("accept", "application/json")
        .form(&[
            ("username", "super@acme.example"),
            ("password", "Keyport-demo-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
}
