//! Runtime configuration: command-line flags, each with an environment
//! variable, so the same binary runs a laptop demo or a fleet of instances.

use super::demo::ResetSchedule;
use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod cidr;

pub use cidr::Cidr;

#[derive(Parser, Debug)]
#[command(
    name = "keyport",
    version,
    about = "Keyport: API credentials admin portal"
)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database URL. The default is an embedded SQLite file.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/keyport.db",
        global = true
    )]
    pub database_url: String,
    /// Master key for secrets at rest, 64 hex characters, read from the
    /// environment only (a flag would show in `ps`). Every instance that
    /// shares a database must share it. Without it a key file is created
    /// beside the SQLite database (or under data/).
    #[arg(skip = std::env::var("KEYPORT_MASTER_KEY").ok().map(SecretString::from))]
    pub master_key: Option<SecretString>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the portal and the consumer API.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create an admin account (the password is read from KEYPORT_PASSWORD or stdin).
    CreateAdmin {
        #[arg(long)]
        username: String,
        /// Organisation short name; created if missing (with --org-name).
        #[arg(long)]
        org: String,
        #[arg(long)]
        org_name: Option<String>,
        /// super_admin, api_admin, read_only_admin, cloud_connector_admin or provider.
        #[arg(long)]
        role: String,
    },
    /// Provider: set an organisation's subscription.
    SetSubscription {
        #[arg(long)]
        org: String,
        /// sandbox or api
        #[arg(long)]
        kind: String,
        /// active, expired or none
        #[arg(long)]
        state: String,
        /// With --state active: the last day (YYYY-MM-DD, UTC) it is active.
        #[arg(long)]
        expires_on: Option<String>,
    },
    /// Provider: disable sandbox tokens of an organisation (all, or one by name).
    DisableToken {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: Option<String>,
        /// threshold_exceeded, terms_violation or other
        #[arg(long, default_value = "other")]
        reason: String,
    },
    /// Provider: re-enable sandbox tokens of an organisation (all, or one by name).
    EnableToken {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Provider: let the organisation's Super Admins manage the connector key (or not).
    SetConnectorSelfManage {
        #[arg(long)]
        org: String,
        #[arg(long, action = clap::ArgAction::Set)]
        allowed: bool,
    },
    /// Provider: disable an API key (cloud_service or connector).
    DisableKey {
        #[arg(long)]
        org: String,
        #[arg(long)]
        kind: String,
        #[arg(long, default_value = "other")]
        reason: String,
    },
    /// Provider: re-enable an API key.
    EnableKey {
        #[arg(long)]
        org: String,
        #[arg(long)]
        kind: String,
    },
    /// Provider: set an organisation's sandbox token limit (1 to 5).
    SetTokenLimit {
        #[arg(long)]
        org: String,
        #[arg(long)]
        limit: i64,
    },
    /// Provider: set an organisation's daily Sandbox API-call allowance.
    SetDailyAllowance {
        #[arg(long)]
        org: String,
        #[arg(long)]
        allowance: i64,
    },
    /// Provider: grant (true) or revoke (false) an admin's API access in an
    /// organisation; revoking ends their API sessions there.
    SetApiAccess {
        #[arg(long)]
        org: String,
        #[arg(long)]
        username: String,
        #[arg(long, action = clap::ArgAction::Set)]
        granted: bool,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEYPORT_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// The URL users reach this portal at; Base URLs are built from it.
    /// Defaults to http://{addr}.
    #[arg(long, env = "KEYPORT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seed the demo organisations and accounts when the database is empty,
    /// and show them on the sign-in page.
    #[arg(long, env = "KEYPORT_DEMO")]
    pub demo: bool,
    /// With --demo: when to wipe and re-seed the demo: `nightly` (03:00
    /// UTC), a UTC time of day (`05:30`), or `never`.
    #[arg(long, env = "KEYPORT_DEMO_RESET", default_value = "nightly", value_parser = ResetSchedule::parse)]
    pub demo_reset: ResetSchedule,
    /// With --demo: wipe and re-seed the demo this often instead (e.g. 24h,
    /// 30m), counted from the start.
    #[arg(long, value_parser = parse_duration)]
    pub demo_reset_every: Option<Duration>,
    /// Mark the session cookie Secure (set when served over https).
    #[arg(long, env = "KEYPORT_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Idle minutes after which a portal session ends.
    #[arg(long, env = "KEYPORT_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,
    /// Idle minutes after which a consumer-API session (JSESSIONID) ends.
    #[arg(long, env = "KEYPORT_API_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub api_session_idle_minutes: i64,
    /// Consumer-API requests allowed per organisation per second.
    #[arg(long, env = "KEYPORT_API_RATE_PER_SECOND", default_value_t = 2)]
    pub api_rate_per_second: i64,
    /// Development only: let OAuth JWKS locations point at this machine's
    /// loopback addresses (127.0.0.0/8, ::1, localhost), over http or https
    /// (tests serve a JWKS from a local server). Off: public addresses only.
    #[arg(long, env = "KEYPORT_ALLOW_INSECURE_JWKS")]
    pub allow_insecure_jwks: bool,
    /// Consumer-API requests allowed per organisation per hour.
    #[arg(long, env = "KEYPORT_API_RATE_PER_HOUR", default_value_t = 1000)]
    pub api_rate_per_hour: i64,
    /// Sandbox submissions allowed per organisation per second.
    #[arg(long, env = "KEYPORT_SUBMIT_RATE_PER_SECOND", default_value_t = 1)]
    pub submit_rate_per_second: i64,
    /// Sandbox submissions allowed per organisation per hour.
    #[arg(long, env = "KEYPORT_SUBMIT_RATE_PER_HOUR", default_value_t = 400)]
    pub submit_rate_per_hour: i64,
    /// Reverse proxies (addresses or CIDR blocks, e.g. 10.0.0.0/8) whose
    /// X-Forwarded-For names the client. Without this, X-Forwarded-For is
    /// ignored and the peer address is the client.
    #[arg(long, env = "KEYPORT_TRUSTED_PROXY", value_delimiter = ',', num_args = 1.., value_parser = Cidr::parse)]
    pub trusted_proxy: Vec<Cidr>,
    /// Anonymous failures (no live session, unknown token, malformed sign-in)
    /// one client address may make per minute before it gets 429.
    #[arg(
        long,
        env = "KEYPORT_ANONYMOUS_FAILURES_PER_MINUTE",
        default_value_t = 60
    )]
    pub anonymous_failures_per_minute: u32,
    /// Who admins should contact to renew an expired subscription, as the
    /// portal's banner names it ("Contact {this} to renew it.").
    #[arg(long, env = "KEYPORT_SUPPORT_CONTACT", default_value = DEFAULT_SUPPORT_CONTACT)]
    pub support_contact: String,
    /// Serve a signed-in admin's page again from its last render while
    /// nothing it shows has changed (src/server/page_cache.rs).
    #[arg(long, env = "KEYPORT_PAGE_CACHE", default_value_t = true, action = clap::ArgAction::Set)]
    pub page_cache: bool,
}

