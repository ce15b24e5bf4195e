//! The service provider's operations (docs/STATES.md, docs/ROLES.md): organisations,
//! subscriptions, limits and thresholds, disabling and enabling tokens and
//! keys, and who administers each organisation. The console's server
//! functions and the command line share these, and every change is audited
//! in the organisation it touches.
//!
//! In the console a provider operates only the organisations in which they
//! hold the Provider role (read from the database on every call); the
//! command line, run by whoever runs the server, operates all of them.

use super::auth::{Actor, audit_record};
use super::http::RequestMeta;
use super::now_ms;
use super::state::AppState;
use super::store::{AuditRecord, OrgChange, OrgRow};
use crate::error::AppError;
use crate::model::{
    AuditAction, CredentialRef, DisableReason, KeyKind, Member, OrgSettings, Permission,
    ProviderConsole, ProviderCredential, ProviderOrg, Role, Subscription, SubscriptionKind,
    category, mask, validate_org_name, validate_short_name,
};

mod admins;
mod provision;

pub use admins::{API_ACCESS, PASSWORD_MIN, add_admin, remove_admin, set_api_access};
pub use provision::{INITIAL_TOKEN_NAME, Provisioned};

/// Who is operating: a provider in the console, or the command line.
#[derive(Clone, Debug)]
pub struct Operator {
    /// The audit log's Admin.
    name: String,
    meta: RequestMeta,
    /// The console's provider; `None` for the command line.
    admin_id: Option<i64>,
}

impl Operator {
    pub fn cli() -> Self {
        Operator {
            name: "provider (CLI)".into(),
            meta: RequestMeta::cli(),
            admin_id: None,
        }
    }

    /// The signed-in admin, if their current role is Provider.
    pub fn console(actor: &Actor) -> Result<Self, AppError> {
        actor.ensure(Permission::OperateProvider)?;
        Ok(Operator {
            name: actor.username.clone(),
            meta: actor.meta.clone(),
            admin_id: Some(actor.admin_id),
        })
    }

    fn audit(
        &self,
        org: &str,
        action: AuditAction,
        sub_category: &str,
        resource: &str,
    ) -> AuditRecord {
        let mut record = audit_record(&self.meta, &self.name, org, action, sub_category, resource);
        record.category = category::PROVIDER.to_owned();
        record
    }
}

/// What a provider disables or enables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every Sandbox API token of the organisation.
    AllSandboxTokens,
    One(CredentialRef),
}

/// The organisations `op` operates.
async fn operated(state: &AppState, op: &Operator) -> Result<Vec<OrgRow>, AppError> {
    Ok(match op.admin_id {
        Some(admin_id) => state.store.orgs_with_role(admin_id, Role::Provider).await?,
        None => state.store.all_orgs().await?,
    })
}

/// The organisation `short_name`, if `op` operates it. Any other name —
/// existing or not — is refused alike and audited.
pub async fn org(state: &AppState, op: &Operator, short_name: &str) -> Result<OrgRow, AppError> {
    if let Some(org) = operated(state, op)
        .await?
        .into_iter()
        .find(|o| o.short_name == short_name)
    {
        return Ok(org);
    }
    if op.admin_id.is_none() {
        return Err(AppError::not_found("The organisation"));
    }
    let record = op
        .audit(
            short_name,
            AuditAction::Access,
            category::PROVIDER,
            short_name,
        )
        .failed("forbidden: not a provider of this organisation");
    state.store.append_audit(&record).await?;
    Err(AppError::Forbidden {
        message: "You are not the provider of that organisation.".into(),
    })
}

/// Everything the console shows.
pub async fn console(state: &AppState, op: &Operator) -> Result<ProviderConsole, AppError> {
    let now = now_ms();
    let mut orgs = Vec::new();
    for org in operated(state, op).await? {
        orgs.push(org_view(state, &org, now).await?);
    }
    Ok(ProviderConsole { orgs })
}

