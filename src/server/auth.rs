//! Sessions and the guard every server function calls first.
//!
//! The session (tower-sessions, stored in the database so any instance can
//! serve any request) holds only the admin's id, the organisation chosen,
//! when they signed in and when its idle window was last renewed. Everything
//! else — role included — is read from the database on each request (once,
//! however many resources ask: [`ActorCache`]), so a changed role or password
//! applies at once.

use super::http::RequestMeta;
use super::now_ms;
use super::state::AppState;
use super::store::{AdminRow, AuditRecord, MembershipRow};
use crate::error::AppError;
use crate::model::{AuditAction, AuditResult, OrgSummary, Permission, Role, Viewer, category};
use leptos::prelude::use_context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tower_sessions::Session;

mod actor_cache;
mod sign_in;

pub use actor_cache::{ActorCache, actor_cache};
pub use sign_in::{sign_in, sign_in_request};

use actor_cache::forget_actor;

pub const SESSION_KEY: &str = "auth";

/// What the session stores.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SessionAuth {
    admin_id: i64,
    org_id: i64,
    signed_in_at: i64,
    /// Changes when the password changes, which ends every older session.
    password_tag: String,
}

/// The signed-in admin acting in one organisation, as the server sees them.
#[derive(Clone, Debug)]
pub struct Actor {
    pub admin_id: i64,
    pub username: String,
    pub role: Role,
    pub org_id: i64,
    pub org: OrgSummary,
    pub orgs: Vec<OrgSummary>,
    pub meta: RequestMeta,
}

impl Actor {
    /// A successful audit entry made by this admin in this organisation.
    pub fn audit(&self, action: AuditAction, sub_category: &str, resource: &str) -> AuditRecord {
        audit_record(
            &self.meta,
            &self.username,
            &self.org.short_name,
            action,
            sub_category,
            resource,
        )
    }

    /// Defence in depth for the domain functions: the guard already checked,
    /// but they are reachable from tests and the CLI too.
    pub fn ensure(&self, permission: Permission) -> Result<(), AppError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(AppError::forbidden())
        }
    }

    /// As the pages see it; `settings` give the Base URL.
    pub fn viewer(&self, settings: &super::config::Settings) -> Viewer {
        Viewer {
            username: self.username.clone(),
            role: self.role,
            org: self.org.clone(),
            orgs: self.orgs.clone(),
            base_url: settings.base_url(&self.org.short_name),
            demo_notice: super::demo::notice(settings),
        }
    }
}

/// An audit entry in the API Configuration category.
pub fn audit_record(
    meta: &RequestMeta,
    admin: &str,
    org: &str,
    action: AuditAction,
    sub_category: &str,
    resource: &str,
) -> AuditRecord {
    let category = match action {
        AuditAction::SignIn | AuditAction::SignOut => category::AUTHENTICATION,
        _ => category::API_CONFIGURATION,
    };
    AuditRecord {
        at: now_ms(),
        action,
        category: category.to_owned(),
        sub_category: sub_category.to_owned(),
        resource: resource.to_owned(),
        admin: admin.to_owned(),
        org: org.to_owned(),
        client_ip: meta.client_ip.clone(),
        interface: meta.interface,
        trace_id: meta.trace_id.clone(),
        result: AuditResult::Success,
        reason: None,
    }
}

impl AuditRecord {
    /// The same entry, recorded as a refusal or failure.
    pub fn failed(mut self, reason: &str) -> Self {
        self.result = AuditResult::Failure;
        self.reason = Some(reason.to_owned());
        self
    }
}

/// Records a refusal (the entry marked failed, with the error's code and
/// message) and hands the error back.
pub async fn refuse(state: &AppState, audit: AuditRecord, error: AppError) -> AppError {
    let record = audit.failed(&format!("{}: {}", error.code(), error));
    if let Err(e) = state.store.append_audit(&record).await {
        return e.into();
    }
    error
}

/// The request's parts, from the Leptos context of a server function/page.
fn request_parts() -> Result<axum::http::request::Parts, AppError> {
    use_context::<axum::http::request::Parts>().ok_or_else(|| {
        tracing::error!("request Parts missing from the Leptos context");
        AppError::internal()
    })
}