/// Whom the expired-subscription banner names when none is configured.
pub const DEFAULT_SUPPORT_CONTACT: &str = "your service provider";

/// The longest support contact the banner shows, in characters.
const SUPPORT_CONTACT_MAX: usize = 200;

/// Settings the request handlers need, fixed at start.
#[derive(Clone, Debug)]
pub struct Settings {
    pub public_url: String,
    pub demo: bool,
    /// When the demo resets itself; `None` outside a demo (`--demo-reset`).
    pub demo_reset: Option<ResetSchedule>,
    pub secure_cookies: bool,
    pub session_idle: Duration,
    /// A session ends this long after sign-in, active or not.
    pub session_absolute: Duration,
    /// Consumer-API sessions (JSESSIONID) end after this long idle.
    pub api_session_idle: Duration,
    /// Consumer-API requests per organisation per second and per hour.
    pub api_rate_per_second: i64,
    pub api_rate_per_hour: i64,
    /// Sandbox submissions per organisation per second and per hour.
    pub submit_rate_per_second: i64,
    pub submit_rate_per_hour: i64,
    /// Allow JWKS locations on this machine's loopback addresses, http or https (development).
    pub allow_insecure_jwks: bool,
    /// Peers whose X-Forwarded-For is believed (see [`super::http::client_ip`]).
    pub trusted_proxies: Vec<Cidr>,
    pub anonymous_failures_per_minute: u32,
    /// argon2 runs at most this many at once; sign-ins wait this long for a turn.
    pub hash_slots: usize,
    pub hash_queue_timeout: Duration,
    /// Named in the expired-subscription banner (`--support-contact`).
    pub support_contact: String,
    /// Keep rendered pages while current (`--page-cache`).
    pub page_cache: bool,
}

