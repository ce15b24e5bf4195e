//! The whole HTTP surface in one place: pages and server functions (Leptos),
//! the consumer API, redirects, and the layers every request passes.

use super::config::Settings;
use super::consumer::JwksCache;
use super::crypto::Secrets;
use super::password::Hasher;
use super::session_store::HashedIds;
use super::state::{AppState, Shared};
use super::store::{SessionPool, Store};
use super::throttle::AnonymousThrottle;
use super::{consumer, http};
use crate::app::{App, shell};
use crate::paths;
use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::prelude::LeptosOptions;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

pub const SESSION_COOKIE: &str = "keyport_session";

/// Builds the state from its parts and creates the session table.
pub async fn state(
    store: Store,
    secrets: Secrets,
    settings: Settings,
    leptos_options: LeptosOptions,
) -> Result<AppState, sqlx::Error> {
    match store.session_pool() {
        SessionPool::Sqlite(pool) => SqliteStore::new(pool.clone()).migrate().await?,
        SessionPool::Postgres(pool, schema) => postgres_sessions(pool, schema)?.migrate().await?,
    }
    Ok(AppState::new(Shared {
        leptos_options,
        store,
        secrets: Arc::new(secrets),
        hasher: Arc::new(Hasher::new(
            settings.hash_slots,
            settings.hash_queue_timeout,
        )),
        throttle: Arc::new(AnonymousThrottle::new(
            settings.anonymous_failures_per_minute,
        )),
        settings: Arc::new(settings),
        jwks: Arc::new(JwksCache::default()),
        pages: Arc::default(),
    }))
}

/// The pages' routes, generated once per process. Generating them renders
/// the app with resource loading suppressed by a process-global flag
/// (leptos_server's `SuppressResourceLoad`): a resource first polled on
/// another thread meanwhile waits forever (leptos issue #4773). Tests build
/// a router per test while others render pages, so the list is made once,
/// before any router serves.
pub fn route_list() -> &'static [AxumRouteListing] {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// The application, ready to serve.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let sessions = state.store.session_pool().clone();
    let settings = state.settings.clone();
    let routes = route_list().to_vec();
    // The pages, each view served from its last render while current.
    let pages = Router::new()
        .leptos_routes(&state, routes, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::page_cache::serve,
        ));
    let app = Router::new()
        .route(paths::ROOT, get(root))
        .route(
            paths::OLD_SANDBOX_API_TOKEN,
            get(|| async { Redirect::permanent(paths::SANDBOX_API_TOKEN) }),
        )
        .route(paths::AUDIT_CSV_EXPORT, get(export_audit_csv))
        .merge(consumer::routes())
        .merge(pages)
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            {
                let state = state.clone();
                move || leptos::prelude::provide_context(state.clone())
            },
            shell,
        ))
        .with_state(state);
    with_middleware(app, sessions, settings)
}

/// The layers every request passes, around `app`: the origin check, the
/// portal's sessions, request meta, security headers, compression, and the
/// doubled Base URL path undone before routing. Public so `make bench`
/// measures a bare handler behind exactly this stack (its second baseline).
pub fn with_middleware(app: Router, sessions: SessionPool, settings: Arc<Settings>) -> Router {
    let app = app
        .layer(axum::middleware::from_fn(http::check_origin))
        // Each request loads its signed-in admin once, for all its resources.
        .layer(axum::middleware::from_fn(super::auth::actor_cache));
    let app = match sessions {
        SessionPool::Sqlite(pool) => {
            with_sessions(app, HashedIds::new(SqliteStore::new(pool)), &settings)
        }
        SessionPool::Postgres(pool, schema) => match postgres_sessions(&pool, &schema) {
            Ok(store) => with_sessions(app, HashedIds::new(store), &settings),
            Err(e) => {
                tracing::error!(error = %e, "the session store's schema name is not usable");
                return app.layer(axum::middleware::from_fn(refuse_all));
            }
        },
    };
    let app = app
        .layer(axum::middleware::from_fn_with_state(
            settings.clone(),
            http::request_meta,
        ))
        .layer(axum::middleware::from_fn(http::security_headers))
        // The wasm bundle is most of a first load: brotli shrinks it about 3.5×.
        .layer(tower_http::compression::CompressionLayer::new());
    // The Python SDK's doubled Base URL path, undone before routing (a
    // `Router::layer` runs after it): see `consumer::undo_doubled_base`.
    Router::new().fallback_service(app.map_request(consumer::undo_doubled_base))
}

