//! The frame of every signed-in page: header, the Administration navigation,
//! breadcrumbs, and the session check that sends strangers to /login.

use super::tabs::InternetSaasTabs;
use super::toast::ToastRegion;
use crate::api::session::{SignOut, SwitchOrg, current_viewer};
use crate::error::AppError;
use crate::model::{Permission, Role, Viewer};
use crate::paths::{
    AUDIT_LOGS, CLOUD_SERVICE_API_KEY, CONNECTOR_KEY_MANAGEMENT, LOGIN, OVERVIEW, PROVIDER,
    SANDBOX_API_TOKEN,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Outlet, Redirect};
use leptos_router::hooks::use_location;

/// The signed-in admin, loaded once by [`AdminShell`] for every page under
/// /administration, on the server. Pages get it through [`with_viewer`] and
/// hand their island what it needs as props: in the browser an island
/// cannot reach this resource.
pub type ViewerResource = Resource<Result<Option<Viewer>, AppError>>;

/// The frame of every signed-in page. Resources are created here, at the top
/// of components, never inside a `Suspend`: a resource made inside one would
/// be made again each time it re-runs, and the server and browser would then
/// disagree about the page (a hydration error).
#[component]
pub fn AdminShell() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    let switch_org = ServerAction::<SwitchOrg>::new();
    // The shell is server-rendered only (no island): Sign Out and the
    // switcher are plain form posts whose server functions redirect, so
    // each page load reads the viewer once.
    let viewer: ViewerResource = Resource::new(|| (), |_| current_viewer());
    provide_context(viewer);
    view! {
            <header class="topbar">
                <a class="brand" href=OVERVIEW>"Keyport"</a>
                <Transition>
                    {move || Suspend::new(async move {
                        match viewer.await {
                            Ok(Some(viewer)) => view! {
                                <OrgSwitcher viewer=viewer.clone() action=switch_org />
                                <span class="who">
                                    {viewer.username.clone()} " · " <span class="role">{viewer.role.label()}</span>
                                </span>
                            }
                            .into_any(),
                            Ok(None) => {
                                #[cfg(feature = "ssr")]
                                crate::server::http::redirect_page(LOGIN);
                                view! { <Redirect path=LOGIN /> }.into_any()
                            }
                            Err(e) => view! { <span class="error" role="alert">{e.to_string()}</span> }.into_any(),
                        }
                    })}
                </Transition>
                <ActionForm action=sign_out attr:class="signout">
                    <button type="submit" class="link">"Sign Out"</button>
                </ActionForm>
            </header>
            <Transition>
                {move || Suspend::new(async move {
                    let notice = viewer.await.ok().flatten()?.demo_notice?;
                    // In a landmark of its own, so screen-reader users find it.
                    Some(view! {
                        <aside class="demo-strip" aria-label="Demo environment">
                            <p role="note">{notice}</p>
                        </aside>
                    })
                })}
            </Transition>
            <div class="frame">
                <SideNav viewer />
                <main id="main">
                    <Outlet />
                </main>
            </div>
            <ToastRegion />
    }
}

/// The Administration navigation; Audit Logs and the Provider Console only
/// for the admins who may open them.
#[component]
fn SideNav(viewer: ViewerResource) -> impl IntoView {
    // Read here, not in the Suspend below: its future can still be polled
    // after a client hung up mid-render, when the request's owner and its
    // router are gone, and `<A>` there panicked (`make bench` of 7fac7ec).
    let current = use_location().pathname.get_untracked();
    view! {
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
                <Transition>
                    {move || {
                        let current = current.clone();
                        Suspend::new(async move {
                            let viewer = viewer.await.ok().flatten();
                            let may = |p| viewer.as_ref().is_some_and(|v| v.can(p));
                            view! {
                                {may(Permission::ViewAuditLog).then(|| view! { <li>{nav_link(&current, AUDIT_LOGS, "Audit Logs")}</li> })}
                                {may(Permission::OperateProvider).then(|| view! { <li>{nav_link(&current, PROVIDER, "Provider Console")}</li> })}
                            }
                        })
                    }}
                </Transition>
            </ul>
        </nav>
    }
}

