//! All SQL lives behind [`Store`], one set of queries for SQLite (the
//! embedded default) and PostgreSQL (several instances on one database),
//! through sqlx's `Any` driver. The SQL is what both accept: `$1` parameters,
//! `ON CONFLICT`, `RETURNING`, integers for flags, `CAST(… AS BIGINT)` for
//! sums. Each backend has its own migrations folder with the same schema.
//!
//! Writes that check a rule and then change rows (token limits, daily
//! allowances, rate counters) run in one transaction that serialises
//! writers ([`Store::begin_write`]), never as a count followed by a separate
//! insert.

mod admins;
mod api_keys;
mod api_sessions;
mod audit;
pub(crate) mod flight;
mod layouts;
mod oauth;
mod orgs;
mod provision;
mod rate;
mod sandbox;
mod sign_ins;
mod sqlite;
mod usage;
mod write;

pub use admins::{AdminRow, MemberRow, MembershipRow, api_access_not_for};
pub use api_keys::{ApiKeyRow, EXISTS_MESSAGE};
pub use api_sessions::{ApiCall, ApiCallRequest, LiveApiSession};
pub use audit::{AuditColumn, AuditQuery, AuditRecord, AuditRow};
pub use oauth::{
    BearerCall, BearerCallRequest, OAUTH_LIMIT_MESSAGE, OAUTH_ONE_ENABLED_MESSAGE, OAuthRow,
};
pub use orgs::{OrgChange, OrgRow, SubscriptionKind};
pub use provision::Provision;
pub use rate::RateLimit;
pub use sandbox::{
    LIMIT_MESSAGE, NewSubmission, SandboxTokenRow, SealedSecret, SubmitOutcome, TokenCheck,
};
pub use sign_ins::{Admission, SignInPolicy};
pub use usage::{CallCounts, Credential, Generation};
pub use write::{AuditedTx, Refusal, Ruled};

use sqlite::{prepare_sqlite_file, sqlite_options, sqlite_pool};

use crate::error::AppError;
use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::postgres::PgPool;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use sqlx::{Any, AnyPool, Transaction};
use std::str::FromStr;
use std::sync::Arc;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// PostgreSQL connections per instance (plus [`SESSION_POOL_SIZE`] for the
/// portal's sessions): instances share the server's `max_connections`, so
/// e.g. the default 100 (3 reserved) fits 8 instances (README.md,
/// "Several instances on PostgreSQL").
/// Override with `KEYPORT_DB_POOL_SIZE`.
const PG_POOL_SIZE: u32 = 10;
/// SQLite has one writer at a time: one connection writes (writers queue
/// for it in the pool, not in SQLite's busy handler, which sleeps in steps
/// of up to 100 ms), a few read-only ones serve reads meanwhile (WAL).
const SQLITE_READERS: u32 = 4;
/// The session store's (tower-sessions) own pool, both backends.
const SESSION_POOL_SIZE: u32 = 2;

/// Which database `DATABASE_URL` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The pool of the session store (tower-sessions), native to the backend.
#[derive(Clone, Debug)]
pub enum SessionPool {
    Sqlite(SqlitePool),
    /// With the schema its table lives in (the connection's current schema).
    Postgres(PgPool, String),
}

#[derive(Clone, Debug)]
pub struct Store {
    /// Writes, and reads that decide a write. On SQLite its one connection
    /// is the database's one writer.
    pool: AnyPool,
    /// Reads on their own: on SQLite read-only connections beside the
    /// writer; on PostgreSQL the same pool.
    read: AnyPool,
    backend: Backend,
    sessions: SessionPool,
    /// Rate-limit refusals known to this process (`rate.rs`).
    rate_memo: Arc<rate::DenyMemo>,
    /// Credential and session use not yet written (`usage.rs`).
    usage: Arc<usage::UsageBuffer>,
    /// The hot path's round trips, shared by concurrent requests (`flight.rs`).
    flights: Arc<HotFlights>,
    /// Consumer-API sessions this process validated (`api_sessions.rs`).
    api_session_cache: Arc<api_sessions::SessionCache>,
}

