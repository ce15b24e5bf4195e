//! Kept renders (src/server/page_cache.rs): a page served again is the page
//! a fresh render draws, after every kind of change, for each admin only,
//! and never to someone signed out; refusals and errors are not kept; the
//! clock alone (an expiry passing) ends a kept render.

use crate::common::{Caller, Reply, TestApp, assert_status};
use axum::http::{StatusCode, header};
use keyport::model::{DisableReason, Subscription, SubscriptionKind};
use keyport::paths;
use keyport::server::provider::{self, Operator, Target};

const PAGES: [&str; 6] = [
    paths::OVERVIEW,
    paths::SANDBOX_API_TOKEN,
    paths::CLOUD_SERVICE_API_KEY,
    paths::OAUTH_SERVERS,
    paths::CONNECTOR_KEY_MANAGEMENT,
    paths::AUDIT_LOGS,
];

/// The nonce of a page's Content-Security-Policy.
fn nonce(page: &Reply) -> String {
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("csp");
    let start = csp.find("'nonce-").expect("a nonce") + "'nonce-".len();
    csp[start..start + csp[start..].find('\'').expect("end")].to_owned()
}

/// A page's markup with its nonce blanked wherever it is (the scripts, and
/// Leptos writes it into the preloads' `crossorigin` too): the one part
/// new on every view.
fn without_nonce(page: &Reply) -> String {
    match page.headers.get(header::CONTENT_SECURITY_POLICY) {
        Some(_) => page.text.replace(&nonce(page), "NONCE"),
        None => page.text.clone(),
    }
}

/// Waits, if need be, until the next minute has started. A kept render
/// ends when a minute does (usage counts are per minute), so a test that
/// counts the pages served again needs the next `ms` clear of that turn;
/// under the suite's load a few renders can take a second or more.
async fn clear_of_the_minute_turn(ms: i64) {
    let to_turn = 60_000 - keyport::server::now_ms().rem_euclid(60_000);
    if to_turn < ms {
        tokio::time::sleep(std::time::Duration::from_millis(to_turn as u64 + 10)).await;
    }
}

/// Every page, served by `app` (kept renders) and by `fresh` (none), is the same.
async fn assert_pages_current(app: &TestApp, fresh: &Caller, cookie: &str, after: &str) {
    for page in PAGES {
        let kept = app.get(Some(cookie), page).await;
        let drawn = fresh.get(Some(cookie), page).await;
        assert_eq!(kept.status, drawn.status, "{page} after {after}");
        assert_eq!(
            without_nonce(&kept),
            without_nonce(&drawn),
            "{page} after {after}: the kept page is not the current one"
        );
    }
}

#[tokio::test]
async fn a_kept_page_is_what_a_fresh_render_draws_after_every_kind_of_change() {
    let app = TestApp::new().await;
    let fresh = app.uncached();
    let api = app.sign_in("api@acme.example").await;
    let sup = app.sign_in("super@acme.example").await;
    // Each page is kept, then served again.
    clear_of_the_minute_turn(10_000).await;
    assert_pages_current(&app, &fresh, &api, "signing in").await;
    let before = app.state.pages.served();
    assert_pages_current(&app, &fresh, &api, "nothing").await;
    assert_eq!(
        app.state.pages.served() - before,
        PAGES.len() as u64,
        "an unchanged page is served from its kept render"
    );

    let added = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Kept one")])
        .await;
    assert_status(&added, StatusCode::OK, "add");
    assert_pages_current(&app, &fresh, &api, "an added token").await;
    let id = app.token_id("acme", "Kept one").await.to_string();
    let steps: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "sandbox-tokens/rename",
            vec![("id", id.as_str()), ("name", "Kept two")],
        ),
        ("sandbox-tokens/reveal", vec![("id", id.as_str())]),
        ("sandbox-tokens/regenerate", vec![("id", id.as_str())]),
        ("api-keys/regenerate", vec![("kind", "cloud_service")]),
    ];
    for (endpoint, form) in steps {
        let reply = app.call(Some(&api), endpoint, &form).await;
        assert_status(&reply, StatusCode::OK, endpoint);
        assert_pages_current(&app, &fresh, &api, endpoint).await;
    }
    // A submission: the day's quota on the Sandbox page.
    let secret: String = app
        .call(Some(&api), "sandbox-tokens/reveal", &[("id", &id)])
        .await
        .parse();
    assert_pages_current(&app, &fresh, &api, "a reveal").await;
    let submitted = app.submit("acme", &secret, b"MZ kept page").await;
    assert!(submitted.status.is_success(), "{}", submitted.text);
    assert_pages_current(&app, &fresh, &api, "a submission").await;
    // The admin's own saved layout.
    let layout = serde_json::json!({
        "table": "sandbox_tokens",
        "layout": {"columns": [["calls_24h", true], ["name", true]], "sort": ["name", false]}
    });
    let saved = app
        .caller
        .send(
            axum::http::Request::post("/api/tables/save-layout")
                .header(header::HOST, crate::common::HOST)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/json")
                .header(header::COOKIE, &api)
                .body(axum::body::Body::from(layout.to_string()))
                .expect("request"),
        )
        .await;
    assert_status(&saved, StatusCode::OK, "save layout");
    assert_pages_current(&app, &fresh, &api, "a saved layout").await;
    // Another admin's change: deleting the token, and the audit log that
    // records it, are on the API Admin's pages too.
    let deleted = app
        .call(Some(&sup), "sandbox-tokens/delete", &[("id", &id)])
        .await;
    assert_status(&deleted, StatusCode::OK, "delete");
    assert_pages_current(&app, &fresh, &api, "another admin's delete").await;
    assert_pages_current(&app, &fresh, &sup, "another admin's delete").await;
    // The provider's changes, made without a portal request.
    app.provider_set(
        "acme",
        Target::AllSandboxTokens,
        Some(DisableReason::TermsViolation),
    )
    .await;
    assert_pages_current(&app, &fresh, &api, "tokens disabled").await;
    provider::set_subscription(
        &app.state,
        &Operator::cli(),
        "acme",
        SubscriptionKind::Api,
        Subscription::Expired,
        None,
    )
    .await
    .expect("subscription");
    assert_pages_current(&app, &fresh, &api, "an expired subscription").await;
}

