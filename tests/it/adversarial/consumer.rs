//! The consumer API as an anonymous attacker sees it: the key check gives
//! no timing or answer oracle, removed admins lose their sessions at once,
//! anonymous floods cost the organisation nothing, oversized or hidden
//! input is refused with nothing stored, and a bad token's body is not read.

use crate::common::{TestApp, assert_status};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keyport::server::consumer::obfuscate_api_key;
use keyport::server::demo::DEMO_PASSWORD;
use keyport::server::now_ms;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const LOGIN: &str = "/o/acme/api/v1/authenticatedSession";
const STATUS: &str = "/o/acme/api/v1/status";

async fn cloud_key(app: &TestApp) -> String {
    let org = app.org_id("acme").await;
    let (_, key) = keyport::server::api_keys::current_key(
        &app.state,
        org,
        keyport::model::KeyKind::CloudService,
    )
    .await
    .unwrap()
    .expect("acme has a Cloud Service key");
    secrecy::ExposeSecret::expose_secret(&key).to_owned()
}

fn body(api_key: &str, username: &str, password: &str) -> serde_json::Value {
    serde_json::json!({
        "apiKey": api_key, "username": username, "password": password,
        "timestamp": now_ms().to_string(),
    })
}

fn obfuscated(key: &str) -> (String, String) {
    let ts = now_ms().to_string();
    (obfuscate_api_key(key, &ts).unwrap(), ts)
}

/// Times one sign-in.
async fn timed(app: &TestApp, body: serde_json::Value) -> (Duration, (StatusCode, String)) {
    let start = Instant::now();
    let r = app.consumer("POST", LOGIN, None, Some(body)).await;
    (start.elapsed(), (r.status, r.text))
}

#[tokio::test]
async fn a_wrong_key_costs_the_same_as_a_right_key_with_a_wrong_password() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    // Different usernames each time, so the account lock is not what
    // answers; 18 failures stay under the address throttle (20). The two
    // kinds go in pairs, and which goes first alternates. What is compared
    // is the median of each pair's ratio: the two halves of a pair run
    // within milliseconds of each other, so load on the machine (the rest
    // of the suite runs beside it, in bursts) slows both alike, where the
    // medians of each kind alone could each fall in a different burst.
    let (mut ratios, mut answers) = (Vec::new(), Vec::new());
    for i in 0..9 {
        let user = |kind: &str| format!("timing-{kind}-{i}@acme.example");
        let (k, ts) = obfuscated(&key);
        let wrong = serde_json::json!({"apiKey": "AAAAAAAAAAAA", "username": user("a"), "password": "x-wrong-x", "timestamp": ts});
        let right = serde_json::json!({"apiKey": k, "username": user("b"), "password": "x-wrong-x", "timestamp": ts});
        let ((wrong_t, wrong_a), (right_t, right_a)) = if i % 2 == 0 {
            let w = timed(&app, wrong).await;
            (w, timed(&app, right).await)
        } else {
            let r = timed(&app, right).await;
            (timed(&app, wrong).await, r)
        };
        ratios.push(right_t.as_secs_f64() / wrong_t.as_secs_f64());
        eprintln!("pair {i}: wrong key {wrong_t:?}, right key + wrong password {right_t:?}");
        answers.extend([wrong_a, right_a]);
    }
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    eprintln!("median ratio (right key / wrong key) {ratio:.2}");
    assert!(
        (0.5..2.0).contains(&ratio),
        "timing differs: a right key with a wrong password takes {ratio:.2}× a wrong key"
    );
    // One answer for every wrong combination.
    assert_eq!(answers[0].0, StatusCode::BAD_REQUEST);
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
}

