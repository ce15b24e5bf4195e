//! The one write path: [`Store::write`] opens a transaction that serialises
//! the organisation's writers, the rules of docs/STATES.md are checked
//! *inside* it ([`AuditedTx::gate`], [`AuditedTx::gate_tokens_enabled`]),
//! and [`AuditedTx::commit`] inserts the audit entry with the change. A
//! rule that says no ends the transaction with [`AuditedTx::refuse`],
//! which records the refusal instead. A provider change that lands while a
//! write waits for the lock is therefore seen by the write.
//!
//! A new rule is a new [`Refusal`] variant (with its code and message) and
//! a gate here, called from the store function that needs it.

use super::{AuditRecord, Lock, Store, SubscriptionKind, WriteTx};
use crate::model::Subscription;

/// Why a rule refused a change. One type for the portal (`AppError`) and
/// the consumer API (`ApiError`); both keep its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 403 `subscription_expired`: visible, not changeable.
    SubscriptionExpired(SubscriptionKind),
    /// 403 `no_subscription`.
    NoSubscription,
    /// 403 `token_disabled`: the provider disabled the organisation's
    /// tokens (Add, Regenerate, Delete wait for re-enabling).
    TokensDisabled,
    /// 403 `token_disabled`: the provider disabled this API key.
    KeyDisabled,
    /// 409 `conflict`: a limit or an exclusive state, with what to do.
    Conflict(String),
    /// 400 `validation`: the field and what is wrong with it.
    Invalid {
        field: &'static str,
        message: String,
        hint: String,
    },
    /// 404 `not_found`: what was not there ("The token").
    NotFound(&'static str),
}

impl Refusal {
    /// The stable code (the JSON `code` of `AppError`).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::SubscriptionExpired(_) => "subscription_expired",
            Refusal::NoSubscription => "no_subscription",
            Refusal::TokensDisabled | Refusal::KeyDisabled => "token_disabled",
            Refusal::Conflict(_) => "conflict",
            Refusal::Invalid { .. } => "validation",
            Refusal::NotFound(_) => "not_found",
        }
    }

    /// What the admin reads.
    pub fn message(&self) -> String {
        match self {
            Refusal::SubscriptionExpired(SubscriptionKind::Sandbox) => {
                "The Sandbox subscription has expired: tokens can be viewed but not changed.".into()
            }
            Refusal::SubscriptionExpired(SubscriptionKind::Api) => {
                "The API subscription has expired: keys and authorization servers can be viewed but not changed.".into()
            }
            Refusal::NoSubscription => "A valid subscription is required.".into(),
            Refusal::KeyDisabled => "The service provider has disabled this key. Contact support or your service provider to re-enable the token.".into(),
            Refusal::TokensDisabled => "The service provider has disabled this organisation's tokens. Contact support or your service provider to re-enable the token.".into(),
            Refusal::Conflict(message) | Refusal::Invalid { message, .. } => message.clone(),
            Refusal::NotFound(what) => format!("{what} was not found."),
        }
    }

    /// Whether the audit log records it (a missing row is not a refusal
    /// of a rule, and says nothing about the organisation's state).
    fn audited(&self) -> bool {
        !matches!(self, Refusal::NotFound(_))
    }
}

/// What a store write with rules returns: the outcome, or the rule that
/// refused it (already audited). `store.f(…).await??` gives both to `?`.
pub type Ruled<T> = Result<T, Refusal>;

/// A write transaction that records its audit entry when it commits.
pub struct AuditedTx {
    tx: WriteTx,
    audit: AuditRecord,
    store: Store,
}

impl Store {
    /// The subscription gate read outside a write, to fail fast before slow
    /// work (a JWKS fetch); the write checks it again inside its transaction.
    pub async fn gate_now(
        &self,
        org_id: i64,
        kind: SubscriptionKind,
        now: i64,
    ) -> Result<Ruled<()>, sqlx::Error> {
        Ok(match self.subscription(org_id, kind, now).await? {
            Subscription::Active => Ok(()),
            Subscription::Expired => Err(Refusal::SubscriptionExpired(kind)),
            Subscription::None => Err(Refusal::NoSubscription),
        })
    }

