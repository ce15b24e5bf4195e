//! The rules of the two 12-character API keys (docs/PAGES.md#cloud-service-api-key, #api-key-management, docs/STATES.md):
//! one key per organisation and kind, typed or generated, and every change
//! ends the API sessions made with the old key in the same transaction.

mod restrictions;
mod share;

pub use restrictions::{reveals, set_policy};
pub use share::share;

use super::auth::{Actor, refuse};
use super::credential_policy::{self, StoredPolicy};
use super::crypto;
use super::now_ms;
use super::state::AppState;
use super::store::{
    ApiKeyRow, AuditRecord, CallCounts, Credential, Refusal, Ruled, SubscriptionKind,
};
use crate::error::AppError;
use crate::model::{
    API_KEY_LEN, ApiKeyPage, ApiKeyView, AuditAction, CredentialPolicy, KeyDisabled, KeyKind,
    Permission, Role, Subscription, Usage, mask, validate_api_key,
};
use restrictions::{checked_policy, reveals_of, with_restrictions};
use secrecy::{ExposeSecret, SecretString};

pub use super::store::EXISTS_MESSAGE;

/// Binds a sealed key to its kind (see `Secrets::seal`).
fn seal_context(kind: KeyKind) -> Vec<u8> {
    format!("api-key:{}", kind.as_str()).into_bytes()
}

/// A newly generated key of one kind in the forms the store keeps.
pub struct FreshKey {
    pub secret: SecretString,
    pub sealed: Vec<u8>,
    pub last4: String,
}

