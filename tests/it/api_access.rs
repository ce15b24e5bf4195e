//! API access as a per-admin grant (docs/ROLES.md): each role's default,
//! the provider granting and revoking it (console and command line, both
//! audited), a revoke ending the admin's live API sessions at once, the
//! roles that cannot hold it, and no one but the provider changing it.

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::model::{AuditAction, AuditResult, Interface, KeyKind, ProviderConsole};
use keyport::server::config::Command;
use secrecy::ExposeSecret;
use serde_json::json;

const CLOUD_LOGIN: &str = "/o/acme/api/v1/authenticatedSession";
const CONNECTOR_LOGIN: &str = "/o/acme/connector/api/v1/auth";
const STATUS: &str = "/o/acme/api/v1/status";
const PROVIDER: &str = "provider@keyport.example";

/// Many sign-ins in a row: above the spec's 2 per second.
async fn app() -> TestApp {
    TestApp::with_settings(|s| s.api_rate_per_second = 10_000).await
}

async fn key(app: &TestApp, kind: KeyKind) -> String {
    let org = app.org_id("acme").await;
    let (_, key) = keyport::server::api_keys::current_key(&app.state, org, kind)
        .await
        .unwrap()
        .expect("acme has the key");
    key.expose_secret().to_owned()
}

/// The provider's console call granting or revoking `username`'s API access in acme.
async fn set_access(
    app: &TestApp,
    cookie: &str,
    username: &str,
    granted: bool,
) -> crate::common::Reply {
    app.call_json(
        Some(cookie),
        "provider/set-api-access",
        json!({"org": "acme", "username": username, "granted": granted}),
    )
    .await
}

/// How many API sessions `username` has in acme.
async fn sessions_of(app: &TestApp, username: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM api_sessions s JOIN admins a ON a.id = s.admin_id WHERE a.username = $1",
    )
    .bind(username)
    .fetch_one(app.state.store.pool())
    .await
    .unwrap();
    n
}

#[tokio::test]
async fn each_role_starts_with_its_default() {
    let app = app().await;
    let cloud = key(&app, KeyKind::CloudService).await;
    let connector = key(&app, KeyKind::Connector).await;
    for (user, granted) in [
        ("super@acme.example", true),
        ("api@acme.example", true),
        ("readonly@acme.example", false),
        ("connector@acme.example", false),
        (PROVIDER, false),
    ] {
        for (path, key) in [(CLOUD_LOGIN, &cloud), (CONNECTOR_LOGIN, &connector)] {
            let (reply, cookie) = app.api_login(path, key, user).await;
            if granted {
                assert_status(&reply, StatusCode::OK, &format!("{user} {path}"));
                assert!(cookie.is_some());
            } else {
                assert_status(&reply, StatusCode::FORBIDDEN, &format!("{user} {path}"));
                assert_eq!(reply.code(), "API_ACCESS_NOT_GRANTED", "{user}");
                assert!(cookie.is_none(), "{user}: no session");
            }
        }
    }
    // The console says the same.
    let provider = app.sign_in(PROVIDER).await;
    let console: ProviderConsole = app
        .call(Some(&provider), "provider/console", &[])
        .await
        .parse();
    let acme = console
        .orgs
        .iter()
        .find(|o| o.short_name == "acme")
        .unwrap();
    for m in &acme.members {
        let expected = matches!(
            m.username.as_str(),
            "super@acme.example" | "api@acme.example" | "multi@example.com"
        );
        assert_eq!(m.api_access, expected, "{}", m.username);
    }
}

