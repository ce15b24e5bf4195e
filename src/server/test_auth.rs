//! "Test authentication" (PRODUCT.md §10): from the Cloud Service API Key
//! page, run the real round trip a client of the Cloud Service API makes —
//! timestamp, obfuscated key, `POST authenticatedSession`, one call with the
//! session, `DELETE` — against the organisation's own Base URL, over HTTP,
//! and report each step. The key itself never leaves the server; the
//! obfuscated form is shown only to roles that may reveal the key.

use super::api_keys;
use super::auth::Actor;
use super::consumer::obfuscate_api_key;
use super::now_ms;
use super::state::AppState;
use crate::error::AppError;
use crate::model::{KeyKind, Permission, TestAuthReport, TestAuthStep, mask};
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of an answer read at most: only its JSON `code` is shown.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

/// Runs the round trip as the signed-in admin, with the password they typed.
pub async fn run(
    state: &AppState,
    actor: &Actor,
    password: SecretString,
) -> Result<TestAuthReport, AppError> {
    actor.ensure(Permission::ViewApiConfiguration)?;
    let mut steps = Vec::new();
    let timestamp = now_ms().to_string();
    steps.push(step(
        "Timestamp",
        true,
        format!("{timestamp} (epoch milliseconds)"),
    ));

    let Some((_, key)) = api_keys::current_key(state, actor.org_id, KeyKind::CloudService).await?
    else {
        steps.push(step(
            "Obfuscate the key",
            false,
            "The organisation has no Cloud Service API key.".into(),
        ));
        return Ok(TestAuthReport { steps });
    };
    let Some(obfuscated) = obfuscate_api_key(key.expose_secret(), &timestamp) else {
        steps.push(step(
            "Obfuscate the key",
            false,
            "The key could not be obfuscated.".into(),
        ));
        return Ok(TestAuthReport { steps });
    };
    let shown = if actor.role.allows(Permission::RevealSecrets) {
        obfuscated.clone()
    } else {
        format!("{} (hidden: your role may not reveal the key)", mask(""))
    };
    steps.push(step("Obfuscate the key", true, shown));

    // Only ever the portal's own origin (operator configuration, which may
    // be loopback): never a redirect, never a proxy.
    let base = state.settings.base_url(&actor.org.short_name);
    let Some(origin) = Url::parse(&state.settings.public_url)
        .ok()
        .map(|u| u.origin())
        .filter(|o| o.is_tuple())
    else {
        steps.push(step("Base URL", false, NOT_REACHABLE.to_owned()));
        return Ok(TestAuthReport { steps });
    };
    // Every request below is under `base`: its origin must be the portal's.
    if Url::parse(&base).map_or(true, |u| u.origin() != origin) {
        steps.push(step("Base URL", false, NOT_REACHABLE.to_owned()));
        return Ok(TestAuthReport { steps });
    }
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "building the HTTP client failed");
            AppError::internal()
        })?;

    // 1. Sign in.
    let url = format!("{base}/api/v1/authenticatedSession");
    let body = serde_json::json!({
        "apiKey": obfuscated,
        "username": actor.username,
        "password": password.expose_secret(),
        "timestamp": timestamp,
    });
    let answer = client
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await;
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            steps.push(step(&format!("POST {url}"), false, unreachable(&e)));
            return Ok(TestAuthReport { steps });
        }
    };
    let status = response.status();
    let cookie = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()?
                .trim()
                .strip_prefix("JSESSIONID=")
                .map(str::to_owned)
        })
        .filter(|v| !v.is_empty());
    let text = read_capped(response).await;
    steps.push(step(
        &format!("POST {url}"),
        status.is_success(),
        summarise(status, &text),
    ));
    let Some(session) = cookie.filter(|_| status.is_success()) else {
        return Ok(TestAuthReport { steps });
    };
    steps.push(step(
        "Session",
        true,
        format!(
            "JSESSIONID {}",
            mask(&session[session.len().saturating_sub(4)..])
        ),
    ));

    // 2. One call with the session, then end it.
    let jar = format!("JSESSIONID={session}");
    let url = format!("{base}/api/v1/status");
    steps.push(match client.get(&url).header(COOKIE, &jar).send().await {
        Ok(r) => {
            let status = r.status();
            let text = read_capped(r).await;
            step(
                &format!("GET {url}"),
                status.is_success(),
                summarise(status, &text),
            )
        }
        Err(e) => step(&format!("GET {url}"), false, unreachable(&e)),
    });
    let url = format!("{base}/api/v1/authenticatedSession");
    steps.push(
        match client.delete(&url).header(COOKIE, &jar).send().await {
            Ok(r) => {
                let status = r.status();
                step(
                    &format!("DELETE {url}"),
                    status.is_success(),
                    format!("{status} session ended"),
                )
            }
            Err(e) => step(&format!("DELETE {url}"), false, unreachable(&e)),
        },
    );
    Ok(TestAuthReport { steps })
}

fn step(label: &str, ok: bool, detail: String) -> TestAuthStep {
    TestAuthStep {
        label: label.to_owned(),
        ok,
        detail,
    }
}

const NOT_REACHABLE: &str =
    "The Base URL could not be reached from the server. Check KEYPORT_PUBLIC_URL.";

/// At most [`MAX_ANSWER_BYTES`] of an answer, streamed; the rest is dropped.
async fn read_capped(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if chunk.len() >= room {
            break;
        }
    }
    body
}

/// The status and, when the answer is the consumer API's JSON error, its
/// `code` (only `[A-Za-z0-9_]`, 64 characters at most); never the body itself.
fn summarise(status: reqwest::StatusCode, body: &[u8]) -> String {
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let code: String = v
                .get("code")?
                .as_str()?
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            Some(code).filter(|c| !c.is_empty())
        });
    match code {
        Some(code) => format!("{status} {code}"),
        None => status.to_string(),
    }
}

fn unreachable(e: &reqwest::Error) -> String {
    tracing::warn!(error = %e, "test authentication could not reach the Base URL");
    NOT_REACHABLE.to_owned()
}