/// The request's audit facts.
pub fn request_meta() -> RequestMeta {
    match use_context::<axum::http::request::Parts>() {
        Some(parts) => meta_of(&parts),
        None => unknown_meta(),
    }
}

/// The audit facts `http::request_meta` left in `parts`.
fn meta_of(parts: &axum::http::request::Parts) -> RequestMeta {
    parts
        .extensions
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_else(unknown_meta)
}

pub(super) fn unknown_meta() -> RequestMeta {
    RequestMeta {
        client_ip: "unknown".into(),
        trace_id: super::http::new_trace_id(),
        interface: crate::model::Interface::AdminUi,
    }
}

fn session() -> Result<Session, AppError> {
    session_of(&request_parts()?)
}

fn session_of(parts: &axum::http::request::Parts) -> Result<Session, AppError> {
    parts.extensions.get::<Session>().cloned().ok_or_else(|| {
        tracing::error!("session layer missing");
        AppError::internal()
    })
}

fn session_error(e: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %e, "session store error");
    AppError::internal()
}

fn password_tag(password_hash: &str) -> String {
    hex::encode(&Sha256::digest(password_hash.as_bytes())[..8])
}

/// How long a signed-in session may go without renewing its idle window.
/// The session is written (and its expiry pushed to now + idle) only when it
/// changed or its last renewal is older than this, not on every page view:
/// a session so ends between `idle - interval` and `idle` after the last
/// request. Capped at a quarter of the idle window ([`idle_renewal_interval`])
/// so a short window keeps most of its length.
const IDLE_RENEWAL_INTERVAL: Duration = Duration::from_secs(60);

/// Session key: when (ms) the idle window was last renewed.
const RENEWED_KEY: &str = "renewed_at";

fn idle_renewal_interval(idle: Duration) -> Duration {
    IDLE_RENEWAL_INTERVAL.min(idle / 4)
}

/// The signed-in admin, or `Unauthorized`. Ends sessions that are past their
/// absolute lifetime or older than the admin's last password change. Loaded
/// once per request ([`ActorCache`]).
pub async fn current_actor() -> Result<Actor, AppError> {
    let parts = request_parts()?;
    let state = super::app_state()?;
    let session = session_of(&parts)?;
    let load = actor_for_session(&state, &session, meta_of(&parts));
    match parts.extensions.get::<ActorCache>() {
        Some(cache) => cache.get_or_load(load).await,
        None => load.await,
    }
}

/// [`current_actor`] for plain axum handlers, which have no Leptos context.
/// One query: the admin with all their memberships.
pub async fn actor_for_session(
    state: &AppState,
    session: &Session,
    meta: RequestMeta,
) -> Result<Actor, AppError> {
    let Some(auth) = session
        .get::<SessionAuth>(SESSION_KEY)
        .await
        .map_err(session_error)?
    else {
        return Err(AppError::unauthorized());
    };
    let expired = now_ms() - auth.signed_in_at > state.settings.session_absolute.as_millis() as i64;
    let loaded = state.store.admin_with_memberships(auth.admin_id).await?;
    let actor = match loaded {
        Some((admin, memberships))
            if !expired
                && admin.password_hash.len() > 1
                && password_tag(&admin.password_hash) == auth.password_tag =>
        {
            // `None`: removed from the organisation since signing in.
            Actor::from_rows(admin, &memberships, auth.org_id, meta)
        }
        _ => None,
    };
    let Some(actor) = actor else {
        session.flush().await.map_err(session_error)?;
        return Err(AppError::unauthorized());
    };
    renew_idle_window(session, state.settings.session_idle).await?;
    Ok(actor)
}

/// Marks the session changed, so it is saved with its expiry pushed to
/// `now + idle`, if its idle window was last renewed
/// [`idle_renewal_interval`] ago or more — or, by another instance's clock,
/// in the future.
async fn renew_idle_window(session: &Session, idle: Duration) -> Result<(), AppError> {
    let now = now_ms();
    let interval = idle_renewal_interval(idle).as_millis() as i64;
    let renewed = session
        .get::<i64>(RENEWED_KEY)
        .await
        .map_err(session_error)?;
    if renewed.is_none_or(|at| now < at || now - at >= interval) {
        session
            .insert(RENEWED_KEY, now)
            .await
            .map_err(session_error)?;
    }
    Ok(())
}

