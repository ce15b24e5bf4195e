//! The Sandbox API Token rules (docs/PAGES.md#sandbox-api-token, docs/STATES.md), without HTTP: limits,
//! subscription and provider states, and invalidation by replacement.
//!
//! Server functions authorize with `auth::require` and then call these; the
//! permission is checked again here so no caller can skip it.

use super::auth::{Actor, refuse};
use super::credential_policy::{self, CredentialKind, StoredPolicy};
use super::crypto::{self, Secrets, TOKEN_LEN};
use super::now_ms;
use super::state::AppState;
use super::store::{OrgRow, SandboxTokenRow, SealedSecret, SubscriptionKind};
use crate::error::AppError;
use crate::model::{
    AuditAction, CredentialPolicy, Permission, Quota, RevealEntry, SandboxPage, SandboxTokenView,
    Subscription, TokenStatus, Usage, category, mask,
};
use secrecy::{ExposeSecret, SecretString};

/// Binds a sealed token to its purpose (see `Secrets::seal`).
const SEAL_CONTEXT: &[u8] = b"sandbox-api-token";
pub use super::store::LIMIT_MESSAGE;

/// A token just created or regenerated: shown once in full, right away.
pub struct IssuedToken {
    pub view: SandboxTokenView,
    pub secret: SecretString,
}

/// A newly generated token in the forms the store keeps.
pub struct FreshSecret {
    pub secret: SecretString,
    sealed: Vec<u8>,
    digest: Vec<u8>,
    last4: String,
}

impl FreshSecret {
    pub fn generate(secrets: &Secrets) -> Result<Self, crypto::SealError> {
        let secret = crypto::generate_secret(TOKEN_LEN);
        Ok(FreshSecret {
            sealed: secrets.seal(&secret, SEAL_CONTEXT)?,
            digest: secrets.digest(secret.expose_secret()),
            last4: crypto::last4(&secret),
            secret,
        })
    }

    pub fn stored(&self) -> SealedSecret<'_> {
        SealedSecret {
            sealed: &self.sealed,
            digest: &self.digest,
            last4: &self.last4,
        }
    }
}

/// The page as this admin may see it.
pub async fn page(state: &AppState, actor: &Actor) -> Result<SandboxPage, AppError> {
    actor.ensure(Permission::ViewApiConfiguration)?;
    let now = now_ms();
    let org = org(state, actor).await?;
    let subscription = state
        .store
        .subscription(actor.org_id, SubscriptionKind::Sandbox, now)
        .await?;
    let rows = match subscription {
        Subscription::None => Vec::new(),
        _ => state.store.sandbox_tokens(actor.org_id, now).await?,
    };
    let disabled_reason = rows.iter().find_map(SandboxTokenRow::disabled_reason);
    // Each token's reveals under its current name since it was added (as
    // `reveals_of`), all in one query.
    let wanted: Vec<(&str, i64)> = rows
        .iter()
        .map(|r| (r.name.as_str(), r.created_at))
        .collect();
    let reveals = state
        .store
        .reveals_each(&actor.org.short_name, category::SANDBOX_API_TOKEN, &wanted)
        .await?;
    let tokens = rows
        .iter()
        .zip(reveals)
        .map(|(row, reveals)| SandboxTokenView {
            reveals,
            ..view(row, subscription)
        })
        .collect();
    let quota = Quota {
        used: state
            .store
            .submissions_since(org.id, super::day_start(now))
            .await?,
        allowed: org.sandbox_daily_allowance,
    };
    Ok(SandboxPage {
        base_url: state.settings.base_url(&org.short_name),
        subscription,
        support_contact: state.settings.support_contact.clone(),
        limit: org.sandbox_token_limit,
        quota,
        tokens,
        can_manage: actor.role.allows(Permission::ManageSandboxTokens)
            && subscription == Subscription::Active,
        can_reveal: actor.role.allows(Permission::RevealSecrets)
            && subscription != Subscription::None,
        disabled_reason,
    })
}

/// Adds a token named `name` without restrictions (see [`add_with_policy`]).
pub async fn add(state: &AppState, actor: &Actor, name: &str) -> Result<IssuedToken, AppError> {
    add_with_policy(state, actor, name, &CredentialPolicy::default()).await
}

