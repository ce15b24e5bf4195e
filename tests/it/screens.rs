//! What the server-rendered pages show each role (docs/PAGES.md): the
//! not-permitted page, the View only notice, times, seeded names, the
//! columns that can be hidden, audit labels and the demo's sign-in.

use crate::common::{HOST, TestApp, assert_status};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keyport::model::{ApiKeyPage, SandboxPage};
use keyport::pages::not_permitted::NOT_PERMITTED;
use keyport::paths;
use serde_json::json;

const NON_PROVIDERS: [&str; 4] = [
    "super@acme.example",
    "api@acme.example",
    "readonly@acme.example",
    "connector@acme.example",
];

/// The markup of a link to the Provider Console, as the navigation draws it.
const CONSOLE_LINK: &str = "href=\"/provider\"";

#[tokio::test]
async fn the_provider_console_is_refused_not_drawn_for_other_roles() {
    let app = TestApp::new().await;
    for user in NON_PROVIDERS {
        let cookie = app.sign_in(user).await;
        let page = app.get(Some(&cookie), paths::PROVIDER).await;
        assert_status(&page, StatusCode::FORBIDDEN, user);
        assert!(page.text.contains(NOT_PERMITTED), "{user}: the heading");
        assert!(
            page.text.contains(&format!(
                "href=\"{}\">Go to API Configuration",
                paths::OVERVIEW
            )),
            "{user}: a way back"
        );
        for console_markup in [
            "Create an organisation",
            "new-org-short",
            "Organisations",
            "Save settings",
            "Reason for disabling",
        ] {
            assert!(
                !page.text.contains(console_markup),
                "{user}: {console_markup} drawn on the refusal"
            );
        }
        for path in [paths::PROVIDER, paths::OVERVIEW, paths::SANDBOX_API_TOKEN] {
            let html = app.get(Some(&cookie), path).await.text;
            assert!(
                !html.contains(CONSOLE_LINK),
                "{user}: console link on {path}"
            );
        }
    }
    let provider = app.sign_in("provider@keyport.example").await;
    let console = app.get(Some(&provider), paths::PROVIDER).await;
    assert_status(&console, StatusCode::OK, "provider");
    assert!(console.text.contains("Create an organisation"));
    assert!(!console.text.contains(NOT_PERMITTED));
    let overview = app.get(Some(&provider), paths::OVERVIEW).await;
    assert!(overview.text.contains(CONSOLE_LINK), "the provider's nav");
}

#[tokio::test]
async fn the_audit_log_is_refused_to_cloud_connector_admins() {
    let app = TestApp::new().await;
    let connector = app.sign_in("connector@acme.example").await;
    let page = app.get(Some(&connector), paths::AUDIT_LOGS).await;
    assert_status(&page, StatusCode::FORBIDDEN, "connector admin");
    assert!(page.text.contains(NOT_PERMITTED));
    assert!(!page.text.contains("Export CSV"));
    let readonly = app.sign_in("readonly@acme.example").await;
    let page = app.get(Some(&readonly), paths::AUDIT_LOGS).await;
    assert_status(&page, StatusCode::OK, "read-only admin");
    assert!(page.text.contains("Export CSV"));
}

#[tokio::test]
async fn the_navigation_marks_the_page_it_is_on() {
    let app = TestApp::new().await;
    let provider = app.sign_in("provider@keyport.example").await;
    let current = |href: &str| format!("<a href=\"{href}\" aria-current=\"page\">");
    let linked = |href: &str| format!("<a href=\"{href}\">");
    let audit = app.get(Some(&provider), paths::AUDIT_LOGS).await;
    assert_status(&audit, StatusCode::OK, "audit log");
    assert!(audit.text.contains(&current(paths::AUDIT_LOGS)));
    assert!(audit.text.contains(&linked(paths::PROVIDER)));
    let console = app.get(Some(&provider), paths::PROVIDER).await;
    assert_status(&console, StatusCode::OK, "console");
    assert!(console.text.contains(&current(paths::PROVIDER)));
    assert!(console.text.contains(&linked(paths::AUDIT_LOGS)));
    let overview = app.get(Some(&provider), paths::OVERVIEW).await;
    assert!(overview.text.contains(&linked(paths::AUDIT_LOGS)));
    assert!(overview.text.contains(&linked(paths::PROVIDER)));
}

