//! "Who looked": the last reveals of one secret, read from the audit log,
//! for every role that may view the page, only in the session's
//! organisation, never with the secret.

use super::from_peer;
use crate::common::{HOST, TestApp, assert_status, urlencode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use keyport::api::sandbox::IssuedToken;
use keyport::model::{RevealEntry, SandboxPage};

/// Reveals a token through the server function from `peer`.
async fn reveal_from(
    app: &TestApp,
    cookie: &str,
    endpoint: &str,
    form: &str,
    peer: &str,
) -> String {
    let req = Request::post(format!("/api/{endpoint}"))
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .body(Body::from(form.to_owned()))
        .unwrap();
    let reply = app.send(from_peer(req, peer)).await;
    assert_status(&reply, StatusCode::OK, endpoint);
    reply.parse()
}

async fn token_ids(app: &TestApp, cookie: &str) -> Vec<i64> {
    app.call(Some(cookie), "sandbox-tokens/list", &[])
        .await
        .parse::<SandboxPage>()
        .tokens
        .iter()
        .map(|t| t.id)
        .collect()
}

#[tokio::test]
async fn the_reveals_of_one_token_newest_first_without_the_secret() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let super_admin = app.sign_in("super@acme.example").await;
    let ids = token_ids(&app, &api).await;
    let (first, second) = (format!("id={}", ids[0]), format!("id={}", ids[1]));
    let secret = reveal_from(&app, &api, "sandbox-tokens/reveal", &first, "127.0.0.1:1").await;
    reveal_from(
        &app,
        &super_admin,
        "sandbox-tokens/reveal",
        &first,
        "127.0.0.2:1",
    )
    .await;
    reveal_from(&app, &api, "sandbox-tokens/reveal", &second, "127.0.0.3:1").await;
    // A refused reveal (a view-only role) is not a look.
    let readonly = app.sign_in("readonly@acme.example").await;
    let refused = app
        .call(
            Some(&readonly),
            "sandbox-tokens/reveal",
            &[("id", &ids[0].to_string())],
        )
        .await;
    assert_status(&refused, StatusCode::FORBIDDEN, "read-only reveal");

    // Every role that may view the page may ask (the read-only one too).
    let reply = app
        .call(
            Some(&readonly),
            "sandbox-tokens/reveals",
            &[("id", &ids[0].to_string())],
        )
        .await;
    assert_status(&reply, StatusCode::OK, "reveals");
    assert!(!reply.text.contains(&secret), "the secret is never listed");
    let list: Vec<RevealEntry> = reply.parse();
    let seen: Vec<(&str, &str)> = list
        .iter()
        .map(|r| (r.admin.as_str(), r.client_ip.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("super@acme.example", "127.0.0.2"),
            ("api@acme.example", "127.0.0.1")
        ]
    );
    assert!(list[0].at >= list[1].at);
    let other: Vec<RevealEntry> = app
        .call(
            Some(&readonly),
            "sandbox-tokens/reveals",
            &[("id", &ids[1].to_string())],
        )
        .await
        .parse();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].client_ip, "127.0.0.3");
}

#[tokio::test]
async fn at_most_ten_and_only_of_the_token_as_it_exists_now() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let added = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Peeked")])
        .await;
    let id = added.parse::<IssuedToken>().token.id;
    let form = format!("id={id}");
    for i in 0..12 {
        reveal_from(
            &app,
            &api,
            "sandbox-tokens/reveal",
            &form,
            &format!("127.0.0.{}:1", i + 1),
        )
        .await;
    }
    let list: Vec<RevealEntry> = app
        .call(
            Some(&api),
            "sandbox-tokens/reveals",
            &[("id", &id.to_string())],
        )
        .await
        .parse();
    assert_eq!(list.len(), 10);
    assert_eq!(list[0].client_ip, "127.0.0.12", "newest first");

    // A new token of the same name does not inherit the old one's reveals.
    assert_status(
        &app.call(
            Some(&api),
            "sandbox-tokens/delete",
            &[("id", &id.to_string())],
        )
        .await,
        StatusCode::OK,
        "delete",
    );
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Peeked")])
        .await;
    let new_id = again.parse::<IssuedToken>().token.id;
    let list: Vec<RevealEntry> = app
        .call(
            Some(&api),
            "sandbox-tokens/reveals",
            &[("id", &new_id.to_string())],
        )
        .await
        .parse();
    assert_eq!(list, []);
}

