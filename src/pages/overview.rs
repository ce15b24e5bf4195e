//! `/administration/api-configuration`: the sections and their Base URLs.

use crate::components::layout::{Breadcrumbs, ViewerResource};
use crate::components::tabs::{
    CLOUD_SERVICE_API_KEY, CONNECTOR_KEY_MANAGEMENT, OAUTH_SERVERS, SANDBOX_API_TOKEN,
};
use crate::model::{Permission, Viewer};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Title text="API Configuration" />
        <Breadcrumbs trail=vec![("Administration", None), ("API Configuration", None)] />
        <h1>"API Configuration"</h1>
        <Suspense>
            {move || Suspend::new(async move {
                viewer.await.ok().flatten().map(|viewer| view! { <Sections viewer /> })
            })}
        </Suspense>
    }
}

#[component]
fn Sections(viewer: Viewer) -> impl IntoView {
    let may_manage = viewer.can(Permission::ManageSandboxTokens);
    let sections = [
        (
            "Cloud Service API Key",
            CLOUD_SERVICE_API_KEY,
            "The 12-character key for the Cloud Service API.",
        ),
        (
            "OAuth 2.0 Authorization Servers",
            OAUTH_SERVERS,
            "Authorization servers whose tokens the API accepts.",
        ),
        (
            "Sandbox API Token",
            SANDBOX_API_TOKEN,
            "Tokens for the Sandbox Submission API.",
        ),
        (
            "API Key Management",
            CONNECTOR_KEY_MANAGEMENT,
            "The key for the Cloud & Branch Connector API.",
        ),
    ];
    view! {
        <p>
            {format!("Signed in as {} ({}) in {}. ", viewer.username, viewer.role.label(), viewer.org.name)}
            {if may_manage { "You can view and manage these credentials." } else { "You can view these credentials; changes need another role." }}
        </p>
        <ul class="cards">
            {sections
                .into_iter()
                .map(|(title, href, text)| view! {
                    <li class="card">
                        <h2><a href=href>{title}</a></h2>
                        <p>{text}</p>
                    </li>
                })
                .collect_view()}
        </ul>
    }
}
