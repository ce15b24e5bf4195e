//! Building blocks the pages share.

pub mod clipboard;
pub mod credential_policy;
pub mod data_table;
pub mod dialog;
pub mod dialog_host;
pub mod island_scripts;
pub mod layout;
pub mod local_time;
pub mod masked_secret;
pub mod page_state;
pub mod refresh;
pub mod tabs;
pub mod toast;
