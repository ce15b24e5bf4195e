//! Sign-in bursts: guesses sent in parallel must not outrun the lock, a
//! right password on a locked account must answer exactly like a wrong
//! one, and unknown usernames lock the same way (no enumeration).

use crate::common::{Reply, TestApp};
use axum::http::StatusCode;
use keyport::server::demo::DEMO_PASSWORD;

/// How many attempts on `username` reached argon2 and failed (the audit
/// says "invalid credentials", with or without "; account locked").
async fn checked_failures(app: &TestApp, admin: &str) -> usize {
    app.state
        .store
        .all_audit()
        .await
        .unwrap()
        .iter()
        .filter(|r| {
            r.action == keyport::model::AuditAction::SignIn
                && r.admin == admin
                && r.reason
                    .as_deref()
                    .is_some_and(|x| x.starts_with("invalid credentials"))
        })
        .count()
}

async fn burst(
    app: &TestApp,
    username: &str,
    passwords: Vec<String>,
) -> Vec<Result<String, Reply>> {
    let tasks: Vec<_> = passwords
        .into_iter()
        .map(|p| {
            let caller = app.caller.clone();
            let username = username.to_owned();
            tokio::spawn(async move {
                let reply = caller
                    .call(
                        None,
                        "session/sign-in",
                        &[("username", &username), ("password", &p)],
                    )
                    .await;
                if reply.status.is_success() {
                    Ok(p)
                } else {
                    Err(reply)
                }
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twelve_parallel_guesses_check_at_most_five_and_the_lock_does_not_tell() {
    let app = TestApp::new().await;
    let user = "readonly@acme.example";
    let mut passwords: Vec<String> = (0..11).map(|i| format!("wrong-guess-{i}")).collect();
    passwords.push(DEMO_PASSWORD.to_owned());
    let results = burst(&app, user, passwords).await;

    let refusals: Vec<&Reply> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    // Every refusal is the same answer: status and body.
    for r in &refusals {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
        assert_eq!(r.text, refusals[0].text, "refusals differ");
    }
    let checked = checked_failures(&app, user).await;
    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    assert!(
        checked + succeeded <= 5,
        "{checked} wrong and {succeeded} right passwords were checked: the lock holds at 5"
    );

    // Once locked, the right password gets the wrong password's answer.
    for _ in 0..5 {
        let _ = app.try_sign_in(user, "wrong-again").await;
    }
    let right = app.try_sign_in(user, DEMO_PASSWORD).await.unwrap_err();
    let wrong = app.try_sign_in(user, "wrong-once-more").await.unwrap_err();
    assert_eq!(right.status, wrong.status);
    assert_eq!(right.text, wrong.text);
    // A bound, not a count: how many of the burst's guesses were checked
    // (and whether its right password got in and reset the counter before
    // the lock) depends on how the parallel requests interleaved.
    assert!(checked_failures(&app, user).await <= 5 + 5);
    // Another account is not affected.
    app.sign_in("api@acme.example").await;
}

#[tokio::test]
async fn exactly_five_sequential_failures_lock_the_account() {
    let app = TestApp::new().await;
    let user = "super@acme.example";
    for _ in 0..4 {
        app.try_sign_in(user, "wrong-password-1").await.unwrap_err();
    }
    // Four failures: the right password still works.
    app.sign_in(user).await;
    app.try_sign_in(user, "wrong-password-1").await.unwrap_err();
    // The fifth failure within the minute locks it.
    let locked = app.try_sign_in(user, DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert_eq!(checked_failures(&app, user).await, 5);
}

#[tokio::test]
async fn unknown_usernames_lock_like_known_ones() {
    let app = TestApp::new().await;
    let answers = |user: &'static str| {
        let app = &app;
        async move {
            let mut out = Vec::new();
            for _ in 0..7 {
                let r = app.try_sign_in(user, "wrong-password-1").await.unwrap_err();
                out.push((r.status, r.text));
            }
            out
        }
    };
    let known = answers("api@globex.example").await;
    let unknown = answers("nobody@globex.example").await;
    assert_eq!(known, unknown, "the lock tells which accounts exist");
    let locks: Vec<(String,)> =
        sqlx::query_as("SELECT username FROM sign_in_locks ORDER BY username")
            .fetch_all(app.state.store.pool())
            .await
            .unwrap();
    assert_eq!(
        locks,
        vec![
            ("api@globex.example".to_owned(),),
            ("nobody@globex.example".to_owned(),)
        ]
    );
}

#[tokio::test]
async fn failed_sign_ins_show_in_the_accounts_organisations_and_unknown_ones_to_providers() {
    let app = TestApp::new().await;
    app.try_sign_in("multi@example.com", "wrong-password-1")
        .await
        .unwrap_err();
    app.try_sign_in("evil\u{202e}moc.elpmaxe@x", "wrong-password-1")
        .await
        .unwrap_err();
    for org in ["acme", "globex"] {
        let log = app.state.store.recent_audit(org, 50).await.unwrap();
        assert!(
            log.iter()
                .any(|r| r.action == keyport::model::AuditAction::SignIn
                    && r.result == keyport::model::AuditResult::Failure
                    && r.admin == "multi@example.com"),
            "{org} does not see the failed sign-in of its admin"
        );
    }
    // The unknown name was refused as input (hidden character): nothing stored.
    let all = app.state.store.all_audit().await.unwrap();
    assert!(!all.iter().any(|r| format!("{r:?}").contains('\u{202e}')));

    app.try_sign_in("nobody@acme.example", "wrong-password-1")
        .await
        .unwrap_err();
    let all = app.state.store.all_audit().await.unwrap();
    let unknown: Vec<_> = all
        .iter()
        .filter(|r| r.admin.starts_with("unknown user #"))
        .collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(
        unknown[0].org, "",
        "an unknown name belongs to no organisation"
    );
    assert!(!all.iter().any(|r| r.admin.contains("nobody@acme.example")));

    // Providers see the entries of no organisation; others do not.
    let provider = app.sign_in("provider@keyport.example").await;
    let page = app.call(Some(&provider), "audit-log/list", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains("unknown user #"));
    let admin = app.sign_in("super@acme.example").await;
    let page = app.call(Some(&admin), "audit-log/list", &[]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(!page.text.contains("unknown user #"));
}
