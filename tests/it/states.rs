//! docs/STATES.md's state table, for every credential kind: what the page
//! shows, what the server functions refuse, and what the consumer API says —
//! disabled by the provider, subscription expired (and renewed), an expiry
//! date that passes, and no subscription.

use crate::common::{Reply, TestApp, assert_status};
use axum::http::StatusCode;
use keyport::api::sandbox::IssuedToken;
use keyport::model::{
    ApiKeyPage, CredentialRef, DisableReason, KeyDisabled, KeyKind, OAuthPage, SandboxPage,
    Subscription, SubscriptionKind, TokenStatus,
};
use keyport::server::provider::{self, Operator, Target};
use serde_json::json;

const FILE: &[u8] = b"MZ fake executable";

fn assert_refused(reply: &Reply, code: &str, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::FORBIDDEN,
        "{what}: {}",
        reply.text
    );
    assert_eq!(reply.code(), code, "{what}");
}

async fn app() -> TestApp {
    TestApp::with_settings(|s| s.api_rate_per_second = 10_000).await
}

async fn set_subscription(
    app: &TestApp,
    org: &str,
    kind: SubscriptionKind,
    state: Subscription,
    expires_at: Option<i64>,
) {
    provider::set_subscription(&app.state, &Operator::cli(), org, kind, state, expires_at)
        .await
        .unwrap();
}

/// A sandbox token's secret, by adding one as the API admin.
async fn new_token(app: &TestApp, cookie: &str, name: &str) -> (i64, String) {
    let reply = app
        .call(Some(cookie), "sandbox-tokens/add", &[("name", name)])
        .await;
    assert_status(&reply, StatusCode::OK, "add token");
    let IssuedToken { token, secret } = reply.parse();
    (token.id, secret)
}

async fn reveal_key(app: &TestApp, cookie: &str, kind: &str) -> String {
    let reply = app
        .call(Some(cookie), "api-keys/reveal", &[("kind", kind)])
        .await;
    assert_status(&reply, StatusCode::OK, "reveal");
    reply.parse()
}

/// The quota call of acme's token `secret`.
fn quota_path(secret: &str) -> String {
    format!(
        "/o/acme/sandbox/report/quota?api_token={}",
        crate::common::urlencode(secret)
    )
}

const CLOUD_LOGIN: &str = "/o/acme/api/v1/authenticatedSession";
const CONNECTOR_LOGIN: &str = "/o/acme/connector/api/v1/auth";

