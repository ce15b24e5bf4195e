//! One file per page.

pub mod api_key;
pub mod audit_logs;
pub mod login;
pub mod not_found;
pub mod not_permitted;
pub mod oauth_servers;
pub mod overview;
pub mod provider;
pub mod sandbox_tokens;
