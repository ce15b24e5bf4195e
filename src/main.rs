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
    return_large_allocations_to_the_system();
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

/// argon2 allocates ~19 MiB per hash on whichever blocking thread runs it;
/// glibc keeps freed chunks in per-thread arenas, so a burst of sign-ins
/// left hundreds of megabytes resident. Allocations of 1 MiB and more are
/// mapped and unmapped instead.
fn return_large_allocations_to_the_system() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only tunes the allocator; called before any thread starts allocating.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
    }
}
