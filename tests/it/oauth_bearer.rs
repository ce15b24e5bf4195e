//! Bearer JWTs on the Cloud Service API (docs/CONSUMER-API.md#bearer-tokens):
//! keys made here, a JWKS served by a local IdP, servers registered through
//! `oauth::save` as the portal does; then what a token holder sees — the
//! valid token served, each failed check refused with `INVALID_TOKEN`, the
//! JWKS fetched at most once per bound whatever `kid`s are sent, and a
//! disabled, edited or deleted server refusing the very next call.

use crate::common::{HOST, Reply, TestApp};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http_body_util::BodyExt;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use keyport::model::{OAuthServerForm, Subscription, SubscriptionKind};
use keyport::server::consumer::JwksCache;
use keyport::server::provider::{self, Operator};
use keyport::server::store::{BearerCall, BearerCallRequest, RateLimit};
use keyport::server::{oauth, routes};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tower::ServiceExt;

const ISSUER: &str = "https://idp.example/oauth2/default";
const AUDIENCE: &str = "api://keyport";
const CLIENT: &str = "keyport-client";
const SUBJECT: &str = "service-account-7";
const STATUS: &str = "/o/acme/api/v1/status";

/// A signing key, the `kid` it is published under and its public JWK.
#[derive(Clone)]
struct Signer {
    alg: Algorithm,
    kid: String,
    key: EncodingKey,
    jwk: Value,
}

impl Signer {
    fn new(alg: Algorithm, kid: &str, key: EncodingKey) -> Self {
        let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        Signer {
            alg,
            kid: kid.to_owned(),
            key,
            jwk: serde_json::to_value(jwk).unwrap(),
        }
    }

    /// The suite's one RSA key (2048 bits, made once), published as `kid`.
    fn rsa(kid: &str) -> Self {
        static DER: OnceLock<Vec<u8>> = OnceLock::new();
        let der = DER.get_or_init(|| {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
            key.to_pkcs1_der().unwrap().as_bytes().to_vec()
        });
        Signer::new(Algorithm::RS256, kid, EncodingKey::from_rsa_der(der))
    }

    /// A new P-256 key, published as `kid`.
    fn ec(kid: &str) -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let key = p256::SecretKey::random(&mut rand::thread_rng());
        let der = key.to_pkcs8_der().unwrap();
        Signer::new(
            Algorithm::ES256,
            kid,
            EncodingKey::from_ec_der(der.as_bytes()),
        )
    }

    /// The same key under another `kid` (in the JWKS and in the tokens).
    fn as_kid(&self, kid: &str) -> Self {
        let mut other = self.clone();
        other.kid = kid.to_owned();
        other.jwk["kid"] = json!(kid);
        other
    }

    fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

