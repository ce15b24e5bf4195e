//! Every server function over HTTP, called anonymously, by each role and by
//! another organisation's admin, with the status each must get.

use crate::common::{TestApp, assert_status};
use axum::http::StatusCode;
use keyport::api::sandbox::IssuedToken;
use keyport::error::AppError;
use keyport::model::{SandboxPage, Viewer};

async fn first_token_id(app: &TestApp, cookie: &str) -> i64 {
    let list = app.call(Some(cookie), "sandbox-tokens/list", &[]).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.parse::<SandboxPage>().tokens[0].id
}

#[tokio::test]
async fn anonymous_callers_get_401_from_every_guarded_function() {
    let app = TestApp::new().await;
    for (endpoint, form) in [
        ("sandbox-tokens/list", vec![]),
        ("sandbox-tokens/add", vec![("name", "x")]),
        ("sandbox-tokens/rename", vec![("id", "1"), ("name", "x")]),
        ("sandbox-tokens/regenerate", vec![("id", "1")]),
        ("sandbox-tokens/delete", vec![("id", "1")]),
        ("sandbox-tokens/reveal", vec![("id", "1")]),
    ] {
        let reply = app.call(None, endpoint, &form).await;
        assert_status(&reply, StatusCode::UNAUTHORIZED, endpoint);
        assert_eq!(reply.code(), "unauthorized");
    }
    let current = app.call(None, "session/current", &[]).await;
    assert_status(&current, StatusCode::OK, "session/current");
    assert_eq!(current.parse::<Option<Viewer>>(), None);
}

#[tokio::test]
async fn managing_roles_can_do_everything() {
    let app = TestApp::new().await;
    for user in [
        "super@acme.example",
        "api@acme.example",
        "multi@example.com",
    ] {
        let cookie = app.sign_in(user).await;
        let added = app
            .call(Some(&cookie), "sandbox-tokens/add", &[("name", user)])
            .await;
        assert_status(&added, StatusCode::OK, "add");
        let IssuedToken { token, secret } = added.parse();
        let id = token.id.to_string();
        assert_eq!(secret.len(), 32);
        assert!(!token.masked.contains(&secret));

        let revealed = app
            .call(Some(&cookie), "sandbox-tokens/reveal", &[("id", &id)])
            .await;
        assert_status(&revealed, StatusCode::OK, "reveal");
        assert_eq!(revealed.parse::<String>(), secret);
        assert_status(
            &app.call(
                Some(&cookie),
                "sandbox-tokens/rename",
                &[("id", &id), ("name", "Renamed")],
            )
            .await,
            StatusCode::OK,
            "rename",
        );
        let regenerated = app
            .call(Some(&cookie), "sandbox-tokens/regenerate", &[("id", &id)])
            .await;
        assert_status(&regenerated, StatusCode::OK, "regenerate");
        assert_ne!(regenerated.parse::<IssuedToken>().secret, secret);
        assert_status(
            &app.call(Some(&cookie), "sandbox-tokens/delete", &[("id", &id)])
                .await,
            StatusCode::OK,
            "delete",
        );
    }
}

#[tokio::test]
async fn view_only_roles_get_403_and_nothing_changes() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let id = first_token_id(&app, &api).await.to_string();
    let before: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    for (user, may_reveal) in [
        ("readonly@acme.example", false),
        ("connector@acme.example", true),
        ("provider@keyport.example", true),
    ] {
        let cookie = app.sign_in(user).await;
        assert_status(
            &app.call(Some(&cookie), "sandbox-tokens/list", &[]).await,
            StatusCode::OK,
            user,
        );
        for (endpoint, form) in [
            ("sandbox-tokens/add", vec![("name", "Sneaky")]),
            (
                "sandbox-tokens/rename",
                vec![("id", id.as_str()), ("name", "Sneaky")],
            ),
            ("sandbox-tokens/regenerate", vec![("id", id.as_str())]),
            ("sandbox-tokens/delete", vec![("id", id.as_str())]),
        ] {
            let reply = app.call(Some(&cookie), endpoint, &form).await;
            assert_status(&reply, StatusCode::FORBIDDEN, &format!("{user} {endpoint}"));
            assert_eq!(reply.code(), "forbidden");
        }
        let reveal = app
            .call(Some(&cookie), "sandbox-tokens/reveal", &[("id", &id)])
            .await;
        let expected = if may_reveal {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_status(&reveal, expected, &format!("{user} reveal"));
    }
    let mut after: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    // The allowed reveals above are listed under "Who looked"; that is
    // not a change the refused calls made.
    for token in &mut after.tokens {
        token.reveals.clear();
    }
    assert_eq!(before, after, "a refused call changed something");
    let refusals = app.state.store.recent_audit("acme", 100).await.unwrap();
    // Each of the three roles was refused the four changes, and read-only
    // its reveal: 3 × 4 + 1, every one recorded.
    assert_eq!(
        refusals
            .iter()
            .filter(|r| r.result == keyport::model::AuditResult::Failure
                && r.action == keyport::model::AuditAction::Access)
            .count(),
        13
    );
}

#[tokio::test]
async fn another_organisations_admin_cannot_touch_acme_tokens() {
    let app = TestApp::new().await;
    let acme = app.sign_in("api@acme.example").await;
    let id = first_token_id(&app, &acme).await.to_string();
    let globex = app.sign_in("api@globex.example").await;
    for (endpoint, form) in [
        ("sandbox-tokens/reveal", vec![("id", id.as_str())]),
        (
            "sandbox-tokens/rename",
            vec![("id", id.as_str()), ("name", "Mine")],
        ),
        ("sandbox-tokens/regenerate", vec![("id", id.as_str())]),
        ("sandbox-tokens/delete", vec![("id", id.as_str())]),
    ] {
        let reply = app.call(Some(&globex), endpoint, &form).await;
        assert_status(&reply, StatusCode::NOT_FOUND, endpoint);
    }
    let list: SandboxPage = app
        .call(Some(&globex), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(list.tokens.len(), 1, "globex sees only its own token");
    let add = app
        .call(Some(&globex), "sandbox-tokens/add", &[("name", "x")])
        .await;
    assert_status(
        &add,
        StatusCode::FORBIDDEN,
        "add with an expired subscription",
    );
    assert_eq!(add.code(), "subscription_expired");
}

#[tokio::test]
async fn bad_input_gets_a_clear_message_and_changes_nothing() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let empty = app
        .call(Some(&cookie), "sandbox-tokens/add", &[("name", "  ")])
        .await;
    assert_status(&empty, StatusCode::BAD_REQUEST, "empty name");
    assert_eq!(empty.code(), "validation");
    assert_eq!(
        empty.parse::<AppError>().field("name"),
        Some("Enter a name for the token.")
    );
    let missing = app
        .call(Some(&cookie), "sandbox-tokens/rename", &[("name", "x")])
        .await;
    assert_status(&missing, StatusCode::BAD_REQUEST, "missing id");
    let unknown = app
        .call(Some(&cookie), "sandbox-tokens/delete", &[("id", "999999")])
        .await;
    assert_status(&unknown, StatusCode::NOT_FOUND, "unknown id");
    let list: SandboxPage = app
        .call(Some(&cookie), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(list.tokens.len(), 2);
}
