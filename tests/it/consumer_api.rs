//! The Sandbox Submission API: what the tokens unlock, and proof that a
//! replaced or deleted token stops working on the very next request. And
//! the Cloud Service API's sign-in as the public Python SDK drives it
//! (`make test-sdk` runs the SDK itself).

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::model::{CredentialRef, DisableReason, KeyKind};
use keyport::server::consumer::obfuscate_api_key;
use keyport::server::demo::DEMO_PASSWORD;
use keyport::server::now_ms;
use keyport::server::provider::Target;
use keyport::server::sandbox;
use serde_json::{Value, json};

const FILE: &[u8] = b"MZ\x90\x00 pretend executable";

#[tokio::test]
async fn a_valid_token_submits_and_gets_a_receipt() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let token = sandbox::add(&app.state, &admin, "Submitter").await.unwrap();
    let secret = secrecy::ExposeSecret::expose_secret(&token.secret).to_owned();
    let reply = app.submit("acme", &secret, FILE).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["code"], 200);
    assert_eq!(body["message"], "/submit response OK");
    assert_eq!(
        body["md5"],
        hex::encode(<md5::Md5 as md5::Digest>::digest(FILE))
    );
    assert_eq!(body["fileType"], "exe");
    assert!(
        body["sandboxSubmission"]
            .as_str()
            .unwrap()
            .contains("does not analyse")
    );

    let quota = app
        .get(
            None,
            &format!("/o/acme/sandbox/report/quota?api_token={secret}"),
        )
        .await;
    assert_eq!(quota.status, StatusCode::OK);
    assert_eq!(quota.json()["used"], 1);
    assert_eq!(quota.json()["allowed"], 100);
    assert_eq!(quota.json()["unused"], 99);

    let page = sandbox::page(&app.state, &admin).await.unwrap();
    let row = page.tokens.iter().find(|t| t.name == "Submitter").unwrap();
    // The submission and the quota call.
    assert_eq!(row.usage.calls_24h, 2);
    assert_eq!(row.usage.calls_1h, 2);
    assert!(row.usage.last_used_on.is_some());
}

#[tokio::test]
async fn regenerate_and_delete_invalidate_at_once() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let issued = sandbox::add(&app.state, &admin, "Rotating").await.unwrap();
    let old = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();
    assert_eq!(app.submit("acme", &old, FILE).await.status, StatusCode::OK);

    let new = sandbox::regenerate(&app.state, &admin, issued.view.id)
        .await
        .unwrap();
    let new = secrecy::ExposeSecret::expose_secret(&new.secret).to_owned();
    let stale = app.submit("acme", &old, FILE).await;
    assert_eq!(
        stale.status,
        StatusCode::UNAUTHORIZED,
        "the old token must fail on the first request"
    );
    assert_eq!(stale.code(), "INVALID_API_TOKEN");
    assert_eq!(app.submit("acme", &new, FILE).await.status, StatusCode::OK);

    sandbox::delete(&app.state, &admin, issued.view.id)
        .await
        .unwrap();
    assert_eq!(
        app.submit("acme", &new, FILE).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn unknown_wrong_org_disabled_and_expired_tokens_are_refused() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let issued = sandbox::add(&app.state, &admin, "Refusals").await.unwrap();
    let secret = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();

    assert_eq!(
        app.submit("acme", "not-a-token", FILE).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.submit("acme", "", FILE).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.submit("globex", &secret, FILE).await.status,
        StatusCode::UNAUTHORIZED,
        "tokens belong to one organisation"
    );
    assert_eq!(
        app.submit("nosuchorg", &secret, FILE).await.status,
        StatusCode::UNAUTHORIZED
    );

    let org = app
        .state
        .store
        .org_by_short_name("acme")
        .await
        .unwrap()
        .unwrap();
    let id = app.token_id("acme", "Refusals").await;
    app.provider_set(
        &org.short_name,
        Target::One(CredentialRef::SandboxToken(id)),
        Some(DisableReason::Other),
    )
    .await;
    let disabled = app.submit("acme", &secret, FILE).await;
    assert_eq!(disabled.status, StatusCode::FORBIDDEN);
    assert_eq!(disabled.code(), "API_KEY_DISABLED");

    // globex's subscription is expired: its kept token submits nothing
    // (a change), but its quota call (a read) still answers.
    let globex = app.actor("api@globex.example", "globex").await;
    let globex_id = sandbox::page(&app.state, &globex).await.unwrap().tokens[0].id;
    let globex_secret = sandbox::reveal(&app.state, &globex, globex_id)
        .await
        .unwrap();
    let expired = app
        .submit(
            "globex",
            secrecy::ExposeSecret::expose_secret(&globex_secret),
            FILE,
        )
        .await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert_eq!(
        expired.code(),
        "SUBSCRIPTION_EXPIRED",
        "no changes under an expired subscription (docs/STATES.md)"
    );
    let quota = app
        .consumer(
            "GET",
            &format!(
                "/o/globex/sandbox/report/quota?api_token={}",
                crate::common::urlencode(secrecy::ExposeSecret::expose_secret(&globex_secret))
            ),
            None,
            None,
        )
        .await;
    assert_eq!(quota.status, StatusCode::OK, "{}", quota.text);
}