async fn org_view(state: &AppState, org: &OrgRow, now: i64) -> Result<ProviderOrg, AppError> {
    let store = &state.store;
    let mut credentials: Vec<ProviderCredential> = store
        .sandbox_tokens(org.id, now)
        .await?
        .iter()
        .map(|t| ProviderCredential {
            credential: CredentialRef::SandboxToken(t.id),
            label: t.name.clone(),
            masked: mask(&t.last4),
            disabled: t.disabled_reason(),
        })
        .collect();
    for kind in [KeyKind::CloudService, KeyKind::Connector] {
        if let Some(key) = store.api_key(org.id, kind).await? {
            credentials.push(ProviderCredential {
                credential: CredentialRef::ApiKey(kind),
                label: kind.label().to_owned(),
                masked: mask(&key.last4),
                disabled: key.disabled_reason(),
            });
        }
    }
    let members = store
        .org_members(org.id)
        .await?
        .into_iter()
        .map(|m| Member {
            username: m.username,
            role: m.role.0,
            api_access: m.role.0.has_api_access(m.api_access.0),
        })
        .collect();
    Ok(ProviderOrg {
        short_name: org.short_name.clone(),
        name: org.name.clone(),
        sandbox: store
            .subscription_info(org.id, SubscriptionKind::Sandbox, now)
            .await?,
        api: store
            .subscription_info(org.id, SubscriptionKind::Api, now)
            .await?,
        token_limit: org.sandbox_token_limit,
        daily_allowance: org.sandbox_daily_allowance,
        used_today: store
            .submissions_since(org.id, super::day_start(now))
            .await?,
        connector_self_manage: org.connector_self_manage.0,
        credentials,
        members,
    })
}

/// Creates an organisation with no subscription; a console provider becomes its Provider.
pub async fn create_org(
    state: &AppState,
    op: &Operator,
    short_name: &str,
    name: &str,
) -> Result<OrgRow, AppError> {
    let short_name = short_name.trim();
    let name = name.trim();
    validate_short_name(short_name).map_err(|m| AppError::invalid("short_name", m))?;
    validate_org_name(name).map_err(|m| AppError::invalid("name", m))?;
    let audit = op.audit(short_name, AuditAction::Create, "Organisation", name);
    if state
        .store
        .create_org_audited(short_name, name, op.admin_id, &audit)
        .await?
        .is_none()
    {
        return Err(AppError::invalid(
            "short_name",
            "An organisation with this short name already exists.",
        ));
    }
    state
        .store
        .org_by_short_name(short_name)
        .await?
        .ok_or_else(AppError::internal)
}

/// Sets a subscription: active (until `expires_at`, if given), expired, or
/// none. Activating it provisions the credentials the organisation lacks
/// (see `provision`); they come back, with their secrets, only here.
pub async fn set_subscription(
    state: &AppState,
    op: &Operator,
    short_name: &str,
    kind: SubscriptionKind,
    value: Subscription,
    expires_at: Option<i64>,
) -> Result<Vec<Provisioned>, AppError> {
    let org = org(state, op, short_name).await?;
    let expires_at = expires_at.filter(|_| value == Subscription::Active);
    let resource = match (value, expires_at) {
        (Subscription::Active, Some(t)) => {
            format!(
                "{} subscription: active until {}",
                kind.label(),
                crate::model::format_timestamp(t)
            )
        }
        (Subscription::Active, None) => format!("{} subscription: active", kind.label()),
        (Subscription::Expired, _) => format!("{} subscription: expired", kind.label()),
        (Subscription::None, _) => format!("{} subscription: none", kind.label()),
    };
    let audit = op.audit(
        &org.short_name,
        AuditAction::Update,
        "Subscription",
        &resource,
    );
    let change = OrgChange::Subscription {
        kind,
        state: value,
        expires_at,
    };
    provision::change_subscription(state, op, &org, change, &audit).await
}

