//! Saved table layouts: per admin, per table, applied in the server-rendered HTML.

use crate::common::{HOST, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keyport::model::TableLayout;
use serde_json::json;
use std::time::Duration;

const PAGE: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token";

async fn save(
    app: &TestApp,
    cookie: Option<&str>,
    body: serde_json::Value,
) -> crate::common::Reply {
    let mut req = Request::post("/api/tables/save-layout")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    app.send(req.body(Body::from(body.to_string())).unwrap())
        .await
}

#[tokio::test]
async fn a_saved_layout_is_per_admin_and_in_the_first_html() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let other = app.sign_in("readonly@acme.example").await;
    let layout = json!({
        "table": "sandbox_tokens",
        "layout": {"columns": [["calls_24h", true], ["name", true], ["token", true], ["status", true], ["last_used", true]], "sort": ["name", false]}
    });
    assert_eq!(
        save(&app, None, layout.clone()).await.status,
        StatusCode::UNAUTHORIZED
    );
    let bad = save(&app, Some(&api), json!({"table": "nope", "layout": null})).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(save(&app, Some(&api), layout).await.status, StatusCode::OK);

    let got: TableLayout = app
        .call(Some(&api), "tables/layout", &[("table", "sandbox_tokens")])
        .await
        .parse();
    assert_eq!(got.columns[0], ("calls_24h".to_owned(), true));
    assert_eq!(got.sort, Some(("name".to_owned(), false)));

    let html = table_html(&app.get(Some(&api), PAGE).await.text);
    let calls = html
        .find("API Calls (24h)")
        .expect("the chosen column is rendered");
    let name = html.find(">Name<").expect("Name header");
    assert!(calls < name, "the saved order is applied on the server");
    assert!(html.contains("aria-sort=\"descending\""));
    let primary = html.find(">Primary<").unwrap();
    let ci = html.find(">CI pipeline<").unwrap();
    assert!(primary < ci, "sorted by name, descending");

    let theirs = table_html(&app.get(Some(&other), PAGE).await.text);
    assert!(
        !theirs.contains("API Calls (24h)"),
        "another admin keeps the default"
    );

    assert_eq!(
        save(
            &app,
            Some(&api),
            json!({"table": "sandbox_tokens", "layout": null})
        )
        .await
        .status,
        StatusCode::OK
    );
    assert!(
        !table_html(&app.get(Some(&api), PAGE).await.text).contains("API Calls (24h)"),
        "Reset restores the default"
    );
}

/// The table itself (the Columns menu before it names every column).
fn table_html(page: &str) -> String {
    let start = page.find("<table class=\"data\"").expect("a table");
    let end = page[start..]
        .find("</table>")
        .map(|e| start + e)
        .unwrap_or(page.len());
    page[start..end].to_owned()
}

/// Pages keep rendering while other routers are built (tests build one per
/// test): route-list generation once suppressed every resource first polled
/// meanwhile, process-wide, and such a render never finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_while_other_routers_are_built() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let api = app.sign_in("api@acme.example").await;
    let builder = tokio::spawn(async {
        for _ in 0..16 {
            TestApp::new().await;
        }
    });
    let mut renders = 0;
    while !builder.is_finished() {
        let page = tokio::time::timeout(Duration::from_secs(15), app.get(Some(&api), PAGE))
            .await
            .unwrap_or_else(|_| panic!("render {renders} never finished"));
        assert_eq!(page.status, StatusCode::OK);
        renders += 1;
    }
    builder.await.expect("routers built");
    assert!(renders > 0);
}
