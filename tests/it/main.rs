//! Keyport's integration tests, one binary: each module is one area
//! (`common` starts a Keyport over a fresh database; see its docs). One
//! binary links once, where fifteen linked fifteen times (and filled
//! `target/` with tens of gigabytes).

mod common;

mod adversarial;
mod api_access;
mod api_keys;
mod audit_log;
mod cli;
mod consumer_api;
mod credential_policies;
mod hot_path;
mod http_api;
mod instances;
mod oauth_bearer;
mod oauth_servers;
mod page_cache;
mod provider;
mod provisioning;
mod races;
mod sandbox_rules;
mod screens;
mod security;
mod sessions;
mod states;
mod tables;
mod usage;
