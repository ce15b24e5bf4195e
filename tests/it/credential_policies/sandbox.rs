//! A sandbox token's IP allowlist and expiry, enforced on the Sandbox
//! Submission API from the database on every request; refused calls are
//! not counted anywhere.

use super::{calls, expire_token, from_peer, quota_from, submit_from};
use crate::common::{HOST, TestApp, assert_status, urlencode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keyport::api::sandbox::IssuedToken;
use keyport::model::{CredentialPolicy, Expiry, SandboxPage};
use keyport::server::config::Cidr;
use keyport::server::credential_policy::Denied;
use keyport::server::store::{Credential, SubmitOutcome};
use keyport::server::{DAY_MS, now_ms, sandbox};

/// Adds a token through the server function with `policy` form fields.
async fn add(app: &TestApp, cookie: &str, name: &str, policy: &[(&str, &str)]) -> IssuedToken {
    let mut form = vec![("name", name)];
    form.extend_from_slice(policy);
    let reply = app.call(Some(cookie), "sandbox-tokens/add", &form).await;
    assert_status(&reply, StatusCode::OK, "add");
    reply.parse()
}

#[tokio::test]
async fn an_allowlisted_token_works_from_listed_addresses_only() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let issued = add(
        &app,
        &cookie,
        "Office",
        &[("policy[ip_allowlist]", "127.0.0.1, ::1\n10.1.2.3/8")],
    )
    .await;
    assert_eq!(
        issued.token.policy.ip_allowlist,
        ["127.0.0.1/32", "::1/128", "10.0.0.0/8"],
        "stored normalised"
    );
    let token = &issued.secret;

    let ok = submit_from(&app.caller, "acme", token, "127.0.0.1:5000").await;
    assert_status(&ok, StatusCode::OK, "from 127.0.0.1");
    assert_status(
        &submit_from(&app.caller, "acme", token, "[::1]:5000").await,
        StatusCode::OK,
        "from ::1",
    );
    assert_status(
        &quota_from(&app, "acme", token, "10.200.0.1:5000").await,
        StatusCode::OK,
        "quota from 10.200.0.1",
    );
    let before = calls(&app, Credential::SandboxToken(issued.token.id)).await;

    for peer in [
        "127.0.0.2:5000",
        "[::2]:5000",
        "192.0.2.1:80",
        "[::ffff:127.0.0.2]:5000",
    ] {
        let refused = submit_from(&app.caller, "acme", token, peer).await;
        assert_status(&refused, StatusCode::FORBIDDEN, peer);
        assert_eq!(refused.code(), "IP_NOT_ALLOWED", "{peer}");
        let quota = quota_from(&app, "acme", token, peer).await;
        assert_status(&quota, StatusCode::FORBIDDEN, peer);
        assert_eq!(quota.code(), "IP_NOT_ALLOWED", "{peer}");
    }
    // No listener address at all ("unknown") is in no block.
    let unknown = app.submit("acme", token, b"MZ").await;
    assert_eq!(unknown.code(), "IP_NOT_ALLOWED");

    // Refused calls counted nowhere: not the token's usage, not the
    // organisation's allowance, and Last Used is still the allowed client.
    assert_eq!(
        calls(&app, Credential::SandboxToken(issued.token.id)).await,
        before
    );
    let org = app.org_id("acme").await;
    let used = app
        .state
        .store
        .submissions_since(org, keyport::server::day_start(now_ms()))
        .await
        .unwrap();
    assert_eq!(used, 2);
    let row = app
        .state
        .store
        .sandbox_token(org, issued.token.id, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.last_used_ip.as_deref(), Some("10.200.0.1"));

    // The demo's tokens, without an allowlist, work from anywhere.
    let admin = app.actor("api@acme.example", "acme").await;
    let open = sandbox::add(&app.state, &admin, "Open").await.unwrap();
    let open = secrecy::ExposeSecret::expose_secret(&open.secret).to_owned();
    assert_status(
        &submit_from(&app.caller, "acme", &open, "192.0.2.1:80").await,
        StatusCode::OK,
        "no allowlist",
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_checked() {
    let app = TestApp::with_settings(|s| {
        s.trusted_proxies = vec![Cidr::parse("10.0.0.0/8").unwrap()];
    })
    .await;
    let cookie = app.sign_in("api@acme.example").await;
    let issued = add(
        &app,
        &cookie,
        "Proxied",
        &[("policy[ip_allowlist]", "127.0.0.1")],
    )
    .await;
    let send = |peer: &'static str, forwarded: &'static str| {
        let req = Request::post(format!(
            "/o/acme/zscsb/submit?api_token={}",
            urlencode(&issued.secret)
        ))
        .header(header::HOST, HOST)
        .header("x-forwarded-for", forwarded)
        .body(Body::from(&b"%PDF-1.7"[..]))
        .unwrap();
        app.send(from_peer(req, peer))
    };
    assert_status(
        &send("10.0.0.5:443", "127.0.0.1").await,
        StatusCode::OK,
        "proxied 127.0.0.1",
    );
    let other = send("10.0.0.5:443", "127.0.0.2").await;
    assert_eq!(other.code(), "IP_NOT_ALLOWED", "proxied 127.0.0.2");
    // A client that is not a proxy cannot claim a listed address.
    let spoofed = send("127.0.0.2:5000", "127.0.0.1").await;
    assert_eq!(spoofed.code(), "IP_NOT_ALLOWED", "spoofed X-Forwarded-For");
    // Nor can it by putting the listed address left of its own.
    let left = send("10.0.0.5:443", "127.0.0.1, 127.0.0.2").await;
    assert_eq!(left.code(), "IP_NOT_ALLOWED", "client-written hop");
}

#[tokio::test]
async fn an_expired_token_is_refused_until_its_expiry_is_moved() {
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let soon = now_ms() + 3 * DAY_MS;
    let policy = CredentialPolicy {
        expires_at: Some(soon),
        ..Default::default()
    };
    let issued = sandbox::add_with_policy(&app.state, &admin, "Temporary", &policy)
        .await
        .unwrap();
    assert_eq!(
        issued.view.policy.expiry.warning().as_deref(),
        Some("Expires in 3 days")
    );
    let token = secrecy::ExposeSecret::expose_secret(&issued.secret).to_owned();
    let id = issued.view.id;
    assert_status(
        &app.submit("acme", &token, b"MZ").await,
        StatusCode::OK,
        "before",
    );

    expire_token(&app, id, now_ms() - 1).await;
    let before = calls(&app, Credential::SandboxToken(id)).await;
    let refused = app.submit("acme", &token, b"MZ").await;
    assert_status(&refused, StatusCode::FORBIDDEN, "expired submit");
    assert_eq!(refused.code(), "API_KEY_EXPIRED");
    assert_eq!(refused.json()["message"], "The API token has expired.");
    let quota = app
        .get(
            None,
            &format!("/o/acme/sandbox/report/quota?api_token={token}"),
        )
        .await;
    assert_eq!(quota.code(), "API_KEY_EXPIRED");
    assert_eq!(calls(&app, Credential::SandboxToken(id)).await, before);

    // The page says so.
    let cookie = app.sign_in("readonly@acme.example").await;
    let page: SandboxPage = app
        .call(Some(&cookie), "sandbox-tokens/list", &[])
        .await
        .parse();
    let row = page.tokens.iter().find(|t| t.id == id).unwrap();
    assert!(matches!(row.policy.expiry, Expiry::Expired(_)));
    assert_eq!(row.policy.expiry.warning().as_deref(), Some("Expired"));

    // The Edit form sends the passed expiry back unchanged: renaming works
    // and the token stays expired; another past date is refused.
    sandbox::edit(
        &app.state,
        &admin,
        id,
        "Temporary",
        Some(&row.policy.form()),
    )
    .await
    .unwrap();
    assert_eq!(
        app.submit("acme", &token, b"MZ").await.code(),
        "API_KEY_EXPIRED"
    );
    let other_past = CredentialPolicy {
        expires_at: Some(now_ms() - DAY_MS),
        ..Default::default()
    };
    let refused = sandbox::edit(&app.state, &admin, id, "Temporary", Some(&other_past)).await;
    assert!(refused.is_err_and(|e| e.field("expires_at").is_some()));

    // A new date, read on the very next request: no cache kept the refusal.
    let later = CredentialPolicy {
        expires_at: Some(now_ms() + 30 * DAY_MS),
        ..Default::default()
    };
    sandbox::edit(&app.state, &admin, id, "Temporary", Some(&later))
        .await
        .unwrap();
    assert_status(
        &app.submit("acme", &token, b"MZ").await,
        StatusCode::OK,
        "extended",
    );
    // Without a policy, Edit renames and keeps the restrictions.
    sandbox::rename(&app.state, &admin, id, "Renamed")
        .await
        .unwrap();
    let row = app
        .state
        .store
        .sandbox_token(app.org_id("acme").await, id, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.expires_at, later.expires_at);
    assert_eq!(row.name, "Renamed");
}

/// Records one submission with a token as its check saw it, after
/// `change` altered the token meanwhile (as while the body uploads): the
/// outcome, and how many of the day's submissions were stored.
async fn record_after<F, Fut>(change: F) -> (SubmitOutcome, i64)
where
    F: FnOnce(TestApp, i64) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    let app = TestApp::new().await;
    let admin = app.actor("api@acme.example", "acme").await;
    let issued = sandbox::add(&app.state, &admin, "Racing").await.unwrap();
    let org = app.org_id("acme").await;
    let checked = app
        .state
        .store
        .sandbox_token(org, issued.view.id, now_ms())
        .await
        .unwrap()
        .unwrap();
    let app = change(app, checked.id).await;
    let now = now_ms();
    let submission = keyport::server::store::NewSubmission {
        org_id: org,
        org: "acme",
        token_id: checked.id,
        token_digest: &checked.secret_digest,
        token_expires_at: checked.expires_at,
        token_ip_allowlist: &checked.ip_allowlist,
        size: 2,
        md5: "00",
        file_type: "exe",
        force: false,
        client_ip: "127.0.0.1",
        at: now,
        day_start: keyport::server::day_start(now),
        limit: &keyport::server::store::RateLimit {
            class: "submit",
            per_second: 100,
            per_hour: 100,
        },
    };
    let audit = admin.audit(keyport::model::AuditAction::Disable, "x", "x");
    let outcome = app
        .state
        .store
        .record_submission(&submission, 100, &audit)
        .await
        .unwrap();
    let stored = app
        .state
        .store
        .submissions_since(org, keyport::server::day_start(now))
        .await
        .unwrap();
    (outcome, stored)
}

// The submission re-reads the restrictions as it is recorded: a token that
// expires, whose allowlist changes or that is regenerated while its body
// uploads records nothing.

#[tokio::test]
async fn an_expiry_passing_between_check_and_record_records_nothing() {
    let (outcome, stored) = record_after(|app, id| async move {
        expire_token(&app, id, now_ms() - 1).await;
        app
    })
    .await;
    assert_eq!(outcome, SubmitOutcome::Denied(Denied::Expired));
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn an_allowlist_changed_between_check_and_record_records_nothing() {
    let (outcome, stored) = record_after(|app, id| async move {
        sqlx::query("UPDATE sandbox_tokens SET ip_allowlist = '203.0.113.0/24' WHERE id = $1")
            .bind(id)
            .execute(app.state.store.pool())
            .await
            .unwrap();
        app
    })
    .await;
    assert_eq!(outcome, SubmitOutcome::Denied(Denied::IpNotAllowed));
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_token_regenerated_between_check_and_record_records_nothing() {
    let (outcome, stored) = record_after(|app, id| async move {
        let admin = app.actor("api@acme.example", "acme").await;
        sandbox::regenerate(&app.state, &admin, id).await.unwrap();
        app
    })
    .await;
    assert_eq!(outcome, SubmitOutcome::TokenGone);
    assert_eq!(stored, 0);
}
