//! Building blocks the pages share.

pub mod clipboard;
pub mod credential_policy;
pub mod data_table;
pub mod dialog;
pub mod layout;
pub mod local_time;
pub mod masked_secret;
pub mod tabs;
pub mod toast;
