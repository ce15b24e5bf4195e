//! The SQLite file and its pools: a private file (0600, in a 0700
//! directory made for it) and the connection settings of the writer, the
//! readers and the session store.

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use std::time::Duration;

/// SQLite's settings for the session store's pool (the `Any` pool sets the
/// same with PRAGMAs as it connects).
pub(super) fn sqlite_options(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .foreign_keys(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
}

/// Gets the SQLite file at `path` ready before sqlx opens it: creates its
/// missing parent directories (0700), creates the file empty (0600) or
/// tightens an existing one and its `-wal`/`-shm` files to 0600. SQLite
/// gives the `-wal`/`-shm` files it creates the database file's mode.
/// Paths SQLite does not take as a plain file (empty, `file:` URIs) are
/// left alone.
pub(super) fn prepare_sqlite_file(path: &std::path::Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.to_string_lossy().starts_with("file:") {
        return Ok(());
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            // Applies to the directories this creates, not to existing ones.
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    #[cfg(unix)]
    restrict_sqlite_files(path)?;
    Ok(())
}

#[cfg(unix)]
fn restrict_sqlite_files(path: &std::path::Path) -> std::io::Result<()> {
    use std::io::ErrorKind;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let private = || std::fs::Permissions::from_mode(0o600);
    // Tightening a file someone else owns fails; say so and go on.
    let tighten = |file: &std::path::Path| match std::fs::set_permissions(file, private()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => {
            tracing::warn!(
                path = %file.display(),
                error = %e,
                "cannot make the database file private (0600)"
            );
            Ok(())
        }
        Err(e) => Err(e),
    };
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => tighten(path)?,
        Err(e) => return Err(e),
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        tighten(std::path::Path::new(&side))?;
    }
    Ok(())
}

/// The `Any` pool options for SQLite: `size` connections, read-only ones
/// for readers. No ping before checkout (`test_before_acquire`): a local
/// file does not drop connections, and the ping was a round trip per query.
pub(super) fn sqlite_pool(size: u32, read_only: bool) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(size)
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // Writers from other processes (the CLI, the session store's
                // pool) are waited for instead of failing with SQLITE_BUSY.
                conn.execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;",
                )
                .await?;
                if read_only {
                    conn.execute("PRAGMA query_only = ON;").await?;
                }
                Ok(())
            })
        })
}
