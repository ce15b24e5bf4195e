//! `make bench`: how fast Keyport is against the ceiling of this machine.
//!
//! Every throughput figure is a fixed-duration `wrk` run: 64 connections, 2
//! threads, `BENCH_SECONDS` long (5 by default) after a 1 s warm-up run,
//! driven by `examples/wrk/requests.lua`. Two baselines, each served by this
//! same program in its own process:
//! - `--bare PORT`: the smallest axum service answering 200;
//! - `--bare-middleware PORT DIR`: that handler behind Keyport's own
//!   middleware stack, `routes::with_middleware` (the function the real
//!   router uses, so the two cannot drift), its sessions in a SQLite file
//!   under DIR.
//!
//! Then, for each backend (SQLite; PostgreSQL when `BENCH_PG_URL` is set),
//! the bench seeds a fresh database through the library (the demo, 32
//! accounts for a sign-in burst, and `BENCH_ORGS` — 1,000 — organisations
//! each with its own admin, Sandbox token and Cloud Service key) and starts
//! the release binary on it three times:
//! 1. with the rate limits raised (they would measure the limiter; every
//!    request still counts against them): status with an API session, the
//!    sandbox token check (quota), sandbox submit and the signed-in Sandbox
//!    API Token page (served from its kept render), then hydration in
//!    headless Chromium, then the RSS a second after 32 parallel portal
//!    sign-ins (argon2);
//! 2. with the page cache off: the same page drawn on every view;
//! 3. with the spec's limits (2/s and 1000/h per organisation for API
//!    calls, 1/s and 400/h for submissions): the same consumer calls spread
//!    over all the organisations, 429s counted as answers.
//!
//! The four measures of (1) are each taken in `BENCH_ROUNDS` (3) pairs:
//! a run of the middleware baseline, kept running beside the server, then
//! a run of the measure. Their share of the baseline is the median of the
//! pairs' shares, each of the run just before: over a bench of twenty
//! minutes this machine's speed drifts by up to a third, which a share of
//! one baseline run at the start would carry into every figure.
//!
//! For each run: req/s, p50/p99 (wrk's `--latency`), the answers by status,
//! the server's CPU per request (utime + stime from `/proc`), on PostgreSQL
//! also the CPU of the database's backends serving it, and the server's
//! peak RSS. Plus the first-load bytes of the release build and each
//! role's first visit in Chromium (skipped when `target/site` is not
//! built). It prints a table and writes `target/bench.json`.

use keyport::model::{CredentialRef, KeyKind, Role, Subscription, SubscriptionKind};
use keyport::server::config::Settings;
use keyport::server::crypto::Secrets;
use keyport::server::demo::{self, DEMO_PASSWORD};
use keyport::server::provider::{self, Operator, Provisioned};
use keyport::server::state::AppState;
use keyport::server::store::{SessionPool, Store};
use keyport::server::{now_ms, routes};
use leptos::prelude::LeptosOptions;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type BenchError = Box<dyn std::error::Error + Send + Sync>;
type BenchResult<T> = Result<T, BenchError>;

const CONNECTIONS: usize = 64;
const WRK_THREADS: usize = 2;
const WARMUP_SECS: u64 = 1;
const MASTER_KEY: &str = "6b6579706f72742d62656e63686d61726b2d6d61737465722d6b65792d313233";
const SANDBOX_PAGE: &str = keyport::paths::SANDBOX_API_TOKEN;
const SUBMISSION: &str = "%PDF-1.7 benchmark file";
const SIGN_IN_BURST: usize = 32;
/// Where the wrk script, the request lists and the servers' logs go.
const WORK_DIR: &str = "target/bench-wrk";
const WRK_SCRIPT: &str = include_str!("wrk/requests.lua");

/// `BENCH_SECONDS`: how long each measured run lasts (5 s by default).
fn seconds_per_run() -> u64 {
    env_number("BENCH_SECONDS").unwrap_or(5).max(1)
}

/// `BENCH_ROUNDS`: how many baseline/measure pairs each headline measure
/// takes ([`Paired`]; 3 by default).
fn rounds() -> usize {
    env_number("BENCH_ROUNDS").unwrap_or(3).max(1) as usize
}

/// `BENCH_ORGS`: how many organisations the many-organisation run spreads
/// its traffic over (1,000 by default; fewer for a quick try).
fn organisations() -> usize {
    env_number("BENCH_ORGS").unwrap_or(1000).max(1) as usize
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The baselines run on the allocator Keyport's server uses (src/main.rs),
/// so they compare handlers, not allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let port = || -> BenchResult<u16> { Ok(args.get(2).ok_or("PORT missing")?.parse()?) };
    match args.get(1).map(String::as_str) {
        Some("--bare") => return bare(port()?).await,
        Some("--bare-middleware") => {
            let dir = args.get(3).ok_or("--bare-middleware PORT DIR")?;
            return bare_middleware(port()?, Path::new(dir)).await;
        }
        _ => {}
    }
    let wrk = Wrk::prepare()?;
    let mut backends = vec![("sqlite", None)];
    match std::env::var("BENCH_PG_URL") {
        Ok(url) if !url.is_empty() => backends.push(("postgres", Some(url))),
        _ => println!("!! BENCH_PG_URL not set: PostgreSQL skipped"),
    }

    let (bare_run, bare_rss) = baseline(&wrk, Baseline::Bare).await?;
    println!("bare axum handler:     {}", bare_run.line());
    let (middleware_run, middleware_rss) = baseline(&wrk, Baseline::Middleware).await?;
    println!("bare + middleware:     {}", middleware_run.line());
    let baselines = Baselines {
        bare: bare_run,
        middleware: middleware_run,
    };

    let mut results = serde_json::Map::new();
    for (name, pg) in backends {
        println!("== {name} ==");
        let result = bench_backend(name, pg.as_deref(), &wrk, &baselines).await?;
        results.insert(name.to_owned(), result);
    }
    let first_load = first_load_bytes().await?;
    let report = json!({
        "machine": machine(),
        "tool": "wrk",
        "connections": CONNECTIONS,
        "threads": WRK_THREADS,
        "seconds_per_run": wrk.seconds,
        "organisations": organisations(),
        "bare": { "load": baselines.bare.json(), "rss_idle_kib": bare_rss },
        "bare_middleware": { "load": baselines.middleware.json(), "rss_idle_kib": middleware_rss },
        "first_load": first_load,
        "backends": results,
    });
    print_table(&report);
    std::fs::write("target/bench.json", serde_json::to_string_pretty(&report)?)?;
    println!("wrote target/bench.json");
    Ok(())
}