impl Actor {
    /// The admin acting in organisation `org_id`, read from the database;
    /// `None` if they have no role there.
    pub async fn load(
        state: &AppState,
        admin_id: i64,
        org_id: i64,
        meta: RequestMeta,
    ) -> Result<Option<Actor>, AppError> {
        Ok(state
            .store
            .admin_with_memberships(admin_id)
            .await?
            .and_then(|(admin, memberships)| Actor::from_rows(admin, &memberships, org_id, meta)))
    }

    /// `admin` acting in `org_id`, one of `memberships` (theirs); `None` if
    /// it is none of them.
    fn from_rows(
        admin: AdminRow,
        memberships: &[MembershipRow],
        org_id: i64,
        meta: RequestMeta,
    ) -> Option<Actor> {
        let current = memberships.iter().find(|m| m.org_id == org_id)?;
        Some(Actor {
            admin_id: admin.id,
            username: admin.username,
            role: current.role.0,
            org_id: current.org_id,
            org: summary(current),
            orgs: memberships.iter().map(summary).collect(),
            meta,
        })
    }
}

fn summary(m: &MembershipRow) -> OrgSummary {
    OrgSummary {
        short_name: m.short_name.clone(),
        name: m.name.clone(),
    }
}

/// The guard: the signed-in admin if their role in the session's organisation
/// allows `permission`; otherwise `Unauthorized` or `Forbidden` (recorded).
pub async fn require(permission: Permission) -> Result<Actor, AppError> {
    let actor = current_actor().await?;
    if actor.role.allows(permission) {
        return Ok(actor);
    }
    // Each view records its refusal: a page that did is not kept.
    super::page_cache::dont_keep();
    let state = super::app_state()?;
    let record = actor
        .audit(AuditAction::Access, permission.audit_subject(), "")
        .failed("forbidden: the role does not allow this");
    state.store.append_audit(&record).await?;
    Err(AppError::forbidden())
}

/// Moves the session to another of the admin's organisations (audited).
pub async fn switch_org(actor: &Actor, short_name: &str) -> Result<(), AppError> {
    let state = super::app_state()?;
    let session = session()?;
    let Some(target) = state
        .store
        .memberships(actor.admin_id)
        .await?
        .into_iter()
        .find(|m| m.short_name == short_name)
    else {
        // Existing or not, someone else's organisation gets the same answer.
        let record = actor
            .audit(AuditAction::Access, category::SIGN_IN, "organisation")
            .failed("forbidden: not an admin of the requested organisation");
        state.store.append_audit(&record).await?;
        return Err(AppError::Forbidden {
            message: "You are not an admin of that organisation.".into(),
        });
    };
    let Some(mut auth) = session
        .get::<SessionAuth>(SESSION_KEY)
        .await
        .map_err(session_error)?
    else {
        return Err(AppError::unauthorized());
    };
    auth.org_id = target.org_id;
    session
        .insert(SESSION_KEY, &auth)
        .await
        .map_err(session_error)?;
    forget_actor().await;
    let mut record = audit_record(
        &actor.meta,
        &actor.username,
        &target.short_name,
        AuditAction::Update,
        category::SIGN_IN,
        "organisation",
    );
    record.resource = format!(
        "switched from {} to {}",
        actor.org.short_name, target.short_name
    );
    state.store.append_audit(&record).await?;
    Ok(())
}

/// Ends the session (recorded if there was one).
pub async fn sign_out() -> Result<(), AppError> {
    let state = super::app_state()?;
    if let Ok(actor) = current_actor().await {
        state
            .store
            .append_audit(&actor.audit(AuditAction::SignOut, category::SIGN_IN, &actor.username))
            .await?;
    }
    session()?.flush().await.map_err(session_error)?;
    forget_actor().await;
    Ok(())
}

#[cfg(test)]
mod tests;
