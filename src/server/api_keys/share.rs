//! "Use this key in other organisations" (docs/PAGES.md#beyond-the-reference-portal):
//! one organisation's Cloud Service API key set in others, each decided as
//! if the admin acted there.

use super::{Put, current_key, ensure_changeable, put_key};
use crate::error::AppError;
use crate::model::{AuditAction, KeyKind, KeyShareOutcome};
use crate::server::auth::{Actor, refuse};
use crate::server::state::AppState;
use secrecy::SecretString;

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
