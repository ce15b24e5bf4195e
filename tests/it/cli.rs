//! The provider's command-line operations change what the pages and the API allow.

use crate::common::TestApp;
use keyport::model::{DisableReason, Subscription, TokenStatus};
use keyport::server::cli;
use keyport::server::config::Command;
use keyport::server::sandbox;

#[tokio::test]
async fn provider_operations_take_effect_and_are_audited() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;

    cli::run(
        &app.state,
        Command::SetTokenLimit {
            org: "acme".into(),
            limit: 2,
        },
    )
    .await
    .unwrap();
    assert_eq!(sandbox::page(&app.state, &admin).await.unwrap().limit, 2);
    assert!(
        cli::run(
            &app.state,
            Command::SetTokenLimit {
                org: "acme".into(),
                limit: 6
            }
        )
        .await
        .is_err()
    );

    cli::run(
        &app.state,
        Command::DisableToken {
            org: "acme".into(),
            name: Some("CI pipeline".into()),
            reason: "terms_violation".into(),
        },
    )
    .await
    .unwrap();
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert_eq!(
        page.tokens[1].status,
        TokenStatus::DisabledByProvider(DisableReason::TermsViolation)
    );
    assert_eq!(page.tokens[0].status, TokenStatus::Enabled);
    cli::run(
        &app.state,
        Command::EnableToken {
            org: "acme".into(),
            name: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sandbox::page(&app.state, &admin).await.unwrap().tokens[1].status,
        TokenStatus::Enabled
    );

    cli::run(
        &app.state,
        Command::SetSubscription {
            org: "acme".into(),
            kind: "sandbox".into(),
            state: "expired".into(),
            expires_on: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        sandbox::page(&app.state, &admin)
            .await
            .unwrap()
            .subscription,
        Subscription::Expired
    );
    assert!(
        cli::run(
            &app.state,
            Command::SetSubscription {
                org: "nope".into(),
                kind: "sandbox".into(),
                state: "active".into(),
                expires_on: None,
            }
        )
        .await
        .is_err()
    );

    let log = app.state.store.recent_audit("acme", 10).await.unwrap();
    assert!(
        log.iter()
            .any(|r| r.interface == keyport::model::Interface::Cli
                && r.action == keyport::model::AuditAction::Disable)
    );
    assert!(log.iter().any(
        |r| r.interface == keyport::model::Interface::Cli && r.resource.contains("token limit")
    ));
}

#[tokio::test]
async fn the_demo_reset_wipes_and_reseeds() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    app.call(Some(&cookie), "sandbox-tokens/add", &[("name", "Gone")])
        .await;
    keyport::server::demo::reset(&app.state).await.unwrap();
    assert_eq!(
        app.call(Some(&cookie), "sandbox-tokens/list", &[])
            .await
            .status,
        axum::http::StatusCode::UNAUTHORIZED,
        "sessions go with the reset"
    );
    let fresh = app.sign_in("api@acme.example").await;
    let list: keyport::model::SandboxPage = app
        .call(Some(&fresh), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(list.tokens.len(), 2);
}