impl FreshKey {
    pub fn generate(secrets: &crypto::Secrets, kind: KeyKind) -> Result<Self, crypto::SealError> {
        let secret = crypto::generate_secret(API_KEY_LEN);
        Ok(FreshKey {
            sealed: secrets.seal(&secret, &seal_context(kind))?,
            last4: crypto::last4(&secret),
            secret,
        })
    }
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
    let calls = match row {
        Some(_) => {
            state
                .store
                .call_counts(actor.org_id, Credential::ApiKey(kind), now_ms())
                .await?
        }
        None => CallCounts::default(),
    };
    let key = match &row {
        Some(r) => {
            let mut key = view(r, subscription, calls);
            key.reveals = reveals_of(state, actor, kind, r).await?;
            Some(key)
        }
        None => None,
    };
    let may_manage = may_manage(state, actor, kind).await?;
    let other_orgs = if kind == KeyKind::CloudService && may_manage && row.is_some() {
        actor
            .orgs
            .iter()
            .filter(|o| o.short_name != actor.org.short_name)
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    Ok(ApiKeyPage {
        kind,
        base_url: state.settings.base_url(&actor.org.short_name),
        subscription,
        support_contact: state.settings.support_contact.clone(),
        key,
        can_manage: may_manage && subscription == Subscription::Active,
        can_reveal: actor.role.allows(Permission::RevealSecrets)
            && subscription != Subscription::None,
        other_orgs,
    })
}

/// Generates the organisation's key, with the restrictions of `policy`
/// (none without); refused while one exists.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    policy: Option<&CredentialPolicy>,
) -> Result<SecretString, AppError> {
    let mut audit = actor.audit(AuditAction::Create, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    let policy = checked_policy(state, actor, kind, policy)
        .await?
        .unwrap_or_default();
    // A key added without restrictions is recorded as before.
    audit.resource = with_restrictions(
        kind,
        Some(&policy).filter(|p| **p != StoredPolicy::default()),
    );
    let key = crypto::generate_secret(API_KEY_LEN);
    let sealed = state.secrets.seal(&key, &seal_context(kind))?;
    state
        .store
        .insert_api_key(
            actor.org_id,
            kind,
            &sealed,
            &crypto::last4(&key),
            &policy,
            &audit,
        )
        .await??;
    Ok(key)
}

/// Sets the key to one the admin typed (so organisations can share a key),
/// and with `policy` its restrictions; without, they stay.
pub async fn edit(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    typed: &str,
    policy: Option<&CredentialPolicy>,
) -> Result<(), AppError> {
    let mut audit = actor.audit(AuditAction::Update, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    validate_api_key(typed).map_err(|m| AppError::invalid("key", m))?;
    let policy = checked_policy(state, actor, kind, policy).await?;
    audit.resource = with_restrictions(kind, policy.as_ref());
    let typed = SecretString::from(typed.to_owned());
    match put_key(state, actor, kind, &typed, &audit, false, policy.as_ref()).await? {
        Put::Unchanged => Err(AppError::invalid(
            "key",
            "The new key must be different from the current key.",
        )),
        Put::Missing => Err(AppError::not_found("The key")),
        Put::Set => Ok(()),
    }
}

/// What [`put_key`] did.
enum Put {
    Set,
    /// The organisation already had exactly this key.
    Unchanged,
    /// There was no key and adding one was not asked for.
    Missing,
}

/// Stores `key` as the organisation's key of `kind` (adding it if
/// `may_add` and there is none); the old key's sessions end with it. With
/// `policy` its restrictions are set; without, a replaced key keeps them
/// and an added one has none.
async fn put_key(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    key: &SecretString,
    audit: &AuditRecord,
    may_add: bool,
    policy: Option<&StoredPolicy>,
) -> Result<Put, AppError> {
    let sealed = state.secrets.seal(key, &seal_context(kind))?;
    let last4 = crypto::last4(key);
    match state.store.api_key(actor.org_id, kind).await? {
        Some(current) => {
            if open(state, kind, &current)?.expose_secret() == key.expose_secret() {
                return Ok(Put::Unchanged);
            }
            replaced(
                state
                    .store
                    .replace_api_key(actor.org_id, kind, &sealed, &last4, policy, audit)
                    .await?,
            )
        }
        None if may_add => {
            let initial = policy.cloned().unwrap_or_default();
            match state
                .store
                .insert_api_key(actor.org_id, kind, &sealed, &last4, &initial, audit)
                .await?
            {
                Ok(()) => Ok(Put::Set),
                // Added by someone else a moment ago: replace it instead.
                Err(Refusal::Conflict(_)) => replaced(
                    state
                        .store
                        .replace_api_key(actor.org_id, kind, &sealed, &last4, policy, audit)
                        .await?,
                ),
                Err(refusal) => Err(refusal.into()),
            }
        }
        None => Ok(Put::Missing),
    }
}

fn replaced(outcome: Ruled<()>) -> Result<Put, AppError> {
    match outcome {
        Ok(()) => Ok(Put::Set),
        Err(Refusal::NotFound(_)) => Ok(Put::Missing),
        Err(refusal) => Err(refusal.into()),
    }
}

/// Replaces the key with a new random one, and with `policy` sets its
/// restrictions; without, they stay.
pub async fn regenerate(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    policy: Option<&CredentialPolicy>,
) -> Result<SecretString, AppError> {
    let mut audit = actor.audit(AuditAction::Regenerate, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    let policy = checked_policy(state, actor, kind, policy).await?;
    audit.resource = with_restrictions(kind, policy.as_ref());
    let key = crypto::generate_secret(API_KEY_LEN);
    let sealed = state.secrets.seal(&key, &seal_context(kind))?;
    state
        .store
        .replace_api_key(
            actor.org_id,
            kind,
            &sealed,
            &crypto::last4(&key),
            policy.as_ref(),
            &audit,
        )
        .await??;
    Ok(key)
}

pub async fn delete(state: &AppState, actor: &Actor, kind: KeyKind) -> Result<(), AppError> {
    let audit = actor.audit(AuditAction::Delete, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    Ok(state
        .store
        .delete_api_key(actor.org_id, kind, &audit)
        .await??)
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
    Ok(state
        .store
        .insert_api_key(
            org_id,
            kind,
            &sealed,
            &crypto::last4(&key),
            &StoredPolicy::default(),
            audit,
        )
        .await??)
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

/// docs/ROLES.md: the role (and the organisation setting) allow changing the key
/// (audited if not). The states of docs/STATES.md are checked by the store, inside the
/// write (docs/STATES.md).
async fn ensure_changeable(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    audit: &AuditRecord,
) -> Result<(), AppError> {
    actor.ensure(kind.manage_permission())?;
    if may_manage(state, actor, kind).await? {
        return Ok(());
    }
    let forbidden = AppError::Forbidden {
        message: "Currently, only the provider modifies this key.".into(),
    };
    Err(refuse(state, audit.clone(), forbidden).await)
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

fn view(row: &ApiKeyRow, subscription: Subscription, calls: CallCounts) -> ApiKeyView {
    let disabled = match (row.disabled_reason(), subscription) {
        (Some(reason), _) => Some(KeyDisabled::ByProvider(reason)),
        (None, Subscription::Active) => None,
        (None, _) => Some(KeyDisabled::SubscriptionExpired),
    };
    ApiKeyView {
        policy: credential_policy::view(row.expires_at, &row.ip_allowlist, None, now_ms()),
        masked: mask(&row.last4),
        disabled,
        last_modified_by: row.modified_by.clone(),
        last_modified_on: row.modified_at,
        usage: Usage {
            last_used_on: row.last_used_at,
            last_used_from: row.last_used_ip.clone(),
            calls_1h: calls.calls_1h,
            calls_24h: calls.calls_24h,
        },
        // Filled in by `page`, which reads them.
        reveals: Vec::new(),
    }
}
