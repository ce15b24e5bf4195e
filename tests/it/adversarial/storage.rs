//! What a copy of the database gives away: the session table holds no
//! cookie value, and the SQLite file and its directory are private.

use crate::common::{self, TestApp};
use axum::http::StatusCode;
use keyport::server::session_store::stored_id;
use keyport::server::store::{SessionPool, Store};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tower_sessions::session::Id;

/// Every (id, data) row of the portal's session table.
async fn session_rows(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    match app.state.store.session_pool() {
        SessionPool::Sqlite(pool) => sqlx::query_as("SELECT id, data FROM tower_sessions")
            .fetch_all(pool)
            .await
            .expect("session rows"),
        SessionPool::Postgres(pool, schema) => sqlx::query_as(&format!(
            "SELECT id, data FROM \"{schema}\".\"tower_sessions\""
        ))
        .fetch_all(pool)
        .await
        .expect("session rows"),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_session_table_holds_no_cookie_id() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("api@acme.example").await;
    // The cookie and the table both write ids as tower-sessions' Display
    // (22 characters of unpadded base64url).
    let cookie_id = cookie
        .strip_prefix("keyport_session=")
        .expect("a keyport_session cookie")
        .to_owned();
    let id: Id = cookie_id.parse().expect("a session id");
    let rows = session_rows(&app).await;
    assert!(!rows.is_empty(), "signing in stores a session");
    for (stored, data) in &rows {
        assert_ne!(stored, &cookie_id, "the table holds the cookie's id");
        // The serialised record carries its id too: not the cookie's.
        for bytes in [id.0.to_le_bytes(), id.0.to_be_bytes()] {
            assert!(
                !data.windows(16).any(|w| w == bytes),
                "the session data holds the cookie's id"
            );
        }
    }
    let hashed = stored_id(&id).to_string();
    assert!(
        rows.iter().any(|(stored, _)| *stored == hashed),
        "the session is stored under the hash of the cookie's id"
    );
    // The cookie still works, and the stored id is no cookie.
    assert_eq!(
        app.call(Some(&cookie), "session/current", &[]).await.status,
        StatusCode::OK
    );
    let forged = format!("keyport_session={hashed}");
    let reply = app.call(Some(&forged), "session/current", &[]).await;
    assert!(
        !reply.text.contains("api@acme.example"),
        "a stored id signs in: {} {}",
        reply.status,
        reply.text
    );
}

#[tokio::test]
async fn the_sqlite_file_and_its_new_directory_are_private() {
    if common::postgres_url().is_some() {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    // An existing parent keeps its mode; only what connect creates is 0700.
    let open = tmp.path().join("open");
    std::fs::create_dir(&open).expect("dir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let db = open.join("sub").join("k.db");
    let url = format!("sqlite://{}", db.display());
    let store = Store::connect(&url).await.expect("database");
    assert_eq!(mode(&open), 0o755);
    assert_eq!(mode(&open.join("sub")), 0o700);
    assert_eq!(mode(&db), 0o600);
    let wal = open.join("sub").join("k.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600);
    }
    drop(store);

    // A database left readable by an older version is tightened on connect.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    for side in ["k.db-wal", "k.db-shm"] {
        let side = open.join("sub").join(side);
        if side.exists() {
            std::fs::set_permissions(&side, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
    }
    let _store = Store::connect(&url).await.expect("database again");
    assert_eq!(mode(&db), 0o600);
    for side in ["k.db-wal", "k.db-shm"] {
        let side = open.join("sub").join(side);
        if side.exists() {
            assert_eq!(mode(&side), 0o600, "{}", side.display());
        }
    }
}
