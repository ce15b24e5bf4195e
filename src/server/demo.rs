//! The demo organisations and accounts (README.md#demo-accounts). Tests and demos rely
//! on exactly these names, so change them only together with the spec.

use super::http::RequestMeta;
use super::sandbox::FreshSecret;
use super::state::AppState;
use super::store::SubscriptionKind;
use super::{api_keys, auth, now_ms};
use crate::model::{AuditAction, KeyKind, Role, Subscription, category};
use secrecy::SecretString;

pub const DEMO_PASSWORD: &str = "Keyport-demo-1";

/// The demo accounts, for the seed and the sign-in page's banner.
pub const ACCOUNTS: [(&str, &[(&str, Role)]); 7] = [
    ("super@acme.example", &[("acme", Role::SuperAdmin)]),
    ("api@acme.example", &[("acme", Role::ApiAdmin)]),
    ("readonly@acme.example", &[("acme", Role::ReadOnlyAdmin)]),
    (
        "connector@acme.example",
        &[("acme", Role::CloudConnectorAdmin)],
    ),
    ("api@globex.example", &[("globex", Role::ApiAdmin)]),
    (
        "multi@example.com",
        &[("acme", Role::ApiAdmin), ("globex", Role::ApiAdmin)],
    ),
    (
        "provider@keyport.example",
        &[("acme", Role::Provider), ("globex", Role::Provider)],
    ),
];

/// Seeds the demo if the database has no organisation yet. Returns whether it did.
pub async fn seed_if_empty(
    state: &AppState,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    if state.store.count_orgs().await? > 0 {
        return Ok(false);
    }
    seed(state).await?;
    Ok(true)
}

/// Wipes everything and seeds the demo afresh (the `--demo-reset-every` timer).
pub async fn reset(state: &AppState) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    state.store.wipe().await?;
    seed(state).await
}

async fn seed(state: &AppState) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let store = &state.store;
    let now = now_ms();
    let acme = store.create_org("acme", "Acme Corp", now).await?;
    let globex = store.create_org("globex", "Globex", now).await?;
    store
        .set_subscription(acme, SubscriptionKind::Sandbox, Subscription::Active, None)
        .await?;
    store
        .set_subscription(acme, SubscriptionKind::Api, Subscription::Active, None)
        .await?;
    // globex's Sandbox subscription expires once its token exists (tokens
    // are only added under an active one).
    store
        .set_subscription(
            globex,
            SubscriptionKind::Sandbox,
            Subscription::Active,
            None,
        )
        .await?;
    store
        .set_subscription(globex, SubscriptionKind::Api, Subscription::Active, None)
        .await?;

    for (username, memberships) in ACCOUNTS {
        let hash = state.hasher.hash(SecretString::from(DEMO_PASSWORD)).await?;
        let id = store.create_admin(username, &hash, now).await?;
        for (org, role) in memberships {
            let org_id = if *org == "acme" { acme } else { globex };
            store.add_membership(id, org_id, *role).await?;
        }
    }

    for (org_id, org, name) in [
        (acme, "acme", "Primary"),
        (acme, "acme", "CI pipeline"),
        (globex, "globex", "Primary"),
    ] {
        seed_token(state, org_id, org, name).await?;
    }
    store
        .set_subscription(
            globex,
            SubscriptionKind::Sandbox,
            Subscription::Expired,
            None,
        )
        .await?;
    seed_api_keys(state, acme).await?;
    tracing::info!("seeded the demo organisations acme and globex");
    Ok(())
}

/// acme's Cloud Service and connector keys.
async fn seed_api_keys(
    state: &AppState,
    acme: i64,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    for kind in [KeyKind::CloudService, KeyKind::Connector] {
        let audit = auth::audit_record(
            &RequestMeta::cli(),
            "system",
            "acme",
            AuditAction::Create,
            kind.label(),
            kind.label(),
        );
        api_keys::seed(state, acme, kind, &audit).await?;
    }
    Ok(())
}

async fn seed_token(
    state: &AppState,
    org_id: i64,
    org: &str,
    name: &str,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let fresh = FreshSecret::generate(&state.secrets)?;
    let audit = auth::audit_record(
        &RequestMeta::cli(),
        "system",
        org,
        AuditAction::Create,
        category::SANDBOX_API_TOKEN,
        name,
    );
    match state
        .store
        .insert_sandbox_token(org_id, name, fresh.stored(), &Default::default(), &audit)
        .await?
    {
        Ok(_) => Ok(()),
        Err(refusal) => Err(format!("seeding token {name}: {}", refusal.message()).into()),
    }
}
