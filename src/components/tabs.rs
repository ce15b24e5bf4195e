//! The Internet & SaaS API tab bar: real links, so each tab has its own URL
//! and works without WebAssembly.

use crate::paths::{CLOUD_SERVICE_API_KEY, OAUTH_SERVERS, SANDBOX_API_TOKEN};
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn InternetSaasTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Internet & SaaS API">
            <A href=CLOUD_SERVICE_API_KEY>"Cloud Service API Key"</A>
            <A href=OAUTH_SERVERS>"OAuth 2.0 Authorization Servers"</A>
            <A href=SANDBOX_API_TOKEN>"Sandbox API Token"</A>
        </nav>
    }
}
