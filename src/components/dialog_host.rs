//! Dialogs whose code is downloaded when one is first opened.
//!
//! A page's dialogs (Add, Edit, Regenerate, Delete, Restrictions…) are most
//! of its WebAssembly, and most visits open none. So they are not in the
//! main module: each page has one *dialog host*, a lazy island
//! (`#[island(lazy)]`, its own wasm chunk) that the server renders inside a
//! `<template>`, where the island script does not see it.
//!
//! The buttons that open a dialog are plain server-rendered HTML
//! ([`DialogButton`]): `data-dialog` holds the request (JSON of the page's
//! request type, e.g. `{"Edit":{"id":7,…}}`) and `data-dialog-host` the id of
//! the page's template. One click listener for the whole document
//! ([`listen`], installed before the islands hydrate) publishes the request
//! ([`dialog_request`]) and, the first time, puts the host on the page and
//! hydrates it, which fetches its chunk (docs/FIRST-LOAD.md; a pointer
//! over the button or focus on it starts this early). The host
//! reads the request and shows that dialog. Buttons redrawn by a refresh
//! ([`super::refresh`]) need no wiring: the listener is the document's.
//!
//! Without WebAssembly the buttons do nothing, as the islands' did.

use super::page_state::page_signal;
use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The last dialog a button asked for: a counter (so the same button
/// clicked twice is a new request) and the request's JSON.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DialogRequest(pub u64, pub String);

/// The tab's latest [`DialogRequest`].
pub fn dialog_request() -> ArcRwSignal<DialogRequest> {
    page_signal(DialogRequest::default)
}

/// For a host: the dialog open now, `None` when closed. Each click on a
/// button of this page opens its request (replacing an open one); a
/// request of another type is ignored.
pub fn open_dialog<T>() -> RwSignal<Option<T>>
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    let open = RwSignal::new(None::<T>);
    let request = dialog_request();
    // Effects run in the browser after hydration, so the request that
    // brought the host onto the page is read as soon as it is live.
    Effect::new(move |_| {
        let DialogRequest(_, json) = request.get();
        if let Ok(dialog) = serde_json::from_str::<T>(&json) {
            open.set(Some(dialog));
        }
    });
    open
}

/// A button that opens a dialog of the page's `host`. `request` is the
/// host's request type, written into the HTML.
#[component]
pub fn DialogButton<R: Serialize>(
    /// The template's id, e.g. "sandbox-dialogs".
    host: &'static str,
    request: R,
    /// The button's classes ("primary", "danger"), if any.
    #[prop(optional)]
    class: &'static str,
    children: Children,
) -> impl IntoView {
    // The request types are plain data (ids, names, restrictions), which
    // serde_json cannot fail to write; an empty request opens nothing.
    let json = serde_json::to_string(&request).unwrap_or_default();
    // Two branches: `class=` with no class would still write `class=""`.
    if class.is_empty() {
        view! {
            <button type="button" data-dialog=json data-dialog-host=host>{children()}</button>
        }
        .into_any()
    } else {
        view! {
            <button type="button" class=class data-dialog=json data-dialog-host=host>{children()}</button>
        }
        .into_any()
    }
}

/// The page's host: `children` (its lazy island) inside a `<template>`
/// with this `id`, put on the page by the first click that needs it.
#[component]
pub fn DialogHost(id: &'static str, children: Children) -> impl IntoView {
    view! { <template id=id><div class="dialog-host">{children()}</div></template> }
}

/// Installs the document's click listener for [`DialogButton`]s. Called
/// once, by `hydrate()`.
#[cfg(feature = "hydrate")]
pub fn listen() {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let on_click = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
        let Some(button) = dialog_button(&ev) else {
            return;
        };
        let (Some(json), Some(host)) = (
            button.get_attribute("data-dialog"),
            button.get_attribute("data-dialog-host"),
        ) else {
            return;
        };
        let request = dialog_request();
        let next = request.with_untracked(|r| r.0) + 1;
        request.set(DialogRequest(next, json));
        spawn_mount(host);
    });
    let _ = document.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
    // A pointer over a button, or the keyboard's focus on it, starts
    // fetching its host's code, so the click rarely waits for it.
    let on_intent = Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
        if let Some(host) = dialog_button(&ev).and_then(|b| b.get_attribute("data-dialog-host")) {
            spawn_mount(host);
        }
    });
    for intent in ["pointerover", "focusin"] {
        let _ =
            document.add_event_listener_with_callback(intent, on_intent.as_ref().unchecked_ref());
    }
    // The listeners live as long as the page.
    on_click.forget();
    on_intent.forget();
}

/// The [`DialogButton`] an event happened in, if any.
#[cfg(feature = "hydrate")]
fn dialog_button(ev: &web_sys::Event) -> Option<web_sys::Element> {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|t| t.closest("[data-dialog]").ok().flatten())
}

/// Starts [`mount`] and returns at once; a failure is only logged (the
/// button then does nothing, as without WebAssembly).
#[cfg(feature = "hydrate")]
fn spawn_mount(host: String) {
    leptos::task::spawn_local(async move {
        if let Err(e) = mount(&host).await {
            leptos::logging::warn!("dialog host #{host} could not be put on the page: {e:?}");
        }
    });
}

/// Puts the host `id` on the page and hydrates it, once per page load.
#[cfg(feature = "hydrate")]
async fn mount(id: &str) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let Some(template) = document
        .get_element_by_id(id)
        .and_then(|t| t.dyn_into::<web_sys::HtmlTemplateElement>().ok())
    else {
        return Err(format!("no dialog host #{id}").into());
    };
    if template.has_attribute("data-mounted") {
        return Ok(());
    }
    template.set_attribute("data-mounted", "")?;
    let Some(host) = template.content().first_element_child() else {
        return Err(format!("dialog host #{id} is empty").into());
    };
    let host: web_sys::Element = document.import_node_with_deep(&host, true)?.dyn_into()?;
    super::refresh::hydrate_islands(&host).await?;
    document.body().ok_or("no body")?.append_child(&host)?;
    Ok(())
}