#[tokio::test]
async fn disabled_by_the_provider_for_tokens_and_both_keys() {
    let app = app().await;
    let api = app.sign_in("api@acme.example").await;
    let provider_cookie = app.sign_in("provider@keyport.example").await;
    let (token_id, secret) = new_token(&app, &api, "Doomed").await;
    let cloud = reveal_key(&app, &api, "cloud_service").await;
    let connector = reveal_key(&app, &api, "connector").await;
    let (_, cloud_session) = app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example").await;

    for credential in [
        json!({"SandboxToken": token_id}),
        json!({"ApiKey": "cloud_service"}),
        json!({"ApiKey": "connector"}),
    ] {
        let reply = app
            .call_json(
                Some(&provider_cookie),
                "provider/set-credential-state",
                json!({"org": "acme", "credential": credential, "reason": "terms_violation"}),
            )
            .await;
        assert_status(&reply, StatusCode::OK, "disable");
    }

    // Pages: Disabled with the reason; Add withheld.
    let sandbox: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    let row = sandbox
        .tokens
        .iter()
        .find(|t| t.id == token_id)
        .expect("the Doomed token");
    assert_eq!(
        row.status,
        TokenStatus::DisabledByProvider(DisableReason::TermsViolation)
    );
    assert_eq!(sandbox.disabled_reason, Some(DisableReason::TermsViolation));
    assert!(!sandbox.can_add(), "Add is withheld");
    for kind in ["cloud_service", "connector"] {
        let page: ApiKeyPage = app
            .call(Some(&api), "api-keys/get", &[("kind", kind)])
            .await
            .parse();
        assert_eq!(
            page.key.expect("a key").disabled,
            Some(KeyDisabled::ByProvider(DisableReason::TermsViolation)),
            "{kind}"
        );
    }
    // Server functions: Add, Regenerate and Delete refused with token_disabled.
    let id = token_id.to_string();
    assert_refused(
        &app.call(Some(&api), "sandbox-tokens/add", &[("name", "Another")])
            .await,
        "token_disabled",
        "add token",
    );
    assert_refused(
        &app.call(Some(&api), "sandbox-tokens/regenerate", &[("id", &id)])
            .await,
        "token_disabled",
        "regenerate token",
    );
    assert_refused(
        &app.call(Some(&api), "sandbox-tokens/delete", &[("id", &id)])
            .await,
        "token_disabled",
        "delete token",
    );
    for endpoint in ["api-keys/regenerate", "api-keys/delete"] {
        assert_refused(
            &app.call(Some(&api), endpoint, &[("kind", "cloud_service")])
                .await,
            "token_disabled",
            endpoint,
        );
        // The connector key: the provider itself is refused until it re-enables it.
        assert_refused(
            &app.call(Some(&provider_cookie), endpoint, &[("kind", "connector")])
                .await,
            "token_disabled",
            endpoint,
        );
    }
    // Consumer API: the token, the keys and the live session are all rejected.
    assert_refused(
        &app.submit("acme", &secret, FILE).await,
        "API_KEY_DISABLED",
        "submit",
    );
    assert_refused(
        &app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example")
            .await
            .0,
        "API_KEY_DISABLED",
        "cloud login",
    );
    assert_refused(
        &app.api_login(CONNECTOR_LOGIN, &connector, "api@acme.example")
            .await
            .0,
        "API_KEY_DISABLED",
        "connector login",
    );
    assert_status(
        &app.consumer(
            "GET",
            "/o/acme/api/v1/status",
            cloud_session.as_deref(),
            None,
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "session of a disabled key",
    );

    // Enabled again: everything works.
    for credential in [
        json!({"SandboxToken": token_id}),
        json!({"ApiKey": "cloud_service"}),
        json!({"ApiKey": "connector"}),
    ] {
        let reply = app
            .call_json(
                Some(&provider_cookie),
                "provider/set-credential-state",
                json!({"org": "acme", "credential": credential}),
            )
            .await;
        assert_status(&reply, StatusCode::OK, "enable");
    }
    assert_status(
        &app.submit("acme", &secret, FILE).await,
        StatusCode::OK,
        "submit after enable",
    );
    assert_status(
        &app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example")
            .await
            .0,
        StatusCode::OK,
        "cloud after enable",
    );
    assert_status(
        &app.api_login(CONNECTOR_LOGIN, &connector, "api@acme.example")
            .await
            .0,
        StatusCode::OK,
        "connector after enable",
    );
}

#[tokio::test]
async fn an_expired_subscription_keeps_everything_visible_and_nothing_changeable() {
    let app = app().await;
    let api = app.sign_in("api@acme.example").await;
    let (token_id, secret) = new_token(&app, &api, "Kept").await;
    let cloud = reveal_key(&app, &api, "cloud_service").await;
    let (_, session) = app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example").await;
    assert_status(
        &app.consumer("GET", "/o/acme/api/v1/status", session.as_deref(), None)
            .await,
        StatusCode::OK,
        "session",
    );

    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Sandbox,
        Subscription::Expired,
        None,
    )
    .await;
    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Api,
        Subscription::Expired,
        None,
    )
    .await;

    // Pages: everything visible, marked disabled, nothing manageable.
    let sandbox: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(sandbox.subscription, Subscription::Expired);
    assert!(!sandbox.can_manage);
    assert!(
        sandbox
            .tokens
            .iter()
            .all(|t| t.status == TokenStatus::SubscriptionExpired)
    );
    for kind in ["cloud_service", "connector"] {
        let page: ApiKeyPage = app
            .call(Some(&api), "api-keys/get", &[("kind", kind)])
            .await
            .parse();
        assert_eq!(page.subscription, Subscription::Expired);
        assert!(!page.can_manage);
        assert_eq!(
            page.key.expect("a key").disabled,
            Some(KeyDisabled::SubscriptionExpired)
        );
    }
    let oauth: OAuthPage = app
        .call(Some(&api), "oauth-servers/list", &[])
        .await
        .parse();
    assert_eq!(oauth.subscription, Subscription::Expired);

    // Every change refused with subscription_expired.
    let id = token_id.to_string();
    for (endpoint, form) in [
        ("sandbox-tokens/add", vec![("name", "More")]),
        (
            "sandbox-tokens/rename",
            vec![("id", id.as_str()), ("name", "Renamed")],
        ),
        ("sandbox-tokens/regenerate", vec![("id", id.as_str())]),
        ("sandbox-tokens/delete", vec![("id", id.as_str())]),
        ("api-keys/regenerate", vec![("kind", "cloud_service")]),
        (
            "api-keys/edit",
            vec![("kind", "cloud_service"), ("key", "abcDEF123456")],
        ),
        ("api-keys/delete", vec![("kind", "cloud_service")]),
        (
            "oauth-servers/save",
            vec![
                ("form[enabled]", "true"),
                ("form[name]", "Expired"),
                ("form[description]", ""),
                ("form[jwks_url]", "https://idp.example/jwks"),
                ("form[validate_cert]", "true"),
                ("form[audience]", ""),
                ("form[issuer]", ""),
                ("form[client_id]", ""),
            ],
        ),
    ] {
        assert_refused(
            &app.call(Some(&api), endpoint, &form).await,
            "subscription_expired",
            endpoint,
        );
    }
    // Consumer API: reads still answer — the quota, signing in, and GETs
    // with a session opened before or after —; a submission is a change
    // and is refused with the portal's code.
    assert_refused(
        &app.submit("acme", &secret, FILE).await,
        "SUBSCRIPTION_EXPIRED",
        "submit",
    );
    let quota = app.consumer("GET", &quota_path(&secret), None, None).await;
    assert_status(&quota, StatusCode::OK, "quota");
    assert_eq!(
        quota.json()["used"],
        0,
        "the refused submission was not recorded"
    );
    assert_status(
        &app.consumer("GET", "/o/acme/api/v1/status", session.as_deref(), None)
            .await,
        StatusCode::OK,
        "old session",
    );
    let (login, fresh) = app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example").await;
    assert_status(&login, StatusCode::OK, "sign-in");
    for path in ["/o/acme/api/v1/status", CLOUD_LOGIN] {
        assert_status(
            &app.consumer("GET", path, fresh.as_deref(), None).await,
            StatusCode::OK,
            path,
        );
    }
    let connector = reveal_key(&app, &api, "connector").await;
    assert_status(
        &app.api_login(CONNECTOR_LOGIN, &connector, "api@acme.example")
            .await
            .0,
        StatusCode::OK,
        "connector sign-in",
    );
    // A key the provider disabled stays refused, expired or not.
    app.provider_set(
        "acme",
        Target::One(CredentialRef::ApiKey(KeyKind::Connector)),
        Some(DisableReason::Other),
    )
    .await;
    assert_refused(
        &app.api_login(CONNECTOR_LOGIN, &connector, "api@acme.example")
            .await
            .0,
        "API_KEY_DISABLED",
        "disabled connector key while expired",
    );

    // Renewal re-enables them, except what the provider disabled.
    app.provider_set(
        "acme",
        Target::One(CredentialRef::ApiKey(KeyKind::Connector)),
        Some(DisableReason::Other),
    )
    .await;
    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Sandbox,
        Subscription::Active,
        None,
    )
    .await;
    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Api,
        Subscription::Active,
        None,
    )
    .await;
    assert_status(
        &app.submit("acme", &secret, FILE).await,
        StatusCode::OK,
        "submit after renewal",
    );
    assert_status(
        &app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example")
            .await
            .0,
        StatusCode::OK,
        "login after renewal",
    );
    let connector: ApiKeyPage = app
        .call(Some(&api), "api-keys/get", &[("kind", "connector")])
        .await
        .parse();
    assert_eq!(
        connector.key.expect("the connector key").disabled,
        Some(KeyDisabled::ByProvider(DisableReason::Other))
    );
}