#[tokio::test]
async fn view_only_roles_are_told_so_at_the_top_of_the_page() {
    let app = TestApp::new().await;
    let pages = [
        paths::OVERVIEW,
        paths::SANDBOX_API_TOKEN,
        paths::CLOUD_SERVICE_API_KEY,
        paths::OAUTH_SERVERS,
        paths::CONNECTOR_KEY_MANAGEMENT,
    ];
    for (user, role) in [
        ("readonly@acme.example", "Read-Only Admin"),
        ("connector@acme.example", "Cloud Connector Admin"),
    ] {
        let cookie = app.sign_in(user).await;
        for path in pages {
            let html = app.get(Some(&cookie), path).await.text;
            assert!(
                html.contains(&format!(
                    "View only.</strong> Your role ({role}) can see this page but not change it."
                )),
                "{user} on {path}"
            );
            let notice = html.find("View only.").unwrap();
            let base_url = html.find("Base URL").unwrap_or(usize::MAX);
            assert!(
                notice < base_url,
                "{user} on {path}: the notice comes first"
            );
        }
    }
    let api = app.sign_in("api@acme.example").await;
    for path in &pages[..4] {
        let html = app.get(Some(&api), path).await.text;
        assert!(!html.contains("View only."), "API Admin on {path}");
    }
    // The connector key is the provider's: an API Admin only looks.
    let html = app
        .get(Some(&api), paths::CONNECTOR_KEY_MANAGEMENT)
        .await
        .text;
    assert!(html.contains("Your role (API Admin) can see this page but not change it."));
    // A Super Admin may, once the provider allows it: until then, that is the reason.
    let super_admin = app.sign_in("super@acme.example").await;
    let html = app
        .get(Some(&super_admin), paths::CONNECTOR_KEY_MANAGEMENT)
        .await
        .text;
    assert!(
        html.contains(
            "View only.</strong> Changes here need your service provider&#x27;s permission."
        ) || html
            .contains("View only.</strong> Changes here need your service provider's permission.")
    );
    // Globex's expired Sandbox subscription has its own banner instead.
    let globex = app.sign_in("api@globex.example").await;
    let html = app.get(Some(&globex), paths::SANDBOX_API_TOKEN).await.text;
    assert!(html.contains("subscription has expired") && !html.contains("View only."));
}

#[tokio::test]
async fn times_are_sent_in_utc_for_the_browser_to_localise() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let html = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await.text;
    let start = html.find("<time datetime=\"").expect("a <time> element");
    let element = &html[start..start + html[start..].find("</time>").unwrap()];
    // <time datetime="2026-11-22T06:46:40Z" title="2026-11-22 06:46:40 UTC">2026-11-22 06:46:40 UTC
    let iso = &element[16..36];
    assert!(iso.ends_with('Z') && &iso[10..11] == "T", "{element}");
    let utc = format!("{} {} UTC", &iso[..10], &iso[11..19]);
    assert!(element.contains(&format!("title=\"{utc}\"")), "{element}");
    assert!(
        element.contains(&format!(">{utc}")),
        "the server's text is UTC: {element}"
    );
}

#[tokio::test]
async fn seeded_credentials_were_made_by_the_provider() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let sandbox: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    assert!(!sandbox.tokens.is_empty());
    for token in &sandbox.tokens {
        assert_eq!(token.last_modified_by, "Provider", "{}", token.name);
    }
    let key: ApiKeyPage = app
        .call(Some(&api), "api-keys/get", &[("kind", "cloud_service")])
        .await
        .parse();
    assert_eq!(
        key.key.expect("the seeded key").last_modified_by,
        "Provider"
    );
    let html = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await.text;
    assert!(!html.contains(">system<"));
}

async fn save_layout(
    app: &TestApp,
    cookie: &str,
    layout: serde_json::Value,
) -> crate::common::Reply {
    let req = Request::post("/api/tables/save-layout")
        .header(header::HOST, HOST)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(layout.to_string()))
        .unwrap();
    app.send(req).await
}

