//! The Cloud Service and Connector API keys: every server function by every
//! role, the edit validation, and invalidation seen through the consumer API.

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::error::AppError;
use keyport::model::ApiKeyPage;
use keyport::server::consumer::obfuscate_api_key;
use serde_json::json;

const CLOUD: &str = "cloud_service";
const CONNECTOR: &str = "connector";

/// A test app without the per-second API limit getting in the way.
async fn app() -> TestApp {
    TestApp::with_settings(|s| s.api_rate_per_second = 10_000).await
}

async fn reveal(app: &TestApp, cookie: &str, kind: &str) -> String {
    let reply = app
        .call(Some(cookie), "api-keys/reveal", &[("kind", kind)])
        .await;
    assert_status(&reply, StatusCode::OK, "reveal");
    reply.parse()
}

#[tokio::test]
async fn every_key_function_by_every_role() {
    let app = app().await;
    for kind in [CLOUD, CONNECTOR] {
        for (endpoint, form) in [
            ("api-keys/get", vec![("kind", kind)]),
            ("api-keys/add", vec![("kind", kind)]),
            (
                "api-keys/edit",
                vec![("kind", kind), ("key", "abcDEF123456")],
            ),
            ("api-keys/regenerate", vec![("kind", kind)]),
            ("api-keys/delete", vec![("kind", kind)]),
            ("api-keys/reveal", vec![("kind", kind)]),
        ] {
            assert_status(
                &app.call(None, endpoint, &form).await,
                StatusCode::UNAUTHORIZED,
                endpoint,
            );
        }
    }
    // View and reveal.
    for (user, may_reveal) in [
        ("super@acme.example", true),
        ("api@acme.example", true),
        ("readonly@acme.example", false),
        ("connector@acme.example", true),
        ("provider@keyport.example", true),
    ] {
        let cookie = app.sign_in(user).await;
        for kind in [CLOUD, CONNECTOR] {
            let page = app
                .call(Some(&cookie), "api-keys/get", &[("kind", kind)])
                .await;
            assert_status(&page, StatusCode::OK, user);
            let key = page.parse::<ApiKeyPage>().key.expect("a key");
            assert!(key.masked.starts_with("••••"), "{user} {kind}");
            let r = app
                .call(Some(&cookie), "api-keys/reveal", &[("kind", kind)])
                .await;
            let expected = if may_reveal {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_status(&r, expected, &format!("{user} reveal {kind}"));
        }
    }
    // Cloud Service key: only Super Admin and API Admin change it.
    for user in [
        "readonly@acme.example",
        "connector@acme.example",
        "provider@keyport.example",
    ] {
        let cookie = app.sign_in(user).await;
        for (endpoint, form) in [
            ("api-keys/add", vec![("kind", CLOUD)]),
            (
                "api-keys/edit",
                vec![("kind", CLOUD), ("key", "abcDEF123456")],
            ),
            ("api-keys/regenerate", vec![("kind", CLOUD)]),
            ("api-keys/delete", vec![("kind", CLOUD)]),
        ] {
            assert_status(
                &app.call(Some(&cookie), endpoint, &form).await,
                StatusCode::FORBIDDEN,
                &format!("{user} {endpoint}"),
            );
        }
    }
    // Connector key: the provider; Super Admins only with the setting.
    let sup = app.sign_in("super@acme.example").await;
    let api = app.sign_in("api@acme.example").await;
    for cookie in [&sup, &api] {
        let r = app
            .call(Some(cookie), "api-keys/regenerate", &[("kind", CONNECTOR)])
            .await;
        assert_status(&r, StatusCode::FORBIDDEN, "connector without the setting");
    }
    let provider = app.sign_in("provider@keyport.example").await;
    assert_status(
        &app.call(
            Some(&provider),
            "api-keys/regenerate",
            &[("kind", CONNECTOR)],
        )
        .await,
        StatusCode::OK,
        "provider",
    );
    let acme = app.org_id("acme").await;
    app.state
        .store
        .set_org(
            acme,
            keyport::server::store::OrgChange::ConnectorSelfManage(true),
        )
        .await
        .unwrap();
    assert_status(
        &app.call(Some(&sup), "api-keys/regenerate", &[("kind", CONNECTOR)])
            .await,
        StatusCode::OK,
        "super with setting",
    );
    assert_status(
        &app.call(Some(&api), "api-keys/regenerate", &[("kind", CONNECTOR)])
            .await,
        StatusCode::FORBIDDEN,
        "api admin never",
    );

    // Managing roles: the whole cycle on the Cloud Service key.
    let before = reveal(&app, &api, CLOUD).await;
    let add = app
        .call(Some(&api), "api-keys/add", &[("kind", CLOUD)])
        .await;
    assert_status(&add, StatusCode::CONFLICT, "add while one exists");
    assert_eq!(
        add.parse::<AppError>().to_string(),
        "You must delete the existing key before you can add a new one."
    );
    let regenerated = app
        .call(Some(&api), "api-keys/regenerate", &[("kind", CLOUD)])
        .await;
    assert_status(&regenerated, StatusCode::OK, "regenerate");
    let new: String = regenerated.parse();
    assert_ne!(new, before);
    assert_eq!(new.len(), 12);
    assert_status(
        &app.call(Some(&sup), "api-keys/delete", &[("kind", CLOUD)])
            .await,
        StatusCode::OK,
        "delete",
    );
    let page: ApiKeyPage = app
        .call(Some(&api), "api-keys/get", &[("kind", CLOUD)])
        .await
        .parse();
    assert_eq!(page.key, None);
    assert_status(
        &app.call(Some(&api), "api-keys/add", &[("kind", CLOUD)])
            .await,
        StatusCode::OK,
        "add when none",
    );

    // Another organisation's admin sees and changes only their own.
    let globex = app.sign_in("api@globex.example").await;
    let page: ApiKeyPage = app
        .call(Some(&globex), "api-keys/get", &[("kind", CLOUD)])
        .await
        .parse();
    assert_eq!(page.key, None, "globex has no key of its own");
    assert_status(
        &app.call(Some(&globex), "api-keys/reveal", &[("kind", CLOUD)])
            .await,
        StatusCode::NOT_FOUND,
        "globex reveal",
    );
}

#[tokio::test]
async fn edit_validates_the_typed_key() {
    let app = app().await;
    let api = app.sign_in("api@acme.example").await;
    let current = reveal(&app, &api, CLOUD).await;
    for bad in [
        "abc",
        "abcDEF1234567",
        "abcDEF12345!",
        "abcDEF12345é",
        "abcDEF 23456",
        "",
        current.as_str(),
    ] {
        let r = app
            .call(
                Some(&api),
                "api-keys/edit",
                &[("kind", CLOUD), ("key", bad)],
            )
            .await;
        assert_status(&r, StatusCode::BAD_REQUEST, bad);
        assert_eq!(r.code(), "validation");
        assert!(r.parse::<AppError>().field("key").is_some(), "{bad}");
    }
    assert_eq!(
        reveal(&app, &api, CLOUD).await,
        current,
        "a refused edit changed the key"
    );
    let ok = app
        .call(
            Some(&api),
            "api-keys/edit",
            &[("kind", CLOUD), ("key", "Shared1Key23")],
        )
        .await;
    assert_status(&ok, StatusCode::OK, "valid edit");
    assert_eq!(reveal(&app, &api, CLOUD).await, "Shared1Key23");
}

#[tokio::test]
async fn regenerate_and_edit_end_the_old_key_and_its_sessions() {
    let app = app().await;
    let api = app.sign_in("api@acme.example").await;
    let old = reveal(&app, &api, CLOUD).await;
    let path = "/o/acme/api/v1/authenticatedSession";
    let (reply, cookie) = app.api_login(path, &old, "api@acme.example").await;
    assert_status(&reply, StatusCode::OK, "login with the current key");
    assert_eq!(
        reply.json(),
        json!({"authType": "ADMIN_LOGIN", "obfuscateApiKey": true})
    );
    let cookie = cookie.expect("JSESSIONID");
    assert!(cookie.starts_with("JSESSIONID="));
    assert_status(
        &app.consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None)
            .await,
        StatusCode::OK,
        "status",
    );
    assert_status(
        &app.consumer("GET", path, Some(&cookie), None).await,
        StatusCode::OK,
        "session alive",
    );

    let new: String = app
        .call(Some(&api), "api-keys/regenerate", &[("kind", CLOUD)])
        .await
        .parse();
    let status = app
        .consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None)
        .await;
    assert_status(
        &status,
        StatusCode::UNAUTHORIZED,
        "old session after regenerate",
    );
    assert_eq!(status.code(), "SESSION_NOT_VALID");
    let (stale, _) = app.api_login(path, &old, "api@acme.example").await;
    assert_status(&stale, StatusCode::BAD_REQUEST, "old key");
    assert_eq!(stale.code(), "INVALID_USERNAME_OR_PASSWORD");
    let (fresh, cookie) = app.api_login(path, &new, "api@acme.example").await;
    assert_status(&fresh, StatusCode::OK, "new key");

    app.call(
        Some(&api),
        "api-keys/edit",
        &[("kind", CLOUD), ("key", "Typed1Key234")],
    )
    .await;
    let status = app
        .consumer("GET", "/o/acme/api/v1/status", cookie.as_deref(), None)
        .await;
    assert_status(&status, StatusCode::UNAUTHORIZED, "session after edit");
    assert_status(
        &app.api_login(path, &new, "api@acme.example").await.0,
        StatusCode::BAD_REQUEST,
        "key before edit",
    );
    assert_status(
        &app.api_login(path, "Typed1Key234", "api@acme.example")
            .await
            .0,
        StatusCode::OK,
        "typed key",
    );
}

