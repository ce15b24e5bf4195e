//! Sign-in, sessions, the Origin check and the security headers (docs/SECURITY.md).

use crate::common::{HOST, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keyport::model::{Role, SandboxPage, Subscription, Viewer};

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_with_a_new_id() {
    let app = TestApp::new().await;
    let reply = app
        .call(
            None,
            "session/sign-in",
            &[
                ("username", "api@acme.example"),
                ("password", "Keyport-demo-1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let cookie = reply
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("keyport_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict"));

    // The same admin signing in again gets a different session id.
    let first = app.sign_in("api@acme.example").await;
    let second = app.sign_in("api@acme.example").await;
    assert_ne!(first, second);
    let current: Viewer = app.call(Some(&first), "session/current", &[]).await.parse();
    assert_eq!(current.username, "api@acme.example");
    assert_eq!(current.role, Role::ApiAdmin);
}

#[tokio::test]
async fn wrong_credentials_are_refused_alike_and_audited() {
    let app = TestApp::new().await;
    let wrong_password = app
        .try_sign_in("api@acme.example", "nope-nope-nope")
        .await
        .err()
        .unwrap();
    let unknown_user = app
        .try_sign_in("nobody@acme.example", "Keyport-demo-1")
        .await
        .err()
        .unwrap();
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong_password.text, unknown_user.text,
        "the answer must not tell which part was wrong"
    );
    let log = app.state.store.all_audit().await.unwrap();
    assert!(
        log.iter()
            .any(|r| r.action == keyport::model::AuditAction::SignIn
                && r.result == keyport::model::AuditResult::Failure
                && r.admin == "api@acme.example")
    );
    assert!(
        !log.iter()
            .any(|r| format!("{r:?}").contains("nope-nope-nope")),
        "a password reached the audit log"
    );
}

#[tokio::test]
async fn five_failures_in_a_minute_lock_the_account() {
    let app = TestApp::new().await;
    for _ in 0..5 {
        let r = app
            .try_sign_in("readonly@acme.example", "wrong-password-1")
            .await
            .err()
            .unwrap();
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Locked: the right password gets exactly the wrong password's answer
    // (docs/SECURITY.md), which says that failures lock an account.
    let locked = app
        .try_sign_in("readonly@acme.example", "Keyport-demo-1")
        .await
        .err()
        .unwrap();
    let wrong = app
        .try_sign_in("readonly@acme.example", "wrong-password-1")
        .await
        .err()
        .unwrap();
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED, "{}", locked.text);
    assert_eq!(locked.text, wrong.text);
    assert!(locked.text.contains("locked"));
    // Other accounts are unaffected.
    app.sign_in("api@acme.example").await;
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    assert_eq!(
        app.call(Some(&cookie), "sandbox-tokens/list", &[])
            .await
            .status,
        StatusCode::OK
    );
    app.call(Some(&cookie), "session/sign-out", &[]).await;
    assert_eq!(
        app.call(Some(&cookie), "sandbox-tokens/list", &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_password_change_ends_existing_sessions() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    sqlx::query("UPDATE admins SET password_hash = 'changed' WHERE username = 'api@acme.example'")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(
        app.call(Some(&cookie), "sandbox-tokens/list", &[])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let req = Request::post("/api/sandbox-tokens/add")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=Evil"))
        .unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let list: SandboxPage = app
        .call(Some(&cookie), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(list.tokens.len(), 2, "nothing was added");

    let same_origin = Request::post("/api/sandbox-tokens/add")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=Fine"))
        .unwrap();
    assert_eq!(app.send(same_origin).await.status, StatusCode::OK);
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_nonce_csp() {
    let app = TestApp::new().await;
    let login = app.get(None, "/login").await;
    assert_eq!(login.status, StatusCode::OK);
    let csp = login
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a nonce in the CSP");
    assert!(nonce.len() >= 16);
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(
        login.text.contains(&format!("nonce=\"{nonce}\"")),
        "Leptos' scripts carry the nonce"
    );
    assert_eq!(
        login.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff"
    );
    assert!(login.headers.contains_key(header::REFERRER_POLICY));

    let api = app.call(None, "sandbox-tokens/list", &[]).await;
    assert_eq!(
        api.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff"
    );
    assert!(
        api.headers
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
}

#[tokio::test]
async fn pages_redirect_strangers_and_render_for_admins() {
    let app = TestApp::new().await;
    let page = "/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token";
    let anonymous = app.get(None, page).await;
    assert!(anonymous.status.is_redirection(), "{}", anonymous.status);
    assert_eq!(anonymous.headers.get(header::LOCATION).unwrap(), "/login");

    let root = app.get(None, "/").await;
    assert_eq!(root.headers.get(header::LOCATION).unwrap(), "/login");

    let cookie = app.sign_in("readonly@acme.example").await;
    let html = app.get(Some(&cookie), page).await;
    assert_eq!(html.status, StatusCode::OK);
    assert!(
        html.text.contains("Primary") && html.text.contains("CI pipeline"),
        "the table is in the server-rendered HTML"
    );
    assert!(html.text.contains("http://127.0.0.1:3000/o/acme"));
    assert!(
        !html.text.contains("Add Sandbox API Token"),
        "no Add for a view-only role"
    );
    assert!(!html.text.contains(">Regenerate<"));

    let old = app
        .get(
            Some(&cookie),
            "/administration/cloud-service-api-security/sandbox-api-token",
        )
        .await;
    assert_eq!(old.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(old.headers.get(header::LOCATION).unwrap(), page);
}

#[tokio::test]
async fn secrets_never_appear_in_a_page() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let page = "/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token";
    let list: SandboxPage = app
        .call(Some(&cookie), "sandbox-tokens/list", &[])
        .await
        .parse();
    let id = list.tokens[0].id.to_string();
    let secret: String = app
        .call(Some(&cookie), "sandbox-tokens/reveal", &[("id", &id)])
        .await
        .parse();
    let html = app.get(Some(&cookie), page).await;
    assert!(!html.text.contains(&secret));
}

#[tokio::test]
async fn sign_in_redirects_only_to_local_paths() {
    let app = TestApp::new().await;
    for (next, expected) in [
        ("/administration/audit-logs", "/administration/audit-logs"),
        ("//evil.example", "/administration/api-configuration"),
        ("/\\evil.example", "/administration/api-configuration"),
        ("/\t/evil.example", "/administration/api-configuration"),
        ("https://evil.example", "/administration/api-configuration"),
    ] {
        let reply = app
            .call(
                None,
                "session/sign-in",
                &[
                    ("username", "api@acme.example"),
                    ("password", "Keyport-demo-1"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(
            reply.headers.get(header::LOCATION).unwrap(),
            expected,
            "next={next:?}"
        );
    }
}

#[tokio::test]
async fn a_multi_organisation_admin_switches_organisation() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("multi@example.com").await;
    let current: Viewer = app
        .call(Some(&cookie), "session/current", &[])
        .await
        .parse();
    assert_eq!(current.org.short_name, "acme");
    assert_eq!(current.orgs.len(), 2);
    let acme_tokens: SandboxPage = app
        .call(Some(&cookie), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(acme_tokens.tokens.len(), 2);

    assert_eq!(
        app.call(Some(&cookie), "session/switch-org", &[("org", "globex")])
            .await
            .status,
        StatusCode::OK
    );
    let globex: SandboxPage = app
        .call(Some(&cookie), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert_eq!(globex.tokens.len(), 1);
    assert_eq!(globex.subscription, Subscription::Expired);

    // Not a member: refused, and the session stays where it was.
    let api = app.sign_in("api@acme.example").await;
    let refused = app
        .call(Some(&api), "session/switch-org", &[("org", "globex")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let current: Viewer = app.call(Some(&api), "session/current", &[]).await.parse();
    assert_eq!(current.org.short_name, "acme");
    assert_eq!(
        app.call(None, "session/switch-org", &[("org", "globex")])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn secret_bearing_answers_are_not_cached() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let reply = app.call(Some(&cookie), "sandbox-tokens/list", &[]).await;
    assert_eq!(
        reply.headers.get(header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
}
