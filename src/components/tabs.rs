//! The Internet & SaaS API tab bar: real links, so each tab has its own URL
//! and works without WebAssembly.

use leptos::prelude::*;
use leptos_router::components::A;

pub const CLOUD_SERVICE_API_KEY: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key";
pub const OAUTH_SERVERS: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/oauth-authorization-servers";
pub const SANDBOX_API_TOKEN: &str =
    "/administration/api-configuration/legacy-api/internet-saas-api/sandbox-api-token";
pub const CONNECTOR_KEY_MANAGEMENT: &str =
    "/administration/api-configuration/legacy-api/cloud-branch-connector-api/api-key-management";
pub const AUDIT_LOGS: &str = "/administration/audit-logs";
pub const OVERVIEW: &str = "/administration/api-configuration";

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
