//! The audit log page's server function and CSV export.

mod common;

use axum::http::{StatusCode, header};
use common::TestApp;

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
    let secret = added.json()["secret"].as_str().unwrap().to_owned();

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

    let page = app.call(Some(&api), "audit-log/list", &[]).await.json();
    let entries = page["entries"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["action"] == "Create"
        && e["resource"] == "Audited token"
        && e["admin"] == "api@acme.example"));
    assert!(
        entries.iter().all(|e| e["org"] == "acme"),
        "only the session's organisation"
    );
    assert!(
        !page.to_string().contains(&secret),
        "a secret reached the audit log"
    );

    // Filters: by action and result.
    let creates = app
        .call(
            Some(&api),
            "audit-log/list",
            &[("filter[action]", "Create"), ("filter[result]", "success")],
        )
        .await
        .json();
    assert!(
        creates["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] == "Create" && e["result"] == "success")
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
            "/administration/audit-logs/export.csv?action=Create",
        )
        .await;
    assert_eq!(
        csv.headers.get(header::CONTENT_TYPE).unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(csv.text.starts_with("Timestamp,Action,Category"));
    assert!(csv.text.contains("Audited token"));
    assert!(!csv.text.contains(&secret));

    // Another organisation's admin sees only theirs.
    let globex = app.sign_in("api@globex.example").await;
    let theirs = app.call(Some(&globex), "audit-log/list", &[]).await.json();
    assert!(
        theirs["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["org"] == "globex")
    );
}
