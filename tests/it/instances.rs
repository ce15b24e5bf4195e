//! Two Keyport instances — the real binary, twice, on different ports —
//! sharing one PostgreSQL database (docs/CONSUMER-API.md, README.md#several-instances-on-postgresql): a session made on
//! one works on the other; after Regenerate returns on instance A, the very
//! first request with the old secret on instance B fails, for a sandbox
//! token and for the Cloud Service key; and a `kill -9` of an instance in
//! the middle of writes loses none of the changes it acknowledged.
//!
//! Runs when KEYPORT_TEST_DATABASE_URL names a PostgreSQL database (`make
//! test` sets it); otherwise it says so and passes without running.

use crate::common::Reply;
use keyport::api::sandbox::IssuedToken;
use keyport::model::SandboxPage;
use keyport::server::consumer::obfuscate_api_key;
use md5::{Digest, Md5};
use reqwest::StatusCode;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const MASTER_KEY: &str = "4b6579706f72742d74776f2d696e7374616e6365732d746573742d6b65792121";

/// One `keyport serve` process.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    async fn start(database_url: &str) -> Instance {
        Instance::start_with(database_url, &[]).await
    }

    /// With `env` set on top of the defaults (e.g. other rate limits).
    async fn start_with(database_url: &str, env: &[(&str, &str)]) -> Instance {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_keyport"))
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", database_url)
            .env("KEYPORT_MASTER_KEY", MASTER_KEY)
            .env("KEYPORT_API_RATE_PER_SECOND", "100000")
            .env("KEYPORT_SUBMIT_RATE_PER_SECOND", "100000")
            .env("KEYPORT_SUBMIT_RATE_PER_HOUR", "1000000")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .expect("keyport binary");
        let instance = Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{}/login", instance.base)).send().await
                && r.status().is_success()
            {
                return instance;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("instance on port {port} did not start");
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server-function call; the portal session cookie, if any.
async fn call(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    endpoint: &str,
    form: &[(&str, &str)],
) -> (Reply, Option<String>) {
    let r = client
        .post(format!("{base}/api/{endpoint}"))
        .header("cookie", cookie)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let set_cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("keyport_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    let text = r.text().await.expect("body");
    let reply = Reply {
        status,
        headers,
        text,
    };
    (reply, set_cookie)
}

/// The API Admin's portal session cookie, signed in on `base`.
async fn sign_in(client: &reqwest::Client, base: &str) -> String {
    let (signed_in, cookie) = call(
        client,
        base,
        "",
        "session/sign-in",
        &[
            ("username", "api@acme.example"),
            ("password", "Keyport-demo-1"),
        ],
    )
    .await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.text);
    cookie.expect("session cookie")
}

async fn submit(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<StatusCode, reqwest::Error> {
    Ok(client
        .post(format!(
            "{base}/o/acme/zscsb/submit?api_token={token}&force=0"
        ))
        .body(body)
        .send()
        .await?
        .status())
}

async fn api_login(
    client: &reqwest::Client,
    base: &str,
    key: &str,
) -> (StatusCode, Option<String>) {
    let timestamp = keyport::server::now_ms().to_string();
    let r = client
        .post(format!("{base}/o/acme/api/v1/authenticatedSession"))
        .json(&json!({
            "apiKey": obfuscate_api_key(key, &timestamp).unwrap(),
            "username": "api@acme.example",
            "password": "Keyport-demo-1",
            "timestamp": timestamp,
        }))
        .send()
        .await
        .expect("login");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    (r.status(), cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_sessions_invalidation_and_survive_a_crash() {
    let Some(pg) = crate::common::postgres_url() else {
        println!(
            "SKIPPED: two instances need PostgreSQL; set KEYPORT_TEST_DATABASE_URL (make test does)"
        );
        return;
    };
    let url = crate::common::fresh_schema(&pg).await;
    let mut a = Instance::start(&url).await;
    let b = Instance::start(&url).await;
    let client = reqwest::Client::builder().build().unwrap();

    // A session made on A works on B.
    let cookie = sign_in(&client, &a.base).await;
    let (list, _) = call(&client, &b.base, &cookie, "sandbox-tokens/list", &[]).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(list.parse::<SandboxPage>().tokens.len(), 2);

    // Sandbox token: regenerated on A, the old one fails on B at once.
    let (added, _) = call(
        &client,
        &a.base,
        &cookie,
        "sandbox-tokens/add",
        &[("name", "Shared")],
    )
    .await;
    let IssuedToken { token, secret: old } = added.parse();
    let id = token.id.to_string();
    assert_eq!(
        submit(&client, &b.base, &old, b"MZ one".to_vec())
            .await
            .unwrap(),
        StatusCode::OK
    );
    let (regenerated, _) = call(
        &client,
        &a.base,
        &cookie,
        "sandbox-tokens/regenerate",
        &[("id", &id)],
    )
    .await;
    assert_eq!(regenerated.status, StatusCode::OK);
    assert_eq!(
        submit(&client, &b.base, &old, b"MZ two".to_vec())
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
        "first request with the old token on B"
    );
    let token = regenerated.parse::<IssuedToken>().secret;
    assert_eq!(
        submit(&client, &b.base, &token, b"MZ three".to_vec())
            .await
            .unwrap(),
        StatusCode::OK
    );

    // Cloud Service key: the same, and B's session made with the old key ends.
    let (key, _) = call(
        &client,
        &a.base,
        &cookie,
        "api-keys/reveal",
        &[("kind", "cloud_service")],
    )
    .await;
    let key: String = key.parse();
    let (status, api_session) = api_login(&client, &b.base, &key).await;
    assert_eq!(status, StatusCode::OK);
    let api_session = api_session.unwrap();
    let status_on_b = |session: String| {
        let client = client.clone();
        let base = b.base.clone();
        async move {
            client
                .get(format!("{base}/o/acme/api/v1/status"))
                .header("cookie", session)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status_on_b(api_session.clone()).await, StatusCode::OK);
    let (regenerated, _) = call(
        &client,
        &a.base,
        &cookie,
        "api-keys/regenerate",
        &[("kind", "cloud_service")],
    )
    .await;
    assert_eq!(regenerated.status, StatusCode::OK);
    assert_eq!(
        api_login(&client, &b.base, &key).await.0,
        StatusCode::BAD_REQUEST,
        "first login with the old key on B"
    );
    assert_eq!(
        status_on_b(api_session).await,
        StatusCode::UNAUTHORIZED,
        "B's session of the old key"
    );

    // kill -9 of A in the middle of writes: every acknowledged submission is there.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE organisations SET sandbox_daily_allowance = 1000000")
        .execute(&pool)
        .await
        .unwrap();
    // Killed once the writers are well under way (counted, not timed: a
    // loaded machine acknowledges slower).
    let under_way = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let client = client.clone();
            let base = a.base.clone();
            let token = token.clone();
            let under_way = under_way.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0..10_000 {
                    let body = format!("MZ writer {w} file {i}").into_bytes();
                    let md5 = hex::encode(Md5::digest(&body));
                    match submit(&client, &base, &token, body).await {
                        Ok(StatusCode::OK) => {
                            acknowledged.push(md5);
                            under_way.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Ok(other) => panic!("unexpected {other}"),
                        Err(_) => break, // the instance is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while under_way.load(std::sync::atomic::Ordering::Relaxed) < 40
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.child.kill().expect("kill -9"); // SIGKILL on Unix
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(
        acknowledged.len() > 20,
        "the writers got going: {}",
        acknowledged.len()
    );
    let stored: Vec<(String,)> = sqlx::query_as("SELECT md5 FROM sandbox_submissions")
        .fetch_all(&pool)
        .await
        .unwrap();
    let stored: std::collections::HashSet<String> = stored.into_iter().map(|r| r.0).collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|m| !stored.contains(*m))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged submissions lost",
        lost.len(),
        acknowledged.len()
    );
    // B goes on serving.
    assert_eq!(
        submit(&client, &b.base, &token, b"MZ after".to_vec())
            .await
            .unwrap(),
        StatusCode::OK
    );
    println!(
        "kill -9 after {} acknowledged submissions: none lost",
        acknowledged.len()
    );
}

/// What one load client saw: when each request was sent (ms since the
/// start) and whether it was served.
type Log = Vec<(u128, StatusCode)>;

/// `clients` clients against `bases` in turn, each request timed from `t0`,
/// until `stop` is set.
fn hammer<F, Fut>(
    bases: &[String],
    clients: usize,
    t0: std::time::Instant,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    request: F,
) -> Vec<tokio::task::JoinHandle<Log>>
where
    F: Fn(reqwest::Client, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = StatusCode> + Send,
{
    (0..clients)
        .map(|c| {
            let base = bases[c % bases.len()].clone();
            let stop = stop.clone();
            let request = request.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut log = Log::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let sent = t0.elapsed().as_millis();
                    log.push((sent, request(client.clone(), base.clone()).await));
                }
                log
            })
        })
        .collect()
}

/// Two instances on a fresh schema of the PostgreSQL test database, with
/// `env` set; `None` (the test says it is skipped) without PostgreSQL.
async fn two_instances(env: &[(&str, &str)]) -> Option<(String, Instance, Instance)> {
    let Some(pg) = crate::common::postgres_url() else {
        println!("SKIPPED: two instances need PostgreSQL; set KEYPORT_TEST_DATABASE_URL");
        return None;
    };
    let url = crate::common::fresh_schema(&pg).await;
    let a = Instance::start_with(&url, env).await;
    let b = Instance::start_with(&url, env).await;
    Some((url, a, b))
}

/// Signs in to the portal on `base` as acme's API Admin; the session
/// cookie, and the Cloud Service key revealed with it.
async fn api_admin_with_key(client: &reqwest::Client, base: &str) -> (String, String) {
    let cookie = sign_in(client, base).await;
    let (key, _) = call(
        client,
        base,
        &cookie,
        "api-keys/reveal",
        &[("kind", "cloud_service")],
    )
    .await;
    (cookie, key.parse())
}

/// Checks one load's log against the time the regenerate answered: the
/// load got going before it, and every request sent after it was refused —
/// 401, or 429 once the address had failed often enough (the anonymous
/// throttle). Returns how many were sent after it.
async fn refused_after(
    load: Vec<tokio::task::JoinHandle<Log>>,
    answered: u128,
    what: &str,
) -> usize {
    let (mut served_before, mut after) = (0, 0);
    for client in load {
        for (sent, status) in client.await.unwrap() {
            if sent > answered {
                after += 1;
                assert!(
                    matches!(
                        status,
                        StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
                    ),
                    "{what} sent {} ms after the regenerate's response: {status}",
                    sent - answered
                );
            } else if status == StatusCode::OK {
                served_before += 1;
            }
        }
    }
    assert!(
        served_before > 50,
        "{what}: the load got going ({served_before})"
    );
    assert!(after > 50, "{what}: requests after the regenerate: {after}");
    after
}

/// Under load on both instances, a regenerate on A: no request sent after
/// its response is served with the old secret, on either instance — for a
/// Cloud Service API session (status) and a sandbox token (submit).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_regenerate_under_load_on_two_instances_stops_the_old_secret_at_once() {
    // Each phase's load comes from an address of its own (through the
    // trusted proxy), so the first phase's refusals do not get the second
    // phase's address throttled.
    let limits = [
        ("KEYPORT_TRUSTED_PROXY", "127.0.0.1/32"),
        ("KEYPORT_API_RATE_PER_HOUR", "100000000"),
        ("KEYPORT_API_RATE_PER_SECOND", "100000000"),
        ("KEYPORT_SUBMIT_RATE_PER_SECOND", "100000000"),
        ("KEYPORT_SUBMIT_RATE_PER_HOUR", "100000000"),
    ];
    let Some((url, a, b)) = two_instances(&limits).await else {
        return;
    };
    let bases = [a.base.clone(), b.base.clone()];
    let client = reqwest::Client::new();
    let (cookie, key) = api_admin_with_key(&client, &a.base).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE organisations SET sandbox_daily_allowance = 100000000")
        .execute(&pool)
        .await
        .unwrap();

    // The Cloud Service key: sessions made with it, on both instances.
    let mut sessions = Vec::new();
    for base in &bases {
        let (status, session) = api_login(&client, base, &key).await;
        assert_eq!(status, StatusCode::OK);
        sessions.push(session.unwrap());
    }
    let t0 = std::time::Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each instance's clients use the session made on it.
    let on_a = a.base.clone();
    let load = hammer(&bases, 8, t0, stop.clone(), move |client, base| {
        let session = sessions[usize::from(base != on_a)].clone();
        async move {
            client
                .get(format!("{base}/o/acme/api/v1/status"))
                .header("cookie", session)
                .header("x-forwarded-for", "203.0.113.1")
                .send()
                .await
                .map_or(StatusCode::SERVICE_UNAVAILABLE, |r| r.status())
        }
    });
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (regenerated, _) = call(
        &client,
        &a.base,
        &cookie,
        "api-keys/regenerate",
        &[("kind", "cloud_service")],
    )
    .await;
    assert_eq!(regenerated.status, StatusCode::OK);
    let answered = t0.elapsed().as_millis();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let calls = refused_after(load, answered, "a status call").await;

    // A sandbox token, the same way.
    let (added, _) = call(
        &client,
        &a.base,
        &cookie,
        "sandbox-tokens/add",
        &[("name", "Under load")],
    )
    .await;
    let IssuedToken { token, secret: old } = added.parse();
    let id = token.id.to_string();
    let t0 = std::time::Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = hammer(&bases, 8, t0, stop.clone(), move |client, base| {
        let old = old.clone();
        async move {
            client
                .post(format!(
                    "{base}/o/acme/zscsb/submit?api_token={old}&force=0"
                ))
                .header("x-forwarded-for", "203.0.113.2")
                .body(b"MZ under load".to_vec())
                .send()
                .await
                .map_or(StatusCode::SERVICE_UNAVAILABLE, |r| r.status())
        }
    });
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (regenerated, _) = call(
        &client,
        &a.base,
        &cookie,
        "sandbox-tokens/regenerate",
        &[("id", &id)],
    )
    .await;
    assert_eq!(regenerated.status, StatusCode::OK);
    let answered = t0.elapsed().as_millis();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let submissions = refused_after(load, answered, "a submission").await;
    println!(
        "regenerate under load: {calls} status calls and {submissions} submissions sent after the response, none served"
    );
}

/// An organisation's hourly limit holds exactly across two instances under
/// parallel calls: 40 of 200 served, the rest 429 with Retry-After.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_is_exact_across_two_instances() {
    // 41 per hour: the sign-in below counts as one.
    let limits = [
        ("KEYPORT_API_RATE_PER_HOUR", "41"),
        ("KEYPORT_API_RATE_PER_SECOND", "100000"),
    ];
    let Some((_, a, b)) = two_instances(&limits).await else {
        return;
    };
    let client = reqwest::Client::new();
    let (_, key) = api_admin_with_key(&client, &a.base).await;
    let (status, session) = api_login(&client, &a.base, &key).await;
    assert_eq!(status, StatusCode::OK);
    let session = session.unwrap();
    let calls: Vec<_> = (0..200)
        .map(|i| {
            let client = client.clone();
            let base = if i % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            };
            let session = session.clone();
            tokio::spawn(async move {
                let r = client
                    .get(format!("{base}/o/acme/api/v1/status"))
                    .header("cookie", session)
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.headers().contains_key("retry-after"))
            })
        })
        .collect();
    let (mut served, mut limited) = (0, 0);
    for c in calls {
        match c.await.unwrap() {
            (StatusCode::OK, _) => served += 1,
            (StatusCode::TOO_MANY_REQUESTS, true) => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((served, limited), (40, 160));
}

/// A page kept on instance B, while other views of it keep arriving there,
/// shows a rename made on instance A on B's first view after the rename
/// returned: the organisation's version is read from the database on
/// every view (src/server/page_cache.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_kept_on_one_instance_shows_a_change_made_on_the_other_at_once() {
    let Some(pg) = crate::common::postgres_url() else {
        println!(
            "SKIPPED: two instances need PostgreSQL; set KEYPORT_TEST_DATABASE_URL (make test does)"
        );
        return;
    };
    let url = crate::common::fresh_schema(&pg).await;
    let a = Instance::start(&url).await;
    let b = Instance::start(&url).await;
    let client = reqwest::Client::new();
    let cookie = sign_in(&client, &a.base).await;
    let page = format!("{}{}", b.base, keyport::paths::SANDBOX_API_TOKEN);
    let view = |client: reqwest::Client, page: String, cookie: String| async move {
        let r = client
            .get(&page)
            .header("cookie", &cookie)
            .send()
            .await
            .expect("view");
        assert_eq!(r.status(), StatusCode::OK);
        r.text().await.expect("body")
    };
    assert!(
        view(client.clone(), page.clone(), cookie.clone())
            .await
            .contains("CI pipeline")
    );
    // Views of B's kept page go on while A renames the token.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..8)
        .map(|_| {
            let (client, page, cookie, stop) =
                (client.clone(), page.clone(), cookie.clone(), stop.clone());
            tokio::spawn(async move {
                let mut views = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    view(client.clone(), page.clone(), cookie.clone()).await;
                    views += 1;
                }
                views
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (list, _) = call(&client, &a.base, &cookie, "sandbox-tokens/list", &[]).await;
    let id = list
        .parse::<SandboxPage>()
        .tokens
        .iter()
        .find(|t| t.name == "CI pipeline")
        .expect("the seeded token")
        .id
        .to_string();
    for round in 0..5 {
        let name = format!("Renamed {round}");
        let (renamed, _) = call(
            &client,
            &a.base,
            &cookie,
            "sandbox-tokens/rename",
            &[("id", id.as_str()), ("name", name.as_str())],
        )
        .await;
        assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.text);
        let html = view(client.clone(), page.clone(), cookie.clone()).await;
        assert!(
            html.contains(&format!(">{name}<")),
            "round {round}: B's first view after the rename shows it"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut views = 0;
    for task in load {
        views += task.await.expect("load");
    }
    assert!(
        views > 16,
        "the page was under load meanwhile ({views} views)"
    );
}
