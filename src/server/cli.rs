//! The command-line operations besides `serve`: for scripts and for the
//! provider. Each provider operation is the console's own
//! (`server::provider`), run as "provider (CLI)" and audited with the CLI
//! interface.

use super::config::Command;
use super::provider::{self, Operator, Target};
use super::state::AppState;
use crate::error::AppError;
use crate::model::{
    CredentialRef, DisableReason, KeyKind, OrgSettings, Subscription, SubscriptionKind,
};
use secrecy::{ExposeSecret, SecretString};
use std::io::BufRead;

type CliError = Box<dyn std::error::Error + Send + Sync>;
type CliResult = Result<(), CliError>;

/// Runs one operation and prints what it did.
pub async fn run(state: &AppState, command: Command) -> CliResult {
    let op = Operator::cli();
    match command {
        Command::Serve(_) | Command::Migrate => Ok(()),
        Command::CreateAdmin {
            username,
            org,
            org_name,
            role,
        } => create_admin(state, &op, &org, org_name, &username, &role).await,
        Command::SetSubscription {
            org,
            kind,
            state: value,
            expires_on,
        } => set_subscription(state, &op, &org, &kind, &value, expires_on.as_deref()).await,
        Command::DisableToken { org, name, reason } => {
            let reason: DisableReason = reason.parse()?;
            let target = token_target(state, &org, name.as_deref()).await?;
            set_disabled(state, &op, &org, target, Some(reason), "token").await
        }
        Command::EnableToken { org, name } => {
            let target = token_target(state, &org, name.as_deref()).await?;
            set_disabled(state, &op, &org, target, None, "token").await
        }
        Command::DisableKey { org, kind, reason } => {
            let target = Target::One(CredentialRef::ApiKey(parse_kind(&kind)?));
            let reason: DisableReason = reason.parse()?;
            set_disabled(state, &op, &org, target, Some(reason), "key").await
        }
        Command::EnableKey { org, kind } => {
            let target = Target::One(CredentialRef::ApiKey(parse_kind(&kind)?));
            set_disabled(state, &op, &org, target, None, "key").await
        }
        Command::SetConnectorSelfManage { org, allowed } => {
            let done = format!("Super Admins manage the connector key: {allowed}");
            update_settings(state, &op, &org, &done, |s| {
                s.connector_self_manage = allowed
            })
            .await
        }
        Command::SetTokenLimit { org, limit } => {
            let done = format!("sandbox token limit {limit}");
            update_settings(state, &op, &org, &done, |s| s.token_limit = limit).await
        }
        Command::SetDailyAllowance { org, allowance } => {
            let done = format!("daily Sandbox API-call allowance {allowance}");
            update_settings(state, &op, &org, &done, |s| s.daily_allowance = allowance).await
        }
        Command::SetApiAccess {
            org,
            username,
            granted,
        } => set_api_access(state, &op, &org, &username, granted).await,
    }
}

/// `set-api-access`: grants or revokes an admin's API access (a revoke ends
/// their API sessions).
async fn set_api_access(
    state: &AppState,
    op: &Operator,
    org: &str,
    username: &str,
    granted: bool,
) -> CliResult {
    provider::set_api_access(state, op, org, username, granted)
        .await
        .map_err(explain)?;
    let done = if granted { "granted" } else { "revoked" };
    println!(
        "{org}: API access {done} for {}",
        username.trim().to_lowercase()
    );
    Ok(())
}

/// `create-admin`: the organisation too when it is new and named, then the
/// admin with the password from [`read_password`].
async fn create_admin(
    state: &AppState,
    op: &Operator,
    org: &str,
    org_name: Option<String>,
    username: &str,
    role: &str,
) -> CliResult {
    let role = provider::parse_role(role).map_err(explain)?;
    if state.store.org_by_short_name(org).await?.is_none() {
        let name =
            org_name.ok_or("the organisation does not exist; give --org-name to create it")?;
        provider::create_org(state, op, org, &name)
            .await
            .map_err(explain)?;
    }
    let password = SecretString::from(read_password()?);
    provider::add_admin(state, op, org, username, role, Some(password), None)
        .await
        .map_err(explain)?;
    println!(
        "{} is {} of {org}",
        username.trim().to_lowercase(),
        role.label()
    );
    Ok(())
}