/// The consumer API's round trips that concurrent requests share
/// ([`flight::Flights`]), by what they read or count.
#[derive(Debug, Default)]
struct HotFlights {
    /// An organisation's rate-limit count, per class and the version the
    /// count must still find (`None`: any).
    rate: flight::Flights<(i64, &'static str, Option<i64>), rate::Counted>,
    /// A session's check: its digest and the organisation of the path.
    sessions: flight::Flights<(Vec<u8>, String), Option<api_sessions::SessionCheck>>,
    /// A sandbox token's check: its digest, the organisation of the path
    /// and the UTC day whose submissions it reads with it.
    tokens: flight::Flights<(Vec<u8>, String, i64), Option<sandbox::TokenCheckRow>>,
    /// An organisation's submissions on a UTC day.
    days: flight::Flights<(i64, i64), i64>,
    /// An organisation's page version (`page_cache`).
    versions: flight::Flights<i64, Option<i64>>,
    /// An admin with their memberships (each portal request's actor).
    admins: flight::Flights<i64, Option<(AdminRow, Vec<MembershipRow>)>>,
    /// Submissions with one token, recorded in one transaction.
    submissions: flight::Flights<(i64, Vec<u8>), Arc<[SubmitOutcome]>, sandbox::Queued>,
    /// Sandbox tokens found with a daily cap: their submissions skip the
    /// one-statement batch (`submissions/at_once.rs`), which leaves capped
    /// tokens to the statements that count the cap. Only ever grows, by one
    /// id per capped token; a token whose cap is lifted stays on the
    /// longer path, which is as exact.
    capped_tokens: std::sync::Mutex<std::collections::HashSet<i64>>,
}

impl HotFlights {
    fn is_capped(&self, token_id: i64) -> bool {
        self.capped_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&token_id)
    }

    fn note_capped(&self, token_id: i64) {
        self.capped_tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token_id);
    }
}

/// A write transaction ([`Store::begin_write`]).
pub(crate) struct WriteTx {
    tx: Transaction<'static, Any>,
}

impl WriteTx {
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Database failures are logged here and reach the client as a bare
/// `Internal`: the actual message isn't returned for security reasons.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        // A page showing this error is not kept for the next view.
        crate::server::page_cache::dont_keep();
        AppError::internal()
    }
}

/// A 0/1 flag column (INTEGER on SQLite, BIGINT on PostgreSQL) read as a bool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag(pub bool);

impl From<i64> for Flag {
    fn from(v: i64) -> Self {
        Flag(v != 0)
    }
}

/// What a write transaction serialises on (see [`Store::begin_write`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Lock<'a> {
    /// Writers of one organisation's rules (limits, allowance, counters).
    Org(i64),
    /// Writers of something named, e.g. one account's failed sign-ins.
    Key(&'a str),
    /// No lock beyond the rows the statements change: counters whose
    /// conditional UPSERTs are their own check (a submission's counts).
    Rows,
}