#[tokio::test]
async fn a_kept_page_is_only_ever_served_to_the_admin_it_was_drawn_for() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let readonly = app.sign_in("readonly@acme.example").await;
    let globex = app.sign_in("api@globex.example").await;
    for _ in 0..2 {
        let mine = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await;
        assert_status(&mine, StatusCode::OK, "api admin");
        assert!(mine.text.contains("api@acme.example"));
    }
    let theirs = app.get(Some(&readonly), paths::SANDBOX_API_TOKEN).await;
    assert_status(&theirs, StatusCode::OK, "read-only admin");
    assert!(theirs.text.contains("readonly@acme.example"));
    assert!(!theirs.text.contains("api@acme.example</"));
    assert!(
        theirs.text.contains("can see this page but not change it"),
        "the read-only admin's own view"
    );
    let other_org = app.get(Some(&globex), paths::SANDBOX_API_TOKEN).await;
    assert_status(&other_org, StatusCode::OK, "globex");
    assert!(
        other_org.text.contains("/o/globex"),
        "globex's own Base URL"
    );
    assert!(!other_org.text.contains("/o/acme"), "nothing of acme");

    // Signed out, and with no cookie or a forged one: the sign-in page.
    let out = app.call(Some(&api), "session/sign-out", &[]).await;
    assert!(out.status.is_success(), "{}", out.text);
    for cookie in [Some(api.as_str()), None, Some("keyport_session=forged")] {
        let page = app.get(cookie, paths::SANDBOX_API_TOKEN).await;
        assert!(
            !page.text.contains("api@acme.example"),
            "{cookie:?}: no one's kept page"
        );
        assert_ne!(page.status, StatusCode::OK, "{cookie:?}: redirected");
    }
}

#[tokio::test]
async fn a_refused_page_is_not_kept() {
    let app = TestApp::new().await;
    let connector = app.sign_in("connector@acme.example").await;
    for _ in 0..3 {
        let page = app.get(Some(&connector), paths::AUDIT_LOGS).await;
        assert_status(&page, StatusCode::FORBIDDEN, "audit log");
    }
    assert_eq!(app.state.pages.served(), 0, "no refusal served again");
}

#[tokio::test]
async fn a_kept_page_ends_when_an_expiry_it_shows_passes() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let id = app.token_id("acme", "CI pipeline").await;
    // Both views below must fall before the expiry and within one minute.
    clear_of_the_minute_turn(5_000).await;
    let soon = keyport::server::now_ms() + 3_000;
    sqlx::query("UPDATE sandbox_tokens SET expires_at = $1 WHERE id = $2")
        .bind(soon)
        .bind(id)
        .execute(app.state.store.pool())
        .await
        .expect("expiry");
    let first = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await;
    let again = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await;
    assert_eq!(without_nonce(&first), without_nonce(&again));
    assert_eq!(app.state.pages.served(), 1, "kept until the expiry");
    tokio::time::sleep(std::time::Duration::from_millis(
        (soon - keyport::server::now_ms() + 100).max(0) as u64,
    ))
    .await;
    let after = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await;
    let fresh = app
        .uncached()
        .get(Some(&api), paths::SANDBOX_API_TOKEN)
        .await;
    assert_eq!(app.state.pages.served(), 1, "drawn again once it passed");
    assert_eq!(without_nonce(&after), without_nonce(&fresh));
    assert_ne!(
        without_nonce(&first),
        without_nonce(&after),
        "the page shows the token expired"
    );
}

#[tokio::test]
async fn each_view_of_a_kept_page_has_a_new_nonce_in_its_policy_and_scripts() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let mut seen = std::collections::HashSet::new();
    clear_of_the_minute_turn(5_000).await;
    for _ in 0..3 {
        let page = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await;
        let nonce = nonce(&page);
        assert!(
            page.text.contains(&format!("nonce=\"{nonce}\"")),
            "the scripts carry the policy's nonce"
        );
        assert!(seen.insert(nonce), "a nonce is never reused");
    }
    assert_eq!(app.state.pages.served(), 2);
}
