//! The frame of every signed-in page: header, the Administration navigation,
//! breadcrumbs, and the session check that sends strangers to /login.

use super::tabs::{
    AUDIT_LOGS, CLOUD_SERVICE_API_KEY, CONNECTOR_KEY_MANAGEMENT, OVERVIEW, SANDBOX_API_TOKEN,
};
use super::toast::ToastRegion;
use crate::api::session::{SignOut, current_viewer};
use crate::model::{Permission, Viewer};
use leptos::prelude::*;
use leptos_router::components::{A, Outlet, Redirect};

/// Loads the signed-in admin for every page under /administration; pages
/// below read it with `expect_context::<Viewer>()`.
#[component]
pub fn AdminShell() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| current_viewer());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Some(viewer)) => {
                        provide_context(viewer.clone());
                        view! {
                            <Frame viewer>
                                <Outlet />
                            </Frame>
                        }
                            .into_any()
                    }
                    Ok(None) => {
                        #[cfg(feature = "ssr")]
                        crate::server::http::redirect_page("/login");
                        view! { <Redirect path="/login" /> }.into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Frame(viewer: Viewer, children: Children) -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let audit_visible = viewer.can(Permission::ViewAuditLog);
    view! {
        <ToastRegion>
            <header class="topbar">
                <a class="brand" href=OVERVIEW>"Keyport"</a>
                <span class="org" title="Organisation">{viewer.org.name.clone()}</span>
                <span class="who">
                    {viewer.username.clone()} " · " <span class="role">{viewer.role.label()}</span>
                </span>
                <ActionForm action=sign_out attr:class="signout">
                    <button type="submit" class="link">"Sign Out"</button>
                </ActionForm>
            </header>
            <div class="frame">
                <nav class="sidenav" aria-label="Administration">
                    <p class="nav-head">"Administration"</p>
                    <ul>
                        <li>
                            <A href=OVERVIEW exact=true>"API Configuration"</A>
                            <ul>
                                <li>
                                    <span class="nav-group">"Legacy API"</span>
                                    <ul>
                                        <li><A href=CLOUD_SERVICE_API_KEY>"Internet & SaaS API"</A></li>
                                        <li><A href=CONNECTOR_KEY_MANAGEMENT>"Cloud & Branch Connector API"</A></li>
                                    </ul>
                                </li>
                            </ul>
                        </li>
                        {audit_visible.then(|| view! { <li><A href=AUDIT_LOGS>"Audit Logs"</A></li> })}
                    </ul>
                </nav>
                <main id="main">{children()}</main>
            </div>
        </ToastRegion>
    }
}

/// The reference portal's menu path to the current page.
#[component]
pub fn Breadcrumbs(
    #[prop(into)] trail: Vec<(&'static str, Option<&'static str>)>,
) -> impl IntoView {
    let last = trail.len().saturating_sub(1);
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <ol>
                {trail
                    .into_iter()
                    .enumerate()
                    .map(|(i, (label, href))| match href {
                        Some(href) if i != last => view! { <li><a href=href>{label}</a></li> }.into_any(),
                        _ if i == last => view! { <li aria-current="page">{label}</li> }.into_any(),
                        _ => view! { <li>{label}</li> }.into_any(),
                    })
                    .collect_view()}
            </ol>
        </nav>
    }
}

/// "Internet & SaaS API" pages' breadcrumb trail, ending in `tab`.
pub fn internet_saas_trail(tab: &'static str) -> Vec<(&'static str, Option<&'static str>)> {
    vec![
        ("Administration", None),
        ("API Configuration", Some(OVERVIEW)),
        ("Legacy API", None),
        ("Internet & SaaS API", Some(SANDBOX_API_TOKEN)),
        (tab, None),
    ]
}

/// The Base URL with a copy button.
#[component]
pub fn BaseUrl(url: String) -> impl IntoView {
    let toaster = super::toast::use_toaster();
    let copy_value = url.clone();
    view! {
        <div class="base-url">
            <span class="label" id="base-url-label">"Base URL"</span>
            <code aria-labelledby="base-url-label">{url}</code>
            <button
                type="button"
                aria-label="Copy Base URL"
                on:click=move |_| {
                    if super::clipboard::copy_to_clipboard(&copy_value) {
                        toaster.success("Base URL copied.");
                    }
                }
            >
                "Copy"
            </button>
        </div>
    }
}
