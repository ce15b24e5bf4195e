//! The provider console's server functions: who may call them, which
//! organisations they reach (forged names included), and that each change
//! is audited and shows at once to the organisation's admins.

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::model::{ProviderConsole, ProviderOrg, SandboxPage, Subscription};
use serde_json::{Value, json};

fn org<'a>(console: &'a ProviderConsole, short_name: &str) -> &'a ProviderOrg {
    console
        .orgs
        .iter()
        .find(|o| o.short_name == short_name)
        .unwrap_or_else(|| panic!("{short_name} in {console:?}"))
}

#[tokio::test]
async fn only_the_provider_role_reaches_the_console() {
    let app = TestApp::new().await;
    let provider = app.sign_in("provider@keyport.example").await;
    let console = app.call(Some(&provider), "provider/console", &[]).await;
    assert_status(&console, StatusCode::OK, "provider console");
    let console: ProviderConsole = console.parse();
    assert_eq!(console.orgs.len(), 2);
    assert_eq!(org(&console, "acme").token_limit, 5);
    assert_eq!(org(&console, "globex").sandbox.state, Subscription::Expired);

    let calls: [(&str, Value); 6] = [
        (
            "provider/create-org",
            json!({"short_name": "x", "name": "X"}),
        ),
        (
            "provider/set-subscription",
            json!({"org": "acme", "kind": "sandbox", "state": "none"}),
        ),
        (
            "provider/save-settings",
            json!({"org": "acme", "settings": {"token_limit": 1, "daily_allowance": 1, "connector_self_manage": true}}),
        ),
        (
            "provider/set-credential-state",
            json!({"org": "acme", "credential": {"ApiKey": "cloud_service"}, "reason": "other"}),
        ),
        (
            "provider/add-admin",
            json!({"org": "acme", "username": "mallory@acme.example", "role": "super_admin", "password": "long-enough-password"}),
        ),
        (
            "provider/remove-admin",
            json!({"org": "acme", "username": "api@acme.example"}),
        ),
    ];
    for user in [
        "super@acme.example",
        "api@acme.example",
        "readonly@acme.example",
        "connector@acme.example",
    ] {
        let cookie = app.sign_in(user).await;
        assert_status(
            &app.call(Some(&cookie), "provider/console", &[]).await,
            StatusCode::FORBIDDEN,
            user,
        );
        for (endpoint, body) in &calls {
            let reply = app.call_json(Some(&cookie), endpoint, body.clone()).await;
            assert_status(&reply, StatusCode::FORBIDDEN, &format!("{user} {endpoint}"));
            assert_eq!(reply.code(), "forbidden");
        }
    }
    for (endpoint, body) in &calls {
        assert_status(
            &app.call_json(None, endpoint, body.clone()).await,
            StatusCode::UNAUTHORIZED,
            endpoint,
        );
    }
    // Nothing changed.
    let after: ProviderConsole = app
        .call(Some(&provider), "provider/console", &[])
        .await
        .parse();
    assert_eq!(after, console);
}