/// The Sandbox API Token table's header cells.
fn headers(html: &str) -> String {
    let start = html.find("<thead>").expect("a table");
    html[start..start + html[start..].find("</thead>").unwrap()].to_owned()
}

#[tokio::test]
async fn last_used_shows_by_default_and_every_column_but_name_can_be_hidden() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let default = headers(&app.get(Some(&api), paths::SANDBOX_API_TOKEN).await.text);
    assert!(default.contains("Last Used"));
    assert!(!default.contains("API Calls (24h)"));

    let only_name = json!({"table": "sandbox_tokens", "layout": {"columns": [
        ["name", true], ["token", false], ["status", false], ["modified_by", false],
        ["modified_on", false], ["last_used", false]
    ]}});
    assert_status(
        &save_layout(&app, &api, only_name).await,
        StatusCode::OK,
        "hide all but Name",
    );
    let shown = headers(&app.get(Some(&api), paths::SANDBOX_API_TOKEN).await.text);
    assert!(shown.contains(">Name<"));
    for gone in [
        "Sandbox API Token",
        "Status",
        "Last Modified By",
        "Last Modified On",
        "Last Used",
    ] {
        assert!(!shown.contains(gone), "{gone} is hidden");
    }

    // Name, and a key's Key, may not be hidden: refused, and nothing changes.
    let no_name = json!({"table": "sandbox_tokens", "layout": {"columns": [["name", false]]}});
    let refused = save_layout(&app, &api, no_name).await;
    assert_status(&refused, StatusCode::BAD_REQUEST, "hide Name");
    assert_eq!(refused.json()["fields"]["layout"], "Name cannot be hidden.");
    let still = headers(&app.get(Some(&api), paths::SANDBOX_API_TOKEN).await.text);
    assert_eq!(still, shown, "the refused layout changed nothing");
    let no_key = json!({"table": "cloud_service_key", "layout": {"columns": [["key", false]]}});
    assert_status(
        &save_layout(&app, &api, no_key).await,
        StatusCode::BAD_REQUEST,
        "hide Key",
    );
}

#[tokio::test]
async fn audit_sub_categories_are_shown_as_labels() {
    let app = TestApp::new().await;
    let readonly = app.sign_in("readonly@acme.example").await;
    // A refused change: the guard records it under what it would have touched.
    let refused = app
        .call(Some(&readonly), "sandbox-tokens/add", &[("name", "Nope")])
        .await;
    assert_status(&refused, StatusCode::FORBIDDEN, "read-only add");
    // An entry from before: the permission's Rust name.
    sqlx::query(
        "INSERT INTO audit_log (at, action, category, sub_category, resource, admin, org, client_ip, interface, trace_id, result, reason)
         VALUES (1000, 'access', 'API Configuration', 'ManageCloudServiceKey', 'legacy refusal', 'readonly@acme.example', 'acme', '10.0.0.9', 'admin_ui', 'feedc0de', 'failure', 'forbidden')",
    )
    .execute(app.state.store.pool())
    .await
    .unwrap();

    let api = app.sign_in("api@acme.example").await;
    let html = app
        .get(Some(&api), &format!("{}?action=access", paths::AUDIT_LOGS))
        .await
        .text;
    assert!(html.contains(">Sandbox API Token<"), "the new refusal");
    assert!(
        html.contains(">Cloud Service API Key<"),
        "the legacy one, by its label"
    );
    // Shown nowhere as text (the filter's option values and the page's
    // hydration data carry stored values; what a person reads does not).
    for code in [
        "ManageSandboxTokens",
        "ManageCloudServiceKey",
        "cloud_service",
    ] {
        assert!(!html.contains(&format!(">{code}<")), "{code} shown");
    }
    let csv = app
        .get(
            Some(&api),
            &format!("{}?action=access", paths::AUDIT_CSV_EXPORT),
        )
        .await
        .text;
    assert!(csv.contains(
        "API Configuration / Cloud Service API Key,Cloud Service API Key,legacy refusal"
    ));
    assert!(!csv.contains("ManageCloudServiceKey"));
}