#[tokio::test]
async fn a_disabled_key_answers_like_a_wrong_one_until_the_password_is_right() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    app.provider_set(
        "acme",
        keyport::server::provider::Target::One(keyport::model::CredentialRef::ApiKey(
            keyport::model::KeyKind::CloudService,
        )),
        Some(keyport::model::DisableReason::Other),
    )
    .await;
    let (k, ts) = obfuscated(&key);
    let wrong_password = app
        .consumer("POST", LOGIN, None, Some(serde_json::json!({"apiKey": k, "username": "api@acme.example", "password": "not-it", "timestamp": ts})))
        .await;
    let wrong_key = app
        .consumer(
            "POST",
            LOGIN,
            None,
            Some(body("AAAAAAAAAAAA", "api@acme.example", "not-it")),
        )
        .await;
    assert_eq!(wrong_password.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_password.text, wrong_key.text);
    let (right, _) = app.api_login(LOGIN, &key, "api@acme.example").await;
    assert_status(
        &right,
        StatusCode::FORBIDDEN,
        "disabled key, right credentials",
    );
    assert_eq!(right.code(), "API_KEY_DISABLED");
}

#[tokio::test]
async fn a_removed_admins_session_is_refused_on_the_next_call() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    let (r, cookie) = app.api_login(LOGIN, &key, "super@acme.example").await;
    assert_status(&r, StatusCode::OK, "sign-in");
    let cookie = cookie.unwrap();
    assert_status(
        &app.consumer("GET", STATUS, Some(&cookie), None).await,
        StatusCode::OK,
        "status",
    );

    keyport::server::provider::remove_admin(
        &app.state,
        &keyport::server::provider::Operator::cli(),
        "acme",
        "super@acme.example",
    )
    .await
    .unwrap();
    let after = app.consumer("GET", STATUS, Some(&cookie), None).await;
    assert_status(&after, StatusCode::UNAUTHORIZED, "after removal");
    assert_eq!(after.code(), "SESSION_NOT_VALID");
    let left: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_sessions")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(left.0, 0, "the removed admin's sessions are deleted");
}

#[tokio::test]
async fn a_role_change_ends_the_session_and_view_only_roles_get_no_api_access() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    let (_, cookie) = app.api_login(LOGIN, &key, "api@acme.example").await;
    let cookie = cookie.unwrap();
    keyport::server::provider::add_admin(
        &app.state,
        &keyport::server::provider::Operator::cli(),
        "acme",
        "api@acme.example",
        keyport::model::Role::ReadOnlyAdmin,
        None,
        None,
    )
    .await
    .unwrap();
    let after = app.consumer("GET", STATUS, Some(&cookie), None).await;
    assert_status(&after, StatusCode::UNAUTHORIZED, "after the role change");
    for user in [
        "readonly@acme.example",
        "connector@acme.example",
        "api@acme.example",
    ] {
        let (r, cookie) = app.api_login(LOGIN, &key, user).await;
        assert_status(&r, StatusCode::FORBIDDEN, user);
        assert_eq!(r.code(), "API_ACCESS_NOT_GRANTED");
        assert!(cookie.is_none());
    }
}

#[tokio::test]
async fn api_sessions_have_an_absolute_lifetime() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    let (_, cookie) = app.api_login(LOGIN, &key, "api@acme.example").await;
    let cookie = cookie.unwrap();
    // Opened 12 hours and a minute ago, used a second ago: still over.
    let long_ago = now_ms() - 12 * 3_600_000 - 60_000;
    sqlx::query("UPDATE api_sessions SET created_at = $1")
        .bind(long_ago)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let r = app.consumer("GET", STATUS, Some(&cookie), None).await;
    assert_status(&r, StatusCode::UNAUTHORIZED, "past the absolute lifetime");
}

/// A consumer-API request from `peer` (as the listener would record it).
fn from_peer(method: &str, path: &str, cookie: Option<&str>, peer: &str) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, crate::common::HOST);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    let mut req = req.body(Body::empty()).unwrap();
    let addr: std::net::SocketAddr = peer.parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    req
}