#[tokio::test]
async fn a_provider_reaches_only_the_organisations_it_operates() {
    let app = TestApp::new().await;
    let provider = app.sign_in("provider@keyport.example").await;
    // A new organisation, and a second provider who operates only it.
    assert_status(
        &app.call_json(
            Some(&provider),
            "provider/create-org",
            json!({"short_name": "initech", "name": "Initech"}),
        )
        .await,
        StatusCode::OK,
        "create",
    );
    let duplicate = app
        .call_json(
            Some(&provider),
            "provider/create-org",
            json!({"short_name": "initech", "name": "Again"}),
        )
        .await;
    assert_status(&duplicate, StatusCode::BAD_REQUEST, "duplicate");
    assert_eq!(duplicate.code(), "validation");
    assert_status(
        &app.call_json(
            Some(&provider),
            "provider/add-admin",
            json!({"org": "initech", "username": "ops@initech.example", "role": "provider", "password": "Initech-ops-pass-1"}),
        )
        .await,
        StatusCode::OK,
        "add provider",
    );
    let console: ProviderConsole = app
        .call(Some(&provider), "provider/console", &[])
        .await
        .parse();
    assert_eq!(org(&console, "initech").sandbox.state, Subscription::None);

    let other = app
        .try_sign_in("ops@initech.example", "Initech-ops-pass-1")
        .await
        .unwrap();
    let theirs: ProviderConsole = app
        .call(Some(&other), "provider/console", &[])
        .await
        .parse();
    assert_eq!(theirs.orgs.len(), 1);
    // Forged: naming acme, or an organisation that does not exist, is refused alike.
    for target in ["acme", "nosuchorg"] {
        for (endpoint, body) in [
            (
                "provider/set-subscription",
                json!({"org": target, "kind": "api", "state": "none"}),
            ),
            (
                "provider/set-credential-state",
                json!({"org": target, "credential": {"ApiKey": "cloud_service"}, "reason": "other"}),
            ),
            (
                "provider/remove-admin",
                json!({"org": target, "username": "api@acme.example"}),
            ),
        ] {
            let reply = app.call_json(Some(&other), endpoint, body).await;
            assert_status(
                &reply,
                StatusCode::FORBIDDEN,
                &format!("{target} {endpoint}"),
            );
        }
    }
    let acme = app.actor("api@acme.example", "acme").await;
    assert_eq!(
        keyport::server::api_keys::page(&app.state, &acme, keyport::model::KeyKind::CloudService)
            .await
            .unwrap()
            .subscription,
        keyport::model::Subscription::Active
    );
    let refusals = app.state.store.recent_audit("acme", 20).await.unwrap();
    assert!(
        refusals.iter().any(|r| r.admin == "ops@initech.example"
            && r.result == keyport::model::AuditResult::Failure),
        "forged attempts are audited"
    );
}

#[tokio::test]
async fn console_changes_are_audited_and_take_effect() {
    let app = TestApp::new().await;
    let provider = app.sign_in("provider@keyport.example").await;
    let api = app.sign_in("api@acme.example").await;

    let saved = app
        .call_json(
            Some(&provider),
            "provider/save-settings",
            json!({"org": "acme", "settings": {"token_limit": 2, "daily_allowance": 10, "connector_self_manage": true}}),
        )
        .await;
    assert_status(&saved, StatusCode::OK, "settings");
    let page: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(page.limit, 2);
    assert_eq!(page.quota.allowed, 10);
    let bad = app
        .call_json(
            Some(&provider),
            "provider/save-settings",
            json!({"org": "acme", "settings": {"token_limit": 6, "daily_allowance": 10, "connector_self_manage": true}}),
        )
        .await;
    assert_status(&bad, StatusCode::BAD_REQUEST, "limit 6");

    // Add, then remove, an admin; a removed admin's session ends.
    assert_status(
        &app.call_json(
            Some(&provider),
            "provider/add-admin",
            json!({"org": "acme", "username": "new@acme.example", "role": "read_only_admin"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "a new account needs a password",
    );
    assert_status(
        &app.call_json(
            Some(&provider),
            "provider/remove-admin",
            json!({"org": "acme", "username": "api@acme.example"}),
        )
        .await,
        StatusCode::OK,
        "remove",
    );
    assert_status(
        &app.call(Some(&api), "sandbox-tokens/list", &[]).await,
        StatusCode::UNAUTHORIZED,
        "removed admin",
    );
    assert_status(
        &app.call_json(
            Some(&provider),
            "provider/remove-admin",
            json!({"org": "acme", "username": "provider@keyport.example"}),
        )
        .await,
        StatusCode::CONFLICT,
        "removing yourself",
    );

    let log = app.state.store.recent_audit("acme", 50).await.unwrap();
    for resource in [
        "Sandbox token limit: 2",
        "Daily Sandbox API-call allowance: 10",
        "Super Admins manage the connector key: yes",
        "api@acme.example",
    ] {
        assert!(
            log.iter().any(|r| r.resource == resource
                && r.admin == "provider@keyport.example"
                && r.category == "Provider"
                && r.interface == keyport::model::Interface::AdminUi),
            "audited: {resource}"
        );
    }
}
