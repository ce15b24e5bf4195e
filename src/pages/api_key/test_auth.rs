//! "Test authentication" (docs/PAGES.md#beyond-the-reference-portal): the real obfuscation and
//! `authenticatedSession` round trip against the organisation's Base URL,
//! run by the server as the signed-in admin, each step listed.

use crate::api::api_keys::TestApiKeyAuth;
use crate::error::AppError;
use crate::model::TestAuthReport;
use leptos::prelude::*;

/// An island of its own, on the Cloud Service API Key page only.
#[island]
pub fn TestAuthentication() -> impl IntoView {
    let action = ServerAction::<TestApiKeyAuth>::new();
    let password = RwSignal::new(String::new());
    let pending = action.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = password.get_untracked();
        // The password is needed once; do not keep it in the page.
        password.set(String::new());
        action.dispatch(TestApiKeyAuth { password: typed });
    };
    let report = move || action.value().get().map(report_view);
    view! {
        <section class="test-auth" aria-labelledby="test-auth-title">
            <h2 id="test-auth-title">"Test authentication"</h2>
            <p class="hint">"Signs in to the Cloud Service API at this organisation's Base URL with the current key, as you, then calls it once and signs out. Your password is used for this test only."</p>
            <form on:submit=submit>
                <label for="test-auth-password">"Your password"</label>
                <input
                    id="test-auth-password"
                    type="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
                <button type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Testing…" } else { "Test authentication" }}
                </button>
            </form>
            <div role="status" aria-live="polite">{report}</div>
        </section>
    }
}

/// The verdict and each step of the round trip, or why it could not run.
fn report_view(answer: Result<TestAuthReport, AppError>) -> AnyView {
    match answer {
        Ok(report) => {
            let verdict = if report.succeeded() {
                "Authentication succeeded."
            } else {
                "Authentication failed."
            };
            view! {
                <p class="test-auth-verdict" class:ok=report.succeeded()>{verdict}</p>
                <ol class="test-auth-steps" aria-label="Steps">
                    {report
                        .steps
                        .into_iter()
                        .map(|s| view! {
                            <li class:ok=s.ok class:failed=!s.ok>
                                <span class="step-label">{s.label}</span>
                                <span class="step-result">{if s.ok { "OK" } else { "Failed" }}</span>
                                <code class="step-detail">{s.detail}</code>
                            </li>
                        })
                        .collect_view()}
                </ol>
            }
            .into_any()
        }
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