#[tokio::test]
async fn a_granted_connector_admin_signs_in_and_a_revoke_ends_the_session_at_once() {
    let app = app().await;
    let provider = app.sign_in(PROVIDER).await;
    let connector = key(&app, KeyKind::Connector).await;
    let user = "connector@acme.example";

    assert_status(
        &set_access(&app, &provider, user, true).await,
        StatusCode::OK,
        "grant",
    );
    let (reply, cookie) = app.api_login(CONNECTOR_LOGIN, &connector, user).await;
    assert_status(&reply, StatusCode::OK, "granted sign-in");
    let cookie = cookie.expect("a session");
    assert_status(
        &app.consumer("GET", CONNECTOR_LOGIN, Some(&cookie), None)
            .await,
        StatusCode::OK,
        "the session lives",
    );

    assert_status(
        &set_access(&app, &provider, user, false).await,
        StatusCode::OK,
        "revoke",
    );
    assert_eq!(sessions_of(&app, user).await, 0, "deleted with the revoke");
    let after = app
        .consumer("GET", CONNECTOR_LOGIN, Some(&cookie), None)
        .await;
    assert_status(&after, StatusCode::UNAUTHORIZED, "the very next call");
    assert_eq!(after.code(), "SESSION_NOT_VALID");
    let (again, _) = app.api_login(CONNECTOR_LOGIN, &connector, user).await;
    assert_eq!(again.code(), "API_ACCESS_NOT_GRANTED");

    // Revoking a role's default works the same: the API Admin's live session ends.
    let cloud = key(&app, KeyKind::CloudService).await;
    let (_, api_session) = app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example").await;
    let api_session = api_session.expect("a session");
    assert_status(
        &set_access(&app, &provider, "api@acme.example", false).await,
        StatusCode::OK,
        "revoke the API Admin",
    );
    assert_status(
        &app.consumer("GET", STATUS, Some(&api_session), None).await,
        StatusCode::UNAUTHORIZED,
        "the API Admin's session",
    );
    // Their portal access is untouched: API access is only the consumer API.
    let portal = app.sign_in("api@acme.example").await;
    assert_status(
        &app.call(
            Some(&portal),
            "api-keys/regenerate",
            &[("kind", "cloud_service")],
        )
        .await,
        StatusCode::OK,
        "the portal still lets them manage the key",
    );

    let log = app.state.store.recent_audit("acme", 50).await.unwrap();
    for (action, resource) in [
        (AuditAction::Enable, user),
        (AuditAction::Disable, user),
        (AuditAction::Disable, "api@acme.example"),
    ] {
        assert!(
            log.iter().any(|r| r.action == action
                && r.resource == resource
                && r.sub_category == "API access"
                && r.category == "Provider"
                && r.admin == PROVIDER
                && r.result == AuditResult::Success
                && r.interface == Interface::AdminUi),
            "audited: {action:?} {resource}"
        );
    }
}