// --- the two baselines --------------------------------------------------------

/// The ceiling: the smallest axum service that answers 200, served as
/// Keyport is (with the peer address).
async fn bare(port: u16) -> BenchResult<()> {
    serve(port, bare_app()).await
}

/// The second ceiling: the same handler behind Keyport's middleware (origin
/// check, sessions, request meta, security headers, compression, the Base
/// URL fix-up). No request carries a session cookie, as for the consumer
/// API: the session layer is passed through, not loaded.
async fn bare_middleware(port: u16, dir: &Path) -> BenchResult<()> {
    let state = library_state(&format!("sqlite://{}/keyport.db", dir.display())).await?;
    let app = routes::with_middleware(
        bare_app(),
        state.store.session_pool().clone(),
        state.settings.clone(),
    );
    serve(port, app).await
}

fn bare_app() -> axum::Router {
    axum::Router::new().route("/", axum::routing::get(|| async { "ok" }))
}

async fn serve(port: u16, app: axum::Router) -> BenchResult<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

#[derive(Clone, Copy)]
enum Baseline {
    Bare,
    Middleware,
}

struct Baselines {
    bare: Run,
    middleware: Run,
}

/// One baseline, in its own process: the run and the idle RSS.
async fn baseline(wrk: &Wrk, which: Baseline) -> BenchResult<(Run, u64)> {
    let server = Server::baseline(which)?;
    wait_ready(&server.base, "/").await?;
    let rss_idle = server.rss_kib();
    let name = match which {
        Baseline::Bare => "bare",
        Baseline::Middleware => "bare-middleware",
    };
    let run = wrk
        .run(&server, None, name, &[Request::get("/", "")])
        .await?;
    Ok((run, rss_idle))
}

// --- servers ------------------------------------------------------------------

/// Which rate limits a Keyport server runs with.
#[derive(Clone, Copy, PartialEq)]
enum Limits {
    /// Raised out of the way: the runs measure the server, not the limiter.
    Raised,
    /// The spec's: 2/s and 1000/h for API calls, 1/s and 400/h for submissions.
    Spec,
}

const RATE_VARIABLES: [&str; 4] = [
    "KEYPORT_API_RATE_PER_SECOND",
    "KEYPORT_API_RATE_PER_HOUR",
    "KEYPORT_SUBMIT_RATE_PER_SECOND",
    "KEYPORT_SUBMIT_RATE_PER_HOUR",
];

struct Server {
    child: Child,
    base: String,
    /// Removed when the server stops.
    scratch: Option<PathBuf>,
}

impl Server {
    fn baseline(which: Baseline) -> BenchResult<Server> {
        let port = free_port()?;
        let mut command = Command::new(std::env::current_exe()?);
        let mut scratch = None;
        match which {
            Baseline::Bare => {
                command.args(["--bare", &port.to_string()]);
            }
            Baseline::Middleware => {
                let dir = scratch_dir(&format!("bare-{port}"))?;
                command.args(["--bare-middleware", &port.to_string()]);
                command.arg(&dir);
                scratch = Some(dir);
            }
        }
        command.env("RUST_LOG", "error");
        Ok(Server {
            child: command.spawn()?,
            base: format!("http://127.0.0.1:{port}"),
            scratch,
        })
    }

    /// The release binary on `database_url`. It trusts this machine as a
    /// proxy, so the sign-in burst can come from 32 addresses (one address
    /// would meet the address throttle after 20 attempts in flight).
    fn keyport(database_url: &str, limits: Limits) -> BenchResult<Server> {
        Server::keyport_with(database_url, limits, &[])
    }