#[tokio::test]
async fn another_organisations_token_or_key_is_not_shown() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let acme_id = token_ids(&app, &api).await[0];
    reveal_from(
        &app,
        &api,
        "sandbox-tokens/reveal",
        &format!("id={acme_id}"),
        "127.0.0.1:1",
    )
    .await;
    let globex = app.sign_in("api@globex.example").await;
    for id in [
        acme_id.to_string(),
        "-1".into(),
        "9223372036854775807".into(),
    ] {
        let reply = app
            .call(Some(&globex), "sandbox-tokens/reveals", &[("id", &id)])
            .await;
        assert_status(&reply, StatusCode::NOT_FOUND, &id);
        assert!(!reply.text.contains("api@acme.example"));
    }
    for junk in ["", "abc", "1e9", &"9".repeat(5000)] {
        let reply = app
            .call(Some(&globex), "sandbox-tokens/reveals", &[("id", junk)])
            .await;
        assert!(reply.status.is_client_error(), "{junk:?}: {}", reply.status);
    }
    let anonymous = app
        .call(
            None,
            "sandbox-tokens/reveals",
            &[("id", &acme_id.to_string())],
        )
        .await;
    assert_status(&anonymous, StatusCode::UNAUTHORIZED, "anonymous");
}

#[tokio::test]
async fn the_keys_reveals_since_it_was_added() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let connector = app.sign_in("connector@acme.example").await;
    let form = format!("kind={}", urlencode("cloud_service"));
    let key = reveal_from(&app, &api, "api-keys/reveal", &form, "127.0.0.1:1").await;
    reveal_from(&app, &connector, "api-keys/reveal", &form, "127.0.0.4:1").await;
    // The connector key's reveals are its own.
    reveal_from(
        &app,
        &api,
        "api-keys/reveal",
        "kind=connector",
        "127.0.0.9:1",
    )
    .await;
    let reply = app
        .call(
            Some(&connector),
            "api-keys/reveals",
            &[("kind", "cloud_service")],
        )
        .await;
    assert_status(&reply, StatusCode::OK, "key reveals");
    assert!(!reply.text.contains(&key));
    let list: Vec<RevealEntry> = reply.parse();
    let seen: Vec<&str> = list.iter().map(|r| r.client_ip.as_str()).collect();
    assert_eq!(seen, ["127.0.0.4", "127.0.0.1"]);

    // Deleted and added again: a new key, nobody has looked at it yet.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for endpoint in ["api-keys/delete", "api-keys/add"] {
        let reply = app
            .call(Some(&api), endpoint, &[("kind", "cloud_service")])
            .await;
        assert_status(&reply, StatusCode::OK, endpoint);
    }
    let list: Vec<RevealEntry> = app
        .call(Some(&api), "api-keys/reveals", &[("kind", "cloud_service")])
        .await
        .parse();
    assert_eq!(list, []);
}

/// The page reads every token's reveals in one query: each token still gets
/// only its own, at most ten, newest first, and one added again under an
/// old name starts with none.
#[tokio::test]
async fn the_page_lists_each_tokens_own_reveals() {
    let app = TestApp::new().await;
    let api = app.sign_in("api@acme.example").await;
    let ids = token_ids(&app, &api).await;
    let (busy, quiet) = (ids[0], ids[1]);
    for i in 0..12 {
        let peer = format!("127.0.1.{}:1", i + 1);
        reveal_from(
            &app,
            &api,
            "sandbox-tokens/reveal",
            &format!("id={busy}"),
            &peer,
        )
        .await;
    }
    reveal_from(
        &app,
        &api,
        "sandbox-tokens/reveal",
        &format!("id={quiet}"),
        "127.0.0.3:1",
    )
    .await;
    let added = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Peeked")])
        .await;
    let old = added.parse::<IssuedToken>().token.id;
    reveal_from(
        &app,
        &api,
        "sandbox-tokens/reveal",
        &format!("id={old}"),
        "127.0.0.4:1",
    )
    .await;
    let deleted = app
        .call(
            Some(&api),
            "sandbox-tokens/delete",
            &[("id", &old.to_string())],
        )
        .await;
    assert_status(&deleted, StatusCode::OK, "delete");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let again = app
        .call(Some(&api), "sandbox-tokens/add", &[("name", "Peeked")])
        .await;
    let new = again.parse::<IssuedToken>().token.id;

    let page: SandboxPage = app
        .call(Some(&api), "sandbox-tokens/list", &[])
        .await
        .parse();
    let ips = |id: i64| -> Vec<String> {
        let token = page.tokens.iter().find(|t| t.id == id).expect("listed");
        token.reveals.iter().map(|r| r.client_ip.clone()).collect()
    };
    let newest_ten: Vec<String> = (3..=12).rev().map(|i| format!("127.0.1.{i}")).collect();
    assert_eq!(ips(busy), newest_ten);
    assert_eq!(ips(quiet), ["127.0.0.3"]);
    assert_eq!(ips(new), Vec::<String>::new());
}