    /// Starts the one write path: serialised on `scope` (see
    /// [`Store::begin_write`]), recording `audit` on commit.
    pub(crate) async fn write(
        &self,
        scope: Lock<'_>,
        audit: &AuditRecord,
    ) -> Result<AuditedTx, sqlx::Error> {
        Ok(AuditedTx {
            tx: self.begin_write(scope).await?,
            audit: audit.clone(),
            store: self.clone(),
        })
    }
}

impl AuditedTx {
    /// docs/STATES.md, inside the transaction: changes need an active subscription of `kind`.
    pub async fn gate(
        &mut self,
        org_id: i64,
        kind: SubscriptionKind,
        now: i64,
    ) -> Result<Ruled<()>, sqlx::Error> {
        Ok(
            match super::orgs::subscription_in(&mut self.tx, org_id, kind, now).await? {
                Subscription::Active => Ok(()),
                Subscription::Expired => Err(Refusal::SubscriptionExpired(kind)),
                Subscription::None => Err(Refusal::NoSubscription),
            },
        )
    }

    /// docs/STATES.md: Add, Regenerate and Delete wait while the provider has any of the
    /// organisation's sandbox tokens disabled.
    pub async fn gate_tokens_enabled(&mut self, org_id: i64) -> Result<Ruled<()>, sqlx::Error> {
        let (disabled,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sandbox_tokens WHERE org_id = $1 AND disabled_reason IS NOT NULL",
        )
        .bind(org_id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(if disabled > 0 {
            Err(Refusal::TokensDisabled)
        } else {
            Ok(())
        })
    }

    /// docs/STATES.md: changes to an API key wait while the provider has it disabled.
    pub async fn gate_key_enabled(
        &mut self,
        org_id: i64,
        kind: crate::model::KeyKind,
    ) -> Result<Ruled<()>, sqlx::Error> {
        let disabled: Option<(Option<String>,)> =
            sqlx::query_as("SELECT disabled_reason FROM api_keys WHERE org_id = $1 AND kind = $2")
                .bind(org_id)
                .bind(kind.as_str())
                .fetch_optional(&mut *self.tx)
                .await?;
        Ok(match disabled {
            Some((Some(_),)) => Err(Refusal::KeyDisabled),
            _ => Ok(()),
        })
    }

    /// The audit entry this transaction records (e.g. its time and admin
    /// for the changed row's Last Modified).
    pub fn audit(&self) -> &AuditRecord {
        &self.audit
    }

    /// Inserts the audit entry and commits it with the change.
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.audit.insert(&mut self.tx).await?;
        self.tx.commit().await
    }

    /// Rolls the change back and records the refusal instead; hands the
    /// refusal back for the caller's `Err`.
    pub async fn refuse<T>(self, refusal: Refusal) -> Result<Ruled<T>, sqlx::Error> {
        let AuditedTx { tx, audit, store } = self;
        drop(tx);
        if refusal.audited() {
            let record = audit.failed(&format!("{}: {}", refusal.code(), refusal.message()));
            store.append_audit(&record).await?;
        }
        Ok(Err(refusal))
    }
}

impl std::ops::Deref for AuditedTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for AuditedTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

impl From<Refusal> for crate::error::AppError {
    fn from(r: Refusal) -> Self {
        use crate::error::AppError;
        let message = r.message();
        match r {
            Refusal::SubscriptionExpired(_) => AppError::SubscriptionExpired { message },
            Refusal::NoSubscription => AppError::NoSubscription { message },
            Refusal::TokensDisabled | Refusal::KeyDisabled => AppError::TokenDisabled { message },
            Refusal::Conflict(_) => AppError::Conflict { message },
            Refusal::Invalid { field, hint, .. } => AppError::Validation {
                message,
                fields: [(field.to_owned(), hint)].into(),
            },
            Refusal::NotFound(_) => AppError::NotFound { message },
        }
    }
}
