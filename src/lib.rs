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
pub mod paths;

#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WebAssembly build. The pages are server-rendered HTML;
/// only their islands (`#[island]`) come alive. The island script
/// (`components/island_scripts.js`) calls this, then hydrates each
/// `<leptos-island>` of the page in document order, fetching a lazy island's
/// code first (docs/FIRST-LOAD.md).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    components::dialog_host::listen();
    leptos::mount::hydrate_islands();
}

/// The layers depend one way: pages use components and api, never the
/// reverse, so the app shell has no import cycle through a page.
#[cfg(test)]
mod layering_tests {
    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}")) {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn api_and_components_import_neither_pages_nor_server_routes() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        for dir in ["api", "components"] {
            rust_files(&src.join(dir), &mut files);
        }
        for top in ["api.rs", "components.rs"] {
            files.push(src.join(top));
        }
        assert!(files.len() > 2, "no sources found under {src:?}");
        let forbidden = ["crate::pages", "server::routes", "super::super::pages"];
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
            for bad in forbidden {
                assert!(!text.contains(bad), "{} uses `{bad}`", file.display());
            }
        }
    }
}
