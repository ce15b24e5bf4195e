//! Pages of later milestones, and the not-found page. They sit in the real
//! navigation so every route of PRODUCT.md §1 answers today.

use crate::components::layout::{Breadcrumbs, internet_saas_trail};
use crate::components::tabs::InternetSaasTabs;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
fn ComingSoon(
    title: &'static str,
    trail: Vec<(&'static str, Option<&'static str>)>,
    tabs: bool,
) -> impl IntoView {
    view! {
        <Title text=title />
        <Breadcrumbs trail />
        <h1>{title}</h1>
        {tabs.then(|| view! { <InternetSaasTabs /> })}
        <p class="notice">"Coming soon: this page arrives in a later milestone."</p>
    }
}

#[component]
pub fn OAuthServersPage() -> impl IntoView {
    view! { <ComingSoon title="OAuth 2.0 Authorization Servers" trail=internet_saas_trail("OAuth 2.0 Authorization Servers") tabs=true /> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <main id="main" class="narrow">
            <h1>"Page not found"</h1>
            <p><a href="/">"Go to Keyport"</a></p>
        </main>
    }
}