/// Adds a token named `name` with the restrictions of `policy`
/// (docs/PAGES.md#credential-restrictions), under the rules the store checks with it
/// (docs/STATES.md: subscription, provider disable, limit, unique name).
/// A wrong name or restriction adds nothing.
pub async fn add_with_policy(
    state: &AppState,
    actor: &Actor,
    name: &str,
    policy: &CredentialPolicy,
) -> Result<IssuedToken, AppError> {
    actor.ensure(Permission::ManageSandboxTokens)?;
    let name = validate_name(name)?;
    let policy = credential_policy::validate(policy, CredentialKind::SandboxToken, None, now_ms())?;
    let audit = actor.audit(
        AuditAction::Create,
        category::SANDBOX_API_TOKEN,
        // A token added without restrictions is recorded as before.
        &with_restrictions(
            &name,
            Some(&policy).filter(|p| **p != StoredPolicy::default()),
        ),
    );
    let fresh = FreshSecret::generate(&state.secrets)?;
    let id = state
        .store
        .insert_sandbox_token(actor.org_id, &name, fresh.stored(), &policy, &audit)
        .await??;
    issued(state, actor, id, fresh).await
}

/// Renames a token (only the name: the secret is not editable).
pub async fn rename(state: &AppState, actor: &Actor, id: i64, name: &str) -> Result<(), AppError> {
    edit(state, actor, id, name, None).await
}

/// Renames a token and, with `policy`, sets its restrictions in the same
/// change (the secret is not editable). A wrong name or restriction changes
/// nothing.
pub async fn edit(
    state: &AppState,
    actor: &Actor,
    id: i64,
    name: &str,
    policy: Option<&CredentialPolicy>,
) -> Result<(), AppError> {
    actor.ensure(Permission::ManageSandboxTokens)?;
    let name = validate_name(name)?;
    let now = now_ms();
    let current = existing(state, actor, id, now).await?;
    let policy = policy
        .map(|p| {
            let kind = CredentialKind::SandboxToken;
            credential_policy::validate(p, kind, current.expires_at, now)
        })
        .transpose()?;
    let renamed = if policy.is_some() && current.name == name {
        name.clone()
    } else {
        format!("{} → {}", current.name, name)
    };
    let audit = actor.audit(
        AuditAction::Update,
        category::SANDBOX_API_TOKEN,
        &with_restrictions(&renamed, policy.as_ref()),
    );
    Ok(state
        .store
        .edit_sandbox_token(actor.org_id, id, &name, policy.as_ref(), &audit)
        .await??)
}