/// [`PG_POOL_SIZE`], or `KEYPORT_DB_POOL_SIZE` when set to a positive number.
fn pg_pool_size() -> u32 {
    std::env::var("KEYPORT_DB_POOL_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &u32| n > 0)
        .unwrap_or(PG_POOL_SIZE)
}

impl Store {
    /// A connection of the writer pool, for one statement on its own.
    pub(crate) async fn writer(&self) -> Result<sqlx::pool::PoolConnection<Any>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// Opens (creating if needed) the database at `url` — `sqlite://…` or
    /// `postgres://…` — and migrates it.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url);
        let (pool, read, sessions) = match backend {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?;
                let in_memory = sqlx::ConnectOptions::to_url_lossy(&options)
                    .query_pairs()
                    .any(|(key, value)| key == "mode" && value == "memory");
                if !in_memory {
                    prepare_sqlite_file(options.get_filename()).map_err(sqlx::Error::Io)?;
                }
                // The session store's own pool sets WAL (and creates the file
                // where the step above did not, e.g. in memory).
                let sessions = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(SESSION_POOL_SIZE)
                    .test_before_acquire(false)
                    .connect_with(sqlite_options(options))
                    .await?;
                let pool = sqlite_pool(1, false).connect(url).await?;
                // An in-memory database is per connection: it has no readers.
                let read = if in_memory {
                    pool.clone()
                } else {
                    sqlite_pool(SQLITE_READERS, true).connect(url).await?
                };
                (pool, read, SessionPool::Sqlite(sessions))
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(pg_pool_size())
                    // A ping before every checkout doubles the round trips
                    // of a short request; a broken connection fails its
                    // query instead, and the pool replaces it.
                    .test_before_acquire(false)
                    .connect(url)
                    .await?;
                let sessions = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(SESSION_POOL_SIZE)
                    .test_before_acquire(false)
                    .connect(url)
                    .await?;
                let (schema,): (String,) = sqlx::query_as("SELECT current_schema()")
                    .fetch_one(&sessions)
                    .await?;
                (pool.clone(), pool, SessionPool::Postgres(sessions, schema))
            }
        };
        let store = Store {
            pool,
            read,
            backend,
            sessions,
            rate_memo: Arc::default(),
            usage: Arc::default(),
            flights: Arc::default(),
            api_session_cache: Arc::default(),
        };
        store.migrate().await?;
        usage::spawn_flusher(&store);
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for tests that look at rows directly.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool of the session store that shares this database.
    pub fn session_pool(&self) -> &SessionPool {
        &self.sessions
    }

    /// Starts a transaction that serialises writers, so check-then-write
    /// rules cannot interleave: SQLite takes its one write lock at once
    /// (`BEGIN IMMEDIATE`); PostgreSQL locks the organisation's row (or an
    /// advisory lock on a name), so other organisations' writers go on.
    async fn begin_write(&self, lock: Lock<'_>) -> Result<WriteTx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx { tx })
            }
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                match lock {
                    Lock::Org(id) => {
                        sqlx::query("SELECT id FROM organisations WHERE id = $1 FOR NO KEY UPDATE")
                            .bind(id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    }
                    Lock::Key(name) => {
                        sqlx::query("SELECT CAST(pg_advisory_xact_lock(hashtext($1)) AS TEXT)")
                            .bind(name)
                            .fetch_optional(&mut *tx)
                            .await?;
                    }
                    Lock::Rows => {}
                }
                Ok(WriteTx { tx })
            }
        }
    }

    /// Records the master key's fingerprint on first use; afterwards, whether
    /// `fingerprint` is the one recorded.
    pub async fn check_key_fingerprint(&self, fingerprint: &str) -> Result<bool, sqlx::Error> {
        sqlx::query("INSERT INTO meta (name, value) VALUES ('master_key_fingerprint', $1) ON CONFLICT (name) DO NOTHING")
            .bind(fingerprint)
            .execute(&self.pool)
            .await?;
        let (stored,): (String,) =
            sqlx::query_as("SELECT value FROM meta WHERE name = 'master_key_fingerprint'")
                .fetch_one(&self.pool)
                .await?;
        Ok(stored == fingerprint)
    }

    /// Removes every row (the demo reset). Sessions go too.
    pub async fn wipe(&self) -> Result<(), sqlx::Error> {
        let mut tx = self.begin_write(Lock::Key("wipe")).await?;
        for table in [
            "credential_calls",
            "table_layouts",
            "oauth_servers",
            "api_rate_limits",
            "submission_days",
            "api_sessions",
            "api_keys",
            "sandbox_submissions",
            "sandbox_tokens",
            "memberships",
            "subscriptions",
            "sign_in_failures",
            "sign_in_locks",
            "admins",
            "organisations",
            "audit_log",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        // The session table belongs to tower-sessions.
        match &self.sessions {
            SessionPool::Sqlite(pool) => {
                sqlx::query("DELETE FROM tower_sessions")
                    .execute(pool)
                    .await?;
            }
            SessionPool::Postgres(pool, schema) => {
                sqlx::query(&format!("DELETE FROM \"{schema}\".\"tower_sessions\""))
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }
}
