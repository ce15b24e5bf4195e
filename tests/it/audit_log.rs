//! The audit log page's server function and CSV export.

use crate::common::TestApp;
use axum::http::{StatusCode, header};
use keyport::api::sandbox::IssuedToken;
use keyport::model::AuditPage;
use keyport::server::store::Backend;

#[tokio::test]
async fn who_may_read_the_log_and_what_it_holds() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let added = app
        .call(
            Some(&api),
            "sandbox-tokens/add",
            &[("name", "Audited token")],
        )
        .await;
    let secret = added.parse::<IssuedToken>().secret;

    for (user, expected) in [
        ("super@acme.example", StatusCode::OK),
        ("api@acme.example", StatusCode::OK),
        ("readonly@acme.example", StatusCode::OK),
        ("provider@keyport.example", StatusCode::OK),
        ("connector@acme.example", StatusCode::FORBIDDEN),
    ] {
        let cookie = app.sign_in(user).await;
        let reply = app.call(Some(&cookie), "audit-log/list", &[]).await;
        assert_eq!(reply.status, expected, "{user}: {}", reply.text);
        let csv = app
            .get(Some(&cookie), "/administration/audit-logs/export.csv")
            .await;
        assert_eq!(csv.status, expected, "{user} csv");
    }
    assert_eq!(
        app.call(None, "audit-log/list", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(None, "/administration/audit-logs/export.csv")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let listed = app.call(Some(&api), "audit-log/list", &[]).await;
    let entries = listed.parse::<AuditPage>().entries;
    assert!(entries.iter().any(|e| e.action == "create"
        && e.resource == "Audited token"
        && e.admin == "api@acme.example"));
    assert!(
        entries.iter().all(|e| e.org == "acme"),
        "only the session's organisation"
    );
    assert!(
        !listed.text.contains(&secret),
        "a secret reached the audit log"
    );

    // Filters: by action and result.
    let creates = app
        .call(
            Some(&api),
            "audit-log/list",
            &[("filter[action]", "create"), ("filter[result]", "success")],
        )
        .await
        .parse::<AuditPage>();
    assert!(
        creates
            .entries
            .iter()
            .all(|e| e.action == "create" && e.result == "success")
    );
    let bad = app
        .call(
            Some(&api),
            "audit-log/list",
            &[("filter[from]", "yesterday")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The CSV holds the action just taken, and no secret.
    let csv = app
        .get(
            Some(&api),
            "/administration/audit-logs/export.csv?action=create",
        )
        .await;
    assert_eq!(
        csv.headers.get(header::CONTENT_TYPE).unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(csv.text.starts_with("Timestamp,Action,Category"));
    assert!(csv.text.contains("Audited token"));
    assert!(
        csv.text
            .contains(",Create,API Configuration / Sandbox API Token,"),
        "the CSV shows the action's label"
    );
    assert!(!csv.text.contains(&secret));

    // Another organisation's admin sees only theirs.
    let globex = app.sign_in("api@globex.example").await;
    let theirs: AuditPage = app.call(Some(&globex), "audit-log/list", &[]).await.parse();
    assert!(theirs.entries.iter().all(|e| e.org == "globex"));
}

/// Entries written before actions and interfaces were stored as codes hold
/// their labels; the migration turns those into codes, after which they show
/// and filter like new ones. A code this version does not know shows as is.
#[tokio::test]
async fn entries_stored_with_labels_are_converted_to_codes() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let store = &app.state.store;
    for (action, interface, result, reason, resource) in [
        (
            "Sign In",
            "Admin UI",
            "failure",
            Some("invalid credentials"),
            "legacy sign-in",
        ),
        ("Reveal", "API", "success", None, "legacy reveal"),
        ("Disable", "CLI", "success", None, "legacy disable"),
        ("Shred", "Fax", "success", None, "legacy unknown"),
    ] {
        sqlx::query(
            "INSERT INTO audit_log (at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason)
             VALUES (1000, $1, 'Legacy', '', $2, 'api@acme.example', 'acme', '10.0.0.9', $3, 'feedc0de', $4, $5)",
        )
        .bind(action)
        .bind(resource)
        .bind(interface)
        .bind(result)
        .bind(reason)
        .execute(store.pool())
        .await
        .unwrap();
    }
    let migration = match store.backend() {
        Backend::Sqlite => include_str!("../../migrations/sqlite/20261201000002_audit_codes.sql"),
        Backend::Postgres => {
            include_str!("../../migrations/postgres/20261201000002_audit_codes.sql")
        }
    };
    sqlx::raw_sql(migration)
        .execute(store.pool())
        .await
        .unwrap();

    let stored: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, interface FROM audit_log WHERE category = 'Legacy' ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let stored: Vec<_> = stored
        .iter()
        .map(|(a, i)| (a.as_str(), i.as_str()))
        .collect();
    assert_eq!(
        stored,
        [
            ("sign_in", "admin_ui"),
            ("reveal", "api"),
            ("disable", "cli"),
            ("Shred", "Fax")
        ]
    );

    // Filtered by code, the converted entry is found and shown by its labels.
    let page = app
        .call(
            Some(&api),
            "audit-log/list",
            &[("filter[action]", "sign_in")],
        )
        .await
        .parse::<AuditPage>();
    assert!(
        page.entries
            .iter()
            .any(|e| e.resource == "legacy sign-in" && e.interface == "admin_ui")
    );
    let has = |code: &str, label: &str| page.actions.contains(&(code.into(), label.into()));
    assert!(has("sign_in", "Sign In"));
    assert!(has("Shred", "Shred"), "unknown: as is");
    let html = app
        .get(Some(&api), "/administration/audit-logs?action=sign_in")
        .await
        .text;
    assert!(html.contains("legacy sign-in"));
    assert!(html.contains("Failure: invalid credentials"));
    assert!(html.contains("Admin UI"));
    assert!(!html.contains("legacy reveal"), "filtered by action");

    let csv = app
        .get(
            Some(&api),
            "/administration/audit-logs/export.csv?action=disable",
        )
        .await
        .text;
    assert!(csv.contains(",Disable,Legacy,,legacy disable,"), "{csv}");
    assert!(csv.contains(",CLI,feedc0de,Success"), "{csv}");
    assert!(!csv.contains("legacy reveal"));
    // A link saved when the filter named the label still finds the entry.
    let csv = app
        .get(
            Some(&api),
            "/administration/audit-logs/export.csv?action=Reveal",
        )
        .await
        .text;
    assert!(csv.contains("legacy reveal"), "{csv}");
    let csv = app
        .get(
            Some(&api),
            "/administration/audit-logs/export.csv?action=Shred",
        )
        .await
        .text;
    assert!(csv.contains(",Shred,Legacy,,legacy unknown,"), "{csv}");
    assert!(csv.contains(",Fax,feedc0de,Success"), "{csv}");
}

/// The page draws its filter, read from the address, into the pager's and
/// the export's links: markup sent in the address never arrives as markup,
/// and the page still answers with its (empty) table.
#[tokio::test]
async fn a_filter_in_the_address_is_drawn_escaped() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let attack = "\"><script>alert(1)</script><img src=x onerror=alert(2)>";
    let url = reqwest::Url::parse_with_params(
        "http://keyport.test/administration/audit-logs",
        &[("admin", attack), ("action", attack)],
    )
    .expect("a valid URL");
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let page = app.get(Some(&api), &path).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let html = page.text;
    assert!(
        html.contains("Audit log entries"),
        "the table is on the page"
    );
    assert!(!html.contains("<script>alert"), "script injected");
    assert!(!html.contains("<img src=x"), "markup injected");
}
