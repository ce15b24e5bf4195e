//! Unit tests of the outbound policy: address classes, refusals before
//! connecting, redirects, and the size, status and time limits.

use super::*;

fn public(s: &str) -> bool {
    is_public_ip(s.parse().unwrap())
}

#[test]
fn ipv4_classes() {
    for refused in [
        "0.0.0.0",
        "0.1.2.3",
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        "192.0.0.8",
        "198.18.0.1",
        "198.19.255.255",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "239.255.255.255",
        "240.0.0.1",
        "255.255.255.255",
    ] {
        assert!(!public(refused), "{refused} should be refused");
    }
    for allowed in [
        "8.8.8.8",
        "1.1.1.1",
        "172.15.255.255",
        "172.32.0.1",
        "100.63.255.255",
        "100.128.0.1",
        "198.17.255.255",
        "198.20.0.1",
        "192.0.1.1",
        "223.255.255.255",
    ] {
        assert!(public(allowed), "{allowed} should be allowed");
    }
}

#[test]
fn ipv6_classes() {
    for refused in [
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:8.8.8.8",
        "::ffff:10.0.0.1",
        "::127.0.0.1",
        "::8.8.8.8",
        "64:ff9b::7f00:1",
        "64:ff9b::808:808",
        "64:ff9b:1::1",
        "100::1",
        "fc00::1",
        "fd00::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "2001:db8::1",
        "2002:7f00:1::1",
        "2001:0:4136:e378::1",
    ] {
        assert!(!public(refused), "{refused} should be refused");
    }
    for allowed in [
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "2a00:1450::1",
        "64:ff9b:2::1",
        "2001:1::1",
    ] {
        assert!(public(allowed), "{allowed} should be allowed");
    }
}

fn strict() -> Outbound {
    Outbound::default()
}

fn dev() -> Outbound {
    Outbound {
        allow_loopback: true,
    }
}

async fn get(policy: Outbound, url: &str) -> Result<Fetched, FetchError> {
    policy
        .get_limited(url, true, 1024, Duration::from_secs(5))
        .await
}

#[tokio::test]
async fn private_literals_and_schemes_are_refused_before_connecting() {
    for url in [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:7f00:1]/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00::1]/",
        "https://localhost/",
    ] {
        assert_eq!(
            get(strict(), url).await.unwrap_err(),
            FetchError::NotAllowed,
            "{url}"
        );
    }
    for url in [
        "http://example.com/",
        "ftp://example.com/",
        "file:///etc/passwd",
    ] {
        assert_eq!(
            get(strict(), url).await.unwrap_err(),
            FetchError::Scheme,
            "{url}"
        );
    }
    // The development switch allows loopback only, and never mapped forms.
    assert_eq!(
        get(dev(), "http://example.com/").await.unwrap_err(),
        FetchError::Scheme
    );
    for url in [
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "https://[fd00::1]/",
    ] {
        assert_eq!(
            get(dev(), url).await.unwrap_err(),
            FetchError::NotAllowed,
            "{url}"
        );
    }
    assert_eq!(
        get(strict(), "not a url").await.unwrap_err(),
        FetchError::BadUrl
    );
}

/// Serves a few routes on a free loopback port; returns its port.
async fn server() -> u16 {
    use axum::http::StatusCode;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let found = |to: String| (StatusCode::FOUND, [("location", to)]);
    let app = axum::Router::new()
        .route("/doc", get(|| async { "the document" }))
        .route("/big", get(|| async { "x".repeat(4096) }))
        .route(
            "/secret",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "SECRET") }),
        )
        .route("/to-doc", get(move || async move { found("/doc".into()) }))
        .route(
            "/to-private",
            get(move || async move { found("http://10.0.0.1/".into()) }),
        )
        .route(
            "/to-mapped",
            get(move || async move { found(format!("http://[::ffff:127.0.0.1]:{port}/doc")) }),
        )
        .route("/loop", get(move || async move { found("/loop".into()) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

#[tokio::test]
async fn redirects_are_followed_and_checked_again() {
    let port = server().await;
    let base = format!("http://127.0.0.1:{port}");
    let ok = get(dev(), &format!("{base}/to-doc")).await.unwrap();
    assert_eq!(ok.body, b"the document");
    assert_eq!(ok.url.path(), "/doc");
    let localhost = get(dev(), &format!("http://localhost:{port}/doc")).await;
    assert_eq!(localhost.unwrap().body, b"the document");
    assert_eq!(
        get(dev(), &format!("{base}/to-private")).await.unwrap_err(),
        FetchError::NotAllowed
    );
    assert_eq!(
        get(dev(), &format!("{base}/to-mapped")).await.unwrap_err(),
        FetchError::NotAllowed
    );
    assert_eq!(
        get(dev(), &format!("{base}/loop")).await.unwrap_err(),
        FetchError::TooManyRedirects
    );
    // Without the switch the local server is not reachable at all.
    assert_eq!(
        get(strict(), &format!("https://127.0.0.1:{port}/doc"))
            .await
            .unwrap_err(),
        FetchError::NotAllowed
    );
}

#[tokio::test]
async fn size_status_and_time_limits() {
    let port = server().await;
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        get(dev(), &format!("{base}/big")).await.unwrap_err(),
        FetchError::TooLarge
    );
    let secret = get(dev(), &format!("{base}/secret")).await.unwrap_err();
    assert_eq!(secret, FetchError::BadStatus);
    assert!(!secret.to_string().contains("SECRET") && !secret.to_string().contains("500"));
    assert_eq!(
        get(dev(), &format!("{base}/missing")).await.unwrap_err(),
        FetchError::BadStatus
    );

    // A server that accepts but never answers runs into the deadline.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let slow = dev()
        .get_limited(
            &format!("http://127.0.0.1:{silent_port}/"),
            true,
            1024,
            Duration::from_millis(300),
        )
        .await;
    assert_eq!(slow.unwrap_err(), FetchError::Timeout);
}
