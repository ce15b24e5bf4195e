//! The rules of the two 12-character API keys (PRODUCT.md §2.2, §2.3, §3):
//! one key per organisation and kind, typed or generated, and every change
//! ends the API sessions made with the old key in the same transaction.

use super::auth::{Actor, refuse};
use super::crypto;
use super::now_ms;
use super::state::AppState;
use super::store::{ApiKeyRow, AuditRecord, SubscriptionKind};
use crate::error::AppError;
use crate::model::{
    API_KEY_LEN, ApiKeyPage, ApiKeyView, AuditAction, KeyDisabled, KeyKind, Permission, Role,
    Subscription, mask, validate_api_key,
};
use secrecy::{ExposeSecret, SecretString};

pub const EXISTS_MESSAGE: &str = "You must delete the existing key before you can add a new one.";

/// Binds a sealed key to its kind (see `Secrets::seal`).
fn seal_context(kind: KeyKind) -> Vec<u8> {
    format!("api-key:{}", kind.as_str()).into_bytes()
}

/// The page as this admin may see it.
pub async fn page(state: &AppState, actor: &Actor, kind: KeyKind) -> Result<ApiKeyPage, AppError> {
    actor.ensure(Permission::ViewApiConfiguration)?;
    let subscription = state
        .store
        .subscription(actor.org_id, SubscriptionKind::Api, now_ms())
        .await?;
    let row = match subscription {
        Subscription::None => None,
        _ => state.store.api_key(actor.org_id, kind).await?,
    };
    let may_manage = may_manage(state, actor, kind).await?;
    Ok(ApiKeyPage {
        kind,
        base_url: state.settings.base_url(&actor.org.short_name),
        subscription,
        key: row.as_ref().map(|r| view(r, subscription)),
        can_manage: may_manage && subscription == Subscription::Active,
        can_reveal: actor.role.allows(Permission::RevealSecrets)
            && subscription != Subscription::None,
    })
}

