//! Redrawing a server-rendered page after a change, without a reload.
//!
//! A page's tables, toolbars and banners are HTML from the server, not
//! islands. After an island changes something (adds a token, sorts a
//! table), it calls [`refresh_page`]: the page is fetched again and every
//! *region* (an element with an `id` and the `data-refresh` attribute) is
//! swapped for the server's new rendering of it. The islands inside a new
//! region are hydrated before it goes on screen, so nothing on screen is
//! ever dead. What is outside the regions (the toasts, a secret just
//! issued, an open Columns menu) stays as it is.
//!
//! The islands of a region that is swapped out are not disposed of (Leptos
//! has no way to free a hydrated island); each refresh leaves their few
//! hundred bytes behind until the next page load.

/// The attribute that marks a region.
pub const REGION: &str = "data-refresh";

/// Fetches this page again and swaps its regions for the new ones. Of
/// refreshes that overlap, only the latest is applied. If the page cannot
/// be fetched (the session ended, the server is down) it is reloaded
/// instead, so the browser shows whatever the server says.
pub async fn refresh_page() {
    #[cfg(feature = "hydrate")]
    if let Err(e) = browser::refresh().await {
        leptos::logging::warn!("refresh failed, reloading: {e:?}");
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    }
}

/// Starts [`refresh_page`] and returns at once.
pub fn spawn_refresh() {
    leptos::task::spawn_local(refresh_page());
}

#[cfg(feature = "hydrate")]
pub(crate) use browser::hydrate_islands;

#[cfg(feature = "hydrate")]
mod browser {
    use super::REGION;
    use std::cell::Cell;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::js_sys::{Function, Promise, Reflect};
    use web_sys::{Element, HtmlElement, RequestCache, RequestInit, Response};

    thread_local! {
        /// Counts refreshes, so an older one that lands late is dropped.
        static LATEST: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) async fn refresh() -> Result<(), JsValue> {
        let this = LATEST.with(|l| l.replace(l.get() + 1) + 1);
        let window = web_sys::window().ok_or("no window")?;
        let document = window.document().ok_or("no document")?;
        let init = RequestInit::new();
        init.set_cache(RequestCache::NoStore);
        let href = window.location().href()?;
        let response: Response = JsFuture::from(window.fetch_with_str_and_init(&href, &init))
            .await?
            .dyn_into()?;
        // A redirect means the page is not this one any more (signed out).
        if !response.ok() || response.redirected() {
            return Err(format!("the page answered {}", response.status()).into());
        }
        let html = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        let fresh = web_sys::DomParser::new()?
            .parse_from_string(&html, web_sys::SupportedType::TextHtml)?;

        let old_regions = document.query_selector_all(&format!("[{REGION}]"))?;
        let mut swaps = Vec::new();
        for i in 0..old_regions.length() {
            let Some(old) = old_regions
                .item(i)
                .and_then(|n| n.dyn_into::<Element>().ok())
            else {
                continue;
            };
            let Some(new) = fresh.get_element_by_id(&old.id()) else {
                continue;
            };
            let new: Element = document.import_node_with_deep(&new, true)?.dyn_into()?;
            hydrate_islands(&new).await?;
            swaps.push((old, new));
        }
        if LATEST.with(Cell::get) != this {
            return Ok(());
        }
        for (old, new) in swaps {
            old.replace_with_with_node_1(&new)?;
        }
        Ok(())
    }

    /// Hydrates every island in `region` (still off screen), one after the
    /// other as the island script does, waiting for lazy islands' code.
    pub(crate) async fn hydrate_islands(region: &Element) -> Result<(), JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        // The island script's entry point (`components/island_scripts.js`).
        let hydrate: Function = Reflect::get(&window, &"__hydrateIsland".into())?.dyn_into()?;
        let islands = region.query_selector_all("leptos-island")?;
        for i in 0..islands.length() {
            let Some(island) = islands
                .item(i)
                .and_then(|n| n.dyn_into::<HtmlElement>().ok())
            else {
                continue;
            };
            let component = island.dataset().get("component").unwrap_or_default();
            let result = hydrate.call2(&JsValue::NULL, &island, &component.into())?;
            if let Ok(pending) = result.dyn_into::<Promise>() {
                JsFuture::from(pending).await?;
            }
        }
        Ok(())
    }
}