/// "Who looked" (docs/PAGES.md#credential-restrictions): the newest reveals of one of the
/// organisation's tokens since it was added, from the audit log — who,
/// when and from where; never the secret. A token of another organisation
/// is not found.
pub async fn reveals(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<Vec<RevealEntry>, AppError> {
    actor.ensure(Permission::ViewApiConfiguration)?;
    let row = existing(state, actor, id, now_ms()).await?;
    reveals_of(state, actor, &row).await
}

/// The reveals of `row`: audited under its current name, since it was
/// added (so a new token with an old one's name starts with none).
async fn reveals_of(
    state: &AppState,
    actor: &Actor,
    row: &SandboxTokenRow,
) -> Result<Vec<RevealEntry>, AppError> {
    Ok(state
        .store
        .reveals(
            &actor.org.short_name,
            category::SANDBOX_API_TOKEN,
            &row.name,
            row.created_at,
        )
        .await?)
}

/// The audit resource of a change: the token's name, and the restrictions
/// it was given (none secret), so the log says what was set.
fn with_restrictions(name: &str, policy: Option<&StoredPolicy>) -> String {
    match policy {
        None => name.to_owned(),
        Some(p) => format!("{name} ({})", credential_policy::summary(p)),
    }
}

/// Replaces a token's secret; the old one stops working when this returns.
pub async fn regenerate(state: &AppState, actor: &Actor, id: i64) -> Result<IssuedToken, AppError> {
    actor.ensure(Permission::ManageSandboxTokens)?;
    let current = existing(state, actor, id, now_ms()).await?;
    let audit = actor.audit(
        AuditAction::Regenerate,
        category::SANDBOX_API_TOKEN,
        &current.name,
    );
    let fresh = FreshSecret::generate(&state.secrets)?;
    state
        .store
        .replace_sandbox_secret(actor.org_id, id, fresh.stored(), &audit)
        .await??;
    issued(state, actor, id, fresh).await
}

/// Deletes a token; it stops working when this returns.
pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<(), AppError> {
    actor.ensure(Permission::ManageSandboxTokens)?;
    let current = existing(state, actor, id, now_ms()).await?;
    let audit = actor.audit(
        AuditAction::Delete,
        category::SANDBOX_API_TOKEN,
        &current.name,
    );
    Ok(state
        .store
        .delete_sandbox_token(actor.org_id, id, &audit)
        .await??)
}

/// The token just written, with its new secret (shown once).
async fn issued(
    state: &AppState,
    actor: &Actor,
    id: i64,
    fresh: FreshSecret,
) -> Result<IssuedToken, AppError> {
    let row = state
        .store
        .sandbox_token(actor.org_id, id, now_ms())
        .await?
        .ok_or_else(AppError::internal)?;
    Ok(IssuedToken {
        view: view(&row, Subscription::Active),
        secret: fresh.secret,
    })
}

/// The secret of one token, for an admin allowed to reveal (audited).
pub async fn reveal(state: &AppState, actor: &Actor, id: i64) -> Result<SecretString, AppError> {
    actor.ensure(Permission::RevealSecrets)?;
    let now = now_ms();
    let row = existing(state, actor, id, now).await?;
    let audit = actor.audit(AuditAction::Reveal, category::SANDBOX_API_TOKEN, &row.name);
    if state
        .store
        .subscription(actor.org_id, SubscriptionKind::Sandbox, now)
        .await?
        == Subscription::None
    {
        return Err(refuse(state, audit, AppError::no_subscription()).await);
    }
    let secret = state
        .secrets
        .open(&row.secret_sealed, SEAL_CONTEXT)
        .ok_or_else(|| {
            tracing::error!(
                token_id = id,
                "a sealed token could not be opened: is the master key the one it was sealed with?"
            );
            AppError::internal()
        })?;
    state.store.append_audit(&audit).await?;
    Ok(secret)
}

async fn org(state: &AppState, actor: &Actor) -> Result<OrgRow, AppError> {
    state
        .store
        .org_by_id(actor.org_id)
        .await?
        .ok_or_else(AppError::internal)
}

async fn existing(
    state: &AppState,
    actor: &Actor,
    id: i64,
    now: i64,
) -> Result<SandboxTokenRow, AppError> {
    state
        .store
        .sandbox_token(actor.org_id, id, now)
        .await?
        .ok_or_else(|| AppError::not_found("The token"))
}

/// Trims the name and checks it is 1 to 64 characters with nothing hidden
/// (control, zero-width or bidi characters), so two names that look the
/// same are the same.
pub fn validate_name(name: &str) -> Result<String, AppError> {
    crate::model::check_name(name, crate::model::TOKEN_NAME_MAX, "token")
        .map_err(|m| AppError::invalid("name", m))
}

/// The effective status of a token (docs/STATES.md#effective-status).
pub fn status(row: &SandboxTokenRow, subscription: Subscription) -> TokenStatus {
    match (row.disabled_reason(), subscription) {
        (Some(reason), _) => TokenStatus::DisabledByProvider(reason),
        (None, Subscription::Active) => TokenStatus::Enabled,
        (None, _) => TokenStatus::SubscriptionExpired,
    }
}

fn view(row: &SandboxTokenRow, subscription: Subscription) -> SandboxTokenView {
    SandboxTokenView {
        policy: credential_policy::view(row.expires_at, &row.ip_allowlist, row.daily_cap, now_ms()),
        id: row.id,
        name: row.name.clone(),
        masked: mask(&row.last4),
        status: status(row, subscription),
        last_modified_by: row.modified_by.clone(),
        last_modified_on: row.modified_at,
        usage: Usage {
            last_used_on: row.last_used_at,
            last_used_from: row.last_used_ip.clone(),
            calls_1h: row.calls_1h,
            calls_24h: row.calls_24h,
        },
        // Filled in by `page`, which reads them.
        reveals: Vec::new(),
    }
}
