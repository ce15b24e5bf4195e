//! The per-token daily cap: checked in the same write transaction as the
//! organisation's allowance, so parallel submissions cannot pass it, and a
//! token over its cap neither uses the allowance nor trips the threshold
//! that disables every token.

use super::submit_from;
use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::model::{CredentialPolicy, TokenStatus};
use keyport::server::{day_start, now_ms, sandbox};

const ROUNDS: usize = 5;

async fn capped_token(app: &TestApp, name: &str, cap: i64) -> (i64, String) {
    let admin = app.actor("api@acme.example", "acme").await;
    let policy = CredentialPolicy {
        daily_cap: Some(cap),
        ..Default::default()
    };
    let issued = sandbox::add_with_policy(&app.state, &admin, name, &policy)
        .await
        .unwrap();
    assert_eq!(issued.view.policy.daily_cap, Some(cap));
    let secret = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();
    (issued.view.id, secret)
}

async fn submissions_today(app: &TestApp) -> i64 {
    let org = app.org_id("acme").await;
    app.state
        .store
        .submissions_since(org, day_start(now_ms()))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_cap_parallel_submissions_are_accepted() {
    let app = TestApp::with_settings(|s| {
        s.submit_rate_per_second = 1_000_000;
        s.submit_rate_per_hour = 1_000_000;
    })
    .await;
    let org = app.org_id("acme").await;
    sqlx::query("UPDATE organisations SET sandbox_daily_allowance = 10000 WHERE id = $1")
        .bind(org)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let mut expected_total = 0;
    for round in 0..ROUNDS {
        let cap = 3 + round as i64;
        let (_, token) = capped_token(&app, &format!("Burst {round}"), cap).await;
        let tasks: Vec<_> = (0..25)
            .map(|_| {
                let caller = app.caller.clone();
                let token = token.clone();
                tokio::spawn(
                    async move { submit_from(&caller, "acme", &token, "127.0.0.1:5000").await },
                )
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            let reply = task.await.expect("task");
            match reply.status {
                StatusCode::OK => accepted += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(reply.code(), "TOKEN_DAILY_CAP_EXCEEDED", "round {round}");
                    assert!(reply.headers.contains_key("retry-after"));
                }
                other => panic!("round {round}: unexpected {other}: {}", reply.text),
            }
        }
        assert_eq!(accepted, cap, "round {round}");
        expected_total += cap;
        assert_eq!(
            submissions_today(&app).await,
            expected_total,
            "round {round}"
        );
        // Each round's token is deleted so the next one fits the limit of 5.
        let admin = app.actor("api@acme.example", "acme").await;
        let id = app.token_id("acme", &format!("Burst {round}")).await;
        sandbox::delete(&app.state, &admin, id).await.unwrap();
    }
}

#[tokio::test]
async fn a_capped_token_cannot_trip_the_organisations_threshold() {
    let app = TestApp::new().await;
    let org = app.org_id("acme").await;
    sqlx::query("UPDATE organisations SET sandbox_daily_allowance = 4 WHERE id = $1")
        .bind(org)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let (busy_id, busy) = capped_token(&app, "Busy", 2).await;
    for i in 0..10 {
        let reply = submit_from(&app.caller, "acme", &busy, "127.0.0.1:5000").await;
        let expected = if i < 2 {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_status(&reply, expected, &format!("submission {i}"));
        if i >= 2 {
            assert_eq!(reply.code(), "TOKEN_DAILY_CAP_EXCEEDED");
        }
    }
    assert_eq!(
        submissions_today(&app).await,
        2,
        "capped calls use no allowance"
    );
    // Nothing was disabled: the other tokens, and the capped one's page row.
    let admin = app.actor("api@acme.example", "acme").await;
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert_eq!(page.disabled_reason, None);
    assert!(page.tokens.iter().all(|t| t.status == TokenStatus::Enabled));
    let other = sandbox::add(&app.state, &admin, "Other").await.unwrap();
    let other = secrecy::ExposeSecret::expose_secret(&other.secret).to_owned();
    for i in 0..2 {
        let reply = submit_from(&app.caller, "acme", &other, "127.0.0.1:5000").await;
        assert_status(&reply, StatusCode::OK, &format!("other token {i}"));
    }
    // The allowance itself still holds: the next submission past it is the
    // one that disables the organisation's tokens, as before.
    let over = submit_from(&app.caller, "acme", &other, "127.0.0.1:5000").await;
    assert_eq!(over.code(), "RATE_LIMIT_EXCEEDED");
    let page = sandbox::page(&app.state, &admin).await.unwrap();
    assert!(page.disabled_reason.is_some());
    // And the capped token's count is its own: Edit can raise the cap.
    let row = page.tokens.iter().find(|t| t.id == busy_id).unwrap();
    assert_eq!(row.policy.daily_cap, Some(2));
}

#[tokio::test]
async fn raising_or_clearing_the_cap_applies_at_once() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let (id, token) = capped_token(&app, "Adjusted", 1).await;
    assert_status(
        &submit_from(&app.caller, "acme", &token, "127.0.0.1:5000").await,
        StatusCode::OK,
        "first",
    );
    let capped = submit_from(&app.caller, "acme", &token, "127.0.0.1:5000").await;
    assert_eq!(capped.code(), "TOKEN_DAILY_CAP_EXCEEDED");
    sandbox::edit(
        &app.state,
        &admin,
        id,
        "Adjusted",
        Some(&CredentialPolicy::default()),
    )
    .await
    .unwrap();
    assert_status(
        &submit_from(&app.caller, "acme", &token, "127.0.0.1:5000").await,
        StatusCode::OK,
        "cap cleared",
    );
}
