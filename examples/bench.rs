//! `make bench`: how fast Keyport is against the ceiling of this machine.
//!
//! For each backend (SQLite; PostgreSQL when `BENCH_PG_URL` is set) it starts
//! the release binary with a fresh demo database and measures, with 64
//! concurrent keep-alive connections for a fixed time each:
//! - a bare axum handler answering 200 (this same program, `--bare PORT`, in
//!   its own process, measured the same way): the ceiling;
//! - consumer-API validation: sandbox submit and the authenticated status call;
//! - the signed-in Sandbox API Token page, server-rendered;
//!
//! plus the server's RSS idle and under load, the first-load bytes of the
//! release build (raw, and brotli as the server sends them), and the time
//! from navigation to hydrated in headless Chromium (median of 10).
//! It prints a table and writes `target/bench.json`.

use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 64;
const WARMUP: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);
const MASTER_KEY: &str = "6b6579706f72742d62656e63686d61726b2d6d61737465722d6b65792d313233";
const SANDBOX_PAGE: &str = keyport::paths::SANDBOX_API_TOKEN;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--bare") {
        return bare(args.get(2).ok_or("--bare PORT")?.parse()?).await;
    }
    let mut backends = vec![("sqlite", None)];
    match std::env::var("BENCH_PG_URL") {
        Ok(url) if !url.is_empty() => backends.push(("postgres", Some(url))),
        _ => println!("!! BENCH_PG_URL not set: PostgreSQL skipped"),
    }

    let bare_server = Server::bare()?;
    wait_ready(&bare_server.base, "/").await?;
    let bare_rss_idle = bare_server.rss_kib();
    let bare_load = load(&bare_server, Target::get("/", None)).await?;
    println!("bare axum handler: {}", bare_load.line());
    drop(bare_server);

    let mut results = serde_json::Map::new();
    for (name, pg) in backends {
        println!("== {name} ==");
        let result = bench_backend(name, pg.as_deref(), &bare_load).await?;
        results.insert(name.to_owned(), result);
    }
    let first_load = first_load_bytes().await?;
    let report = json!({
        "machine": machine(),
        "connections": CONNECTIONS,
        "seconds_per_run": MEASURE.as_secs(),
        "bare": { "load": bare_load.json(), "rss_idle_kib": bare_rss_idle },
        "first_load": first_load,
        "backends": results,
    });
    print_table(&report);
    std::fs::write("target/bench.json", serde_json::to_string_pretty(&report)?)?;
    println!("wrote target/bench.json");
    Ok(())
}