impl Settings {
    pub fn from_serve(args: &ServeArgs) -> Self {
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.addr))
            .trim_end_matches('/')
            .to_owned();
        Settings {
            secure_cookies: args.secure_cookies || public_url.starts_with("https://"),
            public_url,
            demo: args.demo,
            demo_reset: args.demo.then(|| {
                args.demo_reset_every
                    .map_or(args.demo_reset, ResetSchedule::Every)
            }),
            session_idle: Duration::from_secs(60 * args.session_idle_minutes.max(1) as u64),
            session_absolute: Duration::from_secs(12 * 3600),
            api_session_idle: Duration::from_secs(60 * args.api_session_idle_minutes.max(1) as u64),
            api_rate_per_second: args.api_rate_per_second.max(1),
            api_rate_per_hour: args.api_rate_per_hour.max(1),
            submit_rate_per_second: args.submit_rate_per_second.max(1),
            submit_rate_per_hour: args.submit_rate_per_hour.max(1),
            allow_insecure_jwks: args.allow_insecure_jwks,
            trusted_proxies: args.trusted_proxy.clone(),
            anonymous_failures_per_minute: args.anonymous_failures_per_minute,
            hash_slots: cores(),
            hash_queue_timeout: Duration::from_secs(5),
            support_contact: support_contact(&args.support_contact),
            page_cache: args.page_cache,
        }
    }

    /// For command-line operations, which build no URLs and set no cookies:
    /// the production defaults (no demo, no development switches).
    pub fn for_cli() -> Self {
        Settings {
            public_url: "http://127.0.0.1:3000".into(),
            demo: false,
            demo_reset: None,
            secure_cookies: false,
            session_idle: Duration::from_secs(30 * 60),
            session_absolute: Duration::from_secs(12 * 3600),
            api_session_idle: Duration::from_secs(30 * 60),
            api_rate_per_second: 2,
            api_rate_per_hour: 1000,
            submit_rate_per_second: 1,
            submit_rate_per_hour: 400,
            allow_insecure_jwks: false,
            trusted_proxies: Vec::new(),
            anonymous_failures_per_minute: 60,
            hash_slots: cores(),
            hash_queue_timeout: Duration::from_secs(5),
            support_contact: DEFAULT_SUPPORT_CONTACT.into(),
            page_cache: true,
        }
    }

    /// Defaults for tests: the production ones, with the demo and local
    /// JWKS servers allowed.
    pub fn for_tests() -> Self {
        Settings {
            demo: true,
            demo_reset: Some(ResetSchedule::NIGHTLY),
            // Generous, so tests that submit several files need not wait;
            // the rate-limit tests set the spec's 1/s and 400/h.
            submit_rate_per_second: 1000,
            submit_rate_per_hour: 100_000,
            allow_insecure_jwks: true,
            // Tests send many bad requests from one (unknown) address on
            // purpose; the throttle's own tests set it low.
            anonymous_failures_per_minute: 1_000_000,
            hash_queue_timeout: Duration::from_secs(30),
            ..Self::for_cli()
        }
    }

    /// `{public_url}/o/{org}` (docs/CONSUMER-API.md#base-urls).
    pub fn base_url(&self, org_short_name: &str) -> String {
        format!("{}/o/{}", self.public_url, org_short_name)
    }
}

/// The configured contact as the banner shows it: trimmed, control
/// characters dropped, at most [`SUPPORT_CONTACT_MAX`] characters; the
/// default when nothing is left.
fn support_contact(configured: &str) -> String {
    let cleaned: String = configured
        .chars()
        .filter(|c| !c.is_control())
        .take(SUPPORT_CONTACT_MAX)
        .collect();
    match cleaned.trim() {
        "" => DEFAULT_SUPPORT_CONTACT.into(),
        contact => contact.to_owned(),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Where the master key file lives when none is configured: beside the
/// SQLite database, or under `data/` otherwise.
pub fn default_key_file(database_url: &str) -> PathBuf {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.contains(":memory:"));
    match path
        .map(PathBuf::from)
        .and_then(|p| p.parent().map(|d| d.to_path_buf()))
    {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("master.key"),
        _ => PathBuf::from("data/master.key"),
    }
}

/// `24h`, `30m`, `45s` or `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 24h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" | "" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("`{s}`: use s, m, h or d")),
    };
    if secs == 0 {
        return Err("the duration must be more than zero".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests;
