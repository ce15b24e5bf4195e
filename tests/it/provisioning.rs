//! Initial provisioning (docs/STATES.md#subscriptions): activating a
//! subscription creates the sandbox token or the keys the organisation
//! lacks, audited as the provider in the same transaction, and shows their
//! secrets once, in the answer to the provider who made the change.

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::model::{
    AuditAction, CredentialRef, Interface, KeyKind, ProviderConsole, ProvisionedCredential,
    Subscription, SubscriptionKind, category,
};
use keyport::server::config::Command;
use keyport::server::demo::DEMO_PASSWORD;
use serde_json::json;

const PROVIDER: &str = "provider@keyport.example";

async fn set_subscription(
    app: &TestApp,
    cookie: &str,
    org: &str,
    kind: &str,
    state: &str,
) -> Vec<ProvisionedCredential> {
    let reply = app
        .call_json(
            Some(cookie),
            "provider/set-subscription",
            json!({"org": org, "kind": kind, "state": state}),
        )
        .await;
    assert_status(&reply, StatusCode::OK, &format!("{org} {kind} {state}"));
    reply.parse()
}

/// Every stored field of every audit entry, to look for a secret in.
async fn audit_text(app: &TestApp) -> String {
    let rows: Vec<(String, String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT action, category, sub_category, resource, admin, reason FROM audit_log",
    )
    .fetch_all(app.state.store.pool())
    .await
    .unwrap();
    format!("{rows:?}")
}

async fn new_org(app: &TestApp, provider: &str, short_name: &str) {
    assert_status(
        &app.call_json(
            Some(provider),
            "provider/create-org",
            json!({"short_name": short_name, "name": "Initech"}),
        )
        .await,
        StatusCode::OK,
        "create",
    );
}

#[tokio::test]
async fn activating_a_subscription_provisions_what_the_organisation_lacks_and_shows_it_once() {
    let app = TestApp::new().await;
    let provider = app.sign_in(PROVIDER).await;
    new_org(&app, &provider, "initech").await;

    // Sandbox: one token, in the answer only.
    let created = set_subscription(&app, &provider, "initech", "sandbox", "active").await;
    assert_eq!(created.len(), 1, "{created:?}");
    let token = &created[0];
    assert!(matches!(token.credential, CredentialRef::SandboxToken(_)));
    assert_eq!(token.label, keyport::server::provider::INITIAL_TOKEN_NAME);
    assert_eq!(token.secret.len(), 32);
    assert!(
        !format!("{created:?}").contains(&token.secret),
        "Debug leaves the secret out"
    );
    assert_status(
        &app.submit("initech", &token.secret, b"MZ provisioned")
            .await,
        StatusCode::OK,
        "the provisioned token works",
    );
    let org_id = app.org_id("initech").await;
    let rows = app
        .state
        .store
        .sandbox_tokens(org_id, keyport::server::now_ms())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].modified_by, PROVIDER, "Last Modified By");

    // API: both keys; a Super Admin of initech can sign in with the new one.
    let created = set_subscription(&app, &provider, "initech", "api", "active").await;
    let kinds: Vec<_> = created.iter().map(|c| c.credential).collect();
    assert_eq!(
        kinds,
        [
            CredentialRef::ApiKey(KeyKind::CloudService),
            CredentialRef::ApiKey(KeyKind::Connector)
        ]
    );
    assert!(created.iter().all(|c| c.secret.len() == 12));
    assert_ne!(created[0].secret, created[1].secret);
    app.call_json(
        Some(&provider),
        "provider/add-admin",
        json!({"org": "initech", "username": "boss@initech.example", "role": "super_admin", "password": DEMO_PASSWORD}),
    )
    .await;
    let (login, _) = app
        .api_login(
            "/o/initech/api/v1/authenticatedSession",
            &created[0].secret,
            "boss@initech.example",
        )
        .await;
    assert_status(&login, StatusCode::OK, "the provisioned key works");

    // Audited as the provider who made the change; no secret anywhere in the log.
    let log = app.state.store.recent_audit("initech", 50).await.unwrap();
    for sub_category in [
        category::SANDBOX_API_TOKEN,
        KeyKind::CloudService.label(),
        KeyKind::Connector.label(),
    ] {
        assert!(
            log.iter().any(|r| r.action == AuditAction::Create
                && r.category == category::PROVIDER
                && r.sub_category == sub_category
                && r.admin == PROVIDER
                && r.interface == Interface::AdminUi),
            "audited: {sub_category}"
        );
    }
    let audited = audit_text(&app).await;
    for secret in [&token.secret, &created[0].secret, &created[1].secret] {
        assert!(
            !audited.contains(secret.as_str()),
            "a secret in the audit log"
        );
    }

    // A second view shows them masked only.
    let console = app.call(Some(&provider), "provider/console", &[]).await;
    let html = app.get(Some(&provider), "/provider").await;
    for secret in [&token.secret, &created[0].secret, &created[1].secret] {
        assert!(!console.text.contains(secret.as_str()), "console data");
        assert!(!html.text.contains(secret.as_str()), "console page");
    }
    let console: ProviderConsole = console.parse();
    let initech = console
        .orgs
        .iter()
        .find(|o| o.short_name == "initech")
        .unwrap();
    assert_eq!(initech.credentials.len(), 3);
    let last4 = &token.secret[token.secret.len() - 4..];
    assert!(
        initech
            .credentials
            .iter()
            .any(|c| c.masked == format!("••••{last4}"))
    );

    // Saving the active subscription again (say, a new end date) creates nothing.
    let again = app
        .call_json(
            Some(&provider),
            "provider/set-subscription",
            json!({"org": "initech", "kind": "sandbox", "state": "active", "expires_on": "2099-12-31"}),
        )
        .await;
    assert_status(&again, StatusCode::OK, "re-save");
    assert!(again.parse::<Vec<ProvisionedCredential>>().is_empty());
}

