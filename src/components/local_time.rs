//! A moment shown in the viewer's own time zone. The server renders it in
//! UTC (it cannot know the zone); once the page is hydrated the browser
//! rewrites the text in its local time and keeps the UTC time on hover.
//! An island of its own in server-rendered cells.

use crate::model::{format_iso, format_local, format_timestamp};
use leptos::prelude::*;

/// `<time datetime="…Z" title="… UTC">` with the local time as its text
/// after hydration (docs/PAGES.md#times).
#[island]
pub fn LocalTime(
    /// Epoch milliseconds.
    at: i64,
) -> impl IntoView {
    let utc = format_timestamp(at);
    let local = RwSignal::new(None::<String>);
    // Effects run only in the browser and after hydration, so the first
    // render is the server's HTML exactly.
    Effect::new(move |_| local.set(Some(format_local(at, browser_offset_minutes(at)))));
    let title = utc.clone();
    view! {
        <time datetime=format_iso(at) title=title>
            {move || local.get().unwrap_or_else(|| utc.clone())}
        </time>
    }
}

/// Minutes east of UTC in the browser's zone at that moment (daylight
/// saving included). JavaScript's `getTimezoneOffset` counts the other way.
#[cfg(feature = "hydrate")]
fn browser_offset_minutes(at: i64) -> i32 {
    let date = web_sys::js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    -(date.get_timezone_offset() as i32)
}

#[cfg(not(feature = "hydrate"))]
fn browser_offset_minutes(_at: i64) -> i32 {
    0
}

/// The Last Used cell: the time (as [`LocalTime`]) and the client address,
/// or "Never".
#[component]
pub fn LastUsed(usage: crate::model::Usage) -> impl IntoView {
    match (usage.last_used_on, usage.last_used_from) {
        (Some(at), Some(from)) => view! { <LocalTime at /> {format!(" from {from}")} }.into_any(),
        (Some(at), None) => view! { <LocalTime at /> }.into_any(),
        (None, _) => "Never".into_any(),
    }
}
