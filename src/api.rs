//! Server functions, one file per domain. Each is mounted at a fixed path
//! under `/api` (listed in docs/API.md), authorizes from the session as its
//! first statement, and leaves the rules to `server::*`.

pub mod api_keys;
pub mod audit_log;
pub mod oauth;
pub mod provider;
pub mod sandbox;
pub mod session;
pub mod tables;
