//! Keyport: the Administration > API Configuration pages of a security cloud's
//! admin portal, and the small consumer API that their credentials unlock.
//!
//! The crate builds twice: with `ssr` as the server (axum + SQLite) and with
//! `hydrate` as the WebAssembly that makes the server-rendered pages live.
//! Everything under [`server`] exists only in the server build.

#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WebAssembly build: attach to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Tests wait for this attribute, and benchmarks read the mark.
    if let Some(window) = web_sys::window() {
        if let Some(performance) = window.performance() {
            let _ = performance.mark("keyport-hydrated");
        }
        if let Some(body) = window.document().and_then(|d| d.body()) {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    }
}