#[tokio::test]
async fn an_expiry_date_that_passes_takes_effect_without_a_restart() {
    let app = app().await;
    let api = app.sign_in("api@acme.example").await;
    let (_, secret) = new_token(&app, &api, "Dated").await;
    let now = keyport::server::now_ms();
    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Sandbox,
        Subscription::Active,
        Some(now + 60_000),
    )
    .await;
    assert_status(
        &app.submit("acme", &secret, FILE).await,
        StatusCode::OK,
        "before the date",
    );
    // The same running instance, the date now in the past.
    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Sandbox,
        Subscription::Active,
        Some(now - 1),
    )
    .await;
    assert_eq!(
        app.call(Some(&api), "sandbox-tokens/list", &[])
            .await
            .parse::<SandboxPage>()
            .subscription,
        Subscription::Expired
    );
    assert_refused(
        &app.submit("acme", &secret, FILE).await,
        "SUBSCRIPTION_EXPIRED",
        "after the date",
    );
    assert_status(
        &app.consumer("GET", &quota_path(&secret), None, None).await,
        StatusCode::OK,
        "quota after the date",
    );
    assert_refused(
        &app.call(Some(&api), "sandbox-tokens/add", &[("name", "Late")])
            .await,
        "subscription_expired",
        "add after the date",
    );
}

