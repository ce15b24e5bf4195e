//! Portal sessions: a page view writes the session only when its idle window
//! is due for renewal, an active session outlives the idle window and an idle
//! one ends, and the checks made on every request (absolute lifetime,
//! membership) still end a session at once. The session's admin is loaded
//! once per request: see the unit tests of `server::auth::ActorCache`.

use crate::common::TestApp;
use axum::http::StatusCode;
use keyport::model::{Role, SandboxPage};
use keyport::paths;
use keyport::server::store::SessionPool;
use std::time::Duration;

/// Counts every write (insert or update) to the portal's session table from
/// now on, with a trigger; read with [`session_writes`].
async fn count_session_writes(app: &TestApp) {
    match app.state.store.session_pool() {
        SessionPool::Sqlite(pool) => {
            for statement in [
                "CREATE TABLE session_writes (n INTEGER NOT NULL)",
                "INSERT INTO session_writes VALUES (0)",
                "CREATE TRIGGER session_inserted AFTER INSERT ON tower_sessions
                 BEGIN UPDATE session_writes SET n = n + 1; END",
                "CREATE TRIGGER session_updated AFTER UPDATE ON tower_sessions
                 BEGIN UPDATE session_writes SET n = n + 1; END",
            ] {
                sqlx::query(statement).execute(pool).await.expect(statement);
            }
        }
        SessionPool::Postgres(pool, schema) => {
            for statement in [
                format!("CREATE TABLE \"{schema}\".session_writes (n BIGINT NOT NULL)"),
                format!("INSERT INTO \"{schema}\".session_writes VALUES (0)"),
                format!(
                    "CREATE FUNCTION \"{schema}\".count_session_write() RETURNS trigger
                     LANGUAGE plpgsql AS $$ BEGIN
                     UPDATE \"{schema}\".session_writes SET n = n + 1; RETURN NULL; END $$"
                ),
                format!(
                    "CREATE TRIGGER session_written AFTER INSERT OR UPDATE
                     ON \"{schema}\".tower_sessions FOR EACH ROW
                     EXECUTE FUNCTION \"{schema}\".count_session_write()"
                ),
            ] {
                sqlx::query(&statement)
                    .execute(pool)
                    .await
                    .expect(&statement);
            }
        }
    }
}

/// Writes to the session table since [`count_session_writes`].
async fn session_writes(app: &TestApp) -> i64 {
    let (n,): (i64,) = match app.state.store.session_pool() {
        SessionPool::Sqlite(pool) => sqlx::query_as("SELECT n FROM session_writes")
            .fetch_one(pool)
            .await
            .expect("session writes"),
        SessionPool::Postgres(pool, schema) => {
            sqlx::query_as(&format!("SELECT n FROM \"{schema}\".session_writes"))
                .fetch_one(pool)
                .await
                .expect("session writes")
        }
    };
    n
}

/// When the (only) portal session expires, as stored.
async fn session_expiry(app: &TestApp) -> time::OffsetDateTime {
    let (at,): (time::OffsetDateTime,) = match app.state.store.session_pool() {
        SessionPool::Sqlite(pool) => sqlx::query_as("SELECT expiry_date FROM tower_sessions")
            .fetch_one(pool)
            .await
            .expect("the session's expiry"),
        SessionPool::Postgres(pool, schema) => sqlx::query_as(&format!(
            "SELECT expiry_date FROM \"{schema}\".tower_sessions"
        ))
        .fetch_one(pool)
        .await
        .expect("the session's expiry"),
    };
    at
}

/// Views the Sandbox API Token page (three resources, each checking the
/// session) and asserts it was drawn for the signed-in admin.
async fn view_sandbox_page(app: &TestApp, cookie: &str, what: &str) {
    let page = app.get(Some(cookie), paths::SANDBOX_API_TOKEN).await;
    assert_eq!(page.status, StatusCode::OK, "{what}: {}", page.text);
    assert!(
        page.text.contains("api@acme.example"),
        "{what}: not drawn for the signed-in admin"
    );
}

/// Whether `cookie` still names a live session.
async fn signed_in(app: &TestApp, cookie: &str) -> bool {
    let reply = app.call(Some(cookie), "sandbox-tokens/list", &[]).await;
    match reply.status {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("sandbox-tokens/list answered {other}: {}", reply.text),
    }
}

#[tokio::test]
async fn page_views_in_quick_succession_do_not_write_the_session() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    let expiry = session_expiry(&app).await;
    count_session_writes(&app).await;
    view_sandbox_page(&app, &cookie, "first view").await;
    view_sandbox_page(&app, &cookie, "second view").await;
    let tokens: SandboxPage = app
        .call(Some(&cookie), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert!(!tokens.tokens.is_empty());
    assert_eq!(session_writes(&app).await, 0, "a view wrote the session");
    assert_eq!(session_expiry(&app).await, expiry);
}