#[tokio::test]
async fn a_demo_offers_one_click_sign_in_and_says_it_is_a_demo() {
    let app = TestApp::new().await;
    let login = app.get(None, paths::LOGIN).await.text;
    for user in NON_PROVIDERS
        .iter()
        .chain(["provider@keyport.example"].iter())
    {
        assert!(login.contains(&format!("Sign in as {user}")), "{user}");
        assert!(
            login.contains(&format!("name=\"username\" value=\"{user}\"")),
            "{user}"
        );
    }
    assert!(login.contains("Demo data — reset nightly at 03:00 UTC."));
    let api = app.sign_in("api@acme.example").await;
    for path in [paths::OVERVIEW, paths::SANDBOX_API_TOKEN, paths::AUDIT_LOGS] {
        let html = app.get(Some(&api), path).await.text;
        let strip = html
            .find("class=\"demo-strip\"")
            .map(|i| &html[i..(i + 120).min(html.len())]);
        assert!(
            strip.is_some_and(|s| s.contains("Demo data — reset nightly at 03:00 UTC.")),
            "{path}: {strip:?}"
        );
    }

    // Outside a demo: no accounts offered, no banner.
    let real = TestApp::with_settings(|s| {
        s.demo = false;
        s.demo_reset = None;
    })
    .await;
    let login = real.get(None, paths::LOGIN).await.text;
    assert!(!login.contains("Sign in as") && !login.contains("Demo data"));
    let api = real.sign_in("api@acme.example").await;
    let html = real.get(Some(&api), paths::OVERVIEW).await.text;
    assert!(!html.contains("Demo data"));
}

/// The dialogs' buttons are server-rendered (components/dialog_host.rs):
/// each carries its request as JSON in `data-dialog`, escaped like any
/// attribute, and the page's dialogs wait in a `<template>` for the first
/// click. A role that may change nothing gets neither.
#[tokio::test]
async fn dialog_buttons_carry_their_request_escaped_and_only_for_those_who_may_change() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let hostile = r#""><script>alert(1)</script><img src=x onerror=alert(2)>"#;
    let added = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", hostile)])
        .await;
    assert_status(&added, StatusCode::OK, "a name with markup is a name");

    let pages = [
        (paths::SANDBOX_API_TOKEN, "sandbox-dialogs"),
        (paths::CLOUD_SERVICE_API_KEY, "key-dialogs"),
        (paths::OAUTH_SERVERS, "oauth-dialogs"),
    ];
    for (path, host) in pages {
        let html = app.get(Some(&api), path).await.text;
        assert!(
            html.contains(&format!("<template id=\"{host}\">")),
            "{path}: the dialogs wait in their template"
        );
        assert!(
            html.contains(&format!("data-dialog-host=\"{host}\"")),
            "{path}: its buttons name the host"
        );
    }
    let html = app.get(Some(&api), paths::SANDBOX_API_TOKEN).await.text;
    assert!(
        html.contains("data-dialog=\"{&quot;Edit&quot;:{&quot;id&quot;:"),
        "the request is JSON, escaped in its attribute"
    );
    assert!(
        !html.contains("<script>alert(1)") && !html.contains("<img src=x"),
        "the hostile name never becomes markup"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let buttons: Vec<&str> = html
        .split("<button ")
        .skip(1)
        .filter_map(|b| b.split('>').next())
        .filter(|b| b.contains("data-dialog="))
        .collect();
    assert!(buttons.len() >= 4, "Add and the rows' actions: {buttons:?}");
    assert!(
        buttons.iter().all(|b| !b.contains("class=\"\"")),
        "a plain button writes no class attribute: {buttons:?}"
    );
    assert!(
        buttons.iter().any(|b| b.contains("class=\"danger\"")),
        "Delete is red"
    );
    let readonly = app.sign_in("readonly@acme.example").await;
    for (path, host) in pages {
        let html = app.get(Some(&readonly), path).await.text;
        assert!(!html.contains("data-dialog"), "{path}: no dialog buttons");
        assert!(
            !html.contains(&format!("id=\"{host}\"")),
            "{path}: no dialogs"
        );
    }
}
