//! The Sandbox API Token rules without HTTP: limits, the states of docs/STATES.md, roles and
//! invalidation, against a fresh database per test.

use crate::common::TestApp;
use keyport::error::AppError;
use keyport::model::{CredentialRef, DisableReason, Subscription, TokenStatus};
use keyport::server::provider::Target;
use keyport::server::sandbox;
use keyport::server::store::{OrgChange, SubscriptionKind};
use secrecy::ExposeSecret;

#[tokio::test]
async fn demo_data_is_as_the_spec_lists_it() {
    let app = TestApp::new().await;
    let acme = app.actor("api@acme.example", "acme").await;
    let page = sandbox::page(&app.state, &acme).await.unwrap();
    let names: Vec<_> = page.tokens.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Primary", "CI pipeline"]);
    assert_eq!(page.limit, 5);
    assert_eq!(page.subscription, Subscription::Active);
    assert_eq!(page.base_url, "http://127.0.0.1:3000/o/acme");
    assert!(
        page.tokens
            .iter()
            .all(|t| t.masked.starts_with("••••") && t.masked.chars().count() == 8)
    );

    let globex = app.actor("api@globex.example", "globex").await;
    let page = sandbox::page(&app.state, &globex).await.unwrap();
    assert_eq!(page.subscription, Subscription::Expired);
    assert_eq!(page.tokens.len(), 1);
    assert_eq!(page.tokens[0].status, TokenStatus::SubscriptionExpired);
    assert!(!page.can_manage);
}

#[tokio::test]
async fn the_limit_holds_and_says_what_to_do() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    for name in ["Three", "Four", "Five"] {
        sandbox::add(&app.state, &admin, name).await.unwrap();
    }
    let err = sandbox::add(&app.state, &admin, "Six").await.err().unwrap();
    assert_eq!(
        err,
        AppError::conflict("Delete an existing token before adding a new one.")
    );
    assert!(!sandbox::page(&app.state, &admin).await.unwrap().can_add());

    // A lower limit set by the provider applies at once (the single-token edition).
    let org = app.org_id("acme").await;
    app.state
        .store
        .set_org(org, OrgChange::TokenLimit(1))
        .await
        .unwrap();
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert_eq!(page.limit, 1);
    assert!(!page.can_add());
}

#[tokio::test]
async fn names_are_validated_and_unique() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    for bad in ["", "   ", &"x".repeat(65), "tab\there"] {
        let err = sandbox::add(&app.state, &admin, bad).await.err().unwrap();
        assert!(
            err.field("name").is_some(),
            "{bad:?} should be refused: {err:?}"
        );
    }
    assert!(
        sandbox::add(&app.state, &admin, &"é".repeat(64))
            .await
            .is_ok()
    );
    let dup = sandbox::add(&app.state, &admin, "primary")
        .await
        .err()
        .unwrap();
    assert!(dup.to_string().contains("already exists"), "{dup}");
    let tokens = sandbox::page(&app.state, &admin).await.unwrap().tokens;
    let err = sandbox::rename(&app.state, &admin, tokens[1].id, "PRIMARY")
        .await
        .err()
        .unwrap();
    assert!(err.field("name").is_some());
    sandbox::rename(&app.state, &admin, tokens[1].id, "  Renamed  ")
        .await
        .unwrap();
    let renamed = sandbox::page(&app.state, &admin).await.unwrap().tokens;
    assert_eq!(renamed[1].name, "Renamed");
    assert_eq!(renamed[1].last_modified_by, "api@acme.example");
}

#[tokio::test]
async fn view_only_roles_change_nothing_even_when_called_directly() {
    let app = TestApp::new().await;
    let id = sandbox::page(&app.state, &app.actor("api@acme.example", "acme").await)
        .await
        .unwrap()
        .tokens[0]
        .id;
    for user in [
        "readonly@acme.example",
        "connector@acme.example",
        "provider@keyport.example",
    ] {
        let who = app.actor(user, "acme").await;
        assert_eq!(
            sandbox::add(&app.state, &who, "x").await.err(),
            Some(AppError::forbidden()),
            "{user}"
        );
        assert!(matches!(
            sandbox::regenerate(&app.state, &who, id).await,
            Err(AppError::Forbidden { .. })
        ));
        assert!(matches!(
            sandbox::delete(&app.state, &who, id).await,
            Err(AppError::Forbidden { .. })
        ));
        assert!(matches!(
            sandbox::rename(&app.state, &who, id, "y").await,
            Err(AppError::Forbidden { .. })
        ));
    }
    let readonly = app.actor("readonly@acme.example", "acme").await;
    assert!(matches!(
        sandbox::reveal(&app.state, &readonly, id).await,
        Err(AppError::Forbidden { .. })
    ));
    let connector = app.actor("connector@acme.example", "acme").await;
    assert_eq!(
        sandbox::reveal(&app.state, &connector, id)
            .await
            .unwrap()
            .expose_secret()
            .len(),
        32
    );
}