/// A link marked `aria-current="page"` on its page and the pages under
/// it, as `<A>` marks it, without asking the router (see `SideNav`).
fn nav_link(current: &str, href: &'static str, label: &'static str) -> impl IntoView + use<> {
    let here = current
        .strip_prefix(href)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    view! { <a href=href aria-current=here.then_some("page")>{label}</a> }
}

/// The organisation, with a switcher when the admin belongs to several.
#[component]
fn OrgSwitcher(viewer: Viewer, action: ServerAction<SwitchOrg>) -> impl IntoView {
    if viewer.orgs.len() < 2 {
        return view! { <span class="org" title="Organisation">{viewer.org.name.clone()}</span> }
            .into_any();
    }
    let current = viewer.org.short_name.clone();
    view! {
        <ActionForm action attr:class="org-switcher">
            <label for="org-switch" class="visually-hidden">"Organisation"</label>
            <select id="org-switch" name="org">
                {viewer
                    .orgs
                    .iter()
                    .map(|o| view! { <option value=o.short_name.clone() selected=o.short_name == current>{o.name.clone()}</option> })
                    .collect_view()}
            </select>
            <button type="submit" class="small">"Switch"</button>
        </ActionForm>
    }
    .into_any()
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

/// A tab of Internet & SaaS API: its title, breadcrumbs, heading and tab
/// bar, then the tab's content once the viewer has loaded.
pub fn internet_saas_tab<V>(
    tab: &'static str,
    island: impl Fn(Viewer) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    V: IntoView + 'static,
{
    view! {
        <Title text=tab />
        <Breadcrumbs trail=internet_saas_trail(tab) />
        <h1>"Internet & SaaS API"</h1>
        <InternetSaasTabs />
        {with_viewer(island)}
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

/// The banner of an expired subscription: what still works and what does
/// not (`text`), then whom to contact to renew it (`--support-contact`).
#[component]
pub fn ExpiredBanner(text: &'static str, contact: String) -> impl IntoView {
    view! {
        <p class="banner banner-warning" role="status">
            {text} " " {format!("Contact {contact} to renew it.")}
        </p>
    }
}

/// "View only" at the top of an API Configuration page whose controls the
/// admin does not get: either the role lacks `permission`, or (the
/// connector key) the provider has not let the role use it. Pages show it
/// only while the subscription is active: an expired one has its own banner.
/// Inside a page's island it reads the role the island provides
/// ([`provide_role`]).
#[component]
pub fn ViewOnlyNotice(permission: Permission) -> impl IntoView {
    let role = use_context::<ViewerRole>().map(|r| r.0);
    role.map(|role| view_only_text(role, permission))
}

fn view_only_text(role: Role, permission: Permission) -> impl IntoView {
    let why = if role.allows(permission) {
        "Changes here need your service provider's permission.".to_owned()
    } else {
        format!(
            "Your role ({}) can see this page but not change it.",
            role.label()
        )
    };
    view! {
        <p class="banner banner-info view-only" role="note">
            <strong>"View only."</strong>{format!(" {why}")}
        </p>
    }
}

/// The signed-in admin's role, for the components of a page's island: an
/// island cannot reach the shell's [`ViewerResource`] in the browser, so
/// the page passes the role in as a prop and the island provides it.
#[derive(Clone, Copy, Debug)]
pub struct ViewerRole(pub Role);

/// Called first in a page's island with the role it was given.
pub fn provide_role(role: Role) {
    provide_context(ViewerRole(role));
}

/// Renders `page` with the signed-in admin once the shell's viewer has
/// loaded (on the server: pages wait for their data). Nothing for a visitor
/// who is not signed in: the shell sends them to /login.
pub fn with_viewer<V>(page: impl Fn(Viewer) -> V + Clone + Send + Sync + 'static) -> impl IntoView
where
    V: IntoView + 'static,
{
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Transition>
            {move || {
                let page = page.clone();
                Suspend::new(async move { viewer.await.ok().flatten().map(page) })
            }}
        </Transition>
    }
}

/// The Base URL with a copy button (an island of its own on the overview,
/// part of the page's island elsewhere).
#[island]
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