#[tokio::test]
async fn going_past_the_daily_allowance_disables_the_organisations_tokens() {
    let app = TestApp::new().await;
    let org = app.org_id("acme").await;
    app.state
        .store
        .set_org(org, keyport::server::store::OrgChange::DailyAllowance(3))
        .await
        .unwrap();
    let admin = app.actor("api@acme.example", "acme").await;
    let issued = sandbox::add(&app.state, &admin, "Busy").await.unwrap();
    let secret = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();
    for _ in 0..3 {
        assert_eq!(
            app.submit("acme", &secret, FILE).await.status,
            StatusCode::OK
        );
    }
    let over = app.submit("acme", &secret, FILE).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(over.headers.contains_key("retry-after"));
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert_eq!(page.disabled_reason, Some(DisableReason::ThresholdExceeded));
    assert!(!page.can_add());
    assert_eq!(
        app.submit("acme", &secret, FILE).await.code(),
        "API_KEY_DISABLED"
    );
}

const LOGIN: &str = "/o/acme/api/v1/authenticatedSession";

/// acme's Cloud Service API key in full.
async fn cloud_key(app: &TestApp) -> String {
    let org = app.org_id("acme").await;
    let (_, key) = keyport::server::api_keys::current_key(&app.state, org, KeyKind::CloudService)
        .await
        .unwrap()
        .expect("acme has a Cloud Service key");
    secrecy::ExposeSecret::expose_secret(&key).to_owned()
}

/// A sign-in body with `timestamp` as given and the key obfuscated with
/// `digits` (`zscaler-sdk-python` sends the epoch milliseconds as a JSON
/// number and obfuscates with its decimal digits).
fn sign_in_body(key: &str, digits: &str, timestamp: Value) -> Value {
    json!({
        "apiKey": obfuscate_api_key(key, digits).unwrap(),
        "username": "api@acme.example",
        "password": DEMO_PASSWORD,
        "timestamp": timestamp,
    })
}

async fn api_sessions(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_sessions")
        .fetch_one(app.state.store.pool())
        .await
        .unwrap();
    n
}

