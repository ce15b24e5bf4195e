//! Rules that must hold under concurrent requests, on whichever database the
//! suite runs against (SQLite, or PostgreSQL with KEYPORT_TEST_DATABASE_URL):
//! the token limit against 50 parallel Adds, and parallel Regenerates of one
//! token, each repeated 20 times. No database busy or serialization error
//! may reach a caller: every answer is a success or the rule's own refusal.

mod common;

use axum::http::StatusCode;
use common::TestApp;

const ROUNDS: usize = 20;

async fn token_ids(app: &TestApp, cookie: &str) -> Vec<i64> {
    app.call(Some(cookie), "sandbox-tokens/list", &[])
        .await
        .json()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
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
                    reply.json()["message"],
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
            secrets.push(reply.json()["secret"].as_str().unwrap().to_owned());
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
