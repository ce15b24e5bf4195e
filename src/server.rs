//! Server-only code: state, configuration, storage, authentication, the
//! domain rules, and the consumer API. Nothing here reaches the browser.

pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod cli;
pub mod config;
pub mod consumer;
pub mod credential_policy;
pub mod crypto;
pub mod demo;
pub mod http;
pub mod island_assets;
pub mod lockout;
pub mod oauth;
pub mod outbound;
pub mod page_cache;
pub mod password;
pub mod provider;
pub mod routes;
pub mod sandbox;
pub mod session_store;
pub mod state;
pub mod store;
pub mod test_auth;
pub mod throttle;

pub use state::{AppState, app_state};

/// Milliseconds since the epoch, the unit of every stored time.
pub fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

/// An hour and a day in milliseconds, the unit of every stored time.
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Midnight UTC of the day `now_ms` falls in (the daily allowance resets then).
pub fn day_start(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(DAY_MS)
}
