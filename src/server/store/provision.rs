//! A provider's subscription change, with the credentials its activation
//! provisions: "the token/key is initially provisioned when the
//! subscription is applied". The change, each credential created and each
//! audit entry commit in one transaction, so an activation never leaves an
//! organisation half provisioned, and a credential the organisation added
//! meanwhile is seen (and not doubled).

use super::api_keys::insert_key_row;
use super::orgs::{OrgChange, apply, subscription_in};
use super::sandbox::insert_token_row;
use super::{AuditRecord, Lock, SealedSecret, Store};
use crate::model::{CredentialRef, KeyKind, Subscription};
use crate::server::credential_policy::StoredPolicy;

/// A credential to create when the change activates the subscription and
/// the organisation has none of its kind. `audit` is its own entry (Create,
/// by the provider), recorded only if it is created.
pub enum Provision<'a> {
    /// The first Sandbox API token, when the organisation has no token.
    SandboxToken {
        name: &'a str,
        secret: SealedSecret<'a>,
        audit: AuditRecord,
    },
    /// The key of `kind`, when the organisation has none.
    ApiKey {
        kind: KeyKind,
        sealed: &'a [u8],
        last4: &'a str,
        audit: AuditRecord,
    },
}

impl Store {
    /// Sets a subscription (as [`Store::change_org`] does) and, when this
    /// makes it active — it was none or expired at `audit.at` — creates
    /// each of `provisions` the organisation has none of. Re-saving an
    /// active subscription (a new end date) creates nothing: an
    /// organisation that deleted its token meant it. Returns what was
    /// created.
    pub async fn change_subscription(
        &self,
        org_id: i64,
        change: OrgChange,
        provisions: &[Provision<'_>],
        audit: &AuditRecord,
    ) -> Result<Vec<CredentialRef>, sqlx::Error> {
        let mut tx = self.write(Lock::Org(org_id), audit).await?;
        let activates = match change {
            OrgChange::Subscription {
                kind,
                state: Subscription::Active,
                expires_at,
            } => {
                let before = subscription_in(&mut tx, org_id, kind, audit.at).await?;
                // An end date already past activates nothing.
                before != Subscription::Active && expires_at.is_none_or(|t| t > audit.at)
            }
            _ => false,
        };
        apply(&mut tx, org_id, change).await?;
        let mut created = Vec::new();
        if activates {
            for provision in provisions {
                if let Some(credential) = provide(&mut tx, org_id, provision).await? {
                    created.push(credential);
                }
            }
        }
        tx.commit().await?;
        Ok(created)
    }
}

/// Creates `provision` if the organisation has none of its kind, with its
/// audit entry, on the caller's transaction.
async fn provide(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    provision: &Provision<'_>,
) -> Result<Option<CredentialRef>, sqlx::Error> {
    let (created, audit) = match provision {
        Provision::SandboxToken {
            name,
            secret,
            audit,
        } => (
            provide_token(conn, org_id, name, secret, audit)
                .await?
                .map(CredentialRef::SandboxToken),
            audit,
        ),
        Provision::ApiKey {
            kind,
            sealed,
            last4,
            audit,
        } => (
            insert_key_row(
                conn,
                org_id,
                *kind,
                sealed,
                last4,
                &StoredPolicy::default(),
                audit,
            )
            .await?
            .then_some(CredentialRef::ApiKey(*kind)),
            audit,
        ),
    };
    if created.is_some() {
        audit.insert(conn).await?;
    }
    Ok(created)
}

/// The organisation's first sandbox token, unless it has one: its id.
async fn provide_token(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    name: &str,
    secret: &SealedSecret<'_>,
    audit: &AuditRecord,
) -> Result<Option<i64>, sqlx::Error> {
    let (existing,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sandbox_tokens WHERE org_id = $1")
            .bind(org_id)
            .fetch_one(&mut *conn)
            .await?;
    if existing > 0 {
        return Ok(None);
    }
    let policy = StoredPolicy::default();
    insert_token_row(conn, org_id, name, secret, &policy, audit)
        .await
        .map(Some)
}