#[tokio::test]
async fn another_organisations_token_is_not_found() {
    let app = TestApp::new().await;
    let acme_token = sandbox::page(&app.state, &app.actor("api@acme.example", "acme").await)
        .await
        .unwrap()
        .tokens[0]
        .id;
    let multi_in_globex = app.actor("multi@example.com", "globex").await;
    assert!(matches!(
        sandbox::reveal(&app.state, &multi_in_globex, acme_token).await,
        Err(AppError::NotFound { .. })
    ));
}

#[tokio::test]
async fn expired_subscription_allows_viewing_only() {
    let app = TestApp::new().await;
    let globex = app.actor("api@globex.example", "globex").await;
    let id = sandbox::page(&app.state, &globex).await.unwrap().tokens[0].id;
    for result in [
        sandbox::add(&app.state, &globex, "New").await.err(),
        sandbox::regenerate(&app.state, &globex, id).await.err(),
        sandbox::rename(&app.state, &globex, id, "Other")
            .await
            .err(),
        sandbox::delete(&app.state, &globex, id).await.err(),
    ] {
        assert!(
            matches!(result, Some(AppError::SubscriptionExpired { .. })),
            "{result:?}"
        );
    }
    // Renewal re-enables the kept tokens.
    let org = app.org_id("globex").await;
    app.state
        .store
        .set_subscription(org, SubscriptionKind::Sandbox, Subscription::Active, None)
        .await
        .unwrap();
    let page = sandbox::page(&app.state, &globex).await.unwrap();
    assert_eq!(page.tokens[0].status, TokenStatus::Enabled);
    assert!(page.can_add());
}

#[tokio::test]
async fn no_subscription_shows_no_table_and_refuses_everything() {
    let app = TestApp::new().await;
    let org = app.org_id("acme").await;
    app.state
        .store
        .set_subscription(org, SubscriptionKind::Sandbox, Subscription::None, None)
        .await
        .unwrap();
    let admin = app.actor("api@acme.example", "acme").await;
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert!(page.tokens.is_empty());
    assert!(!page.can_add() && !page.can_reveal);
    assert!(matches!(
        sandbox::add(&app.state, &admin, "x").await,
        Err(AppError::NoSubscription { .. })
    ));
}

#[tokio::test]
async fn provider_disable_blocks_add_regenerate_delete_but_not_rename() {
    let app = TestApp::new().await;
    let org = app
        .state
        .store
        .org_by_short_name("acme")
        .await
        .unwrap()
        .unwrap();
    let primary = app.token_id("acme", "Primary").await;
    app.provider_set(
        &org.short_name,
        Target::One(CredentialRef::SandboxToken(primary)),
        Some(DisableReason::TermsViolation),
    )
    .await;
    let admin = app.actor("api@acme.example", "acme").await;
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert_eq!(page.disabled_reason, Some(DisableReason::TermsViolation));
    assert_eq!(
        page.tokens[0].status,
        TokenStatus::DisabledByProvider(DisableReason::TermsViolation)
    );
    assert!(!page.can_add());
    let id = page.tokens[0].id;
    assert!(matches!(
        sandbox::add(&app.state, &admin, "x").await,
        Err(AppError::TokenDisabled { .. })
    ));
    assert!(matches!(
        sandbox::regenerate(&app.state, &admin, id).await,
        Err(AppError::TokenDisabled { .. })
    ));
    assert!(matches!(
        sandbox::delete(&app.state, &admin, id).await,
        Err(AppError::TokenDisabled { .. })
    ));
    sandbox::rename(&app.state, &admin, id, "Renamed")
        .await
        .unwrap();

    app.provider_set(&org.short_name, Target::AllSandboxTokens, None)
        .await;
    assert!(sandbox::page(&app.state, &admin).await.unwrap().can_add());
}

#[tokio::test]
async fn changes_are_audited_without_secrets() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let issued = sandbox::add(&app.state, &admin, "Audited").await.unwrap();
    let revealed = sandbox::reveal(&app.state, &admin, issued.view.id)
        .await
        .unwrap();
    let regenerated = sandbox::regenerate(&app.state, &admin, issued.view.id)
        .await
        .unwrap();
    sandbox::delete(&app.state, &admin, issued.view.id)
        .await
        .unwrap();
    let _ = sandbox::add(
        &app.state,
        &app.actor("api@globex.example", "globex").await,
        "Refused",
    )
    .await;

    let log = app.state.store.all_audit().await.unwrap();
    let actions: Vec<_> = log
        .iter()
        .filter(|r| r.admin.ends_with(".example") && r.sub_category == "Sandbox API Token")
        .map(|r| (r.action.label(), r.result.code(), r.org.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("Create", "success", "acme"),
            ("Reveal", "success", "acme"),
            ("Regenerate", "success", "acme"),
            ("Delete", "success", "acme"),
            ("Create", "failure", "globex"),
        ]
    );
    for secret in [
        issued.secret.expose_secret(),
        revealed.expose_secret(),
        regenerated.secret.expose_secret(),
    ] {
        assert!(
            !log.iter().any(|r| format!("{r:?}").contains(secret)),
            "a secret reached the audit log"
        );
    }
}
