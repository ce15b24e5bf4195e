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
                <input type="hidden" name="next" value=next />
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
                {move || Suspend::new(async move {
                    let info = info.await.ok()?;
                    let password = info.demo_password?;
                    Some(view! {
                        <section class="demo-banner" aria-labelledby="demo-title">
                            <h2 id="demo-title">"Demo environment"</h2>
                            <p>"Every account's password is " <code>{password}</code> "."</p>
                            <table>
                                <caption class="visually-hidden">"Demo accounts"</caption>
                                <thead><tr><th scope="col">"Username"</th><th scope="col">"Role"</th></tr></thead>
                                <tbody>
                                    {info
                                        .demo_accounts
                                        .into_iter()
                                        .map(|(user, role)| view! { <tr><td><code>{user}</code></td><td>{role}</td></tr> })
                                        .collect_view()}
                                </tbody>
                            </table>
                        </section>
                    })
                })}
            </Suspense>
        </main>
    }
}