#[tokio::test]
async fn anonymous_floods_do_not_use_the_organisations_limit() {
    let app = TestApp::with_settings(|s| {
        s.api_rate_per_second = 2;
        s.api_rate_per_hour = 5;
        s.anonymous_failures_per_minute = 30;
    })
    .await;
    let key = cloud_key(&app).await;
    // The throttle counts per wall-clock minute: start with at least 30 s
    // of the minute left, so the 40 calls fall in one window.
    let into_minute = keyport::server::now_ms() % 60_000;
    if into_minute > 30_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            (60_000 - into_minute + 50) as u64,
        ))
        .await;
    }
    // 40 cookieless or forged-cookie calls from one address.
    let mut throttled = 0;
    for i in 0..40 {
        let cookie = (i % 2 == 0).then_some("JSESSIONID=forged");
        let r = app
            .send(from_peer("GET", STATUS, cookie, "203.0.113.66:5000"))
            .await;
        match r.status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(r.headers.contains_key(header::RETRY_AFTER));
                throttled += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(throttled, 10, "the address is throttled after 30 failures");
    let counted: (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(second_count + hour_count), 0) AS BIGINT) FROM api_rate_limits",
    )
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    assert_eq!(
        counted.0, 0,
        "anonymous calls were counted against the organisation"
    );
    // Failed sign-ins (wrong key) do not use it either.
    for _ in 0..6 {
        let r = app
            .consumer(
                "POST",
                LOGIN,
                None,
                Some(body("AAAAAAAAAAAA", "nobody@x.example", "x")),
            )
            .await;
        assert_status(&r, StatusCode::BAD_REQUEST, "wrong key");
    }
    // The real integration, from its own address, still has all 5 calls of
    // the hour: one sign-in and four status calls.
    let (r, cookie) = app.api_login(LOGIN, &key, "api@acme.example").await;
    assert_status(&r, StatusCode::OK, "the integration signs in");
    let cookie = cookie.unwrap();
    let mut ok = 0;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(510)).await;
        let r = app
            .send(from_peer("GET", STATUS, Some(&cookie), "198.51.100.1:6000"))
            .await;
        if r.status == StatusCode::OK {
            ok += 1;
        }
    }
    assert_eq!(
        ok, 4,
        "the organisation's allowance was used by someone else"
    );
}

#[tokio::test]
async fn oversized_and_hidden_input_is_refused_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    let before = app.state.store.all_audit().await.unwrap().len();
    let (k, ts) = obfuscated(&key);
    let huge = "a".repeat(20_000);
    for (username, password) in [
        (huge.as_str(), "x"),
        ("api\u{202e}@acme.example", "x"),
        ("api@acme.example\u{200b}", "x"),
        ("api@acme.example", &"p".repeat(2_000)[..]),
    ] {
        let r = app
            .consumer("POST", LOGIN, None, Some(serde_json::json!({"apiKey": k, "username": username, "password": password, "timestamp": ts})))
            .await;
        assert_status(&r, StatusCode::BAD_REQUEST, "bad input");
        assert_eq!(r.code(), "INVALID_INPUT");
    }
    // Wrong types and junk are a clean 400 too.
    for junk in [
        serde_json::json!({"apiKey": 1, "username": [], "password": null, "timestamp": {}}),
        serde_json::json!("just a string"),
        serde_json::json!({}),
    ] {
        let r = app.consumer("POST", LOGIN, None, Some(junk)).await;
        assert_status(&r, StatusCode::BAD_REQUEST, "junk");
    }
    assert_eq!(
        app.state.store.all_audit().await.unwrap().len(),
        before,
        "something was stored"
    );

    // The portal's sign-in likewise.
    let r = app.try_sign_in(&huge, "x").await.unwrap_err();
    assert_status(&r, StatusCode::BAD_REQUEST, "portal, huge username");
    assert_eq!(app.state.store.all_audit().await.unwrap().len(), before);

    // Names shown to other admins: no look-alikes.
    let cookie = app.sign_in("api@acme.example").await;
    for name in ["Primary\u{200b}", "\u{202e}yramirP", &"n".repeat(65)] {
        let r = app
            .call(
                Some(&cookie),
                "sandbox-tokens/rename",
                &[
                    ("id", &app.token_id("acme", "CI pipeline").await.to_string()),
                    ("name", name),
                ],
            )
            .await;
        assert_status(&r, StatusCode::BAD_REQUEST, "token name");
    }
    let names: Vec<String> = app
        .state
        .store
        .sandbox_tokens(app.org_id("acme").await, now_ms())
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(names.contains(&"CI pipeline".to_owned()), "{names:?}");
}

