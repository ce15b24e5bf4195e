//! The Cloud Service API key's expiry and IP allowlist: refused at sign-in
//! (for right credentials only) and on every call of the key's existing
//! sessions, read from the database each time.

use super::{api_login_from, calls, cloud_key, expire_key, status_from};
use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::error::AppError;
use keyport::model::{ApiKeyPage, Expiry, KeyKind};
use keyport::server::demo::DEMO_PASSWORD;
use keyport::server::store::Credential;
use keyport::server::{DAY_MS, now_ms};

const USER: &str = "api@acme.example";
const HERE: &str = "127.0.0.1:5000";
const ELSEWHERE: &str = "127.0.0.2:5000";

async fn app() -> TestApp {
    TestApp::with_settings(|s| s.api_rate_per_second = 10_000).await
}

fn key_usage() -> Credential {
    Credential::ApiKey(KeyKind::CloudService)
}

/// Sets the key's restrictions through the server function as `USER`.
async fn set_policy(app: &TestApp, form: &[(&str, &str)]) -> crate::common::Reply {
    let cookie = app.sign_in(USER).await;
    let mut fields = vec![("kind", "cloud_service")];
    fields.extend_from_slice(form);
    app.call(Some(&cookie), "api-keys/policy", &fields).await
}

async fn key_row(app: &TestApp, cookie: &str) -> keyport::model::ApiKeyView {
    app.call(Some(cookie), "api-keys/get", &[("kind", "cloud_service")])
        .await
        .parse::<ApiKeyPage>()
        .key
        .unwrap()
}

#[tokio::test]
async fn an_expired_key_refuses_sign_in_and_its_live_sessions() {
    let app = app().await;
    let key = cloud_key(&app).await;
    let (ok, cookie) = api_login_from(&app, &key, USER, DEMO_PASSWORD, HERE).await;
    assert_status(&ok, StatusCode::OK, "sign-in");
    let cookie = cookie.unwrap();
    assert_status(
        &status_from(&app, &cookie, HERE).await,
        StatusCode::OK,
        "status",
    );

    expire_key(&app, now_ms() - 1).await;
    let before = calls(&app, key_usage()).await;
    let refused = status_from(&app, &cookie, HERE).await;
    assert_status(&refused, StatusCode::FORBIDDEN, "session after expiry");
    assert_eq!(refused.code(), "API_KEY_EXPIRED");
    let (again, cookie2) = api_login_from(&app, &key, USER, DEMO_PASSWORD, HERE).await;
    assert_status(&again, StatusCode::FORBIDDEN, "sign-in after expiry");
    assert_eq!(again.code(), "API_KEY_EXPIRED");
    assert_eq!(cookie2, None);
    // Wrong credentials learn nothing about the key's state.
    let (wrong, _) = api_login_from(&app, &key, USER, "not-the-password", HERE).await;
    assert_eq!(wrong.code(), "INVALID_USERNAME_OR_PASSWORD");
    assert_eq!(
        calls(&app, key_usage()).await,
        before,
        "refused calls not counted"
    );
    let audit = &app.state.store.recent_audit("acme", 2).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.reason.as_deref() == Some("API_KEY_EXPIRED")),
        "the refused sign-in is audited: {audit:?}"
    );

    // The page shows it; a new date through the form lets the key in again.
    let cookie_admin = app.sign_in(USER).await;
    let page: ApiKeyPage = app
        .call(
            Some(&cookie_admin),
            "api-keys/get",
            &[("kind", "cloud_service")],
        )
        .await
        .parse();
    assert!(matches!(
        page.key.unwrap().policy.expiry,
        Expiry::Expired(_)
    ));
    let later = (now_ms() + 10 * DAY_MS).to_string();
    let set = set_policy(
        &app,
        &[("policy[expires_at]", &later), ("policy[ip_allowlist]", "")],
    )
    .await;
    assert_status(&set, StatusCode::OK, "new expiry");
    assert_status(
        &status_from(&app, &cookie, HERE).await,
        StatusCode::OK,
        "session again",
    );
    let (back, _) = api_login_from(&app, &key, USER, DEMO_PASSWORD, HERE).await;
    assert_status(&back, StatusCode::OK, "sign-in again");
}

#[tokio::test]
async fn a_key_allowlist_refuses_other_addresses_at_sign_in_and_per_call() {
    let app = app().await;
    let key = cloud_key(&app).await;
    let (_, cookie) = api_login_from(&app, &key, USER, DEMO_PASSWORD, ELSEWHERE).await;
    let cookie = cookie.expect("no allowlist yet: any address signs in");
    let set = set_policy(&app, &[("policy[ip_allowlist]", "127.0.0.1/32")]).await;
    assert_status(&set, StatusCode::OK, "allowlist");

    let before = calls(&app, key_usage()).await;
    // The session opened from 127.0.0.2 before is refused from there now.
    let refused = status_from(&app, &cookie, ELSEWHERE).await;
    assert_status(&refused, StatusCode::FORBIDDEN, "session from 127.0.0.2");
    assert_eq!(refused.code(), "IP_NOT_ALLOWED");
    let (denied, none) = api_login_from(&app, &key, USER, DEMO_PASSWORD, ELSEWHERE).await;
    assert_status(&denied, StatusCode::FORBIDDEN, "sign-in from 127.0.0.2");
    assert_eq!(denied.code(), "IP_NOT_ALLOWED");
    assert_eq!(none, None);
    assert_eq!(
        calls(&app, key_usage()).await,
        before,
        "refused calls not counted"
    );

    let (ok, here) = api_login_from(&app, &key, USER, DEMO_PASSWORD, HERE).await;
    assert_status(&ok, StatusCode::OK, "sign-in from 127.0.0.1");
    let here = here.unwrap();
    assert_status(
        &status_from(&app, &here, HERE).await,
        StatusCode::OK,
        "status from 127.0.0.1",
    );
    // The same session cookie, carried to another address, is refused.
    assert_eq!(
        status_from(&app, &here, ELSEWHERE).await.code(),
        "IP_NOT_ALLOWED"
    );
    assert_eq!(
        calls(&app, key_usage()).await.calls_24h,
        before.calls_24h + 2
    );
}

