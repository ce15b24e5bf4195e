//! Usage you can see, the consumer API's rate limits, "Use this key in
//! other organisations" and "Test authentication" (docs/CONSUMER-API.md, docs/PAGES.md#beyond-the-reference-portal).

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use clap::Parser;
use keyport::api::sandbox::IssuedToken;
use keyport::model::{ApiKeyPage, KeyShareOutcome, Quota, SandboxPage, TestAuthReport, Usage};
use keyport::server::config::{Cli, Command, Settings};
use keyport::server::consumer::obfuscate_api_key;
use serde_json::json;

const FILE: &[u8] = b"%PDF-1.7 fake";

async fn reveal_key(app: &TestApp, cookie: &str) -> String {
    let reply = app
        .call(
            Some(cookie),
            "api-keys/reveal",
            &[("kind", "cloud_service")],
        )
        .await;
    assert_status(&reply, StatusCode::OK, "reveal");
    reply.parse()
}

#[test]
fn the_spec_limits_are_the_defaults() {
    let cli = Cli::try_parse_from(["keyport", "serve"]).unwrap();
    let Command::Serve(args) = cli.command else {
        panic!("serve");
    };
    let s = Settings::from_serve(&args);
    assert_eq!((s.api_rate_per_second, s.api_rate_per_hour), (2, 1000));
    assert_eq!((s.submit_rate_per_second, s.submit_rate_per_hour), (1, 400));
}

