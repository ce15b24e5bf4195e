//! "Test authentication" (docs/PAGES.md#beyond-the-reference-portal): from the Cloud Service API Key
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
    let Some(obfuscated) = obfuscate(state, actor, &timestamp, &mut steps).await? else {
        return Ok(TestAuthReport { steps });
    };
    let base = state.settings.base_url(&actor.org.short_name);
    if !is_portal_origin(state, &base) {
        steps.push(step("Base URL", false, NOT_REACHABLE.to_owned()));
        return Ok(TestAuthReport { steps });
    }
    let client = client()?;
    let login = Login {
        api_key: &obfuscated,
        username: &actor.username,
        password: &password,
        timestamp: &timestamp,
    };
    let Some(session) = sign_in(&client, &base, &login, &mut steps).await else {
        return Ok(TestAuthReport { steps });
    };
    // One call with the session, then end it.
    let jar = format!("JSESSIONID={session}");
    steps.push(call_status(&client, &base, &jar).await);
    steps.push(sign_out(&client, &base, &jar).await);
    Ok(TestAuthReport { steps })
}

/// The organisation's key obfuscated with `timestamp`, recording the step;
/// `None` (the step failed) when there is no key or it cannot be obfuscated.
async fn obfuscate(
    state: &AppState,
    actor: &Actor,
    timestamp: &str,
    steps: &mut Vec<TestAuthStep>,
) -> Result<Option<String>, AppError> {
    let Some((_, key)) = api_keys::current_key(state, actor.org_id, KeyKind::CloudService).await?
    else {
        steps.push(step(
            "Obfuscate the key",
            false,
            "The organisation has no Cloud Service API key.".into(),
        ));
        return Ok(None);
    };
    let Some(obfuscated) = obfuscate_api_key(key.expose_secret(), timestamp) else {
        steps.push(step(
            "Obfuscate the key",
            false,
            "The key could not be obfuscated.".into(),
        ));
        return Ok(None);
    };
    let shown = if actor.role.allows(Permission::RevealSecrets) {
        obfuscated.clone()
    } else {
        format!("{} (hidden: your role may not reveal the key)", mask(""))
    };
    steps.push(step("Obfuscate the key", true, shown));
    Ok(Some(obfuscated))
}

/// Only ever the portal's own origin (operator configuration, which may
/// be loopback): never a redirect, never a proxy. Every request is under
/// `base`, so its origin must be the portal's.
fn is_portal_origin(state: &AppState, base: &str) -> bool {
    let Some(origin) = Url::parse(&state.settings.public_url)
        .ok()
        .map(|u| u.origin())
        .filter(|o| o.is_tuple())
    else {
        return false;
    };
    Url::parse(base).is_ok_and(|u| u.origin() == origin)
}

fn client() -> Result<reqwest::Client, AppError> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "building the HTTP client failed");
            AppError::internal()
        })
}

/// What `POST authenticatedSession` is sent.
struct Login<'a> {
    api_key: &'a str,
    username: &'a str,
    password: &'a SecretString,
    timestamp: &'a str,
}

/// Signs in, recording the step (and the session, masked, when there is
/// one); the session id when sign-in succeeded and set `JSESSIONID`.
async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    login: &Login<'_>,
    steps: &mut Vec<TestAuthStep>,
) -> Option<String> {
    let url = format!("{base}/api/v1/authenticatedSession");
    let body = serde_json::json!({
        "apiKey": login.api_key,
        "username": login.username,
        "password": login.password.expose_secret(),
        "timestamp": login.timestamp,
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
            return None;
        }
    };
    let status = response.status();
    let cookie = session_cookie(&response);
    let text = read_capped(response).await;
    steps.push(step(
        &format!("POST {url}"),
        status.is_success(),
        summarise(status, &text),
    ));
    let session = cookie.filter(|_| status.is_success())?;
    steps.push(step(
        "Session",
        true,
        format!(
            "JSESSIONID {}",
            mask(&session[session.len().saturating_sub(4)..])
        ),
    ));
    Some(session)
}

/// The non-empty `JSESSIONID` the answer sets, if any.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
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
        .filter(|v| !v.is_empty())
}

async fn call_status(client: &reqwest::Client, base: &str, jar: &str) -> TestAuthStep {
    let url = format!("{base}/api/v1/status");
    match client.get(&url).header(COOKIE, jar).send().await {
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
    }
}

async fn sign_out(client: &reqwest::Client, base: &str, jar: &str) -> TestAuthStep {
    let url = format!("{base}/api/v1/authenticatedSession");
    match client.delete(&url).header(COOKIE, jar).send().await {
        Ok(r) => {
            let status = r.status();
            step(
                &format!("DELETE {url}"),
                status.is_success(),
                format!("{status} session ended"),
            )
        }
        Err(e) => step(&format!("DELETE {url}"), false, unreachable(&e)),
    }
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
