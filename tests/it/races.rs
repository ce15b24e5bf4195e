//! Rules that must hold under concurrent requests, on whichever database the
//! suite runs against (SQLite, or PostgreSQL with KEYPORT_TEST_DATABASE_URL):
//! the token limit against 50 parallel Adds, and parallel Regenerates of one
//! token, each repeated 20 times. No database busy or serialization error
//! may reach a caller: every answer is a success or the rule's own refusal.

use crate::common::TestApp;
use axum::http::StatusCode;
use keyport::api::sandbox::IssuedToken;
use keyport::error::AppError;
use keyport::model::SandboxPage;

const ROUNDS: usize = 20;

async fn token_ids(app: &TestApp, cookie: &str) -> Vec<i64> {
    app.call(Some(cookie), "sandbox-tokens/list", &[])
        .await
        .parse::<SandboxPage>()
        .tokens
        .iter()
        .map(|t| t.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_adds_against_a_limit_of_five_twenty_times() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    for round in 0..ROUNDS {
        for id in token_ids(&app, &cookie).await {
            let reply = app
                .call(
                    Some(&cookie),
                    "sandbox-tokens/delete",
                    &[("id", &id.to_string())],
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "delete: {}", reply.text);
        }
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let caller = app.caller.clone();
                let cookie = cookie.clone();
                tokio::spawn(async move {
                    caller
                        .call(
                            Some(&cookie),
                            "sandbox-tokens/add",
                            &[("name", &format!("Round {round} #{i}"))],
                        )
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            let reply = task.await.expect("task");
            match reply.status {
                StatusCode::OK => ok += 1,
                StatusCode::CONFLICT => assert_eq!(
                    reply.parse::<AppError>().to_string(),
                    "Delete an existing token before adding a new one.",
                    "round {round}"
                ),
                other => panic!("round {round}: unexpected {other}: {}", reply.text),
            }
        }
        assert_eq!(ok, 5, "round {round}");
        assert_eq!(token_ids(&app, &cookie).await.len(), 5, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_regenerates_leave_exactly_one_valid_secret() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let id = token_ids(&app, &cookie).await[0].to_string();
    for round in 0..ROUNDS {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let caller = app.caller.clone();
                let cookie = cookie.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    caller
                        .call(Some(&cookie), "sandbox-tokens/regenerate", &[("id", &id)])
                        .await
                })
            })
            .collect();
        let mut secrets = Vec::new();
        for task in tasks {
            let reply = task.await.expect("task");
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "round {round}: {}",
                reply.text
            );
            secrets.push(reply.parse::<IssuedToken>().secret);
        }
        let mut valid = 0;
        for secret in &secrets {
            let quota = app
                .get(
                    None,
                    &format!("/o/acme/sandbox/report/quota?api_token={secret}"),
                )
                .await;
            match quota.status {
                StatusCode::OK => valid += 1,
                StatusCode::UNAUTHORIZED => {}
                other => panic!("round {round}: unexpected {other}: {}", quota.text),
            }
        }
        assert_eq!(
            valid, 1,
            "round {round}: exactly the last regenerated secret works"
        );
    }
}

/// The write path checks §3 inside its transaction (docs/STATES.md): a
/// provider disable that commits while a Regenerate waits for the
/// organisation's write lock is seen by the Regenerate, which is refused
/// and changes nothing. Before, the state was read first and the write
/// went ahead on what it had read.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_disable_landing_between_check_and_change_is_honoured() {
    use keyport::server::store::Backend;
    let app = TestApp::new().await;
    let actor = app.actor("api@acme.example", "acme").await;
    let org = app.org_id("acme").await;
    let token = app.token_id("acme", "Primary").await;
    let pool = app.state.store.pool().clone();
    let before: (Vec<u8>,) =
        sqlx::query_as("SELECT secret_digest FROM sandbox_tokens WHERE id = $1")
            .bind(token)
            .fetch_one(&pool)
            .await
            .unwrap();

    // Hold the organisation's write lock, as a provider change in flight does.
    let mut held = match app.state.store.backend() {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await.unwrap(),
        Backend::Postgres => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SELECT id FROM organisations WHERE id = $1 FOR NO KEY UPDATE")
                .bind(org)
                .fetch_optional(&mut *tx)
                .await
                .unwrap();
            tx
        }
    };
    let state = app.state.clone();
    let regenerate =
        tokio::spawn(
            async move { keyport::server::sandbox::regenerate(&state, &actor, token).await },
        );
    // Let the Regenerate reach the lock, then disable and let it go.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !regenerate.is_finished(),
        "the Regenerate did not wait for the write lock"
    );
    sqlx::query("UPDATE sandbox_tokens SET disabled_reason = 'terms_violation' WHERE org_id = $1")
        .bind(org)
        .execute(&mut *held)
        .await
        .unwrap();
    held.commit().await.unwrap();

    let outcome = regenerate.await.unwrap();
    let error = outcome
        .err()
        .expect("the Regenerate went ahead on a stale state");
    assert_eq!(error.code(), "token_disabled");
    let after: (Vec<u8>,) =
        sqlx::query_as("SELECT secret_digest FROM sandbox_tokens WHERE id = $1")
            .bind(token)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(before, after, "the secret changed");
    let refusal = &app.state.store.recent_audit("acme", 1).await.unwrap()[0];
    assert!(
        refusal
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("token_disabled")),
        "{refusal:?}"
    );
}
