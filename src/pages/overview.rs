//! `/administration/api-configuration`: the sections and their Base URLs.

use crate::components::layout::{
    BaseUrl, Breadcrumbs, ViewOnlyNotice, ViewerResource, provide_role,
};
use crate::model::{Permission, Viewer};
use crate::paths::{
    CLOUD_SERVICE_API_KEY, CONNECTOR_KEY_MANAGEMENT, OAUTH_SERVERS, SANDBOX_API_TOKEN,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Title text="API Configuration" />
        <Breadcrumbs trail=vec![("Administration", None), ("API Configuration", None)] />
        <h1>"API Configuration"</h1>
        // Reloaded after a switch of organisation: keep the page meanwhile.
        <Transition>
            {move || Suspend::new(async move {
                viewer.await.ok().flatten().map(|viewer| view! { <Sections viewer /> })
            })}
        </Transition>
    }
}

#[component]
fn Sections(viewer: Viewer) -> impl IntoView {
    provide_role(viewer.role);
    // A role that may change none of the sections is told so up front.
    let view_only = ![
        Permission::ManageSandboxTokens,
        Permission::ManageCloudServiceKey,
        Permission::ManageOAuthServers,
        Permission::ManageConnectorKey,
    ]
    .into_iter()
    .any(|p| viewer.can(p));
    let sections = sections(&viewer);
    view! {
        {view_only.then(|| view! { <ViewOnlyNotice permission=Permission::ManageSandboxTokens /> })}
        <p>{format!("Signed in as {} ({}) in {}.", viewer.username, viewer.role.label(), viewer.org.name)}</p>
        <BaseUrl url=viewer.base_url.clone() />
        <ul class="cards">
            {sections
                .into_iter()
                .map(|(title, href, text, may)| view! {
                    <li class="card">
                        <h2><a href=href>{title}</a></h2>
                        <p>{text}</p>
                        <p class="hint">{may}</p>
                    </li>
                })
                .collect_view()}
        </ul>
    }
}

/// Each section's title, link and description, and what the viewer may do
/// there.
fn sections(viewer: &Viewer) -> [(&'static str, &'static str, &'static str, &'static str); 4] {
    let manage_keys = viewer.can(Permission::ManageCloudServiceKey);
    let manage_connector = viewer.can(Permission::ManageConnectorKey);
    let reveal = viewer.can(Permission::RevealSecrets);
    let what = |manage: bool| match (manage, reveal) {
        (true, _) => "You can view, reveal and change it.",
        (false, true) => "You can view and reveal it; changes need another role.",
        (false, false) => "You can view it (masked); changes need another role.",
    };
    [
        (
            "Cloud Service API Key",
            CLOUD_SERVICE_API_KEY,
            "The 12-character key for the Cloud Service API.",
            what(manage_keys),
        ),
        (
            "OAuth 2.0 Authorization Servers",
            OAUTH_SERVERS,
            "Authorization servers whose tokens the API accepts.",
            what(manage_keys),
        ),
        (
            "Sandbox API Token",
            SANDBOX_API_TOKEN,
            "Tokens for the Sandbox Submission API.",
            what(viewer.can(Permission::ManageSandboxTokens)),
        ),
        (
            "API Key Management",
            CONNECTOR_KEY_MANAGEMENT,
            "The key for the Cloud & Branch Connector API. Currently, only the provider modifies the key.",
            if manage_connector {
                "You may be able to change it (Super Admins need the provider's permission)."
            } else {
                what(false)
            },
        ),
    ]
}
