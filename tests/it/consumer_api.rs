//! The Sandbox Submission API: what the tokens unlock, and proof that a
//! replaced or deleted token stops working on the very next request.

use crate::common::TestApp;
use axum::http::StatusCode;
use keyport::model::{CredentialRef, DisableReason};
use keyport::server::provider::Target;
use keyport::server::sandbox;

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

    // globex's subscription is expired: its kept token is refused.
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
        "API_KEY_DISABLED",
        "kept but disabled (docs/STATES.md)"
    );
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