/// The ceiling: the smallest axum service that answers 200.
async fn bare(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn bare() -> Result<Server, Box<dyn std::error::Error>> {
        let port = free_port()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["--bare", &port.to_string()])
            .spawn()?;
        Ok(Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    fn keyport(database_url: &str) -> Result<Server, Box<dyn std::error::Error>> {
        let port = free_port()?;
        let child = Command::new("target/release/keyport")
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", database_url)
            .env("KEYPORT_MASTER_KEY", MASTER_KEY)
            .env("LEPTOS_SITE_ROOT", "target/site")
            // The spec's limits (2/s, 1/s per organisation) would measure the
            // limiter, not the server: raise them. Every request still counts.
            .env("KEYPORT_API_RATE_PER_SECOND", "100000000")
            .env("KEYPORT_API_RATE_PER_HOUR", "100000000")
            .env("KEYPORT_SUBMIT_RATE_PER_SECOND", "100000000")
            .env("KEYPORT_SUBMIT_RATE_PER_HOUR", "100000000")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()?;
        Ok(Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(base: &str, path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client.get(format!("{base}{path}")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{base} did not start").into())
}

/// One kind of request the load generator repeats.
#[derive(Clone)]
struct Target {
    post: bool,
    path: String,
    cookie: Option<String>,
    body: &'static [u8],
}

impl Target {
    fn get(path: &str, cookie: Option<&str>) -> Target {
        Target {
            post: false,
            path: path.to_owned(),
            cookie: cookie.map(str::to_owned),
            body: b"",
        }
    }
}

/// What one load run measured.
struct Load {
    requests: u64,
    errors: u64,
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_peak_kib: u64,
}

impl Load {
    fn line(&self) -> String {
        format!(
            "{:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {} errors)",
            self.req_per_s, self.p50_ms, self.p99_ms, self.requests, self.errors
        )
    }

    fn json(&self) -> Value {
        json!({
            "requests": self.requests, "errors": self.errors,
            "req_per_s": round(self.req_per_s), "p50_ms": round(self.p50_ms), "p99_ms": round(self.p99_ms),
        })
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `CONNECTIONS` tasks, each with its own keep-alive connection, repeat the
/// request for `WARMUP` (not counted) and then `MEASURE`.
async fn load(server: &Server, target: Target) -> Result<Load, Box<dyn std::error::Error>> {
    let target = Arc::new(target);
    let base = Arc::new(server.base.clone());
    let start = Instant::now();
    let measure_from = start + WARMUP;
    let end = measure_from + MEASURE;
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let target = target.clone();
            let base = base.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(1)
                    .build()
                    .expect("client");
                let url = format!("{base}{}", target.path);
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                loop {
                    let sent = Instant::now();
                    if sent >= end {
                        break;
                    }
                    let mut req = if target.post {
                        client.post(&url).body(target.body)
                    } else {
                        client.get(&url)
                    };
                    if let Some(cookie) = &target.cookie {
                        req = req.header("cookie", cookie);
                    }
                    let ok = match req.send().await {
                        Ok(r) => {
                            let ok = r.status().is_success();
                            let _ = r.bytes().await;
                            ok
                        }
                        Err(_) => false,
                    };
                    if sent >= measure_from {
                        if ok {
                            latencies.push(sent.elapsed().as_micros() as u64);
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    // Sample the server's RSS while the load runs.
    let mut rss_peak = 0;
    while Instant::now() < end {
        rss_peak = rss_peak.max(server.rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        all.extend(l);
        errors += e;
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|us| *us as f64 / 1000.0)
            .unwrap_or(0.0)
    };
    Ok(Load {
        requests: all.len() as u64,
        errors,
        req_per_s: all.len() as f64 / MEASURE.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        rss_peak_kib: rss_peak,
    })
}

async fn bench_backend(
    name: &str,
    pg: Option<&str>,
    bare: &Load,
) -> Result<Value, Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("keyport-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let url = match pg {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}/keyport.db", dir.display()),
    };
    let server = Server::keyport(&url)?;
    wait_ready(&server.base, "/login").await?;
    // The allowance would disable the tokens after 100 submissions.
    let status = Command::new("target/release/keyport")
        .args([
            "set-daily-allowance",
            "--org",
            "acme",
            "--allowance",
            "1000000",
        ])
        .env("DATABASE_URL", &url)
        .env("KEYPORT_MASTER_KEY", MASTER_KEY)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err("set-daily-allowance failed".into());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = server.rss_kib();

    let (portal, token, api_session) = sign_in_everything(&server.base).await?;
    let submit = load(
        &server,
        Target {
            post: true,
            path: format!("/o/acme/zscsb/submit?api_token={token}&force=0"),
            cookie: None,
            body: b"%PDF-1.7 benchmark file",
        },
    )
    .await?;
    println!("sandbox submit:     {}", submit.line());
    let status = load(
        &server,
        Target::get("/o/acme/api/v1/status", Some(&api_session)),
    )
    .await?;
    println!("status (session):   {}", status.line());
    let page = load(&server, Target::get(SANDBOX_PAGE, Some(&portal))).await?;
    println!("Sandbox page (SSR): {}", page.line());
    let rss_load = submit
        .rss_peak_kib
        .max(status.rss_peak_kib)
        .max(page.rss_peak_kib);
    let hydration = hydration(&server.base)?;
    println!("hydrated: {hydration}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);

    let ratio = |l: &Load| (l.req_per_s / bare.req_per_s * 10_000.0).round() / 10_000.0;
    Ok(json!({
        "backend": name,
        "submit": { "load": submit.json(), "ratio_to_bare": ratio(&submit) },
        "status": { "load": status.json(), "ratio_to_bare": ratio(&status) },
        "sandbox_page": { "load": page.json(), "ratio_to_bare": ratio(&page) },
        "hydration": hydration,
        "rss_kib": { "idle": rss_idle, "under_load_peak": rss_load },
    }))
}

/// A portal session cookie, a new sandbox token, and a Cloud Service API session.
async fn sign_in_everything(
    base: &str,
) -> Result<(String, String, String), Box<dyn std::error::Error>> {
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{base}/api/session/sign-in"))
        .header("accept", "application/json")
        .form(&[
            ("username", "api@acme.example"),
            ("password", "Keyport-demo-1"),
        ])
        .send()
        .await?;
    let portal = cookie(&r, "keyport_session").ok_or("no portal session")?;
    let call = |endpoint: &str, form: Vec<(&'static str, &'static str)>| {
        client
            .post(format!("{base}/api/{endpoint}"))
            .header("cookie", portal.clone())
            .header("accept", "application/json")
            .form(&form)
            .send()
    };
    let added: Value = call("sandbox-tokens/add", vec![("name", "Benchmark")])
        .await?
        .json()
        .await?;
    let token = added["secret"].as_str().ok_or("no token")?.to_owned();
    let key: Value = call("api-keys/reveal", vec![("kind", "cloud_service")])
        .await?
        .json()
        .await?;
    let key = key.as_str().ok_or("no key")?.to_owned();
    let timestamp = keyport::server::now_ms().to_string();
    let r = client
        .post(format!("{base}/o/acme/api/v1/authenticatedSession"))
        .json(&json!({
            "apiKey": keyport::server::consumer::obfuscate_api_key(&key, &timestamp).ok_or("key")?,
            "username": "api@acme.example",
            "password": "Keyport-demo-1",
            "timestamp": timestamp,
        }))
        .send()
        .await?;
    let api_session = cookie(&r, "JSESSIONID").ok_or("no API session")?;
    Ok((portal, token, api_session))
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// Navigation to hydrated, median of 10, in headless Chromium (Playwright).
fn hydration(base: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let out = Command::new("node")
        .args(["bench-hydration.mjs", base, "10"])
        .current_dir("end2end")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "hydration run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The release build's wasm, JS and CSS: raw on disk, and brotli as the
/// server sends it (`Accept-Encoding: br`).
async fn first_load_bytes() -> Result<Value, Box<dyn std::error::Error>> {
    let server = Server::keyport(&format!(
        "sqlite://{}/keyport-bench-bytes.db",
        std::env::temp_dir().display()
    ))?;
    wait_ready(&server.base, "/login").await?;
    let client = reqwest::Client::builder().no_brotli().no_gzip().build()?;
    let mut out = serde_json::Map::new();
    let mut total = (0u64, 0u64);
    for (name, file) in [
        ("wasm", "keyport.wasm"),
        ("js", "keyport.js"),
        ("css", "keyport.css"),
    ] {
        let raw = std::fs::metadata(format!("target/site/pkg/{file}"))?.len();
        let sent = client
            .get(format!("{}/pkg/{file}", server.base))
            .header("accept-encoding", "br")
            .send()
            .await?;
        let encoding = sent
            .headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity")
            .to_owned();
        let brotli = sent.bytes().await?.len() as u64;
        total = (total.0 + raw, total.1 + brotli);
        out.insert(
            name.into(),
            json!({ "raw": raw, "brotli": brotli, "encoding": encoding }),
        );
    }
    out.insert("total".into(), json!({ "raw": total.0, "brotli": total.1 }));
    let _ = std::fs::remove_file(std::env::temp_dir().join("keyport-bench-bytes.db"));
    Ok(Value::Object(out))
}

fn machine() -> Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    json!({ "cpus": cpus, "when": keyport::server::now_ms() })
}

fn print_table(r: &Value) {
    println!();
    println!("| measure | {} |", backends(r).join(" | "));
    println!("|---|{}", "---|".repeat(backends(r).len()));
    let bare = &r["bare"]["load"];
    for (label, key) in [
        ("sandbox submit", "submit"),
        ("status (API session)", "status"),
        ("Sandbox page (SSR)", "sandbox_page"),
    ] {
        let cells: Vec<String> = backends(r)
            .iter()
            .map(|b| {
                let m = &r["backends"][b][key];
                format!(
                    "{} req/s, p50 {} ms, p99 {} ms ({:.1} % of bare)",
                    m["load"]["req_per_s"],
                    m["load"]["p50_ms"],
                    m["load"]["p99_ms"],
                    m["ratio_to_bare"].as_f64().unwrap_or(0.0) * 100.0
                )
            })
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    let cells: Vec<String> = backends(r)
        .iter()
        .map(|b| {
            let median = r["backends"][b]["hydration"]["median_ms"]
                .as_f64()
                .unwrap_or(0.0);
            format!("{median:.1} ms")
        })
        .collect();
    println!("| hydrated (median of 10) | {} |", cells.join(" | "));
    let cells: Vec<String> = backends(r)
        .iter()
        .map(|b| {
            let rss = &r["backends"][b]["rss_kib"];
            format!(
                "{} KiB idle, {} KiB under load",
                rss["idle"], rss["under_load_peak"]
            )
        })
        .collect();
    println!("| server RSS | {} |", cells.join(" | "));
    println!(
        "\nbare axum handler: {} req/s, p50 {} ms, p99 {} ms",
        bare["req_per_s"], bare["p50_ms"], bare["p99_ms"]
    );
    let f = &r["first_load"];
    println!(
        "first load (release): wasm {}/{} B, JS {}/{} B, CSS {}/{} B, total {}/{} B (raw/brotli)",
        f["wasm"]["raw"],
        f["wasm"]["brotli"],
        f["js"]["raw"],
        f["js"]["brotli"],
        f["css"]["raw"],
        f["css"]["brotli"],
        f["total"]["raw"],
        f["total"]["brotli"]
    );
}

fn backends(r: &Value) -> Vec<String> {
    r["backends"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}