#[tokio::test]
async fn only_the_provider_grants() {
    let app = app().await;
    let connector = key(&app, KeyKind::Connector).await;
    for user in [
        "super@acme.example",
        "api@acme.example",
        "readonly@acme.example",
        "connector@acme.example",
    ] {
        let cookie = app.sign_in(user).await;
        let reply = set_access(&app, &cookie, "connector@acme.example", true).await;
        assert_status(&reply, StatusCode::FORBIDDEN, user);
        assert_eq!(reply.code(), "forbidden");
        let revoke = set_access(&app, &cookie, "api@acme.example", false).await;
        assert_status(&revoke, StatusCode::FORBIDDEN, user);
    }
    assert_status(
        &app.call_json(
            None,
            "provider/set-api-access",
            json!({"org": "acme", "username": "connector@acme.example", "granted": true}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "signed out",
    );
    // Nothing changed.
    let (reply, _) = app
        .api_login(CONNECTOR_LOGIN, &connector, "connector@acme.example")
        .await;
    assert_eq!(reply.code(), "API_ACCESS_NOT_GRANTED");
    let (reply, _) = app
        .api_login(CONNECTOR_LOGIN, &connector, "api@acme.example")
        .await;
    assert_status(&reply, StatusCode::OK, "the API Admin keeps it");
    // A provider of another organisation only: refused like a stranger.
    let provider = app.sign_in(PROVIDER).await;
    app.call_json(
        Some(&provider),
        "provider/create-org",
        json!({"short_name": "initech", "name": "Initech"}),
    )
    .await;
    app.call_json(
        Some(&provider),
        "provider/add-admin",
        json!({"org": "initech", "username": "ops@initech.example", "role": "provider", "password": "Initech-ops-pass-1"}),
    )
    .await;
    let other = app
        .try_sign_in("ops@initech.example", "Initech-ops-pass-1")
        .await
        .unwrap();
    assert_status(
        &set_access(&app, &other, "connector@acme.example", true).await,
        StatusCode::FORBIDDEN,
        "another organisation's provider",
    );
}

#[tokio::test]
async fn roles_that_may_not_hold_it_cannot_be_granted_it() {
    let app = app().await;
    let provider = app.sign_in(PROVIDER).await;
    let cloud = key(&app, KeyKind::CloudService).await;
    for user in ["readonly@acme.example", PROVIDER] {
        let reply = set_access(&app, &provider, user, true).await;
        assert_status(&reply, StatusCode::BAD_REQUEST, user);
        assert_eq!(reply.code(), "validation");
        let (login, _) = app.api_login(CLOUD_LOGIN, &cloud, user).await;
        assert_eq!(login.code(), "API_ACCESS_NOT_GRANTED", "{user}");
        // Revoking what they do not hold is allowed (and changes nothing).
        assert_status(
            &set_access(&app, &provider, user, false).await,
            StatusCode::OK,
            user,
        );
    }
    let log = app.state.store.recent_audit("acme", 50).await.unwrap();
    assert!(
        log.iter().any(|r| r.resource == "readonly@acme.example"
            && r.sub_category == "API access"
            && r.result == AuditResult::Failure),
        "the refused grant is audited"
    );
    // Someone who is not an admin of acme, existing or not: 404 alike.
    for user in ["api@globex.example", "nobody@acme.example"] {
        let reply = set_access(&app, &provider, user, true).await;
        assert_status(&reply, StatusCode::NOT_FOUND, user);
    }
    // Adding an admin with API access follows the same rule.
    let add = app
        .call_json(
            Some(&provider),
            "provider/add-admin",
            json!({"org": "acme", "username": "auditor@acme.example", "role": "read_only_admin", "password": "Auditor-pass-123", "api_access": true}),
        )
        .await;
    assert_status(&add, StatusCode::BAD_REQUEST, "read-only with API access");
    assert!(
        app.state
            .store
            .admin_by_username("auditor@acme.example")
            .await
            .unwrap()
            .is_none(),
        "nothing was created"
    );
}

#[tokio::test]
async fn a_new_or_changed_role_starts_from_its_default_unless_the_provider_says_otherwise() {
    let app = app().await;
    let provider = app.sign_in(PROVIDER).await;
    let cloud = key(&app, KeyKind::CloudService).await;
    let add = |username: &'static str, role: &'static str, api_access: Option<bool>| {
        let mut body = json!({"org": "acme", "username": username, "role": role, "password": keyport::server::demo::DEMO_PASSWORD});
        if let Some(granted) = api_access {
            body["api_access"] = json!(granted);
        }
        let (app, provider) = (&app, &provider);
        async move {
            let reply = app
                .call_json(Some(provider), "provider/add-admin", body)
                .await;
            assert_status(&reply, StatusCode::OK, username);
        }
    };
    // New admins: the role's default, or what the provider chose.
    add("ops@acme.example", "cloud_connector_admin", Some(true)).await;
    add("keys@acme.example", "api_admin", Some(false)).await;
    add("plain@acme.example", "cloud_connector_admin", None).await;
    for (user, expected) in [
        ("ops@acme.example", StatusCode::OK),
        ("keys@acme.example", StatusCode::FORBIDDEN),
        ("plain@acme.example", StatusCode::FORBIDDEN),
    ] {
        let (reply, _) = app.api_login(CLOUD_LOGIN, &cloud, user).await;
        assert_status(&reply, expected, user);
    }
    // A changed role starts again from its default.
    let (_, session) = app.api_login(CLOUD_LOGIN, &cloud, "ops@acme.example").await;
    add("ops@acme.example", "read_only_admin", None).await;
    assert_status(
        &app.consumer("GET", STATUS, session.as_deref(), None).await,
        StatusCode::UNAUTHORIZED,
        "the old role's session",
    );
    add("ops@acme.example", "api_admin", None).await;
    let (reply, _) = app.api_login(CLOUD_LOGIN, &cloud, "ops@acme.example").await;
    assert_status(&reply, StatusCode::OK, "API Admin by default");
}

#[tokio::test]
async fn the_console_shows_each_admins_api_access_with_its_control() {
    let app = app().await;
    let provider = app.sign_in(PROVIDER).await;
    let html = app.get(Some(&provider), "/provider").await;
    assert_status(&html, StatusCode::OK, "console");
    let html = html.text;
    assert!(html.contains(">API access</th>"), "the column");
    for needle in [
        "Revoke API access for api@acme.example",
        "Revoke API access for super@acme.example",
        "Grant API access for connector@acme.example",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(
        !html.contains("API access for readonly@acme.example"),
        "no control for a Read-Only Admin"
    );
    assert!(html.contains("Not available for this role"));

    assert_status(
        &set_access(&app, &provider, "connector@acme.example", true).await,
        StatusCode::OK,
        "grant",
    );
    let html = app.get(Some(&provider), "/provider").await.text;
    assert!(
        html.contains("Revoke API access for connector@acme.example"),
        "after the grant"
    );
    assert!(!html.contains("Grant API access for connector@acme.example"));
}

#[tokio::test]
async fn the_command_line_grants_and_revokes_audited_as_the_cli() {
    let app = app().await;
    let connector = key(&app, KeyKind::Connector).await;
    let user = "connector@acme.example";
    let run = |granted: bool| {
        keyport::server::cli::run(
            &app.state,
            Command::SetApiAccess {
                org: "acme".into(),
                username: user.into(),
                granted,
            },
        )
    };
    run(true).await.unwrap();
    let (reply, cookie) = app.api_login(CONNECTOR_LOGIN, &connector, user).await;
    assert_status(&reply, StatusCode::OK, "granted by the CLI");
    run(false).await.unwrap();
    assert_status(
        &app.consumer("GET", CONNECTOR_LOGIN, cookie.as_deref(), None)
            .await,
        StatusCode::UNAUTHORIZED,
        "revoked by the CLI",
    );
    assert!(
        keyport::server::cli::run(
            &app.state,
            Command::SetApiAccess {
                org: "acme".into(),
                username: "readonly@acme.example".into(),
                granted: true,
            },
        )
        .await
        .is_err(),
        "not for a Read-Only Admin"
    );
    let log = app.state.store.recent_audit("acme", 20).await.unwrap();
    assert!(log.iter().any(|r| r.interface == Interface::Cli
        && r.action == AuditAction::Enable
        && r.sub_category == "API access"
        && r.admin == "provider (CLI)"));
}
