//! `/login`: the sign-in form (works without WebAssembly: it is a plain form
//! post to the sign-in server function, which redirects on success).

use crate::api::session::{SignIn, sign_in_info};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let info = Resource::new(|| (), |_| sign_in_info());
    let next = use_query_map()
        .with_untracked(|q| q.get("next"))
        .unwrap_or_default();
    let form_next = next.clone();
    let error = move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Sign In" />
        <main id="main" class="login">
            <h1>"Keyport"</h1>
            <p class="subtitle">"Sign in to the admin portal"</p>
            <ActionForm action>
                <input type="hidden" name="next" value=form_next />
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" required />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign In" }}
                </button>
            </ActionForm>
            <Suspense>
                {move || {
                    let next = next.clone();
                    Suspend::new(async move {
                    let info = info.await.ok()?;
                    let password = info.demo_password?;
                    Some(view! { <DemoAccounts accounts=info.demo_accounts password notice=info.demo_notice action next /> })
                    })
                }}
            </Suspense>
        </main>
    }
}

/// With `--demo`: the accounts, each a one-click "Sign in as …" (a form
/// posting the public demo password, so it works without WebAssembly too).
#[component]
fn DemoAccounts(
    accounts: Vec<(String, String)>,
    password: String,
    notice: Option<String>,
    action: ServerAction<SignIn>,
    next: String,
) -> impl IntoView {
    view! {
        <section class="demo-banner" aria-labelledby="demo-title">
            <h2 id="demo-title">"Demo environment"</h2>
            {notice.map(|n| view! { <p>{n}</p> })}
            <p>"Every account's password is " <code>{password.clone()}</code> ". Or sign in with one click:"</p>
            <ul class="demo-accounts">
                {accounts
                    .into_iter()
                    .map(|(user, role)| {
                        let (password, next) = (password.clone(), next.clone());
                        view! {
                        <li>
                            <ActionForm action>
                                <input type="hidden" name="username" value=user.clone() />
                                <input type="hidden" name="password" value=password />
                                <input type="hidden" name="next" value=next />
                                <button type="submit" class="demo-account">{format!("Sign in as {user}")}</button>
                            </ActionForm>
                            <span class="demo-role">{role}</span>
                        </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