    /// [`Server::keyport`] with `env` set on top (e.g. the page cache off).
    fn keyport_with(
        database_url: &str,
        limits: Limits,
        env: &[(&str, &str)],
    ) -> BenchResult<Server> {
        let port = free_port()?;
        let log = std::fs::File::create(format!("{WORK_DIR}/keyport-{port}.log"))?;
        let mut command = Command::new("target/release/keyport");
        command
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", database_url)
            .env("KEYPORT_MASTER_KEY", MASTER_KEY)
            .env("LEPTOS_SITE_ROOT", "target/site")
            .env("KEYPORT_TRUSTED_PROXY", "127.0.0.1")
            .env("RUST_LOG", "error")
            .envs(env.iter().copied())
            .stdout(log);
        for variable in RATE_VARIABLES {
            match limits {
                Limits::Raised => command.env(variable, "100000000"),
                Limits::Spec => command.env_remove(variable),
            };
        }
        Ok(Server {
            child: command.spawn()?,
            base: format!("http://127.0.0.1:{port}"),
            scratch: None,
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

    /// CPU the process has used so far (all its threads), in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        proc_cpu_ticks(self.child.id()).unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn scratch_dir(name: &str) -> BenchResult<PathBuf> {
    let dir = std::env::temp_dir().join(format!("keyport-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_ready(base: &str, path: &str) -> BenchResult<()> {
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

// --- CPU from /proc -----------------------------------------------------------

/// utime + stime of `pid` (all its threads), in clock ticks.
fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 2, the name, is in parentheses and may hold spaces: count the
    // fields after the last `)`, where field 3 comes first.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a constant of the running system.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    // Linux's USER_HZ is 100 wherever sysconf cannot say.
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The CPU ticks of each PostgreSQL backend connected to the database at
/// `url` (the server's pools), by pid; `None` when psql cannot tell.
fn pg_backend_ticks(url: &str) -> Option<HashMap<u32, u64>> {
    let out = Command::new("psql")
        .args([
            url,
            "-qAtc",
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .filter_map(|pid| Some((pid, proc_cpu_ticks(pid)?)))
            .collect(),
    )
}

/// Ticks the backends spent between two snapshots; a backend that started
/// in between counts whole.
fn pg_ticks_between(before: &HashMap<u32, u64>, after: &HashMap<u32, u64>) -> u64 {
    after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum()
}

fn us_per_request(ticks: u64, requests: u64) -> f64 {
    if requests == 0 {
        return 0.0;
    }
    ticks as f64 / clock_ticks_per_second() * 1e6 / requests as f64
}

// --- wrk ----------------------------------------------------------------------

/// One request of a wrk run's list.
struct Request {
    method: &'static str,
    path: String,
    cookie: String,
}

impl Request {
    fn get(path: &str, cookie: &str) -> Request {
        Request {
            method: "GET",
            path: path.to_owned(),
            cookie: cookie.to_owned(),
        }
    }

    fn post(path: &str) -> Request {
        Request {
            method: "POST",
            path: path.to_owned(),
            cookie: String::new(),
        }
    }
}

struct Wrk {
    script: PathBuf,
    seconds: u64,
}

impl Wrk {
    /// Checks that wrk is there and writes its script under [`WORK_DIR`].
    fn prepare() -> BenchResult<Wrk> {
        if Command::new("wrk").arg("--version").output().is_err() {
            return Err("wrk is not installed (make bench installs Debian's wrk)".into());
        }
        std::fs::create_dir_all(WORK_DIR)?;
        let script = Path::new(WORK_DIR).join("requests.lua");
        std::fs::write(&script, WRK_SCRIPT)?;
        Ok(Wrk {
            script,
            seconds: seconds_per_run(),
        })
    }

    /// A warm-up run, then the measured one, with the server's CPU (and on
    /// PostgreSQL its backends') read before and after, and its RSS sampled
    /// throughout.
    async fn run(
        &self,
        server: &Server,
        pg: Option<&str>,
        name: &str,
        requests: &[Request],
    ) -> BenchResult<Run> {
        let list = Path::new(WORK_DIR).join(format!("{name}.txt"));
        let lines: String = requests
            .iter()
            .map(|r| format!("{}\t{}\t{}\n", r.method, r.path, r.cookie))
            .collect();
        std::fs::write(&list, lines)?;
        self.wrk(server, &list, WARMUP_SECS).await?;
        let cpu_before = server.cpu_ticks();
        let pg_before = pg.and_then(pg_backend_ticks);
        let (out, rss_peak) = self.wrk(server, &list, self.seconds).await?;
        let cpu = server.cpu_ticks().saturating_sub(cpu_before);
        let pg_after = pg.and_then(pg_backend_ticks);
        let mut run = Run::parse(&out).map_err(|e| format!("{name}: {e}\n{out}"))?;
        run.cpu_us_per_request = us_per_request(cpu, run.requests);
        run.pg_cpu_us_per_request = pg_before
            .zip(pg_after)
            .map(|(b, a)| us_per_request(pg_ticks_between(&b, &a), run.requests));
        run.rss_peak_kib = rss_peak;
        Ok(run)
    }

    /// One wrk process; its output and the server's peak RSS meanwhile.
    async fn wrk(&self, server: &Server, list: &Path, seconds: u64) -> BenchResult<(String, u64)> {
        let mut child = Command::new("wrk")
            .args([
                "-t",
                &WRK_THREADS.to_string(),
                "-c",
                &CONNECTIONS.to_string(),
                "-d",
                &format!("{seconds}s"),
                "--latency",
                "--timeout",
                "10s",
                "-s",
            ])
            .arg(&self.script)
            .arg(format!("{}/", server.base))
            .arg("--")
            .arg(list)
            .arg(SUBMISSION)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut rss_peak = 0;
        while child.try_wait()?.is_none() {
            rss_peak = server.rss_kib().max(rss_peak);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(format!("wrk failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok((String::from_utf8_lossy(&out.stdout).into_owned(), rss_peak))
    }
}

/// What one wrk run measured.
#[derive(Default)]
struct Run {
    requests: u64,
    seconds: f64,
    req_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// wrk's own count of answers ≥ 400.
    non_2xx_3xx: u64,
    socket_errors: u64,
    /// From the script: answers by status.
    ok: u64,
    limited: u64,
    other: u64,
    cpu_us_per_request: f64,
    pg_cpu_us_per_request: Option<f64>,
    rss_peak_kib: u64,
}

impl Run {
    /// wrk's report with `--latency`, and the script's `answers:` line.
    fn parse(out: &str) -> Result<Run, String> {
        let mut run = Run::default();
        let mut seen = (false, false, false);
        for line in out.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [n, "requests", "in", secs, ..] = words.as_slice() {
                run.requests = n.parse().map_err(|_| format!("requests: {line}"))?;
                run.seconds = duration_ms(secs.trim_end_matches(','))? / 1000.0;
                seen.0 = true;
            } else if let ["50%", d] = words.as_slice() {
                run.p50_ms = duration_ms(d)?;
                seen.1 = true;
            } else if let ["99%", d] = words.as_slice() {
                run.p99_ms = duration_ms(d)?;
            } else if let ["Requests/sec:", n] = words.as_slice() {
                run.req_per_s = n.parse().map_err(|_| format!("req/s: {line}"))?;
                seen.2 = true;
            } else if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
                run.non_2xx_3xx = n.trim().parse().unwrap_or(0);
            } else if let Some(errors) = line.strip_prefix("Socket errors:") {
                // "connect 0, read 0, write 0, timeout 0"
                run.socket_errors = errors
                    .split(',')
                    .filter_map(|e| e.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum();
            } else if let Some(answers) = line.strip_prefix("answers:") {
                // "2xx N, 429 N, other N"
                let count = |label: &str| {
                    answers
                        .split(',')
                        .find_map(|a| a.trim().strip_prefix(label)?.trim().parse().ok())
                        .unwrap_or(0)
                };
                run.ok = count("2xx");
                run.limited = count("429");
                run.other = count("other");
            }
        }
        if seen != (true, true, true) {
            return Err("wrk's output lacks requests, latency or Requests/sec".into());
        }
        Ok(run)
    }

    fn per_second(&self, n: u64) -> f64 {
        if self.seconds > 0.0 {
            n as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn line(&self) -> String {
        let pg = self
            .pg_cpu_us_per_request
            .map(|us| format!(" + PG {us:.0}"))
            .unwrap_or_default();
        format!(
            "{:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  CPU {:.0}{pg} µs/req  ({} requests: 2xx {}, 429 {}, other {}; socket errors {})",
            self.req_per_s,
            self.p50_ms,
            self.p99_ms,
            self.cpu_us_per_request,
            self.requests,
            self.ok,
            self.limited,
            self.other,
            self.socket_errors
        )
    }

    fn json(&self) -> Value {
        json!({
            "requests": self.requests,
            "seconds": round(self.seconds),
            "req_per_s": round(self.req_per_s),
            "p50_ms": round(self.p50_ms),
            "p99_ms": round(self.p99_ms),
            "answers": { "2xx": self.ok, "429": self.limited, "other": self.other },
            "ok_per_s": round(self.per_second(self.ok)),
            "limited_per_s": round(self.per_second(self.limited)),
            "non_2xx_3xx": self.non_2xx_3xx,
            "socket_errors": self.socket_errors,
            // Kept from the earlier bench: anything but a 2xx, or no answer.
            "errors": self.limited + self.other + self.socket_errors,
            "cpu_us_per_request": round(self.cpu_us_per_request),
            "pg_cpu_us_per_request": self.pg_cpu_us_per_request.map(round),
            "rss_peak_kib": self.rss_peak_kib,
        })
    }

    /// The run with its ratios to both baselines.
    fn measure(&self, baselines: &Baselines) -> Value {
        let ratio = |base: &Run| share(self, base);
        json!({
            "load": self.json(),
            "ratio_to_bare": ratio(&baselines.bare),
            "ratio_to_bare_middleware": ratio(&baselines.middleware),
        })
    }
}

/// A headline measure taken in [`rounds`] pairs: a run of the middleware
/// baseline (its own process, started beside the server) right before each
/// run of the measure. This machine's speed drifts by up to a third over a
/// twenty-minute bench, so a share of a baseline run minutes earlier moves
/// with the drift; a share of the run just before does not. What is
/// reported is the round whose share is the median, with every round's.
struct Paired {
    /// (baseline, measure), in the order they ran.
    rounds: Vec<(Run, Run)>,
}

impl Paired {
    async fn take(
        wrk: &Wrk,
        server: &Server,
        beside: &Server,
        pg: Option<&str>,
        name: &str,
        request: &Request,
    ) -> BenchResult<Paired> {
        let baseline = [Request::get("/", "")];
        let mut taken = Vec::new();
        for round in 0..rounds() {
            let base = wrk
                .run(beside, None, &format!("{name}-baseline-{round}"), &baseline)
                .await?;
            let run = wrk
                .run(
                    server,
                    pg,
                    &format!("{name}-{round}"),
                    std::slice::from_ref(request),
                )
                .await?;
            taken.push((base, run));
        }
        Ok(Paired { rounds: taken })
    }

    fn share((base, run): &(Run, Run)) -> f64 {
        share(run, base)
    }

    /// The round with the median share.
    fn median(&self) -> &(Run, Run) {
        let mut order: Vec<&(Run, Run)> = self.rounds.iter().collect();
        order.sort_by(|a, b| Paired::share(a).total_cmp(&Paired::share(b)));
        order[order.len() / 2]
    }

    fn line(&self) -> String {
        let shares: Vec<String> = self
            .rounds
            .iter()
            .map(|r| format!("{:.1} %", Paired::share(r) * 100.0))
            .collect();
        format!(
            "{}  (of the baseline just before: {})",
            self.median().1.line(),
            shares.join(", ")
        )
    }

    /// The median round as [`Run::measure`] does, except that its share of
    /// the middleware baseline is of the run paired with it; every round
    /// listed.
    fn measure(&self, baselines: &Baselines) -> Value {
        let (base, run) = self.median();
        let mut value = run.measure(baselines);
        value["ratio_to_bare_middleware"] = json!(Paired::share(self.median()));
        value["paired_baseline"] = base.json();
        value["rounds"] = self
            .rounds
            .iter()
            .map(|r| {
                json!({
                    "baseline_req_per_s": round(r.0.req_per_s),
                    "req_per_s": round(r.1.req_per_s),
                    "p99_ms": round(r.1.p99_ms),
                    "cpu_us_per_request": round(r.1.cpu_us_per_request),
                    "ratio_to_bare_middleware": Paired::share(r),
                })
            })
            .collect();
        value
    }
}

/// wrk's durations ("850.00us", "1.23ms", "5.00s", "1.00m") in milliseconds.
fn duration_ms(d: &str) -> Result<f64, String> {
    let (number, scale) = if let Some(n) = d.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = d.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = d.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = d.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = d.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        return Err(format!("not a duration: {d}"));
    };
    number
        .parse::<f64>()
        .map(|n| n * scale)
        .map_err(|_| format!("not a duration: {d}"))
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `run`'s req/s as a share of `base`'s, to four places (0 without a
/// baseline).
fn share(run: &Run, base: &Run) -> f64 {
    if base.req_per_s > 0.0 {
        (run.req_per_s / base.req_per_s * 10_000.0).round() / 10_000.0
    } else {
        0.0
    }
}

// --- seeding through the library ----------------------------------------------

/// The state the server would build on `url`, for seeding (and for the
/// middleware baseline's session store): production settings.
async fn library_state(url: &str) -> BenchResult<AppState> {
    let store = Store::connect(url).await?;
    let key = SecretString::from(MASTER_KEY);
    // With the key given, no key file is read.
    let secrets = Secrets::load(Some(&key), Path::new("/nonexistent"))?;
    if !store.check_key_fingerprint(secrets.fingerprint()).await? {
        return Err("the database was sealed with another master key".into());
    }
    let options = LeptosOptions::builder()
        .output_name("keyport")
        .site_root("target/site")
        .build();
    Ok(routes::state(store, secrets, Settings::for_cli(), options).await?)
}

/// An organisation of the many-organisation run.
struct BenchOrg {
    short_name: String,
    username: String,
    token: String,
    key: String,
}

struct Seeded {
    orgs: Vec<BenchOrg>,
    /// Accounts in acme for the sign-in burst.
    burst: Vec<String>,
}

/// The demo (as `serve --demo` seeds it), the burst's accounts, and the
/// organisations, all with the demo password (hashed once).
async fn seed(url: &str, organisations: usize) -> BenchResult<Seeded> {
    let state = library_state(url).await?;
    demo::seed_if_empty(&state).await?;
    let hash = state.hasher.hash(SecretString::from(DEMO_PASSWORD)).await?;
    let acme = state
        .store
        .org_by_short_name("acme")
        .await?
        .ok_or("the demo has no acme")?;
    let mut burst = Vec::with_capacity(SIGN_IN_BURST);
    for i in 0..SIGN_IN_BURST {
        let username = format!("burst-{i:02}@acme.example");
        let id = state.store.create_admin(&username, &hash, now_ms()).await?;
        state
            .store
            .add_membership(id, acme.id, Role::ApiAdmin)
            .await?;
        burst.push(username);
    }
    let orgs = seed_orgs(&state, organisations, &hash).await?;
    close(&state).await;
    Ok(Seeded { orgs, burst })
}

/// `n` organisations, by a few workers at once (PostgreSQL is faster so).
async fn seed_orgs(state: &AppState, n: usize, hash: &str) -> BenchResult<Vec<BenchOrg>> {
    const WORKERS: usize = 4;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (state, hash) = (state.clone(), hash.to_owned());
        tasks.spawn(async move {
            let mut made = Vec::new();
            for i in (worker..n).step_by(WORKERS) {
                made.push(seed_org(&state, i, &hash).await?);
            }
            Ok::<_, BenchError>(made)
        });
    }
    let mut orgs = Vec::with_capacity(n);
    while let Some(made) = tasks.join_next().await {
        orgs.extend(made??);
    }
    orgs.sort_by(|a, b| a.short_name.cmp(&b.short_name));
    Ok(orgs)
}

/// One organisation as a provider makes it (console or CLI operations:
/// both subscriptions active, which provisions the first Sandbox token and
/// the API keys), with its own API Admin.
async fn seed_org(state: &AppState, i: usize, hash: &str) -> BenchResult<BenchOrg> {
    let op = Operator::cli();
    let short_name = format!("bench-{i:04}");
    let org = provider::create_org(state, &op, &short_name, &format!("Benchmark {i:04}")).await?;
    let activate = |kind| {
        provider::set_subscription(state, &op, &short_name, kind, Subscription::Active, None)
    };
    let token = secret_of(activate(SubscriptionKind::Sandbox).await?, |c| {
        matches!(c, CredentialRef::SandboxToken(_))
    })?;
    let key = secret_of(activate(SubscriptionKind::Api).await?, |c| {
        *c == CredentialRef::ApiKey(KeyKind::CloudService)
    })?;
    let username = format!("admin@{short_name}.example");
    let admin = state.store.create_admin(&username, hash, now_ms()).await?;
    state
        .store
        .add_membership(admin, org.id, Role::ApiAdmin)
        .await?;
    Ok(BenchOrg {
        short_name,
        username,
        token,
        key,
    })
}

fn secret_of(
    provisioned: Vec<Provisioned>,
    wanted: impl Fn(&CredentialRef) -> bool,
) -> BenchResult<String> {
    provisioned
        .into_iter()
        .find(|p| wanted(&p.credential))
        .map(|p| p.secret.expose_secret().to_owned())
        .ok_or_else(|| "the subscription provisioned no credential".into())
}

/// Closes the seeding pools, so no idle connection of ours is left.
async fn close(state: &AppState) {
    state.store.pool().close().await;
    match state.store.session_pool() {
        SessionPool::Sqlite(pool) => pool.close().await,
        SessionPool::Postgres(pool, _) => pool.close().await,
    }
}

// --- one backend --------------------------------------------------------------

async fn bench_backend(
    name: &str,
    pg: Option<&str>,
    wrk: &Wrk,
    baselines: &Baselines,
) -> BenchResult<Value> {
    let dir = scratch_dir(name)?;
    let url = match pg {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}/keyport.db", dir.display()),
    };
    let started = Instant::now();
    let seeded = seed(&url, organisations()).await?;
    println!(
        "seeded the demo and {} organisations in {:.1} s",
        seeded.orgs.len(),
        started.elapsed().as_secs_f64()
    );
    // The allowance would disable acme's tokens after 100 submissions.
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

    let server = Server::keyport(&url, Limits::Raised)?;
    wait_ready(&server.base, "/login").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = server.rss_kib();

    let (portal, token, api_session) = sign_in_everything(&server.base).await?;
    // The middleware baseline again, beside the server, for the pairs.
    let beside = Server::baseline(Baseline::Middleware)?;
    wait_ready(&beside.base, "/").await?;
    let paired = |label: &'static str, key: &'static str, request: Request| {
        let (server, beside) = (&server, &beside);
        async move {
            let measure =
                Paired::take(wrk, server, beside, pg, &format!("{name}-{key}"), &request).await?;
            println!("{label:<22} {}", measure.line());
            Ok::<_, BenchError>(measure)
        }
    };
    let status = paired(
        "status (API session):",
        "status",
        Request::get("/o/acme/api/v1/status", &api_session),
    )
    .await?;
    let token_check = paired(
        "sandbox token check:",
        "token-check",
        Request::get(
            &format!("/o/acme/sandbox/report/quota?api_token={token}"),
            "",
        ),
    )
    .await?;
    let submit = paired(
        "sandbox submit:",
        "submit",
        Request::post(&format!("/o/acme/zscsb/submit?api_token={token}&force=0")),
    )
    .await?;
    let page = paired(
        "Sandbox page (kept):",
        "sandbox-page",
        Request::get(SANDBOX_PAGE, &portal),
    )
    .await?;
    drop(beside);
    let rss_load = [&status, &token_check, &submit, &page]
        .iter()
        .flat_map(|m| &m.rounds)
        .map(|(_, r)| r.rss_peak_kib)
        .max()
        .unwrap_or(0);
    let hydration = hydration(&server.base);
    println!("hydrated: {hydration}");
    let first_load = first_load_per_role(&server.base);
    println!("first load per role and page (wire bytes, interactive): {first_load}");
    let signed_in = sign_in_burst(&server.base, &seeded.burst).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_burst = server.rss_kib();
    println!(
        "RSS: {} KiB idle, {} KiB under load, {} KiB a second after {signed_in} of {SIGN_IN_BURST} parallel sign-ins",
        rss_idle, rss_load, rss_burst
    );
    drop(server);

    // The same page drawn on every view (`--page-cache false`): what a view
    // costs when something on the page changed since the last one.
    let server = Server::keyport_with(&url, Limits::Raised, &[("KEYPORT_PAGE_CACHE", "false")])?;
    wait_ready(&server.base, "/login").await?;
    let portal = sign_in_portal(&server.base).await?;
    let page_rendered = wrk
        .run(
            &server,
            pg,
            &format!("{name}-sandbox-page-rendered"),
            &[Request::get(SANDBOX_PAGE, &portal)],
        )
        .await?;
    println!("{:<22} {}", "page, every view drawn:", page_rendered.line());
    drop(server);

    let many = many_orgs(name, pg, wrk, &url, &seeded.orgs, baselines).await?;
    let _ = std::fs::remove_dir_all(&dir);

    Ok(json!({
        "backend": name,
        "status": status.measure(baselines),
        "token_check": token_check.measure(baselines),
        "submit": submit.measure(baselines),
        "sandbox_page": page.measure(baselines),
        "sandbox_page_rendered": page_rendered.measure(baselines),
        "hydration": hydration,
        "first_load_per_role": first_load,
        "rss_kib": {
            "idle": rss_idle,
            "under_load_peak": rss_load,
            "after_sign_in_burst": rss_burst,
            "sign_in_burst": { "parallel": SIGN_IN_BURST, "signed_in": signed_in },
        },
        "many_orgs": many,
    }))
}

/// The consumer calls spread over every seeded organisation, each with its
/// own API session and Sandbox token, against a server with the spec's
/// limits: the 429s are answers too, and counted apart.
async fn many_orgs(
    name: &str,
    pg: Option<&str>,
    wrk: &Wrk,
    url: &str,
    orgs: &[BenchOrg],
    baselines: &Baselines,
) -> BenchResult<Value> {
    let server = Server::keyport(url, Limits::Spec)?;
    wait_ready(&server.base, "/login").await?;
    let started = Instant::now();
    let sessions = api_sessions(&server.base, orgs).await?;
    println!(
        "{} API sessions signed in (spec limits) in {:.1} s",
        sessions.len(),
        started.elapsed().as_secs_f64()
    );
    // Each sign-in counted in its organisation's current second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let label = format!("{} orgs", orgs.len());
    let status_list: Vec<Request> = orgs
        .iter()
        .zip(&sessions)
        .map(|(o, session)| Request::get(&format!("/o/{}/api/v1/status", o.short_name), session))
        .collect();
    let status = wrk
        .run(&server, pg, &format!("{name}-many-status"), &status_list)
        .await?;
    println!("{label}: status:     {}", status.line());
    let check_list: Vec<Request> = orgs
        .iter()
        .map(|o| {
            let path = format!(
                "/o/{}/sandbox/report/quota?api_token={}",
                o.short_name, o.token
            );
            Request::get(&path, "")
        })
        .collect();
    let token_check = wrk
        .run(
            &server,
            pg,
            &format!("{name}-many-token-check"),
            &check_list,
        )
        .await?;
    println!("{label}: token check: {}", token_check.line());
    let submit_list: Vec<Request> = orgs
        .iter()
        .map(|o| {
            Request::post(&format!(
                "/o/{}/zscsb/submit?api_token={}&force=0",
                o.short_name, o.token
            ))
        })
        .collect();
    let submit = wrk
        .run(&server, pg, &format!("{name}-many-submit"), &submit_list)
        .await?;
    println!("{label}: submit:     {}", submit.line());
    Ok(json!({
        "organisations": orgs.len(),
        "limits": {
            "api_per_second": 2, "api_per_hour": 1000,
            "submit_per_second": 1, "submit_per_hour": 400,
        },
        "status": status.measure(baselines),
        "token_check": token_check.measure(baselines),
        "submit": submit.measure(baselines),
    }))
}

// --- signing in ---------------------------------------------------------------

/// A portal session cookie, a new sandbox token, and a Cloud Service API session.
/// The API Admin's portal session cookie.
async fn sign_in_portal(base: &str) -> BenchResult<String> {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/session/sign-in"))
        .header("accept", "application/json")
        .form(&[
            ("username", "api@acme.example"),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await?;
    Ok(cookie(&r, routes::SESSION_COOKIE).ok_or("no portal session")?)
}

async fn sign_in_everything(base: &str) -> BenchResult<(String, String, String)> {
    let client = reqwest::Client::new();
    let portal = sign_in_portal(base).await?;
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
    let key = key.as_str().ok_or("no key")?;
    let api = api_session(&client, base, "acme", key, "api@acme.example").await?;
    Ok((portal, token, api))
}

/// A Cloud Service API session (the JSESSIONID cookie) for `username` in `org`.
async fn api_session(
    client: &reqwest::Client,
    base: &str,
    org: &str,
    key: &str,
    username: &str,
) -> BenchResult<String> {
    let timestamp = now_ms().to_string();
    let api_key = keyport::server::consumer::obfuscate_api_key(key, &timestamp)
        .ok_or("the key cannot be obfuscated")?;
    let r = client
        .post(format!("{base}/o/{org}/api/v1/authenticatedSession"))
        .json(&json!({
            "apiKey": api_key,
            "username": username,
            "password": DEMO_PASSWORD,
            "timestamp": timestamp,
        }))
        .send()
        .await?;
    match cookie(&r, "JSESSIONID") {
        Some(session) => Ok(session),
        None => Err(format!("{org}: no API session ({})", r.status()).into()),
    }
}

/// One API session per organisation, in their order. Each sign-in runs
/// argon2; a few at a time keep the server's hashing slots busy without
/// queueing past its timeout.
async fn api_sessions(base: &str, orgs: &[BenchOrg]) -> BenchResult<Vec<String>> {
    const WORKERS: usize = 4;
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let (client, base) = (client.clone(), base.to_owned());
        let mine: Vec<(usize, String, String, String)> = orgs
            .iter()
            .enumerate()
            .skip(worker)
            .step_by(WORKERS)
            .map(|(i, o)| (i, o.short_name.clone(), o.key.clone(), o.username.clone()))
            .collect();
        tasks.spawn(async move {
            let mut made = Vec::with_capacity(mine.len());
            for (i, org, key, username) in mine {
                made.push((i, api_session(&client, &base, &org, &key, &username).await?));
            }
            Ok::<_, BenchError>(made)
        });
    }
    let mut sessions = vec![String::new(); orgs.len()];
    while let Some(made) = tasks.join_next().await {
        for (i, session) in made?? {
            sessions[i] = session;
        }
    }
    Ok(sessions)
}

/// `usernames` sign in to the portal all at once, each from an address of
/// its own (X-Forwarded-For; the server trusts this machine), so neither
/// the account lock nor the address throttle answers before argon2 runs.
/// Returns how many got a session.
async fn sign_in_burst(base: &str, usernames: &[String]) -> BenchResult<usize> {
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, username) in usernames.iter().enumerate() {
        let request = client
            .post(format!("{base}/api/session/sign-in"))
            .header("accept", "application/json")
            .header(
                "x-forwarded-for",
                format!("10.98.{}.{}", i / 250, i % 250 + 1),
            )
            .form(&[("username", username.as_str()), ("password", DEMO_PASSWORD)]);
        tasks.spawn(async move {
            request
                .send()
                .await
                .ok()
                .is_some_and(|r| cookie(&r, routes::SESSION_COOKIE).is_some())
        });
    }
    let mut signed_in = 0;
    while let Some(done) = tasks.join_next().await {
        signed_in += usize::from(done?);
    }
    Ok(signed_in)
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

// --- the browser's view -------------------------------------------------------

fn site_built() -> bool {
    Path::new("target/site/pkg")
        .join(asset_file("wasm"))
        .exists()
}

/// The release build's asset of kind `ext` (wasm, js, css):
/// `keyport.<hash>.<ext>` when cargo-leptos hashed the names (`hash-files`;
/// the hashes are in hash.txt beside the release binary), else `keyport.<ext>`.
fn asset_file(ext: &str) -> String {
    let hash = std::fs::read_to_string("target/release/hash.txt")
        .ok()
        .and_then(|hashes| {
            hashes.lines().find_map(|line| {
                let (kind, hash) = line.split_once(':')?;
                (kind.trim() == ext).then(|| hash.trim().to_owned())
            })
        });
    match hash {
        Some(hash) => format!("keyport.{hash}.{ext}"),
        None => format!("keyport.{ext}"),
    }
}

/// Navigation to hydrated, median of 10, in headless Chromium (Playwright);
/// `{"skipped": why}` when it cannot run.
fn hydration(base: &str) -> Value {
    browser_script(&["bench-hydration.mjs", base, "10"])
}

/// Per role, in headless Chromium: `/login` with an empty cache, the page
/// the sign-in lands on, and every page the role can open with an empty
/// cache; for each, the bytes that came over the wire (wasm, JS, CSS and
/// the HTML) and the time from navigation to interactive
/// (`end2end/bench-first-load.mjs`).
fn first_load_per_role(base: &str) -> Value {
    browser_script(&["bench-first-load.mjs", base])
}

/// Runs a measuring script of `end2end/` with node and reads its JSON;
/// `{"skipped": why}` when it cannot run.
fn browser_script(args: &[&str]) -> Value {
    if !site_built() {
        println!(
            "!! target/site is not built (cargo leptos build --release): {} skipped",
            args[0]
        );
        return json!({ "skipped": "target/site not built" });
    }
    let out = Command::new("node")
        .args(args)
        .current_dir("end2end")
        .output();
    let failed = |why: String| {
        println!("!! hydration run failed: {why}");
        json!({ "skipped": why })
    };
    match out {
        Ok(out) if out.status.success() => serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| failed(format!("unreadable output: {e}"))),
        Ok(out) => failed(String::from_utf8_lossy(&out.stderr).into_owned()),
        Err(e) => failed(format!("node: {e}")),
    }
}

/// The release build's wasm, JS and CSS: raw on disk, and brotli as the
/// server sends it (`Accept-Encoding: br`).
async fn first_load_bytes() -> BenchResult<Value> {
    if !site_built() {
        println!(
            "!! target/site is not built (cargo leptos build --release): first-load bytes skipped"
        );
        return Ok(json!({ "skipped": "target/site not built" }));
    }
    let dir = scratch_dir("bytes")?;
    let server = Server::keyport(
        &format!("sqlite://{}/keyport.db", dir.display()),
        Limits::Raised,
    )?;
    wait_ready(&server.base, "/login").await?;
    let client = reqwest::Client::builder().no_brotli().no_gzip().build()?;
    let mut out = serde_json::Map::new();
    let mut total = (0u64, 0u64);
    for name in ["wasm", "js", "css"] {
        let file = asset_file(name);
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
    // `--split`: the lazy islands' chunks, which only the pages showing
    // those islands fetch (their `.br` files are what the server sends).
    let mut chunks = (0u64, 0u64, 0u64);
    for entry in std::fs::read_dir("target/site/pkg")? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if (name.starts_with("chunk_") || name.starts_with("split_")) && name.ends_with(".wasm") {
            let size = |n: &str| std::fs::metadata(format!("target/site/pkg/{n}")).map(|m| m.len());
            chunks = (
                chunks.0 + 1,
                chunks.1 + size(&name)?,
                chunks.2 + size(&format!("{name}.br")).unwrap_or(0),
            );
        }
    }
    out.insert(
        "lazy_chunks".into(),
        json!({ "files": chunks.0, "raw": chunks.1, "brotli": chunks.2 }),
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Value::Object(out))
}

// --- the report ---------------------------------------------------------------

fn machine() -> Value {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    json!({ "cpus": cpus, "when": now_ms(), "clock_ticks_per_second": clock_ticks_per_second() })
}

/// `1234567.8` as "1,234,568".
fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One measure as a table cell: throughput, latency, share of both
/// baselines, CPU per request; 2xx and 429 apart when there were 429s.
fn cell(m: &Value) -> String {
    let l = &m["load"];
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let answers = if l["answers"]["429"].as_u64().unwrap_or(0) > 0 {
        format!(
            " ({} 2xx/s, {} 429/s)",
            thousands(f(&l["ok_per_s"])),
            thousands(f(&l["limited_per_s"]))
        )
    } else {
        String::new()
    };
    let other =
        l["answers"]["other"].as_u64().unwrap_or(0) + l["socket_errors"].as_u64().unwrap_or(0);
    let other = if other > 0 {
        format!(", {other} other/errors")
    } else {
        String::new()
    };
    let pg = l["pg_cpu_us_per_request"]
        .as_f64()
        .map(|us| format!(" + PG {us:.0}"))
        .unwrap_or_default();
    // A paired measure: the share is of the baseline run just before it.
    let paired = m["rounds"]
        .as_array()
        .map(|rounds| {
            let shares: Vec<String> = rounds
                .iter()
                .map(|r| format!("{:.1}", f(&r["ratio_to_bare_middleware"]) * 100.0))
                .collect();
            format!(
                " (median of {} paired rounds: {} %)",
                rounds.len(),
                shares.join(", ")
            )
        })
        .unwrap_or_default();
    format!(
        "{} req/s{answers}{other}, p50 {} ms, p99 {} ms; {:.1} % of bare, {:.1} % of bare+mw{paired}; CPU {:.0}{pg} µs/req",
        thousands(f(&l["req_per_s"])),
        l["p50_ms"],
        l["p99_ms"],
        f(&m["ratio_to_bare"]) * 100.0,
        f(&m["ratio_to_bare_middleware"]) * 100.0,
        f(&l["cpu_us_per_request"]),
    )
}

fn print_table(r: &Value) {
    let names = backends(r);
    println!();
    println!("| measure | {} |", names.join(" | "));
    println!("|---|{}", "---|".repeat(names.len()));
    let row = |label: &str, value: &dyn Fn(&Value) -> String| {
        let cells: Vec<String> = names.iter().map(|b| value(&r["backends"][b])).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    for (label, key) in [
        ("status (API session)", "status"),
        ("sandbox token check", "token_check"),
        ("sandbox submit", "submit"),
        ("Sandbox page (signed in; kept render)", "sandbox_page"),
        (
            "Sandbox page (signed in; drawn every view)",
            "sandbox_page_rendered",
        ),
    ] {
        row(label, &|b| cell(&b[key]));
    }
    let orgs = thousands(r["organisations"].as_f64().unwrap_or(0.0));
    for (label, key) in [
        ("status", "status"),
        ("token check", "token_check"),
        ("submit", "submit"),
    ] {
        let label = format!("{orgs} orgs, spec limits: {label}");
        row(&label, &|b| cell(&b["many_orgs"][key]));
    }
    row(
        "hydrated (median of 10)",
        &|b| match b["hydration"]["median_ms"].as_f64() {
            Some(ms) => format!("{ms:.1} ms"),
            None => "skipped".into(),
        },
    );
    // Per page: the most any role downloaded on a first visit, and the
    // median time to interactive over the roles that opened it.
    let pages = first_load_pages(r);
    for page in &pages {
        row(&format!("first load of {page}"), &|b| {
            let visits: Vec<&Value> = b["first_load_per_role"]
                .as_array()
                .map(|v| v.iter().filter(|x| x["page"] == page.as_str()).collect())
                .unwrap_or_default();
            let most = visits
                .iter()
                .filter_map(|x| x["total_bytes"].as_u64())
                .max();
            let mut ms: Vec<f64> = visits
                .iter()
                .filter_map(|x| x["hydrated_ms"].as_f64())
                .collect();
            ms.sort_by(f64::total_cmp);
            match (most, ms.get(ms.len() / 2)) {
                (Some(bytes), Some(ms)) => {
                    format!(
                        "{} B with the HTML (most of {} roles), interactive {ms:.0} ms",
                        thousands(bytes as f64),
                        visits.len()
                    )
                }
                _ => "skipped".into(),
            }
        });
    }
    row("server RSS idle / under load / after 32 sign-ins", &|b| {
        let rss = &b["rss_kib"];
        let mib = |v: &Value| format!("{:.0} MiB", v.as_f64().unwrap_or(0.0) / 1024.0);
        format!(
            "{} / {} / {}",
            mib(&rss["idle"]),
            mib(&rss["under_load_peak"]),
            mib(&rss["after_sign_in_burst"])
        )
    });
    for (label, key) in [
        ("bare axum handler", "bare"),
        ("bare + middleware", "bare_middleware"),
    ] {
        let l = &r[key]["load"];
        println!(
            "\n{label}: {} req/s, p50 {} ms, p99 {} ms, CPU {} µs/req, RSS idle {} KiB",
            thousands(l["req_per_s"].as_f64().unwrap_or(0.0)),
            l["p50_ms"],
            l["p99_ms"],
            l["cpu_us_per_request"],
            r[key]["rss_idle_kib"]
        );
    }
    let f = &r["first_load"];
    if let Some(why) = f["skipped"].as_str() {
        println!("first load: skipped ({why})");
        return;
    }
    println!(
        "first load (release), main module: wasm {}/{} B, JS {}/{} B, CSS {}/{} B, total {}/{} B (raw/brotli)",
        f["wasm"]["raw"],
        f["wasm"]["brotli"],
        f["js"]["raw"],
        f["js"]["brotli"],
        f["css"]["raw"],
        f["css"]["brotli"],
        f["total"]["raw"],
        f["total"]["brotli"]
    );
    let c = &f["lazy_chunks"];
    println!(
        "lazy islands' chunks (fetched only by the pages that show them): {} files, {}/{} B (raw/brotli)",
        c["files"], c["raw"], c["brotli"]
    );
}

/// The pages that `bench-first-load.mjs` opened, in its order.
fn first_load_pages(r: &Value) -> Vec<String> {
    let mut pages: Vec<String> = Vec::new();
    for b in backends(r) {
        for visit in r["backends"][&b]["first_load_per_role"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(page) = visit["page"].as_str()
                && !pages.iter().any(|p| p == page)
            {
                pages.push(page.to_owned());
            }
        }
    }
    pages
}

fn backends(r: &Value) -> Vec<String> {
    r["backends"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}