/// A local identity provider serving a JWKS at `/jwks` that counts its
/// fetches, and answers 503 while `down`.
struct Idp {
    url: String,
    jwks: Arc<Mutex<Value>>,
    hits: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl Idp {
    async fn start(keys: &[&Signer]) -> Idp {
        let jwks = Arc::new(Mutex::new(Value::Null));
        let hits = Arc::new(AtomicUsize::new(0));
        let down = Arc::new(AtomicBool::new(false));
        let app = Router::new().route(
            "/jwks",
            axum::routing::get({
                let (jwks, hits, down) = (jwks.clone(), hits.clone(), down.clone());
                move || {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let body = jwks.lock().unwrap().clone();
                    let status = if down.load(Ordering::SeqCst) {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::OK
                    };
                    async move { (status, axum::Json(body)) }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let idp = Idp {
            url: format!("http://127.0.0.1:{port}/jwks"),
            jwks,
            hits,
            down,
        };
        idp.publish(keys);
        idp
    }

    /// Replaces the JWKS (a key rotation at the IdP).
    fn publish(&self, keys: &[&Signer]) {
        let keys: Vec<Value> = keys.iter().map(|k| k.jwk.clone()).collect();
        *self.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn app() -> TestApp {
    TestApp::with_settings(|s| s.api_rate_per_second = 10_000).await
}

fn form(jwks_url: &str, enabled: bool) -> OAuthServerForm {
    OAuthServerForm {
        enabled,
        name: "Okta".into(),
        description: "Test IdP".into(),
        jwks_url: jwks_url.into(),
        validate_cert: true,
        audience: AUDIENCE.into(),
        issuer: ISSUER.into(),
        client_id: CLIENT.into(),
    }
}

/// Saves (adds with `id = None`) a server of `org` as its API admin.
async fn save(app: &TestApp, org: &str, id: Option<i64>, form: OAuthServerForm) -> i64 {
    let admin = format!("api@{org}.example");
    let actor = app.actor(&admin, org).await;
    oauth::save(&app.state, &actor, id, form).await.unwrap()
}

fn now_secs() -> i64 {
    keyport::server::now_ms() / 1000
}

/// Claims a valid token of the test IdP carries.
fn claims() -> Value {
    let now = now_secs();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "cid": CLIENT,
        "sub": SUBJECT,
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
    })
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

fn status_request(path: &str, authorization: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, authorization)
        .body(Body::empty())
        .unwrap()
}

async fn bearer(app: &TestApp, path: &str, token: &str) -> Reply {
    app.send(status_request(path, &format!("Bearer {token}")))
        .await
}

/// The status and JSON body of a request sent to `router`.
async fn send_to(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[track_caller]
fn assert_served(reply: &Reply, org: &str, what: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.text);
    assert_eq!(reply.json()["organisation"], org, "{what}");
    assert_eq!(reply.json()["status"], "ACTIVE", "{what}");
}

/// 401 `INVALID_TOKEN` whose message contains `says` and repeats neither
/// the token nor its claims.
#[track_caller]
fn assert_invalid(reply: &Reply, token: &str, says: &str, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        reply.text
    );
    assert_eq!(reply.code(), "INVALID_TOKEN", "{what}: {}", reply.text);
    let message = reply.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains(says), "{what}: {message:?} lacks {says:?}");
    if token.len() > 8 {
        assert!(!reply.text.contains(token), "{what}: the token is echoed");
    }
    assert!(!reply.text.contains(SUBJECT), "{what}: a claim is echoed");
    assert!(reply.headers.get(header::SET_COOKIE).is_none(), "{what}");
}

#[tokio::test]
async fn valid_rs256_and_es256_tokens_open_the_status_call() {
    let app = app().await;
    let (rsa, ec) = (Signer::rsa("rsa-1"), Signer::ec("ec-1"));
    let idp = Idp::start(&[&rsa, &ec]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    let after_save = idp.hits();

    let reply = bearer(&app, STATUS, &rsa.sign(&claims())).await;
    assert_served(&reply, "acme", "RS256");
    assert!(
        reply.headers.get(header::SET_COOKIE).is_none(),
        "no session is made"
    );
    assert_served(
        &bearer(&app, STATUS, &ec.sign(&claims())).await,
        "acme",
        "ES256",
    );
    let scheme = app
        .send(status_request(
            STATUS,
            &format!("bearer {}", rsa.sign(&claims())),
        ))
        .await;
    assert_served(&scheme, "acme", "the scheme in lower case");
    for (what, claims) in [
        (
            "aud as a list",
            with(claims(), "aud", json!(["api://other", AUDIENCE])),
        ),
        (
            "exp 30 s ago, within the leeway",
            with(claims(), "exp", json!(now_secs() - 30)),
        ),
        (
            "nbf 30 s ahead, within the leeway",
            with(claims(), "nbf", json!(now_secs() + 30)),
        ),
        ("no nbf", without(claims(), "nbf")),
        (
            "client_id",
            with(without(claims(), "cid"), "client_id", json!(CLIENT)),
        ),
        ("azp", with(without(claims(), "cid"), "azp", json!(CLIENT))),
        ("appid and cid", with(claims(), "appid", json!(CLIENT))),
    ] {
        assert_served(
            &bearer(&app, STATUS, &rsa.sign(&claims)).await,
            "acme",
            what,
        );
    }
    assert_eq!(idp.hits(), after_save + 1, "one fetch served every call");

    // Sessions are untouched: no cookie and no token is still refused, and
    // a token makes no session of the sign-in path or the Connector API.
    let none = app.consumer("GET", STATUS, None, None).await;
    assert_eq!(none.code(), "SESSION_NOT_VALID");
    for path in [
        "/o/acme/api/v1/authenticatedSession",
        "/o/acme/connector/api/v1/auth",
    ] {
        let reply = bearer(&app, path, &rsa.sign(&claims())).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(reply.code(), "SESSION_NOT_VALID", "{path}");
    }
}

#[tokio::test]
async fn every_failed_check_is_refused_with_invalid_token() {
    let app = app().await;
    let (rsa, ec) = (Signer::rsa("rsa-1"), Signer::ec("ec-1"));
    let idp = Idp::start(&[&rsa, &ec]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    assert_served(
        &bearer(&app, STATUS, &rsa.sign(&claims())).await,
        "acme",
        "valid",
    );

    let impostor = Signer::ec("ec-1");
    let valid = rsa.sign(&claims());
    let parts: Vec<&str> = valid.split('.').collect();
    let forged_claims = URL_SAFE_NO_PAD.encode(with(claims(), "sub", json!("admin")).to_string());
    let tampered = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"rsa-1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    let alg_none = format!("{none_header}.{payload}.");
    // Algorithm confusion: HS256 keyed with the public key the JWKS shows.
    let public_as_secret = Signer {
        alg: Algorithm::HS256,
        kid: "rsa-1".into(),
        key: EncodingKey::from_secret(rsa.jwk.to_string().as_bytes()),
        jwk: Value::Null,
    };
    let rs384 = Signer {
        alg: Algorithm::RS384,
        ..rsa.clone()
    };
    let ec_under_rsa_kid = Signer {
        kid: "rsa-1".into(),
        ..ec.clone()
    };
    let mut no_kid_header = Header::new(Algorithm::RS256);
    no_kid_header.kid = None;
    let no_kid = jsonwebtoken::encode(&no_kid_header, &claims(), &rsa.key).unwrap();
    let now = now_secs();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another key under the same kid",
            impostor.sign(&claims()),
            "signature does not verify",
        ),
        (
            "claims changed after signing",
            tampered,
            "signature does not verify",
        ),
        (
            "wrong iss",
            rsa.sign(&with(claims(), "iss", json!("https://evil.example"))),
            "issuer (iss)",
        ),
        (
            "no iss",
            rsa.sign(&without(claims(), "iss")),
            "lacks a valid iss claim",
        ),
        (
            "wrong aud",
            rsa.sign(&with(claims(), "aud", json!("api://other"))),
            "audience (aud)",
        ),
        (
            "aud list without ours",
            rsa.sign(&with(claims(), "aud", json!(["a", "b"]))),
            "audience (aud)",
        ),
        (
            "no aud",
            rsa.sign(&without(claims(), "aud")),
            "lacks a valid aud claim",
        ),
        (
            "expired",
            rsa.sign(&with(claims(), "exp", json!(now - 120))),
            "has expired",
        ),
        (
            "no exp",
            rsa.sign(&without(claims(), "exp")),
            "lacks a valid exp claim",
        ),
        (
            "exp not a number",
            rsa.sign(&with(claims(), "exp", json!("tomorrow"))),
            "lacks a valid exp claim",
        ),
        (
            "nbf not a number",
            rsa.sign(&with(claims(), "nbf", json!("yesterday"))),
            "nbf claim is malformed",
        ),
        (
            "nbf in the future",
            rsa.sign(&with(claims(), "nbf", json!(now + 300))),
            "not valid yet",
        ),
        (
            "wrong cid",
            rsa.sign(&with(claims(), "cid", json!("other-client"))),
            "is not the Client ID",
        ),
        (
            "cid right, azp wrong",
            rsa.sign(&with(claims(), "azp", json!("other-client"))),
            "is not the Client ID",
        ),
        (
            "cid a number",
            rsa.sign(&with(claims(), "cid", json!(7))),
            "is not the Client ID",
        ),
        (
            "no client claim",
            rsa.sign(&without(claims(), "cid")),
            "names no client",
        ),
        (
            "unknown kid",
            rsa.as_kid("rsa-9").sign(&claims()),
            "key id (kid)",
        ),
        ("no kid", no_kid, "names no key (kid)"),
        ("alg none", alg_none, "cannot be read"),
        (
            "HS256 keyed with the public key",
            public_as_secret.sign(&claims()),
            "signed with HS256",
        ),
        ("RS384", rs384.sign(&claims()), "signed with RS384"),
        (
            "ES256 under an RSA key's kid",
            ec_under_rsa_kid.sign(&claims()),
            "not a key for the token's algorithm",
        ),
        ("three parts of junk", "a.b.c".into(), "cannot be read"),
        ("not a JWT", "not-a-jwt".into(), "not a JWT"),
        ("characters no token has", "a.b\"c".into(), "not a JWT"),
        ("no token", String::new(), "has no token"),
        ("100 KB", "a".repeat(100 * 1024), "longer than 8192 bytes"),
    ];
    for (what, token, says) in &cases {
        assert_invalid(&bearer(&app, STATUS, token).await, token, says, what);
    }
    let two = Request::get(STATUS)
        .header(header::HOST, HOST)
        .header(header::AUTHORIZATION, format!("Bearer {valid}"))
        .header(header::AUTHORIZATION, format!("Bearer {valid}"))
        .body(Body::empty())
        .unwrap();
    assert_invalid(
        &app.send(two).await,
        &valid,
        "not several",
        "two Authorization headers",
    );
    assert_served(
        &bearer(&app, STATUS, &valid).await,
        "acme",
        "still valid after the refusals",
    );
}

#[tokio::test]
async fn a_burst_of_unknown_kids_fetches_the_jwks_at_most_once() {
    let app = app().await;
    let rsa = Signer::rsa("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    let after_save = idp.hits();

    // Refused before the JWKS is looked at.
    for token in ["x".repeat(50_000), "junk".into(), String::new()] {
        let reply = bearer(&app, STATUS, &token).await;
        assert_eq!(reply.code(), "INVALID_TOKEN");
    }
    assert_eq!(
        idp.hits(),
        after_save,
        "no fetch for a token that cannot be one"
    );

    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let caller = app.caller.clone();
            let token = rsa.as_kid(&format!("random-{i}")).sign(&claims());
            tokio::spawn(async move {
                caller
                    .send(status_request(STATUS, &format!("Bearer {token}")))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let reply = task.await.unwrap();
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
        assert!(reply.text.contains("key id (kid)"), "{}", reply.text);
    }
    assert_eq!(idp.hits(), after_save + 1, "thirty unknown kids, one fetch");
    assert_served(
        &bearer(&app, STATUS, &rsa.sign(&claims())).await,
        "acme",
        "known kid",
    );
    assert_eq!(idp.hits(), after_save + 1, "the known key was cached");
}

#[tokio::test]
async fn an_unreachable_jwks_answers_503_and_cached_keys_go_on() {
    let app = app().await;
    let rsa = Signer::rsa("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    idp.down.store(true, Ordering::SeqCst);
    let after_save = idp.hits();
    let token = rsa.sign(&claims());
    for _ in 0..3 {
        let reply = bearer(&app, STATUS, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            reply.text
        );
        assert_eq!(reply.code(), "JWKS_UNAVAILABLE");
        assert_eq!(reply.headers[header::RETRY_AFTER], "30");
        assert!(!reply.text.contains(&idp.url), "the location is not shown");
    }
    assert_eq!(idp.hits(), after_save + 1, "one attempt within the bound");

    // Keys fetched before the IdP went down keep verifying.
    let other = app_with_keys(&rsa).await;
    other.1.down.store(true, Ordering::SeqCst);
    assert_served(
        &bearer(&other.0, STATUS, &token).await,
        "acme",
        "cached key",
    );
}

/// An app whose server's keys (`signer`'s) were fetched by a first call.
async fn app_with_keys(signer: &Signer) -> (TestApp, Idp) {
    let app = app().await;
    let idp = Idp::start(&[signer]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    assert_served(
        &bearer(&app, STATUS, &signer.sign(&claims())).await,
        "acme",
        "first",
    );
    (app, idp)
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_the_bound_has_passed() {
    let app = app().await;
    let old = Signer::rsa("rsa-1");
    let new = old.as_kid("rsa-2");
    let idp = Idp::start(&[&old]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    // This instance refetches at most every 2 s instead of 30 s.
    let mut shared = (*app.state).clone();
    shared.jwks = Arc::new(JwksCache::new(Duration::from_secs(2)));
    let router = routes::router(keyport::server::state::AppState::new(shared));
    let call = |signer: &Signer| {
        let request = status_request(STATUS, &format!("Bearer {}", signer.sign(&claims())));
        send_to(&router, request)
    };
    assert_eq!(call(&old).await.0, StatusCode::OK);
    let fetched = idp.hits();

    idp.publish(&[&new]);
    let (status, body) = call(&new).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "within the bound: {body}");
    assert_eq!(idp.hits(), fetched, "no fetch within the bound");
    assert_eq!(
        call(&old).await.0,
        StatusCode::OK,
        "the old key is still cached"
    );

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = call(&new).await;
    assert_eq!(status, StatusCode::OK, "after the bound: {body}");
    assert_eq!(idp.hits(), fetched + 1);
    let (status, body) = call(&old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the retired key: {body}");
    assert_eq!(body["code"], "INVALID_TOKEN");

    let burst: Vec<_> = (0..20)
        .map(|i| call(&new.as_kid(&format!("random-{i}"))))
        .collect();
    for (status, _) in futures_util::future::join_all(burst).await {
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(
        idp.hits() <= fetched + 2,
        "at most one more fetch: {}",
        idp.hits()
    );
}

#[tokio::test]
async fn another_organisations_server_does_not_open_acme() {
    let app = app().await;
    let globex_key = Signer::ec("k1");
    let globex_idp = Idp::start(&[&globex_key]).await;
    let token = globex_key.sign(&claims());

    // acme has no server yet.
    assert_invalid(
        &bearer(&app, STATUS, &token).await,
        &token,
        "no enabled OAuth 2.0 authorization server",
        "no server",
    );
    save(&app, "globex", None, form(&globex_idp.url, true)).await;
    assert_served(
        &bearer(&app, "/o/globex/api/v1/status", &token).await,
        "globex",
        "globex's token on globex",
    );
    assert_invalid(
        &bearer(&app, STATUS, &token).await,
        &token,
        "no enabled OAuth 2.0 authorization server",
        "globex's token on acme without a server",
    );
    // Same issuer, audience, client id and kid, but acme's own key.
    let acme_key = Signer::ec("k1");
    let acme_idp = Idp::start(&[&acme_key]).await;
    save(&app, "acme", None, form(&acme_idp.url, true)).await;
    assert_invalid(
        &bearer(&app, STATUS, &token).await,
        &token,
        "signature does not verify",
        "globex's token on acme",
    );
    assert_served(
        &bearer(&app, STATUS, &acme_key.sign(&claims())).await,
        "acme",
        "acme's",
    );
    let unknown = bearer(&app, "/o/nowhere/api/v1/status", &token).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "ORGANISATION_NOT_FOUND");
}

#[tokio::test]
async fn disabling_editing_or_deleting_the_server_refuses_the_next_call() {
    let app = app().await;
    let rsa = Signer::rsa("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    let id = save(&app, "acme", None, form(&idp.url, true)).await;
    let token = rsa.sign(&claims());
    assert_served(&bearer(&app, STATUS, &token).await, "acme", "enabled");

    save(&app, "acme", Some(id), form(&idp.url, false)).await;
    assert_invalid(
        &bearer(&app, STATUS, &token).await,
        &token,
        "no enabled",
        "disabled",
    );
    save(&app, "acme", Some(id), form(&idp.url, true)).await;
    assert_served(&bearer(&app, STATUS, &token).await, "acme", "enabled again");

    let other_issuer = OAuthServerForm {
        issuer: "https://idp.example/oauth2/other".into(),
        ..form(&idp.url, true)
    };
    save(&app, "acme", Some(id), other_issuer).await;
    assert_invalid(
        &bearer(&app, STATUS, &token).await,
        &token,
        "issuer (iss)",
        "new issuer",
    );
    for (field, blank) in [
        (
            "Client ID",
            OAuthServerForm {
                client_id: " ".into(),
                ..form(&idp.url, true)
            },
        ),
        (
            "Audience URI",
            OAuthServerForm {
                audience: String::new(),
                ..form(&idp.url, true)
            },
        ),
        (
            "Issuer URI",
            OAuthServerForm {
                issuer: String::new(),
                ..form(&idp.url, true)
            },
        ),
    ] {
        save(&app, "acme", Some(id), blank).await;
        let says = format!("no {field} set");
        assert_invalid(&bearer(&app, STATUS, &token).await, &token, &says, field);
    }
    save(&app, "acme", Some(id), form(&idp.url, true)).await;
    assert_served(&bearer(&app, STATUS, &token).await, "acme", "restored");

    let actor = app.actor("api@acme.example", "acme").await;
    oauth::delete(&app.state, &actor, id).await.unwrap();
    assert_invalid(
        &bearer(&app, STATUS, &token).await,
        &token,
        "no enabled",
        "deleted",
    );
}

#[tokio::test]
async fn the_count_refuses_a_server_changed_since_the_token_was_checked() {
    let app = app().await;
    let rsa = Signer::rsa("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    let id = save(&app, "acme", None, form(&idp.url, true)).await;
    let org_id = app.org_id("acme").await;
    let store = &app.state.store;
    let row = store.enabled_oauth_server(org_id).await.unwrap().unwrap();
    let limit = RateLimit {
        class: "session",
        per_second: 10_000,
        per_hour: 10_000,
    };
    let call = |modified_at: i64| BearerCallRequest {
        org_id,
        org: "acme",
        server_id: id,
        server_modified_at: modified_at,
        now: keyport::server::now_ms(),
        limit: &limit,
    };
    assert_eq!(
        store.bearer_call(&call(row.modified_at)).await.unwrap(),
        BearerCall::Served
    );
    assert_eq!(
        store.bearer_call(&call(row.modified_at - 1)).await.unwrap(),
        BearerCall::ServerChanged,
        "edited since it was read"
    );
    save(&app, "acme", Some(id), form(&idp.url, false)).await;
    let disabled = store.oauth_servers(org_id).await.unwrap()[0].modified_at;
    assert_eq!(
        store.bearer_call(&call(disabled)).await.unwrap(),
        BearerCall::ServerChanged,
        "disabled since it was read"
    );
    let other_org = app.org_id("globex").await;
    let foreign = BearerCallRequest {
        org_id: other_org,
        org: "globex",
        ..call(row.modified_at)
    };
    assert_eq!(
        store.bearer_call(&foreign).await.unwrap(),
        BearerCall::ServerChanged
    );
}

#[tokio::test]
async fn bearer_calls_share_the_organisations_rate_limit_and_only_valid_ones_count() {
    let app = TestApp::with_settings(|s| {
        s.api_rate_per_second = 10_000;
        s.api_rate_per_hour = 3;
    })
    .await;
    let rsa = Signer::rsa("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    for _ in 0..5 {
        let token = rsa.sign(&with(claims(), "aud", json!("api://other")));
        assert_eq!(bearer(&app, STATUS, &token).await.code(), "INVALID_TOKEN");
    }
    let admin = app.actor("api@acme.example", "acme").await;
    let key = keyport::server::api_keys::reveal(
        &app.state,
        &admin,
        keyport::model::KeyKind::CloudService,
    )
    .await
    .unwrap();
    let key = secrecy::ExposeSecret::expose_secret(&key).to_owned();
    let cookie = app.api_session("acme", &key, "api@acme.example").await;
    let token = rsa.sign(&claims());
    assert_served(
        &bearer(&app, STATUS, &token).await,
        "acme",
        "second call of the hour",
    );
    assert_served(
        &bearer(&app, STATUS, &token).await,
        "acme",
        "third call of the hour",
    );
    let over = bearer(&app, STATUS, &token).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.text);
    assert_eq!(over.code(), "RATE_LIMIT_EXCEEDED");
    assert!(over.headers.get(header::RETRY_AFTER).is_some());
    let session = app.consumer("GET", STATUS, Some(&cookie), None).await;
    assert_eq!(
        session.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the session shares it"
    );
}

#[tokio::test]
async fn the_subscription_answers_bearer_calls_as_it_answers_sessions() {
    let app = app().await;
    let rsa = Signer::rsa("rsa-1");
    let idp = Idp::start(&[&rsa]).await;
    save(&app, "acme", None, form(&idp.url, true)).await;
    let admin = app.actor("api@acme.example", "acme").await;
    let key = keyport::server::api_keys::reveal(
        &app.state,
        &admin,
        keyport::model::KeyKind::CloudService,
    )
    .await
    .unwrap();
    let key = secrecy::ExposeSecret::expose_secret(&key).to_owned();
    let cookie = app.api_session("acme", &key, "api@acme.example").await;
    let token = rsa.sign(&claims());
    // A bearer header is the whole proof: a live session beside it does not
    // rescue a bad token.
    let expired = rsa.sign(&with(claims(), "exp", json!(now_secs() - 120)));
    let both = Request::get(STATUS)
        .header(header::HOST, HOST)
        .header(header::COOKIE, &cookie)
        .header(header::AUTHORIZATION, format!("Bearer {expired}"))
        .body(Body::empty())
        .unwrap();
    assert_invalid(
        &app.send(both).await,
        &expired,
        "has expired",
        "bad token with a session",
    );
    let session = app.consumer("GET", STATUS, Some(&cookie), None).await;
    assert_eq!(
        session.status,
        StatusCode::OK,
        "the session alone: {}",
        session.text
    );
    for state in [Subscription::Expired, Subscription::None] {
        provider::set_subscription(
            &app.state,
            &Operator::cli(),
            "acme",
            SubscriptionKind::Api,
            state,
            None,
        )
        .await
        .unwrap();
        let by_session = app.consumer("GET", STATUS, Some(&cookie), None).await;
        let by_token = bearer(&app, STATUS, &token).await;
        assert_eq!(
            by_token.status, by_session.status,
            "{state:?}: {}",
            by_token.text
        );
        assert_eq!(by_token.code(), by_session.code(), "{state:?}");
        if state == Subscription::None {
            assert_eq!(by_token.status, StatusCode::FORBIDDEN);
            assert_eq!(by_token.code(), "NO_SUBSCRIPTION");
        }
    }
}
