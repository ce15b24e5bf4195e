//! Initial provisioning: "the token/key is initially provisioned when the
//! subscription is applied". When a provider's change makes a Sandbox
//! subscription active, an organisation without a sandbox token gets one;
//! an API subscription, the Cloud Service API key and the Connector key it
//! lacks. They are created by the provider (audited as them) in the
//! subscription change's transaction, and their secrets go back once, to
//! that provider only (`store::Provision`, docs/STATES.md#subscriptions).

use super::Operator;
use crate::error::AppError;
use crate::model::{AuditAction, CredentialRef, KeyKind, Subscription, SubscriptionKind, category};
use crate::server::api_keys::FreshKey;
use crate::server::sandbox::FreshSecret;
use crate::server::state::AppState;
use crate::server::store::{AuditRecord, OrgChange, OrgRow, Provision};
use secrecy::SecretString;

/// The name of the token an activation provisions.
pub const INITIAL_TOKEN_NAME: &str = "Default";

/// A credential an activation created: its secret, for the answer to the
/// provider who made the change and nowhere else (not logged, not audited).
pub struct Provisioned {
    pub credential: CredentialRef,
    /// The token's name, or the key's kind.
    pub label: String,
    pub secret: SecretString,
}

/// Applies the subscription `change` (audited with `audit`) with the
/// credentials it provisions; what was created, with the secrets.
pub(super) async fn change_subscription(
    state: &AppState,
    op: &Operator,
    org: &OrgRow,
    change: OrgChange,
    audit: &AuditRecord,
) -> Result<Vec<Provisioned>, AppError> {
    let kind = match change {
        OrgChange::Subscription {
            kind,
            state: Subscription::Active,
            ..
        } => Some(kind),
        _ => None,
    };
    // Generated before the write, used only if the organisation has none.
    let token = match kind {
        Some(SubscriptionKind::Sandbox) => Some(FreshSecret::generate(&state.secrets)?),
        _ => None,
    };
    let keys = match kind {
        Some(SubscriptionKind::Api) => [KeyKind::CloudService, KeyKind::Connector]
            .into_iter()
            .map(|k| Ok((k, FreshKey::generate(&state.secrets, k)?)))
            .collect::<Result<Vec<_>, AppError>>()?,
        _ => Vec::new(),
    };
    let provisions = provisions(op, org, token.as_ref(), &keys);
    let created = state
        .store
        .change_subscription(org.id, change, &provisions, audit)
        .await?;
    drop(provisions);
    Ok(shown(created, token, keys))
}

/// What the store is to create: the fresh token and keys, each audited as
/// the provider.
fn provisions<'a>(
    op: &Operator,
    org: &OrgRow,
    token: Option<&'a FreshSecret>,
    keys: &'a [(KeyKind, FreshKey)],
) -> Vec<Provision<'a>> {
    let mut provisions = Vec::new();
    if let Some(fresh) = token {
        provisions.push(Provision::SandboxToken {
            name: INITIAL_TOKEN_NAME,
            secret: fresh.stored(),
            audit: op.audit(
                &org.short_name,
                AuditAction::Create,
                category::SANDBOX_API_TOKEN,
                INITIAL_TOKEN_NAME,
            ),
        });
    }
    for (kind, fresh) in keys {
        provisions.push(Provision::ApiKey {
            kind: *kind,
            sealed: &fresh.sealed,
            last4: &fresh.last4,
            audit: op.audit(
                &org.short_name,
                AuditAction::Create,
                kind.label(),
                kind.label(),
            ),
        });
    }
    provisions
}

/// The credentials the store created, each with its secret (shown once).
fn shown(
    created: Vec<CredentialRef>,
    mut token: Option<FreshSecret>,
    mut keys: Vec<(KeyKind, FreshKey)>,
) -> Vec<Provisioned> {
    created
        .into_iter()
        .filter_map(|credential| {
            let (label, secret) = match credential {
                CredentialRef::SandboxToken(_) => {
                    (INITIAL_TOKEN_NAME.to_owned(), token.take()?.secret)
                }
                CredentialRef::ApiKey(kind) => {
                    let at = keys.iter().position(|(k, _)| *k == kind)?;
                    (kind.label().to_owned(), keys.swap_remove(at).1.secret)
                }
            };
            Some(Provisioned {
                credential,
                label,
                secret,
            })
        })
        .collect()
}
