//! The rules of the two 12-character API keys (docs/PAGES.md#cloud-service-api-key, #api-key-management, docs/STATES.md):
//! one key per organisation and kind, typed or generated, and every change
//! ends the API sessions made with the old key in the same transaction.

use super::auth::{Actor, refuse};
use super::credential_policy::{self, CredentialKind, StoredPolicy};
use super::crypto;
use super::now_ms;
use super::state::AppState;
use super::store::{
    ApiKeyRow, AuditRecord, CallCounts, Credential, Refusal, Ruled, SubscriptionKind,
};
use crate::error::AppError;
use crate::model::{
    API_KEY_LEN, ApiKeyPage, ApiKeyView, AuditAction, CredentialPolicy, KeyDisabled, KeyKind,
    KeyShareOutcome, Permission, REVEALS_LISTED, RevealEntry, Role, Subscription, Usage, mask,
    validate_api_key,
};
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

/// "Use this key in other organisations" (docs/PAGES.md#beyond-the-reference-portal): sets this
/// organisation's Cloud Service API key in each of `targets`, one result
/// per organisation. Each is decided as if the admin acted there: their
/// role in it (from the database), its subscription and its provider state.
pub async fn share(
    state: &AppState,
    actor: &Actor,
    targets: &[String],
) -> Result<Vec<KeyShareOutcome>, AppError> {
    let kind = KeyKind::CloudService;
    actor.ensure(kind.manage_permission())?;
    let (_, key) = current_key(state, actor.org_id, kind)
        .await?
        .ok_or_else(|| AppError::not_found("This organisation's key"))?;
    let memberships = state.store.memberships(actor.admin_id).await?;
    let mut seen = std::collections::BTreeSet::new();
    let mut outcomes = Vec::new();
    for short_name in targets {
        if *short_name == actor.org.short_name || !seen.insert(short_name.as_str()) {
            continue;
        }
        let membership = memberships.iter().find(|m| &m.short_name == short_name);
        let target = match membership {
            Some(m) => Actor::load(state, actor.admin_id, m.org_id, actor.meta.clone()).await?,
            None => None,
        };
        let Some(target) = target else {
            // Not theirs: refused without saying whether it exists.
            let record = actor
                .audit(AuditAction::Update, kind.label(), short_name)
                .failed("forbidden: not an admin of that organisation");
            state.store.append_audit(&record).await?;
            outcomes.push(KeyShareOutcome {
                org: crate::model::OrgSummary {
                    short_name: short_name.clone(),
                    name: short_name.clone(),
                },
                ok: false,
                message: "You are not an admin of this organisation.".into(),
            });
            continue;
        };
        let outcome = share_into(state, &target, &key).await;
        outcomes.push(KeyShareOutcome {
            org: target.org.clone(),
            ok: outcome.is_ok(),
            message: match outcome {
                Ok(message) => message.to_owned(),
                Err(e) => e.to_string(),
            },
        });
    }
    Ok(outcomes)
}

async fn share_into(
    state: &AppState,
    target: &Actor,
    key: &SecretString,
) -> Result<&'static str, AppError> {
    let kind = KeyKind::CloudService;
    let mut audit = target.audit(AuditAction::Update, kind.label(), kind.label());
    audit.resource = format!("{} (shared key)", kind.label());
    if !target.role.allows(kind.manage_permission()) {
        return Err(refuse(state, audit, AppError::forbidden()).await);
    }
    ensure_changeable(state, target, kind, &audit).await?;
    match put_key(state, target, kind, key, &audit, true, None).await? {
        Put::Set => Ok("Key set. The previous key and its API sessions no longer work."),
        Put::Unchanged => Ok("Already uses this key."),
        Put::Missing => Err(AppError::not_found("The key")),
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

/// Sets the key's restrictions (docs/PAGES.md#credential-restrictions), the key itself
/// unchanged. Its sessions stay, and each of their calls meets the new
/// restrictions. A wrong restriction changes nothing.
pub async fn set_policy(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    policy: &CredentialPolicy,
) -> Result<(), AppError> {
    let mut audit = actor.audit(AuditAction::Update, kind.label(), kind.label());
    ensure_changeable(state, actor, kind, &audit).await?;
    let policy = checked_policy(state, actor, kind, Some(policy))
        .await?
        .unwrap_or_default();
    audit.resource = with_restrictions(kind, Some(&policy));
    Ok(state
        .store
        .set_api_key_policy(actor.org_id, kind, &policy, &audit)
        .await??)
}

/// "Who looked" (docs/PAGES.md#credential-restrictions): the newest reveals of the
/// organisation's key of `kind` since it was added, from the audit log —
/// who, when and from where; never the key.
pub async fn reveals(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
) -> Result<Vec<RevealEntry>, AppError> {
    actor.ensure(Permission::ViewApiConfiguration)?;
    let row = existing(state, actor, kind).await?;
    reveals_of(state, actor, kind, &row).await
}

/// The reveals of the key of `kind` in `row`, since it was added.
async fn reveals_of(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    row: &ApiKeyRow,
) -> Result<Vec<RevealEntry>, AppError> {
    let rows = state
        .store
        .reveals(
            &actor.org.short_name,
            kind.label(),
            kind.label(),
            row.created_at,
            REVEALS_LISTED,
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(admin, at, client_ip)| RevealEntry {
            admin,
            at,
            client_ip,
        })
        .collect())
}

/// A form's restrictions, checked against the organisation's key of
/// `kind` as it is (its expiry sent back unchanged is kept); a daily cap
/// is refused: it is for sandbox tokens.
async fn checked_policy(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    policy: Option<&CredentialPolicy>,
) -> Result<Option<StoredPolicy>, AppError> {
    let Some(policy) = policy else {
        return Ok(None);
    };
    let stored = match state.store.api_key(actor.org_id, kind).await? {
        Some(row) => row.expires_at,
        None => None,
    };
    credential_policy::validate(policy, CredentialKind::ApiKey, stored, now_ms()).map(Some)
}

/// The audit resource of a change: the key's label, and the restrictions
/// it was given (none secret).
fn with_restrictions(kind: KeyKind, policy: Option<&StoredPolicy>) -> String {
    match policy {
        None => kind.label().to_owned(),
        Some(p) => format!("{} ({})", kind.label(), credential_policy::summary(p)),
    }
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
