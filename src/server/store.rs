//! All SQL lives behind [`Store`]. Today it speaks SQLite; the PostgreSQL
//! backend of a later milestone adds a second pool behind the same methods.
//!
//! Writes that check a rule and then change rows (token limits, daily
//! allowances) run in one transaction that serialises writers
//! (`BEGIN IMMEDIATE`), never as a count followed by a separate insert.

mod admins;
mod api_keys;
mod audit;
mod layouts;
mod oauth;
mod orgs;
mod sandbox;
mod usage;

pub use admins::{AdminRow, MemberRow, MembershipRow};
pub use api_keys::{ApiKeyRow, ApiSessionRow};
pub use audit::{AuditColumn, AuditQuery, AuditRecord};
pub use oauth::{OAuthOutcome, OAuthRow};
pub use orgs::{OrgChange, OrgRow, SubscriptionKind};
pub use sandbox::{InsertOutcome, NewSubmission, SandboxTokenRow, SealedSecret, SubmitOutcome};
pub use usage::{CallCounts, Credential};

use crate::error::AppError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

/// Database failures are logged here and reach the client as a bare
/// `Internal`: the actual message isn't returned for security reasons.
impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::internal()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url` and migrates it.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            // Writers queue for the lock instead of failing with SQLITE_BUSY.
            .busy_timeout(Duration::from_secs(30));
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// A fresh private in-memory database, for tests.
    pub async fn in_memory() -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: every in-memory connection would be its own database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        let store = Store { pool };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        MIGRATIONS.run(&self.pool).await?;
        Ok(())
    }

    /// The pool, for the session store that shares this database.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Starts a transaction that holds the write lock from its first
    /// statement, so check-then-write rules cannot interleave.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// Records the master key's fingerprint on first use; afterwards, whether
    /// `fingerprint` is the one recorded.
    pub async fn check_key_fingerprint(&self, fingerprint: &str) -> Result<bool, sqlx::Error> {
        sqlx::query("INSERT INTO meta (name, value) VALUES ('master_key_fingerprint', ?) ON CONFLICT (name) DO NOTHING")
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
        let mut tx = self.begin_write().await?;
        for table in [
            "credential_calls",
            "table_layouts",
            "oauth_servers",
            "api_rate_counters",
            "api_sessions",
            "api_keys",
            "sandbox_submissions",
            "sandbox_tokens",
            "memberships",
            "subscriptions",
            "sign_in_failures",
            "admins",
            "organisations",
            "audit_log",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        // The session table belongs to tower-sessions and may not exist yet.
        let _ = sqlx::query("DELETE FROM tower_sessions")
            .execute(&mut *tx)
            .await;
        tx.commit().await
    }
}