/// The portal's sessions (tower-sessions), kept in the same database so any
/// instance serves any request, under hashed ids ([`HashedIds`]).
fn with_sessions<S>(app: Router, store: S, settings: &Settings) -> Router
where
    S: tower_sessions::SessionStore + Clone,
{
    let layer = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_secure(settings.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(settings.session_idle).unwrap_or(time::Duration::minutes(30)),
        ));
    // Saved only when changed: `auth::actor_for_session` changes a session
    // when its idle window is due for renewal (at most once a minute), so
    // most page views cost no session write.
    app.layer(layer)
}

/// PostgreSQL keeps the session table in the connection's schema, named as
/// on SQLite (`tower_sessions`).
fn postgres_sessions(pool: &sqlx::PgPool, schema: &str) -> Result<PostgresStore, sqlx::Error> {
    PostgresStore::new(pool.clone())
        .with_schema_name(schema)
        .and_then(|store| store.with_table_name("tower_sessions"))
        .map_err(|e| sqlx::Error::Configuration(e.into()))
}

/// Without a session store nothing can be served safely.
async fn refuse_all(_: axum::extract::Request, _: axum::middleware::Next) -> Response {
    axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response()
}

/// Deletes expired portal sessions and old failed sign-ins every few minutes.
pub fn spawn_housekeeping(state: AppState) {
    use tower_sessions::ExpiredDeletion;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let deleted = match state.store.session_pool() {
                SessionPool::Sqlite(pool) => SqliteStore::new(pool.clone()).delete_expired().await,
                SessionPool::Postgres(pool, schema) => match postgres_sessions(pool, schema) {
                    Ok(store) => store.delete_expired().await,
                    Err(e) => Err(tower_sessions::session_store::Error::Backend(e.to_string())),
                },
            };
            if let Err(e) = deleted {
                tracing::warn!(error = %e, "deleting expired sessions failed");
            }
            let day_ago = super::now_ms() - super::DAY_MS;
            if let Err(e) = state.store.prune_sign_in_failures(day_ago).await {
                tracing::warn!(error = %e, "pruning failed sign-ins failed");
            }
            // Keep a little over a day of usage buckets (API Calls (24h)).
            if let Err(e) = state
                .store
                .prune_call_counts(day_ago - super::HOUR_MS)
                .await
            {
                tracing::warn!(error = %e, "pruning usage counts failed");
            }
            // Today's and yesterday's submission counts are the ones read.
            if let Err(e) = state
                .store
                .prune_submission_days(super::day_start(super::now_ms()) - super::DAY_MS)
                .await
            {
                tracing::warn!(error = %e, "pruning submission counts failed");
            }
        }
    });
}

/// `GET /administration/audit-logs/export.csv?…`: `ViewAuditLog`; every
/// entry matching the page's filter, as CSV.
async fn export_audit_csv(
    axum::extract::State(state): axum::extract::State<AppState>,
    session: Session,
    axum::Extension(meta): axum::Extension<http::RequestMeta>,
    axum::extract::Query(filter): axum::extract::Query<crate::model::AuditFilter>,
) -> Response {
    use axum::http::{StatusCode, header};
    let answer = async {
        let who = super::auth::actor_for_session(&state, &session, meta).await?;
        super::audit_log::csv(&state, &who, filter).await
    };
    match answer.await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"keyport-audit-log.csv\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            csv,
        )
            .into_response(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(e)).into_response()
        }
    }
}

/// `/`: the overview when signed in, the sign-in page otherwise.
async fn root(session: Session) -> Response {
    let signed_in = matches!(
        session.get_value(super::auth::SESSION_KEY).await,
        Ok(Some(_))
    );
    Redirect::to(if signed_in {
        paths::OVERVIEW
    } else {
        paths::LOGIN
    })
    .into_response()
}