/// Saves the token limit, the daily allowance and the connector setting;
/// each value that changed gets its own audit entry.
pub async fn save_settings(
    state: &AppState,
    op: &Operator,
    short_name: &str,
    settings: OrgSettings,
) -> Result<(), AppError> {
    settings
        .validate()
        .map_err(|(field, message)| AppError::invalid(field, message))?;
    let org = org(state, op, short_name).await?;
    let changes = [
        (org.sandbox_token_limit != settings.token_limit).then(|| {
            (
                OrgChange::TokenLimit(settings.token_limit),
                format!("Sandbox token limit: {}", settings.token_limit),
            )
        }),
        (org.sandbox_daily_allowance != settings.daily_allowance).then(|| {
            (
                OrgChange::DailyAllowance(settings.daily_allowance),
                format!(
                    "Daily Sandbox API-call allowance: {}",
                    settings.daily_allowance
                ),
            )
        }),
        (org.connector_self_manage.0 != settings.connector_self_manage).then(|| {
            (
                OrgChange::ConnectorSelfManage(settings.connector_self_manage),
                format!(
                    "Super Admins manage the connector key: {}",
                    if settings.connector_self_manage {
                        "yes"
                    } else {
                        "no"
                    }
                ),
            )
        }),
    ];
    for (change, resource) in changes.into_iter().flatten() {
        let audit = op.audit(
            &org.short_name,
            AuditAction::Update,
            "Organisation settings",
            &resource,
        );
        state.store.change_org(org.id, change, &audit).await?;
    }
    Ok(())
}

/// Disables (`Some(reason)`) or enables (`None`) tokens or a key. Returns
/// how many changed. Disabling a key ends its API sessions.
pub async fn set_disabled(
    state: &AppState,
    op: &Operator,
    short_name: &str,
    target: Target,
    reason: Option<DisableReason>,
) -> Result<u64, AppError> {
    let org = org(state, op, short_name).await?;
    let action = match reason {
        Some(_) => AuditAction::Disable,
        None => AuditAction::Enable,
    };
    let changed = match target {
        Target::AllSandboxTokens | Target::One(CredentialRef::SandboxToken(_)) => {
            let token = match target {
                Target::One(CredentialRef::SandboxToken(id)) => Some(id),
                _ => None,
            };
            let resource = match token {
                Some(id) => {
                    state
                        .store
                        .sandbox_token(org.id, id, now_ms())
                        .await?
                        .ok_or_else(|| AppError::not_found("The token"))?
                        .name
                }
                None => "all tokens".to_owned(),
            };
            let mut audit = op.audit(
                &org.short_name,
                action,
                category::SANDBOX_API_TOKEN,
                &resource,
            );
            audit.reason = reason.map(|r| r.label().to_owned());
            state
                .store
                .set_sandbox_disabled(org.id, token, reason, &audit)
                .await?
        }
        Target::One(CredentialRef::ApiKey(kind)) => {
            let mut audit = op.audit(&org.short_name, action, kind.label(), kind.label());
            audit.reason = reason.map(|r| r.label().to_owned());
            let n = state
                .store
                .set_api_key_disabled(org.id, kind, reason, &audit)
                .await?;
            if n == 0 {
                return Err(AppError::not_found("The key"));
            }
            n
        }
    };
    Ok(changed)
}

/// A date from the console's date field (`YYYY-MM-DD`): the subscription
/// ends at the end of that day, UTC. Empty means no end date.
pub fn parse_expiry(date: &str) -> Result<Option<i64>, AppError> {
    let date = date.trim();
    if date.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(date, &format)
        .map_err(|_| AppError::invalid("expires_on", "Enter the date as YYYY-MM-DD."))?;
    let end = day
        .next_day()
        .ok_or_else(|| AppError::invalid("expires_on", "Enter the date as YYYY-MM-DD."))?
        .midnight()
        .assume_utc();
    Ok(Some((end.unix_timestamp_nanos() / 1_000_000) as i64))
}

/// The role names the console and the command line accept.
pub fn parse_role(role: &str) -> Result<Role, AppError> {
    role.parse()
        .map_err(|_| AppError::invalid("role", "Choose one of the five roles."))
}

#[cfg(test)]
mod tests {
    use super::parse_expiry;

    #[test]
    fn expiry_is_the_end_of_the_day_utc() {
        // 2026-11-23 00:00:00 UTC
        assert_eq!(parse_expiry("2026-11-22").unwrap(), Some(1_795_392_000_000));
        assert_eq!(parse_expiry("").unwrap(), None);
        assert!(parse_expiry("22/11/2026").is_err());
    }
}