#[tokio::test]
async fn consumer_sign_in_refusals() {
    let app = app().await;
    let api = app.sign_in("api@acme.example").await;
    let key = reveal(&app, &api, CLOUD).await;
    let path = "/o/acme/api/v1/authenticatedSession";
    assert_status(
        &app.consumer("GET", "/o/acme/api/v1/status", None, None)
            .await,
        StatusCode::UNAUTHORIZED,
        "no session",
    );
    // Wrong password, unknown user, another organisation's admin.
    for user in ["nobody@acme.example", "api@globex.example"] {
        let (r, _) = app.api_login(path, &key, user).await;
        assert_status(&r, StatusCode::BAD_REQUEST, user);
        assert_eq!(r.code(), "INVALID_USERNAME_OR_PASSWORD");
    }
    // The plain key instead of the obfuscated one.
    let ts = keyport::server::now_ms().to_string();
    let plain = json!({"apiKey": key, "username": "api@acme.example", "password": "Keyport-demo-1", "timestamp": ts});
    assert_status(
        &app.consumer("POST", path, None, Some(plain)).await,
        StatusCode::BAD_REQUEST,
        "plain key",
    );
    // A timestamp three hours off.
    let old_ts = (keyport::server::now_ms() - 3 * 3600 * 1000).to_string();
    let stale = json!({"apiKey": obfuscate_api_key(&key, &old_ts).unwrap(), "username": "api@acme.example", "password": "Keyport-demo-1", "timestamp": old_ts});
    assert_status(
        &app.consumer("POST", path, None, Some(stale)).await,
        StatusCode::BAD_REQUEST,
        "old timestamp",
    );
    // The connector key does not open the Cloud Service API and vice versa.
    let connector = reveal(&app, &api, CONNECTOR).await;
    assert_status(
        &app.api_login(path, &connector, "api@acme.example").await.0,
        StatusCode::BAD_REQUEST,
        "connector key on cloud API",
    );
    let (ok, cookie) = app
        .api_login(
            "/o/acme/connector/api/v1/auth",
            &connector,
            "api@acme.example",
        )
        .await;
    assert_status(&ok, StatusCode::OK, "connector auth");
    assert_status(
        &app.consumer("GET", "/o/acme/api/v1/status", cookie.as_deref(), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "connector session on cloud status",
    );
    // Disabled key: 403.
    let acme = app.org_id("acme").await;
    let record = keyport::server::auth::audit_record(
        &keyport::server::http::RequestMeta::cli(),
        "provider",
        "acme",
        keyport::model::AuditAction::Disable,
        "x",
        "x",
    );
    app.state
        .store
        .set_api_key_disabled(
            acme,
            keyport::model::KeyKind::CloudService,
            Some(keyport::model::DisableReason::Other),
            &record,
        )
        .await
        .unwrap();
    let (disabled, _) = app.api_login(path, &key, "api@acme.example").await;
    assert_status(&disabled, StatusCode::FORBIDDEN, "disabled key");
    assert_eq!(disabled.code(), "API_KEY_DISABLED");
    // DELETE ends a session.
    let (_, cookie) = app
        .api_login(
            "/o/acme/connector/api/v1/auth",
            &connector,
            "api@acme.example",
        )
        .await;
    assert_status(
        &app.consumer(
            "DELETE",
            "/o/acme/connector/api/v1/auth",
            cookie.as_deref(),
            None,
        )
        .await,
        StatusCode::NO_CONTENT,
        "logout",
    );
    assert_status(
        &app.consumer(
            "GET",
            "/o/acme/connector/api/v1/auth",
            cookie.as_deref(),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "after logout",
    );
}

#[tokio::test]
async fn the_api_is_rate_limited_per_organisation() {
    let app = TestApp::new().await; // 2 per second, as the spec says
    let key = reveal(&app, &app.sign_in("api@acme.example").await, CLOUD).await;
    let cookie = app.api_session("acme", &key, "api@acme.example").await;
    let mut statuses = Vec::new();
    // The sign-in and six quick calls span at most two one-second windows
    // of two each (only calls with a live session count).
    for _ in 0..6 {
        let r = app
            .consumer("GET", "/o/acme/api/v1/status", Some(&cookie), None)
            .await;
        statuses.push(r.status);
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers.contains_key("retry-after"));
            assert_eq!(r.code(), "RATE_LIMIT_EXCEEDED");
        }
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
            .count()
            <= 3
    );
    // Another organisation has its own budget.
    assert_ne!(
        app.consumer("GET", "/o/globex/api/v1/status", None, None)
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}
