//! OAuth 2.0 Authorization Servers: roles, the two limits, and JWKS
//! validation against a JWKS served by a local test server.

use crate::common::TestApp;
use axum::http::StatusCode;
use keyport::error::AppError;
use keyport::model::{JwksKey, OAuthPage};

const JWKS: &str = r#"{"keys":[{"kty":"RSA","kid":"test-key-1","alg":"RS256","use":"sig","n":"sXch","e":"AQAB"}]}"#;

/// Serves `/jwks` (valid) and `/broken` (not JSON) on a free local port.
async fn jwks_server() -> String {
    let app = axum::Router::new()
        .route(
            "/jwks",
            axum::routing::get(|| async { ([("content-type", "application/json")], JWKS) }),
        )
        .route(
            "/broken",
            axum::routing::get(|| async { "<html>not a jwks</html>" }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{}", addr.port())
}

fn form<'a>(name: &'a str, url: &'a str, enabled: bool) -> Vec<(&'static str, String)> {
    vec![
        ("form[enabled]", enabled.to_string()),
        ("form[name]", name.to_owned()),
        ("form[description]", "Test IdP".to_owned()),
        ("form[jwks_url]", url.to_owned()),
        ("form[validate_cert]", "true".to_owned()),
        ("form[audience]", "api://keyport".to_owned()),
        ("form[issuer]", "https://idp.example".to_owned()),
        ("form[client_id]", "keyport-client".to_owned()),
    ]
}

async fn save(
    app: &TestApp,
    cookie: &str,
    fields: Vec<(&'static str, String)>,
) -> crate::common::Reply {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.call(Some(cookie), "oauth-servers/save", &pairs).await
}

#[tokio::test]
async fn validate_parses_the_jwks_and_refuses_what_is_not_one() {
    let app = TestApp::new().await;
    let base = jwks_server().await;
    let api = app.sign_in("api@acme.example").await;
    let ok = app
        .call(
            Some(&api),
            "oauth-servers/validate",
            &[
                ("jwks_url", &format!("{base}/jwks")),
                ("validate_cert", "true"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    let keys: Vec<JwksKey> = ok.parse();
    assert_eq!(keys[0].kid.as_deref(), Some("test-key-1"));
    assert_eq!(keys[0].alg.as_deref(), Some("RS256"));
    for url in [
        format!("{base}/broken"),
        format!("{base}/missing"),
        "http://example.com/jwks".to_owned(),
        "not a url".to_owned(),
    ] {
        let bad = app
            .call(
                Some(&api),
                "oauth-servers/validate",
                &[("jwks_url", &url), ("validate_cert", "true")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{url}: {}", bad.text);
        assert!(bad.parse::<AppError>().field("jwks_url").is_some());
    }
}

#[tokio::test]
async fn plain_http_needs_the_development_setting() {
    let app = TestApp::with_settings(|s| s.allow_insecure_jwks = false).await;
    let base = jwks_server().await;
    let api = app.sign_in("api@acme.example").await;
    let bad = app
        .call(
            Some(&api),
            "oauth-servers/validate",
            &[
                ("jwks_url", &format!("{base}/jwks")),
                ("validate_cert", "true"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.parse::<AppError>().field("jwks_url"),
        Some("The JWKS location must be an https URL.")
    );
}

#[tokio::test]
async fn two_servers_at_most_and_one_enabled() {
    let app = TestApp::new().await;
    let base = jwks_server().await;
    let url = format!("{base}/jwks");
    let api = app.sign_in("api@acme.example").await;
    let first = save(&app, &api, form("Okta", &url, true)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let second_enabled = save(&app, &api, form("AzureAD", &url, true)).await;
    assert_eq!(
        second_enabled.status,
        StatusCode::CONFLICT,
        "second enable refused"
    );
    let second = save(&app, &api, form("AzureAD", &url, false)).await;
    assert_eq!(second.status, StatusCode::OK);
    let third = save(&app, &api, form("Third", &url, false)).await;
    assert_eq!(third.status, StatusCode::CONFLICT, "third server refused");
    assert!(third.parse::<AppError>().to_string().contains("at most 2"));

    let list: OAuthPage = app
        .call(Some(&api), "oauth-servers/list", &[])
        .await
        .parse();
    let servers = &list.servers;
    assert_eq!(servers.len(), 2);
    assert!(servers[0].last_fetch_at.is_some());
    assert_eq!(servers[0].keys[0].kid.as_deref(), Some("test-key-1"));

    // Enabling the second while the first is enabled is refused; after
    // disabling the first it is allowed.
    let second_id = servers[1].id.to_string();
    let first_id = servers[0].id.to_string();
    let mut enable_second = form("AzureAD", &url, true);
    enable_second.push(("id", second_id.clone()));
    assert_eq!(
        save(&app, &api, enable_second.clone()).await.status,
        StatusCode::CONFLICT
    );
    let mut disable_first = form("Okta", &url, false);
    disable_first.push(("id", first_id.clone()));
    assert_eq!(save(&app, &api, disable_first).await.status, StatusCode::OK);
    assert_eq!(save(&app, &api, enable_second).await.status, StatusCode::OK);

    // Bad fields are refused with a message per field and change nothing.
    let bad = save(&app, &api, form("has space", &url, false)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.parse::<AppError>().field("name").is_some());

    assert_eq!(
        app.call(Some(&api), "oauth-servers/delete", &[("id", &first_id)])
            .await
            .status,
        StatusCode::OK
    );
    let left: OAuthPage = app
        .call(Some(&api), "oauth-servers/list", &[])
        .await
        .parse();
    assert_eq!(left.servers.len(), 1);
}

#[tokio::test]
async fn view_only_roles_and_strangers_are_refused() {
    let app = TestApp::new().await;
    let base = jwks_server().await;
    let url = format!("{base}/jwks");
    let api = app.sign_in("api@acme.example").await;
    let id = save(&app, &api, form("Okta", &url, true))
        .await
        .parse::<i64>()
        .to_string();
    assert_eq!(
        app.call(None, "oauth-servers/list", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let v = app
        .call(
            None,
            "oauth-servers/validate",
            &[("jwks_url", &url), ("validate_cert", "true")],
        )
        .await;
    assert_eq!(v.status, StatusCode::UNAUTHORIZED);
    let fields = form("Anon", &url, false);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.call(None, "oauth-servers/save", &pairs).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.call(None, "oauth-servers/delete", &[("id", &id)])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    for user in [
        "readonly@acme.example",
        "connector@acme.example",
        "provider@keyport.example",
    ] {
        let cookie = app.sign_in(user).await;
        assert_eq!(
            app.call(Some(&cookie), "oauth-servers/list", &[])
                .await
                .status,
            StatusCode::OK
        );
        let v = app
            .call(
                Some(&cookie),
                "oauth-servers/validate",
                &[("jwks_url", &url), ("validate_cert", "true")],
            )
            .await;
        assert_eq!(v.status, StatusCode::FORBIDDEN, "{user} validate");
        assert_eq!(
            save(&app, &cookie, form("Sneaky", &url, false))
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{user} save"
        );
        assert_eq!(
            app.call(Some(&cookie), "oauth-servers/delete", &[("id", &id)])
                .await
                .status,
            StatusCode::FORBIDDEN,
            "{user} delete"
        );
    }
    let globex = app.sign_in("api@globex.example").await;
    assert_eq!(
        app.call(Some(&globex), "oauth-servers/delete", &[("id", &id)])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let theirs: OAuthPage = app
        .call(Some(&globex), "oauth-servers/list", &[])
        .await
        .parse();
    assert!(theirs.servers.is_empty());
}