/// `set-subscription`.
async fn set_subscription(
    state: &AppState,
    op: &Operator,
    org: &str,
    kind: &str,
    value: &str,
    expires_on: Option<&str>,
) -> CliResult {
    let kind = SubscriptionKind::parse(kind).ok_or("--kind must be sandbox or api")?;
    let value = match value {
        "active" => Subscription::Active,
        "expired" => Subscription::Expired,
        "none" => Subscription::None,
        _ => return Err("--state must be active, expired or none".into()),
    };
    let expires_at = provider::parse_expiry(expires_on.unwrap_or("")).map_err(explain)?;
    let created = provider::set_subscription(state, op, org, kind, value, expires_at)
        .await
        .map_err(explain)?;
    println!("{org}: {} subscription {value:?}", kind.label());
    // The operator's only chance to see them in full (revealable later in
    // the portal by roles that may reveal); stdout, never the log.
    for p in created {
        println!(
            "{org}: created {}: {} (shown once)",
            p.label,
            p.secret.expose_secret()
        );
    }
    Ok(())
}

/// `disable-token`, `enable-token`, `disable-key`, `enable-key`: disables
/// the target (`reason` given) or enables it, and says how many `noun`s.
async fn set_disabled(
    state: &AppState,
    op: &Operator,
    org: &str,
    target: Target,
    reason: Option<DisableReason>,
    noun: &str,
) -> CliResult {
    let n = provider::set_disabled(state, op, org, target, reason)
        .await
        .map_err(explain)?;
    match reason {
        Some(reason) => println!("{org}: disabled {n} {noun}(s) ({})", reason.label()),
        None => println!("{org}: enabled {n} {noun}(s)"),
    }
    Ok(())
}

/// The settings commands: changes one of the current settings with
/// `change`, saves them and prints `{org}: {done}`.
async fn update_settings(
    state: &AppState,
    op: &Operator,
    org: &str,
    done: &str,
    change: impl FnOnce(&mut OrgSettings),
) -> CliResult {
    let mut settings = current_settings(state, org).await?;
    change(&mut settings);
    provider::save_settings(state, op, org, settings)
        .await
        .map_err(explain)?;
    println!("{org}: {done}");
    Ok(())
}

/// An `AppError` as the command line says it: the fields' messages if any.
fn explain(e: AppError) -> CliError {
    match &e {
        AppError::Validation { fields, .. } if !fields.is_empty() => fields
            .values()
            .cloned()
            .collect::<Vec<_>>()
            .join("; ")
            .into(),
        _ => e.to_string().into(),
    }
}

async fn current_settings(state: &AppState, org: &str) -> Result<OrgSettings, CliError> {
    let org = state
        .store
        .org_by_short_name(org)
        .await?
        .ok_or_else(|| format!("no organisation `{org}`"))?;
    Ok(OrgSettings {
        token_limit: org.sandbox_token_limit,
        daily_allowance: org.sandbox_daily_allowance,
        connector_self_manage: org.connector_self_manage.0,
    })
}

/// All of the organisation's tokens, or the one named.
async fn token_target(state: &AppState, org: &str, name: Option<&str>) -> Result<Target, CliError> {
    let Some(name) = name else {
        return Ok(Target::AllSandboxTokens);
    };
    let org = state
        .store
        .org_by_short_name(org)
        .await?
        .ok_or_else(|| format!("no organisation `{org}`"))?;
    let token = state
        .store
        .sandbox_tokens(org.id, super::now_ms())
        .await?
        .into_iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("{}: no token named `{name}`", org.short_name))?;
    Ok(Target::One(CredentialRef::SandboxToken(token.id)))
}

fn parse_kind(kind: &str) -> Result<KeyKind, CliError> {
    match kind {
        "cloud_service" => Ok(KeyKind::CloudService),
        "connector" => Ok(KeyKind::Connector),
        _ => Err("--kind must be cloud_service or connector".into()),
    }
}

/// The password from `KEYPORT_PASSWORD`, or the first line of stdin.
fn read_password() -> Result<String, CliError> {
    if let Ok(p) = std::env::var("KEYPORT_PASSWORD") {
        return Ok(p);
    }
    eprintln!("Password (one line on stdin):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