#[tokio::test]
async fn an_organisation_that_has_its_credentials_gets_no_new_ones() {
    let app = TestApp::new().await;
    let provider = app.sign_in(PROVIDER).await;
    let acme = app.org_id("acme").await;
    let store = &app.state.store;
    let now = keyport::server::now_ms();
    let before_tokens = store.sandbox_tokens(acme, now).await.unwrap();
    let before_key = store
        .api_key(acme, KeyKind::CloudService)
        .await
        .unwrap()
        .unwrap();

    // Expired, then renewed: acme has its tokens and keys.
    for kind in ["sandbox", "api"] {
        assert!(
            set_subscription(&app, &provider, "acme", kind, "expired")
                .await
                .is_empty()
        );
        assert!(
            set_subscription(&app, &provider, "acme", kind, "active")
                .await
                .is_empty()
        );
    }
    let after_tokens = store.sandbox_tokens(acme, now).await.unwrap();
    assert_eq!(
        after_tokens.iter().map(|t| t.id).collect::<Vec<_>>(),
        before_tokens.iter().map(|t| t.id).collect::<Vec<_>>()
    );
    let after_key = store
        .api_key(acme, KeyKind::CloudService)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after_key.key_sealed, before_key.key_sealed,
        "the key is unchanged"
    );

    // globex has a token but no keys: renewing its API subscription
    // provisions the keys, and its Sandbox renewal nothing.
    assert!(
        set_subscription(&app, &provider, "globex", "sandbox", "active")
            .await
            .is_empty()
    );
    assert!(
        set_subscription(&app, &provider, "globex", "api", "expired")
            .await
            .is_empty()
    );
    assert_eq!(
        set_subscription(&app, &provider, "globex", "api", "active")
            .await
            .len(),
        2
    );

    // Only what is missing: an organisation that kept its Cloud Service key
    // gets the Connector key alone.
    new_org(&app, &provider, "initech").await;
    let first = set_subscription(&app, &provider, "initech", "api", "active").await;
    assert_eq!(first.len(), 2);
    let initech = app.org_id("initech").await;
    sqlx::query("DELETE FROM api_keys WHERE org_id = $1 AND kind = 'connector'")
        .bind(initech)
        .execute(store.pool())
        .await
        .unwrap();
    set_subscription(&app, &provider, "initech", "api", "none").await;
    let second = set_subscription(&app, &provider, "initech", "api", "active").await;
    assert_eq!(
        second.iter().map(|c| c.credential).collect::<Vec<_>>(),
        [CredentialRef::ApiKey(KeyKind::Connector)]
    );

    // Neither expired nor none provisions anything.
    new_org(&app, &provider, "hooli").await;
    for state in ["expired", "none"] {
        assert!(
            set_subscription(&app, &provider, "hooli", "sandbox", state)
                .await
                .is_empty()
        );
    }
    let hooli = app.org_id("hooli").await;
    assert!(store.sandbox_tokens(hooli, now).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_command_line_provisions_too_audited_as_the_cli() {
    let app = TestApp::new().await;
    let provider = app.sign_in(PROVIDER).await;
    new_org(&app, &provider, "initech").await;
    keyport::server::cli::run(
        &app.state,
        Command::SetSubscription {
            org: "initech".into(),
            kind: "sandbox".into(),
            state: "active".into(),
            expires_on: None,
        },
    )
    .await
    .unwrap();
    let org = app.org_id("initech").await;
    assert_eq!(
        app.state
            .store
            .subscription(org, SubscriptionKind::Sandbox, keyport::server::now_ms())
            .await
            .unwrap(),
        Subscription::Active
    );
    let tokens = app
        .state
        .store
        .sandbox_tokens(org, keyport::server::now_ms())
        .await
        .unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].modified_by, "provider (CLI)");
    let log = app.state.store.recent_audit("initech", 10).await.unwrap();
    assert!(log.iter().any(|r| r.action == AuditAction::Create
        && r.sub_category == category::SANDBOX_API_TOKEN
        && r.interface == Interface::Cli));
}
