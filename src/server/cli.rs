//! The command-line operations besides `serve`: for scripts and for the
//! provider, whose console arrives in a later milestone. Each change is
//! audited with the CLI interface.

use super::config::Command;
use super::http::RequestMeta;
use super::state::AppState;
use super::store::{OrgRow, SubscriptionKind};
use super::{auth, now_ms, password, sandbox};
use crate::model::{AuditAction, DisableReason, KeyKind, Role, Subscription, category};
use secrecy::SecretString;
use std::io::BufRead;

type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Runs one operation and prints what it did.
pub async fn run(state: &AppState, command: Command) -> CliResult {
    let meta = RequestMeta::cli();
    match command {
        Command::Serve(_) | Command::Migrate => Ok(()),
        Command::CreateAdmin {
            username,
            org,
            org_name,
            role,
        } => {
            let role: Role = role.parse()?;
            let username = username.trim().to_lowercase();
            if username.is_empty() {
                return Err("--username must not be empty".into());
            }
            let org_id = match state.store.org_by_short_name(&org).await? {
                Some(o) => o.id,
                None => {
                    let name = org_name
                        .ok_or("the organisation does not exist; give --org-name to create it")?;
                    validate_short_name(&org)?;
                    state.store.create_org(&org, &name, now_ms()).await?
                }
            };
            let password = read_password()?;
            if password.len() < 12 {
                return Err("the password must be at least 12 characters".into());
            }
            let admin_id = match state.store.admin_by_username(&username).await? {
                Some(a) => a.id,
                None => {
                    let hash = password::hash(SecretString::from(password)).await?;
                    state.store.create_admin(&username, &hash, now_ms()).await?
                }
            };
            state.store.add_membership(admin_id, org_id, role).await?;
            audit(
                state,
                &meta,
                &org,
                AuditAction::Create,
                category::ADMINISTRATION,
                &format!("{username} ({})", role.label()),
            )
            .await?;
            println!("{username} is {} of {org}", role.label());
            Ok(())
        }
        Command::SetSubscription {
            org,
            kind,
            state: value,
        } => {
            let org = find_org(state, &org).await?;
            let kind = SubscriptionKind::parse(&kind).ok_or("--kind must be sandbox or api")?;
            let value = match value.as_str() {
                "active" => Subscription::Active,
                "expired" => Subscription::Expired,
                "none" => Subscription::None,
                _ => return Err("--state must be active, expired or none".into()),
            };
            state
                .store
                .set_subscription(org.id, kind, value, None)
                .await?;
            let resource = format!("{} subscription: {value:?}", kind.as_str());
            audit(
                state,
                &meta,
                &org.short_name,
                AuditAction::Update,
                category::PROVIDER,
                &resource,
            )
            .await?;
            println!("{}: {resource}", org.short_name);
            Ok(())
        }
        Command::DisableToken { org, name, reason } => {
            let org = find_org(state, &org).await?;
            let reason: DisableReason = reason.parse()?;
            let n = sandbox::set_disabled(
                state,
                &meta,
                "provider (CLI)",
                &org,
                name.as_deref(),
                Some(reason),
            )
            .await?;
            println!(
                "{}: disabled {n} token(s) ({})",
                org.short_name,
                reason.label()
            );
            Ok(())
        }
        Command::EnableToken { org, name } => {
            let org = find_org(state, &org).await?;
            let n =
                sandbox::set_disabled(state, &meta, "provider (CLI)", &org, name.as_deref(), None)
                    .await?;
            println!("{}: enabled {n} token(s)", org.short_name);
            Ok(())
        }
        Command::SetConnectorSelfManage { org, allowed } => {
            let org = find_org(state, &org).await?;
            state
                .store
                .set_connector_self_managed(org.id, allowed)
                .await?;
            let resource = format!("Super Admins manage the connector key: {allowed}");
            audit(
                state,
                &meta,
                &org.short_name,
                AuditAction::Update,
                category::PROVIDER,
                &resource,
            )
            .await?;
            println!("{}: {resource}", org.short_name);
            Ok(())
        }
        Command::DisableKey { org, kind, reason } => {
            let org = find_org(state, &org).await?;
            let kind = parse_kind(&kind)?;
            let reason: DisableReason = reason.parse()?;
            let mut record = auth::audit_record(
                &meta,
                "provider (CLI)",
                &org.short_name,
                AuditAction::Disable,
                kind.label(),
                kind.label(),
            );
            record.category = category::PROVIDER.to_owned();
            record.reason = Some(reason.label().to_owned());
            let n = state
                .store
                .set_api_key_disabled(org.id, kind, Some(reason), &record)
                .await?;
            println!(
                "{}: disabled {n} key(s) ({})",
                org.short_name,
                reason.label()
            );
            Ok(())
        }
        Command::EnableKey { org, kind } => {
            let org = find_org(state, &org).await?;
            let kind = parse_kind(&kind)?;
            let mut record = auth::audit_record(
                &meta,
                "provider (CLI)",
                &org.short_name,
                AuditAction::Enable,
                kind.label(),
                kind.label(),
            );
            record.category = category::PROVIDER.to_owned();
            let n = state
                .store
                .set_api_key_disabled(org.id, kind, None, &record)
                .await?;
            println!("{}: enabled {n} key(s)", org.short_name);
            Ok(())
        }
        Command::SetTokenLimit { org, limit } => {
            let org = find_org(state, &org).await?;
            if !(1..=5).contains(&limit) {
                return Err("--limit must be 1 to 5".into());
            }
            state.store.set_token_limit(org.id, limit).await?;
            audit(
                state,
                &meta,
                &org.short_name,
                AuditAction::Update,
                category::PROVIDER,
                &format!("sandbox token limit: {limit}"),
            )
            .await?;
            println!("{}: sandbox token limit {limit}", org.short_name);
            Ok(())
        }
    }
}

async fn find_org(
    state: &AppState,
    short_name: &str,
) -> Result<OrgRow, Box<dyn std::error::Error + Send + Sync>> {
    Ok(state
        .store
        .org_by_short_name(short_name)
        .await?
        .ok_or_else(|| format!("no organisation `{short_name}`"))?)
}

async fn audit(
    state: &AppState,
    meta: &RequestMeta,
    org: &str,
    action: AuditAction,
    category: &str,
    resource: &str,
) -> CliResult {
    let mut record = auth::audit_record(meta, "provider (CLI)", org, action, category, resource);
    record.category = category.to_owned();
    state.store.append_audit(&record).await?;
    Ok(())
}

fn parse_kind(kind: &str) -> Result<KeyKind, Box<dyn std::error::Error + Send + Sync>> {
    match kind {
        "cloud_service" => Ok(KeyKind::CloudService),
        "connector" => Ok(KeyKind::Connector),
        _ => Err("--kind must be cloud_service or connector".into()),
    }
}

fn validate_short_name(s: &str) -> CliResult {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("--org must be 1-32 characters of a-z, 0-9 and -".into())
    }
}

/// The password from `KEYPORT_PASSWORD`, or the first line of stdin.
fn read_password() -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    if let Ok(p) = std::env::var("KEYPORT_PASSWORD") {
        return Ok(p);
    }
    eprintln!("Password (one line on stdin):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