#[tokio::test]
async fn submissions_are_limited_per_second_and_per_hour() {
    let app = TestApp::with_settings(|s| {
        s.submit_rate_per_second = 1;
        s.submit_rate_per_hour = 400;
    })
    .await;
    let api = app.sign_in("api@acme.example").await;
    let secret = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Fast")])
        .await
        .parse::<IssuedToken>()
        .secret;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = app.submit("acme", &secret, FILE).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.code(), "RATE_LIMIT_EXCEEDED");
            assert!(r.headers.contains_key("retry-after"));
        }
        statuses.push(r.status);
    }
    // Four quick submissions span at most two one-second windows of one each.
    let accepted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert!((1..=2).contains(&accepted), "{statuses:?}");
    // A rejected submission is not recorded: the quota counts accepted ones only.
    let quota = app
        .get(
            None,
            &format!("/o/acme/sandbox/report/quota?api_token={secret}"),
        )
        .await
        .json();
    assert_eq!(quota["used"], accepted);

    // The hourly window, with a small limit so the test need not send 400.
    let app = TestApp::with_settings(|s| {
        s.submit_rate_per_second = 1000;
        s.submit_rate_per_hour = 3;
    })
    .await;
    let api = app.sign_in("api@acme.example").await;
    let secret = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Hourly")])
        .await
        .parse::<IssuedToken>()
        .secret;
    // Unknown tokens do not use up the organisation's limit.
    for _ in 0..5 {
        assert_eq!(
            app.submit("acme", "not-a-token", FILE).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    for _ in 0..3 {
        assert_status(
            &app.submit("acme", &secret, FILE).await,
            StatusCode::OK,
            "within the hour",
        );
    }
    let over = app.submit("acme", &secret, FILE).await;
    assert_status(
        &over,
        StatusCode::TOO_MANY_REQUESTS,
        "past the hour's limit",
    );
    let wait: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&wait));
    // While the window is full every submission gets the 429 this instance
    // remembers, before any token is looked up (no database work).
    assert_eq!(
        app.submit("acme", "not-a-token", FILE).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn sessions_are_limited_per_hour_across_requests() {
    let app = TestApp::with_settings(|s| {
        s.api_rate_per_second = 1000;
        s.api_rate_per_hour = 5;
    })
    .await;
    // Only calls with a live session count: the sign-in is the first of 5.
    let key = reveal_key(&app, &app.sign_in("api@acme.example").await).await;
    let cookie = app.api_session("acme", &key, "api@acme.example").await;
    let mut limited = 0;
    for _ in 0..7 {
        let r = app
            .consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None)
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert_eq!(limited, 3);
    // Calls without a session are not counted against the organisation.
    assert_eq!(
        app.consumer("GET", "/o/acme/api/v1/status", None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

/// The public Python SDK checks its session (`GET authenticatedSession`)
/// before every call: those checks have windows of their own (five per
/// call allowed) and leave the organisation's calls to the real calls.
#[tokio::test]
async fn session_checks_do_not_use_up_the_organisations_calls() {
    let app = TestApp::with_settings(|s| {
        s.api_rate_per_second = 1000;
        s.api_rate_per_hour = 3;
    })
    .await;
    let key = reveal_key(&app, &app.sign_in("api@acme.example").await).await;
    let path = "/o/acme/api/v1/authenticatedSession";
    let (_, cookie) = app.api_login(path, &key, "api@acme.example").await;
    let cookie = cookie.expect("a session");
    let check = || app.consumer("GET", path, Some(&cookie), None);
    let status = || app.consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None);
    // The sign-in was 1 of 3; every status call is preceded by a check.
    for _ in 0..2 {
        assert_eq!(check().await.status, StatusCode::OK);
        assert_eq!(status().await.status, StatusCode::OK);
    }
    assert_eq!(check().await.status, StatusCode::OK);
    assert_eq!(status().await.status, StatusCode::TOO_MANY_REQUESTS);
    // The checks' own windows hold too: 15 an hour here, 3 used.
    let mut limited = 0;
    for _ in 0..14 {
        if check().await.status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert_eq!(limited, 2);
}

#[tokio::test]
async fn last_use_and_call_counts_show_and_reset_with_the_secret() {
    let app = TestApp::with_settings(|s| s.api_rate_per_second = 10_000).await;
    let api = app.sign_in("api@acme.example").await;
    let key = reveal_key(&app, &api).await;
    let usage = |page: ApiKeyPage| page.key.expect("a Cloud Service key").usage;
    let before: ApiKeyPage = app
        .call(Some(&api), "api-keys/get", &[("kind", "cloud_service")])
        .await
        .parse();
    assert_eq!(usage(before).last_used_on, None);

    let cookie = app.api_session("acme", &key, "api@acme.example").await;
    for _ in 0..2 {
        assert_status(
            &app.consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None)
                .await,
            StatusCode::OK,
            "status",
        );
    }
    let used = usage(
        app.call(Some(&api), "api-keys/get", &[("kind", "cloud_service")])
            .await
            .parse(),
    );
    assert_eq!(used.calls_1h, 3, "sign-in and two calls: {used:?}");
    assert_eq!(used.calls_24h, 3);
    assert!(used.last_used_on.is_some());
    assert!(used.last_used_from.is_some());

    // A failed sign-in is not a call the key served.
    let (_, _) = app
        .api_login(
            "/o/acme/api/v1/authenticatedSession",
            "WRONGkey1234",
            "api@acme.example",
        )
        .await;
    let used = usage(
        app.call(Some(&api), "api-keys/get", &[("kind", "cloud_service")])
            .await
            .parse(),
    );
    assert_eq!(used.calls_1h, 3);

    // A new secret has served nothing yet.
    assert_status(
        &app.call(
            Some(&api),
            "api-keys/regenerate",
            &[("kind", "cloud_service")],
        )
        .await,
        StatusCode::OK,
        "regenerate",
    );
    let fresh = usage(
        app.call(Some(&api), "api-keys/get", &[("kind", "cloud_service")])
            .await
            .parse(),
    );
    assert_eq!(fresh, Usage::default(), "no calls, never used");
}

#[tokio::test]
async fn the_quota_meter_counts_todays_submissions() {
    let app = TestApp::new().await;
    let org = app.org_id("acme").await;
    app.state
        .store
        .set_org(org, keyport::server::store::OrgChange::DailyAllowance(5))
        .await
        .unwrap();
    let api = app.sign_in("api@acme.example").await;
    let secret = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Meter")])
        .await
        .parse::<IssuedToken>()
        .secret;
    for _ in 0..4 {
        assert_status(
            &app.submit("acme", &secret, FILE).await,
            StatusCode::OK,
            "submit",
        );
    }
    let page: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(
        page.quota,
        Quota {
            used: 4,
            allowed: 5
        }
    );
    let row = page
        .tokens
        .iter()
        .find(|t| t.name == "Meter")
        .expect("the Meter token");
    assert_eq!(row.usage.calls_24h, 4);
}

#[tokio::test]
async fn one_key_is_set_in_the_organisations_chosen_with_a_result_each() {
    let app = TestApp::with_settings(|s| s.api_rate_per_second = 10_000).await;
    let multi = app.sign_in("multi@example.com").await;
    let page: ApiKeyPage = app
        .call(Some(&multi), "api-keys/get", &[("kind", "cloud_service")])
        .await
        .parse();
    assert_eq!(page.other_orgs[0].short_name, "globex");
    let acme_key = reveal_key(&app, &multi).await;

    // globex had no key: it gets acme's. "initech" is not theirs (nor does it exist).
    let reply = app
        .call_json(
            Some(&multi),
            "api-keys/share",
            json!({"orgs": ["globex", "initech"]}),
        )
        .await;
    assert_status(&reply, StatusCode::OK, "share");
    let results: Vec<KeyShareOutcome> = reply.parse();
    assert_eq!(results[0].org.short_name, "globex");
    assert!(results[0].ok, "{results:?}");
    assert!(!results[1].ok);
    assert_eq!(
        results[1].message,
        "You are not an admin of this organisation."
    );
    let (login, _) = app
        .api_login(
            "/o/globex/api/v1/authenticatedSession",
            &acme_key,
            "api@globex.example",
        )
        .await;
    assert_status(&login, StatusCode::OK, "globex accepts the shared key");

    // Refusals say why: an expired subscription in globex.
    keyport::server::provider::set_subscription(
        &app.state,
        &keyport::server::provider::Operator::cli(),
        "globex",
        keyport::model::SubscriptionKind::Api,
        keyport::model::Subscription::Expired,
        None,
    )
    .await
    .unwrap();
    assert_status(
        &app.call(
            Some(&multi),
            "api-keys/regenerate",
            &[("kind", "cloud_service")],
        )
        .await,
        StatusCode::OK,
        "new acme key",
    );
    let results: Vec<KeyShareOutcome> = app
        .call_json(Some(&multi), "api-keys/share", json!({"orgs": ["globex"]}))
        .await
        .parse();
    assert!(!results[0].ok);
    assert!(results[0].message.contains("expired"), "{results:?}");

    // A role that may not manage the key is refused the whole call.
    let readonly = app.sign_in("readonly@acme.example").await;
    assert_status(
        &app.call_json(
            Some(&readonly),
            "api-keys/share",
            json!({"orgs": ["globex"]}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "read-only",
    );
}

#[tokio::test]
async fn test_authentication_runs_the_real_round_trip() {
    let app = TestApp::listening().await;
    let api = app.sign_in("api@acme.example").await;
    let report = app
        .call(
            Some(&api),
            "api-keys/test-auth",
            &[("password", "Keyport-demo-1")],
        )
        .await;
    assert_status(&report, StatusCode::OK, "test auth");
    let steps = report.parse::<TestAuthReport>().steps;
    assert!(steps.iter().all(|s| s.ok), "{steps:?}");
    let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels[0], "Timestamp");
    assert_eq!(labels[1], "Obfuscate the key");
    assert!(
        labels[2].starts_with("POST http://127.0.0.1:")
            && labels[2].ends_with("/o/acme/api/v1/authenticatedSession")
    );
    assert_eq!(labels[3], "Session");
    assert!(labels[4].starts_with("GET ") && labels[5].starts_with("DELETE "));
    // The obfuscation shown is the real one for the timestamp shown.
    let key = reveal_key(&app, &api).await;
    let timestamp = steps[0].detail.split(' ').next().unwrap();
    assert_eq!(steps[1].detail, obfuscate_api_key(&key, timestamp).unwrap());

    // A role that may not reveal sees the steps, not the obfuscated key.
    let readonly = app.sign_in("readonly@acme.example").await;
    let reply = app
        .call(
            Some(&readonly),
            "api-keys/test-auth",
            &[("password", "Keyport-demo-1")],
        )
        .await;
    let report: TestAuthReport = reply.parse();
    let shown = &report.steps[1].detail;
    let timestamp = report.steps[0].detail.split(' ').next().unwrap();
    assert!(
        shown.contains("hidden") && !shown.contains(&obfuscate_api_key(&key, timestamp).unwrap())
    );
    // Read-Only Admins have no API access (docs/SECURITY.md): the round
    // trip stops at the sign-in, which says why.
    let post = &report.steps[2];
    assert!(!post.ok, "{report:?}");
    assert!(post.detail.contains("API_ACCESS_NOT_GRANTED"), "{report:?}");
    assert!(!reply.text.contains(&key));

    // A wrong password fails at the sign-in step, which says so.
    let report: TestAuthReport = app
        .call(Some(&api), "api-keys/test-auth", &[("password", "wrong")])
        .await
        .parse();
    let post = &report.steps[2];
    assert!(!post.ok);
    assert!(post.detail.contains("INVALID_USERNAME_OR_PASSWORD"));
}

#[tokio::test]
async fn the_new_key_functions_need_a_session() {
    let app = TestApp::new().await;
    assert_status(
        &app.call(
            None,
            "api-keys/test-auth",
            &[("password", "Keyport-demo-1")],
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "test-auth",
    );
    assert_status(
        &app.call_json(None, "api-keys/share", json!({"orgs": ["globex"]}))
            .await,
        StatusCode::UNAUTHORIZED,
        "share",
    );
}