#[tokio::test]
async fn a_view_after_the_renewal_interval_extends_the_idle_window() {
    // A 4 s idle window is renewed once its last renewal is 1 s old.
    let app = TestApp::with_settings(|s| s.session_idle = Duration::from_secs(4)).await;
    let cookie = app.sign_in("api@acme.example").await;
    let signed_in_expiry = session_expiry(&app).await;
    count_session_writes(&app).await;
    view_sandbox_page(&app, &cookie, "at once").await;
    assert_eq!(session_writes(&app).await, 0, "renewed at once");

    tokio::time::sleep(Duration::from_millis(1300)).await;
    view_sandbox_page(&app, &cookie, "after the interval").await;
    assert_eq!(session_writes(&app).await, 1, "renewed once");
    let renewed_expiry = session_expiry(&app).await;
    assert!(
        renewed_expiry - signed_in_expiry >= time::Duration::seconds(1),
        "the expiry moved from {signed_in_expiry} to {renewed_expiry}"
    );

    view_sandbox_page(&app, &cookie, "right after the renewal").await;
    assert_eq!(session_writes(&app).await, 1, "renewed again at once");
}

#[tokio::test]
async fn an_active_session_outlives_the_idle_window_and_an_idle_one_ends() {
    let idle = Duration::from_secs(4);
    let app = TestApp::with_settings(|s| s.session_idle = idle).await;
    let cookie = app.sign_in("api@acme.example").await;
    // Active for 6 s, longer than the idle window, a request every 1.5 s.
    for step in 1..=4 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(signed_in(&app, &cookie).await, "active, step {step}");
    }
    tokio::time::sleep(idle + Duration::from_secs(1)).await;
    assert!(!signed_in(&app, &cookie).await, "idle past the window");
}

#[tokio::test]
async fn a_portal_session_ends_at_its_absolute_lifetime_however_active() {
    let app = TestApp::with_settings(|s| s.session_absolute = Duration::from_secs(2)).await;
    let cookie = app.sign_in("api@acme.example").await;
    assert!(signed_in(&app, &cookie).await);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(signed_in(&app, &cookie).await);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        !signed_in(&app, &cookie).await,
        "past the absolute lifetime"
    );
}

#[tokio::test]
async fn removal_from_the_organisation_ends_the_portal_session() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    view_sandbox_page(&app, &cookie, "a member").await;
    let admin = app
        .state
        .store
        .admin_by_username("api@acme.example")
        .await
        .unwrap()
        .expect("admin");
    let acme = app.org_id("acme").await;
    sqlx::query("DELETE FROM memberships WHERE admin_id = $1 AND org_id = $2")
        .bind(admin.id)
        .bind(acme)
        .execute(app.state.store.pool())
        .await
        .unwrap();
    assert!(!signed_in(&app, &cookie).await, "removed");
    // Ended, not merely refused: membership back, the session stays over.
    app.state
        .store
        .add_membership(admin.id, acme, Role::ApiAdmin)
        .await
        .unwrap();
    assert!(!signed_in(&app, &cookie).await, "the session was not ended");
}

#[tokio::test]
async fn one_query_reads_the_admin_with_every_membership() {
    let app = TestApp::new().await;
    let store = &app.state.store;
    let multi = store
        .admin_by_username("multi@example.com")
        .await
        .unwrap()
        .expect("admin");
    let (admin, memberships) = store
        .admin_with_memberships(multi.id)
        .await
        .unwrap()
        .expect("the admin");
    assert_eq!(admin.username, "multi@example.com");
    assert_eq!(admin.password_hash, multi.password_hash);
    let orgs: Vec<&str> = memberships.iter().map(|m| m.short_name.as_str()).collect();
    assert_eq!(orgs, ["acme", "globex"], "by short name");
    assert_eq!(
        store.memberships(multi.id).await.unwrap().len(),
        memberships.len()
    );

    // Without memberships the admin is still found; an unknown id is not.
    let loner = store
        .create_admin("loner@example.com", "x", 0)
        .await
        .unwrap();
    let (admin, memberships) = store
        .admin_with_memberships(loner)
        .await
        .unwrap()
        .expect("the admin");
    assert_eq!(admin.username, "loner@example.com");
    assert!(memberships.is_empty());
    assert!(
        store
            .admin_with_memberships(loner + 1000)
            .await
            .unwrap()
            .is_none()
    );
}
