//! The answer to a signed-in admin whose role does not include the page
//! (status 403), drawn inside the admin shell so the navigation stays.

use crate::components::layout::Breadcrumbs;
use crate::paths::OVERVIEW;
use leptos::prelude::*;
use leptos_meta::Title;

/// Heading of the page, also what the tests look for.
pub const NOT_PERMITTED: &str = "You are not permitted to view this page";

/// `what` names the page refused ("The Provider Console"), `who` the
/// roles it is for ("the service provider's operators").
#[component]
pub fn NotPermitted(what: &'static str, who: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(axum::http::StatusCode::FORBIDDEN);
    }
    view! {
        <Title text="Not permitted" />
        <Breadcrumbs trail=vec![("Administration", None), ("Not permitted", None)] />
        <section class="not-permitted" aria-labelledby="not-permitted-title">
            <h1 id="not-permitted-title">{NOT_PERMITTED}</h1>
            <p>{format!("{what} is for {who}. Your role in this organisation does not include it.")}</p>
            <p><a href=OVERVIEW>"Go to API Configuration"</a></p>
        </section>
    }
}