#[tokio::test]
async fn a_failed_consumer_sign_in_does_not_store_the_attackers_text() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    let (k, ts) = obfuscated(&key);
    let name = format!("{}@evil.example", "x".repeat(200));
    let r = app
        .consumer("POST", LOGIN, None, Some(serde_json::json!({"apiKey": k, "username": name, "password": "x", "timestamp": ts})))
        .await;
    assert_status(&r, StatusCode::BAD_REQUEST, "unknown user");
    let log = app.state.store.recent_audit("acme", 5).await.unwrap();
    assert!(log[0].admin.starts_with("unknown user #"), "{:?}", log[0]);
    assert!(
        !app.state
            .store
            .all_audit()
            .await
            .unwrap()
            .iter()
            .any(|r| format!("{r:?}").contains("evil.example"))
    );
}

/// A body that counts how many bytes the server pulled from it.
fn counting_body(total: usize, pulled: Arc<AtomicUsize>) -> Body {
    let chunk = bytes::Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::iter((0..total / chunk.len()).map(move |_| {
        pulled.fetch_add(chunk.len(), Ordering::SeqCst);
        Ok::<_, std::io::Error>(chunk.clone())
    }));
    Body::from_stream(stream)
}

#[tokio::test]
async fn a_bad_tokens_body_is_not_read() {
    let app = TestApp::new().await;
    let pulled = Arc::new(AtomicUsize::new(0));
    let req = Request::post("/o/acme/zscsb/submit?api_token=not-a-token&force=0")
        .header(header::HOST, crate::common::HOST)
        .body(counting_body(31 * 1024 * 1024, pulled.clone()))
        .unwrap();
    let r = app.send(req).await;
    assert_status(&r, StatusCode::UNAUTHORIZED, "bad token");
    assert!(
        pulled.load(Ordering::SeqCst) <= 64 * 1024,
        "{} bytes were read for a bad token",
        pulled.load(Ordering::SeqCst)
    );
    let stored: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sandbox_submissions")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(stored.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_hashing_is_bounded_and_the_queue_answers_503() {
    // Under the address throttle (20 failures), which would answer 429.
    const BURST: usize = 16;
    let app = TestApp::with_settings(|s| {
        s.hash_slots = 1;
        s.hash_queue_timeout = Duration::from_millis(20);
    })
    .await;
    let tasks: Vec<_> = (0..BURST)
        .map(|i| {
            let caller = app.caller.clone();
            tokio::spawn(async move {
                let user = format!("burst{i}@acme.example");
                caller
                    .call(
                        None,
                        "session/sign-in",
                        &[("username", &user), ("password", DEMO_PASSWORD)],
                    )
                    .await
            })
        })
        .collect();
    let mut busy = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(
                    r.headers.contains_key(header::RETRY_AFTER),
                    "no Retry-After"
                );
                busy += 1;
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert_eq!(
        app.state.hasher.peak_concurrency(),
        1,
        "more hashes ran at once than slots"
    );
    assert!(busy > 0, "the queue never filled");
    // A turned-away attempt does not count against the account.
    let failures: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sign_in_failures")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(failures.0 as usize, BURST - busy);
}
