//! One file per page.

pub mod api_key;
pub mod audit_logs;
pub mod coming_soon;
pub mod login;
pub mod overview;
pub mod sandbox_tokens;
