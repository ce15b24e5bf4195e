//! The application shell and its routes (docs/PAGES.md#navigation-and-routes).

use crate::components::island_scripts::IslandScripts;
use crate::components::layout::AdminShell;
use crate::pages::{
    api_key, audit_logs, login, not_found, oauth_servers, overview, provider, sandbox_tokens,
};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document. On the server it also sets the page's
/// Content-Security-Policy with this render's nonce.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_csp();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                // First: a classic script after a stylesheet would wait for it.
                <IslandScripts options=options.clone() />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <PageStyle options />
                <SplitLoaderPreload />
                <MetaTags />
            </head>
            <body>
                <App />
                <HydrationMark />
            </body>
        </html>
    }
}

/// The last island of every page. The island script (`IslandScripts`) hydrates islands
/// one after the other in document order, waiting for each lazy island's
/// code to arrive, so when this one hydrates every island before it is
/// live: it sets `data-hydrated` on the body (browser tests wait for it)
/// and the `keyport-hydrated` performance mark (the bench reads it).
#[island]
fn HydrationMark() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        if let Some(performance) = window.performance() {
            let _ = performance.mark("keyport-hydrated");
        }
        if let Some(body) = window.document().and_then(|d| d.body()) {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    }
}

/// The stylesheet, inlined as a `<style>` with the render's nonce
/// (docs/FIRST-LOAD.md#the-stylesheet-inlined-2026-12-05). Linked, the
/// stylesheet held the parse: a script after a stylesheet waits for it,
/// and in an empty cache its download ended 35–70 ms after the HTML's;
/// inline, the parse ends 30–40 ms sooner. Falls back to the
/// `<link>` when the file cannot be read or could close its element
/// ([`crate::server::island_assets`]).
#[component]
fn PageStyle(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let (href, text) = {
        let assets = crate::server::island_assets::island_assets(&options);
        (assets.css.clone(), assets.css_text.clone())
    };
    #[cfg(not(feature = "ssr"))]
    let (href, text): (String, Option<String>) = {
        let _ = options;
        (String::new(), None)
    };
    let nonce = leptos::nonce::use_nonce();
    match text {
        Some(css) => view! { <style nonce=nonce>{css}</style> }.into_any(),
        None => view! { <link rel="stylesheet" id="keyport" href=href /> }.into_any(),
    }
}

/// `<link rel="modulepreload">` for the split build's loader script, so it
/// downloads beside the main module ([`crate::server::http::split_loader_href`]).
#[component]
fn SplitLoaderPreload() -> impl IntoView {
    #[cfg(feature = "ssr")]
    let href = crate::server::http::split_loader_href();
    #[cfg(not(feature = "ssr"))]
    let href: Option<String> = None;
    href.map(|href| view! { <link rel="modulepreload" href=href /> })
}

#[cfg(feature = "ssr")]
fn set_page_csp() {
    use axum::http::{HeaderValue, header};
    let nonce = leptos::nonce::use_nonce()
        .map(|n| n.to_string())
        .unwrap_or_default();
    if let (Some(options), Ok(value)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        HeaderValue::from_str(&crate::server::http::page_csp(&nonce)),
    ) {
        options.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The routes. `path!` takes literals only, so each path is written here
/// again; the test below holds them equal to [`crate::paths::PAGES`].
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page waits for its data on the server, so the HTML is complete
    // and readable without WebAssembly.
    let ssr = SsrMode::Async;
    let (provider_shell, provider_page) = (ssr.clone(), ssr.clone());
    view! {
        <Title formatter=|t: String| if t.is_empty() { "Keyport".to_owned() } else { format!("{t} · Keyport") } />
        <Router>
            <Routes fallback=|| view! { <not_found::NotFound /> }>
                <Route path=path!("/login") view=login::LoginPage ssr=ssr.clone() />
                <ParentRoute path=path!("/administration") view=AdminShell ssr=ssr.clone()>
                    <Route path=path!("/api-configuration") view=overview::OverviewPage ssr=ssr.clone() />
                    <Route
                        path=path!("/api-configuration/legacy-api/internet-saas-api/sandbox-api-token")
                        view=sandbox_tokens::SandboxTokenPage
                        ssr=ssr.clone()
                    />
                    <Route
                        path=path!("/api-configuration/legacy-api/internet-saas-api/cloud-service-api-key")
                        view=api_key::CloudServiceApiKeyPage
                        ssr=ssr.clone()
                    />
                    <Route
                        path=path!("/api-configuration/legacy-api/internet-saas-api/oauth-authorization-servers")
                        view=oauth_servers::OAuthServersPage
                        ssr=ssr.clone()
                    />
                    <Route
                        path=path!("/api-configuration/legacy-api/cloud-branch-connector-api/api-key-management")
                        view=api_key::ConnectorKeyPage
                        ssr=ssr.clone()
                    />
                    <Route path=path!("/audit-logs") view=audit_logs::AuditLogsPage ssr=ssr.clone() />
                </ParentRoute>
                <ParentRoute path=path!("/provider") view=AdminShell ssr=provider_shell>
                    <Route path=path!("") view=provider::ProviderConsolePage ssr=provider_page.clone() />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use crate::paths::PAGES;

    // The route list renders the app, whose executor is tokio's.
    #[tokio::test]
    async fn routes_are_the_declared_pages() {
        let mut routes: Vec<String> = crate::server::routes::route_list()
            .iter()
            .map(|r| r.path().to_owned())
            .collect();
        routes.sort();
        routes.dedup();
        let mut pages: Vec<String> = PAGES.iter().map(|p| (*p).to_owned()).collect();
        pages.sort();
        assert_eq!(routes, pages, "the router and crate::paths::PAGES disagree");
    }
}
