//! A key's restrictions (docs/PAGES.md#credential-restrictions): setting
//! them, checking a form's, and "Who looked" from the audit log.

use super::{ensure_changeable, existing};
use crate::error::AppError;
use crate::model::{AuditAction, CredentialPolicy, KeyKind, Permission, RevealEntry};
use crate::server::auth::Actor;
use crate::server::credential_policy::{self, CredentialKind, StoredPolicy};
use crate::server::now_ms;
use crate::server::state::AppState;
use crate::server::store::ApiKeyRow;

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
pub(super) async fn reveals_of(
    state: &AppState,
    actor: &Actor,
    kind: KeyKind,
    row: &ApiKeyRow,
) -> Result<Vec<RevealEntry>, AppError> {
    Ok(state
        .store
        .reveals(
            &actor.org.short_name,
            kind.label(),
            kind.label(),
            row.created_at,
        )
        .await?)
}

/// A form's restrictions, checked against the organisation's key of
/// `kind` as it is (its expiry sent back unchanged is kept); a daily cap
/// is refused: it is for sandbox tokens.
pub(super) async fn checked_policy(
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
pub(super) fn with_restrictions(kind: KeyKind, policy: Option<&StoredPolicy>) -> String {
    match policy {
        None => kind.label().to_owned(),
        Some(p) => format!("{} ({})", kind.label(), credential_policy::summary(p)),
    }
}