#[tokio::test]
async fn regenerate_and_edit_keep_or_set_the_restrictions() {
    let app = app().await;
    let cookie = app.sign_in(USER).await;
    let at = now_ms() + 100 * DAY_MS;
    let at_text = at.to_string();
    let regenerated = app
        .call(
            Some(&cookie),
            "api-keys/regenerate",
            &[
                ("kind", "cloud_service"),
                ("policy[expires_at]", &at_text),
                ("policy[ip_allowlist]", "127.0.0.1"),
            ],
        )
        .await;
    assert_status(&regenerated, StatusCode::OK, "regenerate with restrictions");
    let key: String = regenerated.parse();
    let (denied, _) = api_login_from(&app, &key, USER, DEMO_PASSWORD, ELSEWHERE).await;
    assert_eq!(denied.code(), "IP_NOT_ALLOWED");

    // Edit without restrictions keeps them.
    let edit = app
        .call(
            Some(&cookie),
            "api-keys/edit",
            &[("kind", "cloud_service"), ("key", "SharedKey123")],
        )
        .await;
    assert_status(&edit, StatusCode::OK, "edit");
    let page: ApiKeyPage = app
        .call(Some(&cookie), "api-keys/get", &[("kind", "cloud_service")])
        .await
        .parse();
    let policy = page.key.unwrap().policy;
    assert_eq!(policy.expiry, Expiry::On(at));
    assert_eq!(policy.ip_allowlist, ["127.0.0.1/32"]);
    let (denied, _) = api_login_from(&app, "SharedKey123", USER, DEMO_PASSWORD, ELSEWHERE).await;
    assert_eq!(denied.code(), "IP_NOT_ALLOWED");
    let (ok, _) = api_login_from(&app, "SharedKey123", USER, DEMO_PASSWORD, HERE).await;
    assert_status(&ok, StatusCode::OK, "edited key from 127.0.0.1");
}

#[tokio::test]
async fn bad_key_restrictions_change_nothing() {
    let app = app().await;
    let cookie = app.sign_in(USER).await;
    let before = key_row(&app, &cookie).await;
    let past = (now_ms() - 1).to_string();
    let far = (now_ms() + 800 * DAY_MS).to_string();
    let many = (0..40)
        .map(|i| format!("10.0.{i}.0/24"))
        .collect::<Vec<_>>()
        .join(" ");
    let huge = "1".repeat(100_000);
    for (form, field) in [
        (vec![("policy[expires_at]", past.as_str())], "expires_at"),
        (vec![("policy[expires_at]", far.as_str())], "expires_at"),
        (
            vec![("policy[ip_allowlist]", "10.0.0.0/33")],
            "ip_allowlist",
        ),
        (
            vec![("policy[ip_allowlist]", "127.0.0.1\u{200b}")],
            "ip_allowlist",
        ),
        (
            vec![("policy[ip_allowlist]", many.as_str())],
            "ip_allowlist",
        ),
        (
            vec![("policy[ip_allowlist]", huge.as_str())],
            "ip_allowlist",
        ),
        (vec![("policy[daily_cap]", "5")], "daily_cap"),
    ] {
        let reply = set_policy(&app, &form).await;
        assert_status(&reply, StatusCode::BAD_REQUEST, field);
        let error: AppError = reply.parse();
        assert!(error.field(field).is_some(), "{field}: {error:?}");
        assert!(error.to_string().len() < 400, "the message stays short");
        // Regenerate with a bad restriction makes no new key either.
        let mut regen = vec![("kind", "cloud_service")];
        regen.extend_from_slice(&form);
        let reply = app.call(Some(&cookie), "api-keys/regenerate", &regen).await;
        assert_status(&reply, StatusCode::BAD_REQUEST, field);
    }
    assert_eq!(key_row(&app, &cookie).await, before, "nothing changed");

    // Roles that may not manage the key may not restrict it.
    for user in ["readonly@acme.example", "connector@acme.example"] {
        let other = app.sign_in(user).await;
        let reply = app
            .call(
                Some(&other),
                "api-keys/policy",
                &[
                    ("kind", "cloud_service"),
                    ("policy[ip_allowlist]", "127.0.0.1"),
                ],
            )
            .await;
        assert_status(&reply, StatusCode::FORBIDDEN, user);
    }
    assert_eq!(key_row(&app, &cookie).await, before, "nothing changed");
}