#[tokio::test]
async fn without_a_subscription_there_is_no_table_and_everything_is_refused() {
    let app = app().await;
    let api = app.sign_in("api@acme.example").await;
    let (_, secret) = new_token(&app, &api, "Orphan").await;
    let cloud = reveal_key(&app, &api, "cloud_service").await;
    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Sandbox,
        Subscription::None,
        None,
    )
    .await;
    set_subscription(
        &app,
        "acme",
        SubscriptionKind::Api,
        Subscription::None,
        None,
    )
    .await;

    let sandbox: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(sandbox.subscription, Subscription::None);
    assert!(sandbox.tokens.is_empty());
    for kind in ["cloud_service", "connector"] {
        let page: ApiKeyPage = app
            .call(Some(&api), "api-keys/get", &[("kind", kind)])
            .await
            .parse();
        assert_eq!(page.subscription, Subscription::None);
        assert_eq!(page.key, None);
        assert_refused(
            &app.call(Some(&api), "api-keys/reveal", &[("kind", kind)])
                .await,
            "no_subscription",
            "reveal",
        );
    }
    assert!(
        app.call(Some(&api), "oauth-servers/list", &[])
            .await
            .parse::<OAuthPage>()
            .servers
            .is_empty()
    );
    assert_refused(
        &app.call(Some(&api), "sandbox-tokens/add", &[("name", "X")])
            .await,
        "no_subscription",
        "add",
    );
    assert_refused(
        &app.call(
            Some(&api),
            "api-keys/regenerate",
            &[("kind", "cloud_service")],
        )
        .await,
        "no_subscription",
        "regenerate",
    );
    assert_eq!(
        app.submit("acme", &secret, FILE).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.api_login(CLOUD_LOGIN, &cloud, "api@acme.example")
            .await
            .0
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_expired_banner_names_whom_to_contact() {
    use keyport::paths::{CLOUD_SERVICE_API_KEY, OAUTH_SERVERS, SANDBOX_API_TOKEN};
    let app =
        TestApp::with_settings(|s| s.support_contact = "support@provider.example".into()).await;
    // globex's Sandbox subscription is expired in the demo; its API one we expire.
    set_subscription(
        &app,
        "globex",
        SubscriptionKind::Api,
        Subscription::Expired,
        None,
    )
    .await;
    let globex = app.sign_in("api@globex.example").await;
    for (page, says) in [
        (SANDBOX_API_TOKEN, "Your Sandbox subscription has expired."),
        (CLOUD_SERVICE_API_KEY, "Your API subscription has expired."),
        (OAUTH_SERVERS, "Your API subscription has expired."),
    ] {
        let html = app.get(Some(&globex), page).await;
        assert_status(&html, StatusCode::OK, page);
        assert!(html.text.contains(says), "{page}");
        assert!(
            html.text
                .contains("Contact support@provider.example to renew it."),
            "{page}: the configured contact"
        );
    }
    // An active subscription has no banner.
    let acme = app.sign_in("api@acme.example").await;
    let html = app.get(Some(&acme), SANDBOX_API_TOKEN).await;
    assert!(!html.text.contains("to renew it."), "acme is active");

    // The default names the service provider; markup in the setting stays text.
    let plain = TestApp::new().await;
    let globex = plain.sign_in("api@globex.example").await;
    let html = plain.get(Some(&globex), SANDBOX_API_TOKEN).await;
    assert!(
        html.text
            .contains("Contact your service provider to renew it.")
    );
    let marked = TestApp::with_settings(|s| s.support_contact = "<b>Ops</b>".into()).await;
    let globex = marked.sign_in("api@globex.example").await;
    let html = marked.get(Some(&globex), SANDBOX_API_TOKEN).await;
    assert!(
        html.text
            .contains("Contact &lt;b&gt;Ops&lt;/b&gt; to renew it."),
        "escaped"
    );
}
