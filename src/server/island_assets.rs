//! The assets a page's `<head>` names: the main module's JS and wasm and
//! the `--split` build's manifest of lazy islands, which the island scripts
//! load (`components::island_scripts`), and the stylesheet, which the shell
//! inlines (`app::PageStyle`), as cargo-leptos names them.
//! With `hash-files` (Cargo.toml) each name carries a hash of its content,
//! listed in `hash.txt` beside the binary (`js: …`, `wasm: …`, `css: …`,
//! `manifest: …`, `split: …`); read once, on the first page.

use leptos::WasmSplitManifest;
use leptos::prelude::{ArcStoredValue, LeptosOptions};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The main module's files, as URL paths.
#[derive(Clone, Debug)]
pub struct IslandAssets {
    pub js: String,
    pub wasm: String,
    /// The lazy islands' chunks (`None` without a `--split` build): what
    /// `server::http::preload_island` and the split loader's preload read.
    pub split: Option<WasmSplitManifest>,
    /// The stylesheet's path, and its text when it can be inlined: read
    /// once, `None` if it cannot be read or could end its `<style>`.
    pub css: String,
    pub css_text: Option<String>,
}

/// The assets of this build, read from `options` and `hash.txt` once.
pub fn island_assets(options: &LeptosOptions) -> &'static IslandAssets {
    static ASSETS: OnceLock<IslandAssets> = OnceLock::new();
    ASSETS.get_or_init(|| read(options))
}

fn read(options: &LeptosOptions) -> IslandAssets {
    let hashes = if options.hash_files {
        hashes(options)
    } else {
        HashMap::new()
    };
    let hashed = |stem: &str, key: &str, unhashed: &str| match hashes.get(key) {
        Some(hash) => format!("{stem}.{hash}"),
        None => unhashed.to_owned(),
    };
    let name = options.output_name.to_string();
    // wasm-bindgen's own name for the wasm, unless cargo-leptos renamed it.
    let unhashed_wasm = if option_env!("LEPTOS_OUTPUT_NAME").is_some() {
        name.clone()
    } else {
        format!("{name}_bg")
    };
    let pkg = format!("/{}", options.site_pkg_dir);
    let js = hashed(&name, "js", &name);
    let wasm = hashed(&name, "wasm", &unhashed_wasm);
    let manifest = hashed("__wasm_split_manifest", "manifest", "__wasm_split_manifest");
    let loader = hashed(
        "__wasm_split",
        "split",
        "__wasm_split.______________________",
    );
    // Where the files are on disk: the site's package directory.
    let pkg_dir =
        std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let path = pkg_dir.join(format!("{manifest}.json"));
    let split = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| match serde_json::from_str::<HashMap<String, Vec<String>>>(&text) {
            Ok(chunks) => Some(chunks),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "the split manifest cannot be read");
                None
            }
        })
        .map(|chunks| {
            WasmSplitManifest(ArcStoredValue::new((
                pkg.clone(),
                chunks,
                format!("{loader}.js"),
            )))
        });
    let css = format!("{}.css", hashed(&name, "css", &name));
    let css_path = pkg_dir.join(&css);
    let css_text = match std::fs::read_to_string(&css_path) {
        Ok(text) if inlinable(&text) => Some(text),
        Ok(_) => {
            tracing::error!(path = %css_path.display(), "the stylesheet could close its <style>: linked, not inlined");
            None
        }
        Err(e) => {
            tracing::warn!(path = %css_path.display(), error = %e, "the stylesheet cannot be read: linked, not inlined");
            None
        }
    };
    IslandAssets {
        js: format!("{pkg}/{js}.js"),
        wasm: format!("{pkg}/{wasm}.wasm"),
        split,
        css: format!("{pkg}/{css}"),
        css_text,
    }
}

/// Whether `css` can be the text of a `<style>` element as it is: nothing
/// in it can close the element (`</style`, written with any case), and no
/// `<!--` can start the HTML parser's escape states.
fn inlinable(css: &str) -> bool {
    !css.contains("</") && !css.contains("<!--")
}

/// `hash.txt` beside the binary, as `key → hash`; empty (and said so) when
/// it cannot be read.
fn hashes(options: &LeptosOptions) -> HashMap<String, String> {
    let path = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())));
    let Some(text) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) else {
        tracing::error!(path = ?path, "file hashing is on but hash.txt cannot be read");
        return HashMap::new();
    };
    parse_hashes(&text)
}

fn parse_hashes(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(key, hash)| (key.trim().to_owned(), hash.trim().to_owned()))
        .filter(|(key, hash)| !key.is_empty() && !hash.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_txt_is_read_as_cargo_leptos_writes_it() {
        let hashes = super::parse_hashes(
            "js: C3PFrNhukxxRrGYkZASjBw\nwasm: gUlMyzPWPeI31_fzaegi5A\n\nmanifest: t3PG-2p6\n",
        );
        assert_eq!(
            hashes.get("js").map(String::as_str),
            Some("C3PFrNhukxxRrGYkZASjBw")
        );
        assert_eq!(
            hashes.get("wasm").map(String::as_str),
            Some("gUlMyzPWPeI31_fzaegi5A")
        );
        assert_eq!(hashes.get("manifest").map(String::as_str), Some("t3PG-2p6"));
        assert_eq!(hashes.len(), 3);
    }

    #[test]
    fn a_stylesheet_that_could_close_its_style_element_is_not_inlined() {
        assert!(super::inlinable(".a > .b { color: red }"));
        assert!(!super::inlinable(
            ".a { content: \"</style><script>x()</script>\" }"
        ));
        assert!(!super::inlinable(".a { content: \"</STYLE>\" }"));
        assert!(!super::inlinable("<!-- .a {} -->"));
    }
}