/// What the public Python SDK does, request by request: a numeric
/// timestamp, `JSESSIONID` read with `JSESSIONID=(.*?);`, its status and
/// activate calls under the doubled Base URL path it builds, and a sign-out
/// it checks for 204.
#[tokio::test]
async fn the_python_sdks_sign_in_calls_and_sign_out_work() {
    let app = TestApp::with_settings(|s| s.api_rate_per_second = 1_000).await;
    let key = cloud_key(&app).await;
    let now = now_ms();

    // The key obfuscated with other digits than the number's: refused.
    let other = (now + 1).to_string();
    let wrong = app
        .consumer(
            "POST",
            LOGIN,
            None,
            Some(sign_in_body(&key, &other, json!(now))),
        )
        .await;
    assert_status(&wrong, StatusCode::BAD_REQUEST, "key for another timestamp");
    assert_eq!(wrong.code(), "INVALID_USERNAME_OR_PASSWORD");

    let body = sign_in_body(&key, &now.to_string(), json!(now));
    let r = app.consumer("POST", LOGIN, None, Some(body)).await;
    assert_status(&r, StatusCode::OK, "numeric timestamp");
    assert_eq!(r.json()["authType"], "ADMIN_LOGIN");
    let set_cookie = r.headers["set-cookie"].to_str().unwrap();
    let id = set_cookie
        .strip_prefix("JSESSIONID=")
        .and_then(|rest| rest.split_once(';'))
        .map(|(id, _)| id)
        .expect("JSESSIONID=…; as the SDK's regex needs");
    assert!(!id.is_empty());
    let cookie = format!("JSESSIONID={id}");

    // The SDK checks the session (GET on the sign-in path) before each call.
    let alive = app.consumer("GET", LOGIN, Some(&cookie), None).await;
    assert_status(&alive, StatusCode::OK, "session check");
    for path in ["/o/acme/o/acme/api/v1/status", "/o/acme/api/v1/status"] {
        let r = app.consumer("GET", path, Some(&cookie), None).await;
        assert_status(&r, StatusCode::OK, path);
        assert_eq!(r.json()["status"], "ACTIVE");
    }
    let activate = app
        .consumer(
            "POST",
            "/o/acme/o/acme/api/v1/status/activate",
            Some(&cookie),
            None,
        )
        .await;
    assert_status(&activate, StatusCode::OK, "activate");
    assert_eq!(activate.json()["status"], "ACTIVE");
    // Only the same organisation twice is undone; nothing opens without a session.
    let cross = app
        .consumer("GET", "/o/acme/o/globex/api/v1/status", Some(&cookie), None)
        .await;
    assert_status(&cross, StatusCode::NOT_FOUND, "another organisation's path");
    let anonymous = app
        .consumer("POST", "/o/acme/api/v1/status/activate", None, None)
        .await;
    assert_status(
        &anonymous,
        StatusCode::UNAUTHORIZED,
        "activate without a session",
    );
    assert_eq!(anonymous.code(), "SESSION_NOT_VALID");

    let out = app.consumer("DELETE", LOGIN, Some(&cookie), None).await;
    assert_status(&out, StatusCode::NO_CONTENT, "sign-out");
    assert!(out.text.is_empty(), "204 has no body: {}", out.text);
    assert!(
        out.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = app
        .consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None)
        .await;
    assert_status(&after, StatusCode::UNAUTHORIZED, "after sign-out");
    assert_eq!(after.code(), "SESSION_NOT_VALID");
    assert_eq!(api_sessions(&app).await, 0);
}

/// A timestamp that is not whole, non-negative epoch milliseconds within
/// 2 hours — as a number or as a string — is 400 `INVALID_INPUT` before any
/// credential is checked: no session, no audit entry, no failed attempt
/// counted against the account.
#[tokio::test]
async fn malformed_or_stale_timestamps_are_refused_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let key = cloud_key(&app).await;
    let before = app.state.store.all_audit().await.unwrap().len();
    let now = now_ms();
    let digits = now.to_string();
    let stale = now - 2 * 3_600_000 - 60_000;
    let ahead = now + 2 * 3_600_000 + 60_000;
    let cases: Vec<(Value, String)> = vec![
        (json!(1.5), digits.clone()),
        (json!(-1), digits.clone()),
        (json!(1e20), digits.clone()),
        // Whole but a float on the wire.
        (json!(now as f64), digits.clone()),
        (json!(u64::MAX), digits.clone()),
        (json!(stale), stale.to_string()),
        (json!(ahead), ahead.to_string()),
        (json!(stale.to_string()), stale.to_string()),
        (json!("9".repeat(40)), digits.clone()),
        (json!("99999999999999999999999"), digits.clone()),
        (json!(format!("+{now}")), digits.clone()),
        (json!(format!(" {now}")), digits.clone()),
        (json!(format!("{now}.0")), digits.clone()),
        (json!(format!("{now}x")), digits.clone()),
        (json!("-1"), digits.clone()),
        (json!(""), digits.clone()),
        (json!(null), digits.clone()),
        (json!(true), digits.clone()),
        (json!([now]), digits.clone()),
    ];
    for (timestamp, obfuscated_with) in cases {
        let body = sign_in_body(&key, &obfuscated_with, timestamp.clone());
        let r = app.consumer("POST", LOGIN, None, Some(body)).await;
        assert_status(
            &r,
            StatusCode::BAD_REQUEST,
            &format!("timestamp {timestamp}"),
        );
        assert_eq!(r.code(), "INVALID_INPUT", "timestamp {timestamp}");
        assert!(
            !r.headers.contains_key("set-cookie"),
            "timestamp {timestamp} set a cookie"
        );
    }
    assert_eq!(api_sessions(&app).await, 0, "a session was stored");
    assert_eq!(
        app.state.store.all_audit().await.unwrap().len(),
        before,
        "an audit entry was stored"
    );
    // Nineteen refusals counted as failures would have locked the account
    // (five a minute); the digit string the other SDKs send still signs in.
    let r = app
        .consumer(
            "POST",
            LOGIN,
            None,
            Some(sign_in_body(&key, &digits, json!(digits))),
        )
        .await;
    assert_status(&r, StatusCode::OK, "string timestamp after the refusals");
}