/// Generates the organisation's key; refused while one exists.
pub async fn add(state: &AppState, actor: &Actor, kind: KeyKind) -> Result<SecretString, AppError> {
    let audit = actor.audit(AuditAction::Create, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    let key = crypto::generate_secret(API_KEY_LEN);
    let sealed = state.secrets.seal(&key, &seal_context(kind))?;
    if state
        .store
        .insert_api_key(actor.org_id, kind, &sealed, &crypto::last4(&key), &audit)
        .await?
    {
        Ok(key)
    } else {
        Err(refuse(state, audit, AppError::conflict(EXISTS_MESSAGE)).await)
    }
}

/// Sets the key to one the admin typed (so organisations can share a key).
pub async fn edit(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    typed: &str,
) -> Result<(), AppError> {
    let audit = actor.audit(AuditAction::Update, kind.label(), kind.label());
    actor.ensure(kind.manage_permission())?;
    validate_api_key(typed).map_err(|m| AppError::invalid("key", m))?;
    ensure_changeable(state, actor, kind, &audit).await?;
    let current = existing(state, actor, kind).await?;
    let current_key = open(state, kind, &current)?;
    if current_key.expose_secret() == typed {
        return Err(AppError::invalid(
            "key",
            "The new key must be different from the current key.",
        ));
    }
    let typed = SecretString::from(typed.to_owned());
    let sealed = state.secrets.seal(&typed, &seal_context(kind))?;
    if !state
        .store
        .replace_api_key(actor.org_id, kind, &sealed, &crypto::last4(&typed), &audit)
        .await?
    {
        return Err(AppError::not_found("The key"));
    }
    Ok(())
}

/// Replaces the key with a new random one.
pub async fn regenerate(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
) -> Result<SecretString, AppError> {
    let audit = actor.audit(AuditAction::Regenerate, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    let key = crypto::generate_secret(API_KEY_LEN);
    let sealed = state.secrets.seal(&key, &seal_context(kind))?;
    if !state
        .store
        .replace_api_key(actor.org_id, kind, &sealed, &crypto::last4(&key), &audit)
        .await?
    {
        return Err(AppError::not_found("The key"));
    }
    Ok(key)
}

pub async fn delete(state: &AppState, actor: &Actor, kind: KeyKind) -> Result<(), AppError> {
    let audit = actor.audit(AuditAction::Delete, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    if !state
        .store
        .delete_api_key(actor.org_id, kind, &audit)
        .await?
    {
        return Err(AppError::not_found("The key"));
    }
    Ok(())
}

/// The key in full, for an admin allowed to reveal (audited).
pub async fn reveal(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
) -> Result<SecretString, AppError> {
    actor.ensure(Permission::RevealSecrets)?;
    let audit = actor.audit(AuditAction::Reveal, kind.label(), kind.label());
    if state
        .store
        .subscription(actor.org_id, SubscriptionKind::Api, now_ms())
        .await?
        == Subscription::None
    {
        return Err(refuse(state, audit, AppError::no_subscription()).await);
    }
    let row = existing(state, actor, kind).await?;
    let key = open(state, kind, &row)?;
    state.store.append_audit(&audit).await?;
    Ok(key)
}

/// Seeds a random key (demo data); no audit entry of its own beyond `audit`.
pub async fn seed(
    state: &AppState,
    org_id: i64,
    kind: KeyKind,
    audit: &AuditRecord,
) -> Result<(), AppError> {
    let key = crypto::generate_secret(API_KEY_LEN);
    let sealed = state.secrets.seal(&key, &seal_context(kind))?;
    state
        .store
        .insert_api_key(org_id, kind, &sealed, &crypto::last4(&key), audit)
        .await?;
    Ok(())
}

/// The organisation's key of `kind` in plaintext, for the consumer API.
pub async fn current_key(
    state: &AppState,
    org_id: i64,
    kind: KeyKind,
) -> Result<Option<(ApiKeyRow, SecretString)>, AppError> {
    let Some(row) = state.store.api_key(org_id, kind).await? else {
        return Ok(None);
    };
    let key = open(state, kind, &row)?;
    Ok(Some((row, key)))
}

/// Role, plus for the connector key the provider's organisation setting.
async fn may_manage(state: &AppState, actor: &Actor, kind: KeyKind) -> Result<bool, AppError> {
    if !actor.role.allows(kind.manage_permission()) {
        return Ok(false);
    }
    if kind == KeyKind::Connector && actor.role == Role::SuperAdmin {
        return Ok(state.store.connector_self_managed(actor.org_id).await?);
    }
    Ok(true)
}

/// §3 and §4: the role (and setting) allow it, the API subscription is
/// active, and the provider has not disabled the key. Refusals are audited.
async fn ensure_changeable(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    audit: &AuditRecord,
) -> Result<(), AppError> {
    actor.ensure(kind.manage_permission())?;
    let refusal = if !may_manage(state, actor, kind).await? {
        Some(AppError::Forbidden {
            message: "Currently, only the provider modifies this key.".into(),
        })
    } else {
        match state.store.subscription(actor.org_id, SubscriptionKind::Api, now_ms()).await? {
            Subscription::Expired => Some(AppError::SubscriptionExpired {
                message: "The API subscription has expired: the key can be viewed but not changed.".into(),
            }),
            Subscription::None => Some(AppError::no_subscription()),
            Subscription::Active => match state.store.api_key(actor.org_id, kind).await? {
                Some(row) if row.disabled_reason.is_some() => Some(AppError::TokenDisabled {
                    message: "The service provider has disabled this key. Contact support or your service provider to re-enable the token.".into(),
                }),
                _ => None,
            },
        }
    };
    match refusal {
        Some(e) => Err(refuse(state, audit.clone(), e).await),
        None => Ok(()),
    }
}

async fn existing(state: &AppState, actor: &Actor, kind: KeyKind) -> Result<ApiKeyRow, AppError> {
    state
        .store
        .api_key(actor.org_id, kind)
        .await?
        .ok_or_else(|| AppError::not_found("The key"))
}

fn open(state: &AppState, kind: KeyKind, row: &ApiKeyRow) -> Result<SecretString, AppError> {
    state.secrets.open(&row.key_sealed, &seal_context(kind)).ok_or_else(|| {
        tracing::error!(kind = kind.as_str(), "a sealed API key could not be opened: is the master key the one it was sealed with?");
        AppError::internal()
    })
}

fn view(row: &ApiKeyRow, subscription: Subscription) -> ApiKeyView {
    let disabled = match (row.disabled_reason(), subscription) {
        (Some(reason), _) => Some(KeyDisabled::ByProvider(reason)),
        (None, Subscription::Active) => None,
        (None, _) => Some(KeyDisabled::SubscriptionExpired),
    };
    ApiKeyView {
        masked: mask(&row.last4),
        disabled,
        last_modified_by: row.modified_by.clone(),
        last_modified_on: row.modified_at,
        last_used_on: row.last_used_at,
    }
}
