//! The `keyport` binary: `serve` the portal, or run one operation (see `--help`).

use clap::Parser;
use keyport::server::config::{Cli, Command, Settings, default_key_file};
use keyport::server::crypto::Secrets;
use keyport::server::state::AppState;
use keyport::server::store::Store;
use keyport::server::{cli, demo, routes};
use leptos::prelude::{LeptosOptions, get_configuration};
use std::net::SocketAddr;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

type MainResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

#[tokio::main]
async fn main() -> MainResult {
    return_freed_memory_at_once();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .init();
    let args = Cli::parse();
    let store = Store::connect(&args.db.database_url).await?;
    let key_file = default_key_file(&args.db.database_url);
    let secrets = Secrets::load(args.db.master_key.as_ref(), &key_file)?;
    if !store.check_key_fingerprint(secrets.fingerprint()).await? {
        return Err(format!(
            "the master key (KEYPORT_MASTER_KEY or {}) is not the one this database's secrets were sealed with; \
             start with the original key",
            key_file.display()
        )
        .into());
    }

    let serve = match args.command {
        Command::Migrate => {
            println!("migrations applied");
            return Ok(());
        }
        Command::Serve(serve) => serve,
        other => {
            let state =
                routes::state(store, secrets, Settings::for_cli(), leptos_options()).await?;
            return cli::run(&state, other).await;
        }
    };

    let mut leptos_options = leptos_options();
    leptos_options.site_addr = serve.addr;
    let settings = Settings::from_serve(&serve);
    let state = routes::state(store, secrets, settings, leptos_options).await?;
    if let Some(schedule) = state.settings.demo_reset {
        start_demo(&state, schedule).await?;
    }

    routes::spawn_housekeeping(state.clone());
    let store = state.store.clone();
    let app = routes::router(state);
    let listener = tokio::net::TcpListener::bind(serve.addr).await?;
    tracing::info!("Keyport listening on http://{}", serve.addr);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    // Usage noted in the last moments (written every 0.5 s otherwise).
    store.flush_usage().await?;
    Ok(())
}

/// With `--demo`: seeds an empty database, then wipes and re-seeds it on
/// its schedule (`--demo-reset`, nightly at 03:00 UTC by default).
async fn start_demo(state: &AppState, schedule: demo::ResetSchedule) -> MainResult {
    demo::seed_if_empty(state).await?;
    let state = state.clone();
    tokio::spawn(async move {
        // Computed afresh each time, so a slow reset or a suspended machine
        // never makes the next one drift from the documented time.
        while let Some(next) = schedule.next_after(keyport::server::now_ms()) {
            let wait = next.saturating_sub(keyport::server::now_ms()).max(0);
            tokio::time::sleep(Duration::from_millis(wait.unsigned_abs())).await;
            match demo::reset(&state).await {
                Ok(()) => tracing::info!("demo reset"),
                Err(e) => tracing::error!(error = %e, "demo reset failed"),
            }
        }
    });
    Ok(())
}

/// The site settings cargo-leptos compiled in (site root, package name),
/// with `LEPTOS_*` environment variables taking precedence.
fn leptos_options() -> LeptosOptions {
    let mut options = get_configuration(None)
        .map(|conf| conf.leptos_options)
        .unwrap_or_else(|_| {
            LeptosOptions::builder()
                .output_name("keyport")
                .site_root("target/site")
                .build()
        });
    // cargo-leptos (`hash-files` in Cargo.toml) names the assets by their
    // content and lists the names in hash.txt beside the binary; only
    // `cargo leptos serve` sets LEPTOS_HASH_FILES, so the file decides.
    let beside_binary = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())));
    if beside_binary.is_some_and(|file| file.exists()) {
        options.hash_files = true;
    }
    options
}

/// The server's allocator. With glibc's, a fifth of a hot-path request
/// went to malloc and free, and a burst of sign-ins left argon2's ~19 MiB
/// buffers resident in per-thread arenas (hundreds of megabytes). mimalloc
/// is faster for many small allocations across threads, and with
/// [`return_freed_memory_at_once`] gives freed memory back to the system
/// (README, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (index 15 in both v2 and v3);
/// libmimalloc-sys does not name it. The test below holds the index to the
/// option's default in v3's src/options.c, so an upgrade that moves it
/// fails there.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// By default mimalloc v3 keeps freed pages for a second and only purges them
/// on a later allocation, so the buffers of a sign-in burst stayed resident
/// while the server was idle. Purging at once cost no throughput in `make bench`.
fn return_freed_memory_at_once() {
    // SAFETY: sets one of mimalloc's options, which it reads atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads and sets one of mimalloc's options.
        let (default, set) = unsafe {
            let default = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
            return_freed_memory_at_once();
            (
                default,
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
            )
        };
        // Unless the environment chose another (mimalloc reads it at start).
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(default, 1000, "v3's src/options.c: purge_delay is 1000 ms");
        }
        assert_eq!(set, 0);
    }
}
