//! The page's scripts in islands mode, in place of Leptos'
//! `<HydrationScripts islands=true>` (docs/FIRST-LOAD.md#the-island-scripts-2026-12-04):
//! the same assets and the same order of hydration, without its two
//! waits. A classic script at the top of the `<head>` fetches and compiles
//! the wasm while the page is still being parsed (Leptos' began after the
//! parse), and the islands hydrate as soon as the document is parsed and
//! the module is ready (Leptos' waited for the browser's next idle
//! moment). Server-rendered only: the shell is never hydrated.

use leptos::prelude::*;

/// The module script's code, a function of the main module's JS and wasm
/// paths. A module script runs once the document is parsed. It takes the
/// wasm the classic script began compiling (`window.__keyportWasm`: the
/// compiled module, or the wasm's path if streaming compilation failed or
/// the script did not run), instantiates it with the main module's JS,
/// calls the crate's `hydrate()` and hydrates every `<leptos-island>` in
/// document order, as Leptos' own island script does: a lazy island's code
/// is awaited before the next, and the hydration callback of the nearest
/// `<leptos-children>` runs before each island inside it.
/// `window.__hydrateIsland` hydrates the islands a refresh brings
/// (`refresh.rs`). No comments in the file: it is sent in every page.
const ISLAND_SCRIPT: &str = include_str!("island_scripts.js");

/// The `<head>`'s scripts: first the wasm's compile, then the main module's
/// preload and the island script. Also provides the `--split` manifest to
/// the render, as Leptos' component does (`server::http::preload_island`),
/// and marks the render as not hydrating outside islands.
#[component]
pub fn IslandScripts(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let paths = {
        let assets = crate::server::island_assets::island_assets(&options);
        if let Some(split) = &assets.split {
            provide_context(split.clone());
        }
        if let Some(context) = Owner::current_shared_context() {
            context.set_is_hydrating(false);
        }
        Some((assets.js.clone(), assets.wasm.clone()))
    };
    #[cfg(not(feature = "ssr"))]
    let paths: Option<(String, String)> = {
        let _ = options;
        None
    };
    let nonce = leptos::nonce::use_nonce();
    paths.map(|(js, wasm)| {
        // `{:?}`: a JavaScript string literal of a path of ours.
        let compile = format!(
            "window.__keyportWasm = WebAssembly.compileStreaming(fetch({wasm:?})).catch(() => {wasm:?});"
        );
        let hydrate = format!("({ISLAND_SCRIPT})({js:?}, {wasm:?});");
        view! {
            // For the preload scanner, which asks for it as soon as the
            // `<head>` arrives, before the parser can run the script
            // below; the script's `fetch` takes the preloaded response.
            <link rel="preload" href=wasm.clone() r#as="fetch" r#type="application/wasm" crossorigin="" />
            <script nonce=nonce.clone()>{compile}</script>
            <link rel="modulepreload" href=js />
            <script type="module" nonce=nonce>{hydrate}</script>
        }
    })
}
