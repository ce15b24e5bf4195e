//! The demo organisations and accounts (README.md#demo-accounts). Tests and demos rely
//! on exactly these names, so change them only together with the spec.

use super::http::RequestMeta;
use super::sandbox::FreshSecret;
use super::state::AppState;
use super::store::SubscriptionKind;
use super::{api_keys, auth, now_ms};
use crate::model::{AuditAction, KeyKind, Role, Subscription, category};
use secrecy::SecretString;
use std::time::Duration;

pub const DEMO_PASSWORD: &str = "Keyport-demo-1";

/// Who the seeded tokens and keys were made by, as Last Modified By and
/// the audit log show it: in a real deployment the provider issues the
/// first credentials, so the demo says so rather than naming a "system".
pub const SEEDED_BY: &str = "Provider";

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

/// When a demo wipes and re-seeds itself (`--demo-reset`,
/// `--demo-reset-every`), so visitors find it as documented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetSchedule {
    Never,
    /// Every day at this many minutes after midnight, UTC.
    DailyAt(u32),
    /// This long after the start, and again each time.
    Every(Duration),
}

const DAY_MINUTES: u32 = 24 * 60;

impl ResetSchedule {
    /// `--demo-reset`'s default: every night at 03:00 UTC.
    pub const NIGHTLY: ResetSchedule = ResetSchedule::DailyAt(3 * 60);

    /// `nightly` (03:00 UTC), `HH:MM` (every day then, UTC) or `never`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "nightly" => return Ok(Self::NIGHTLY),
            "never" | "off" => return Ok(Self::Never),
            _ => {}
        }
        let parsed = s.split_once(':').and_then(|(h, m)| {
            let two_digits = |v: &str| v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit());
            if !two_digits(h) || !two_digits(m) {
                return None;
            }
            let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        });
        parsed
            .map(Self::DailyAt)
            .ok_or_else(|| format!("`{s}`: use nightly, never or a UTC time like 03:00"))
    }

    /// The first reset strictly after `now_ms` (epoch milliseconds), or
    /// `None` when it never resets.
    pub fn next_after(self, now_ms: i64) -> Option<i64> {
        match self {
            ResetSchedule::Never => None,
            ResetSchedule::Every(every) => {
                Some(now_ms.saturating_add(i64::try_from(every.as_millis()).unwrap_or(i64::MAX)))
            }
            ResetSchedule::DailyAt(minute) => {
                let day_ms = i64::from(DAY_MINUTES) * 60_000;
                let midnight = now_ms.div_euclid(day_ms) * day_ms;
                let today = midnight + i64::from(minute.min(DAY_MINUTES - 1)) * 60_000;
                Some(if today > now_ms {
                    today
                } else {
                    today + day_ms
                })
            }
        }
    }

    /// How the demo banners say it: "reset nightly at 03:00 UTC", "reset
    /// daily at 05:30 UTC", "reset every 6h"; `None` when it never resets.
    pub fn describe(self) -> Option<String> {
        match self {
            ResetSchedule::Never => None,
            ResetSchedule::DailyAt(minute) => {
                let when = format!("{:02}:{:02} UTC", minute / 60, minute % 60);
                Some(if self == Self::NIGHTLY {
                    format!("reset nightly at {when}")
                } else {
                    format!("reset daily at {when}")
                })
            }
            ResetSchedule::Every(every) => {
                let secs = every.as_secs();
                let every = match secs {
                    s if s % 86_400 == 0 => format!("{}d", s / 86_400),
                    s if s % 3_600 == 0 => format!("{}h", s / 3_600),
                    s if s % 60 == 0 => format!("{}m", s / 60),
                    s => format!("{s}s"),
                };
                Some(format!("reset every {every}"))
            }
        }
    }
}

/// The banner a demo shows on every page: "Demo data — reset nightly at
/// 03:00 UTC." (`None` outside a demo).
pub fn notice(settings: &super::config::Settings) -> Option<String> {
    let schedule = settings.demo_reset?;
    Some(match schedule.describe() {
        Some(when) => format!("Demo data — {when}."),
        None => "Demo data.".to_owned(),
    })
}

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

/// Wipes everything and seeds the demo afresh (the [`ResetSchedule`]).
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
            SEEDED_BY,
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
        SEEDED_BY,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-22 at `h:m:s` UTC, in epoch milliseconds.
    fn at(h: i64, m: i64, s: i64) -> i64 {
        1_795_305_600_000 + ((h * 60 + m) * 60 + s) * 1000
    }

    #[test]
    fn nightly_is_the_next_three_o_clock_utc() {
        assert_eq!(at(0, 0, 0) % 86_400_000, 0, "the helper starts at midnight");
        let nightly = ResetSchedule::NIGHTLY;
        assert_eq!(nightly.next_after(at(2, 59, 59)), Some(at(3, 0, 0)));
        // At 03:00 exactly the reset is happening: the next is tomorrow's.
        assert_eq!(nightly.next_after(at(3, 0, 0)), Some(at(27, 0, 0)));
        assert_eq!(nightly.next_after(at(23, 30, 0)), Some(at(27, 0, 0)));
        assert_eq!(nightly.next_after(at(0, 0, 0)), Some(at(3, 0, 0)));
        let evening = ResetSchedule::parse("21:15").unwrap();
        assert_eq!(evening.next_after(at(12, 0, 0)), Some(at(21, 15, 0)));
        assert_eq!(
            ResetSchedule::Every(Duration::from_secs(3600)).next_after(at(12, 0, 0)),
            Some(at(13, 0, 0))
        );
        assert_eq!(ResetSchedule::Never.next_after(at(12, 0, 0)), None);
    }

    #[test]
    fn schedules_parse_and_describe_themselves() {
        assert_eq!(ResetSchedule::parse("nightly"), Ok(ResetSchedule::NIGHTLY));
        assert_eq!(ResetSchedule::parse("03:00"), Ok(ResetSchedule::NIGHTLY));
        assert_eq!(ResetSchedule::parse("never"), Ok(ResetSchedule::Never));
        for bad in ["24:00", "3:00", "03:60", "noon", "", "03:00:00", "-1:00"] {
            assert!(ResetSchedule::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ResetSchedule::NIGHTLY.describe().as_deref(),
            Some("reset nightly at 03:00 UTC")
        );
        assert_eq!(
            ResetSchedule::parse("05:30").unwrap().describe().as_deref(),
            Some("reset daily at 05:30 UTC")
        );
        assert_eq!(
            ResetSchedule::Every(Duration::from_secs(6 * 3600))
                .describe()
                .as_deref(),
            Some("reset every 6h")
        );
        assert_eq!(ResetSchedule::Never.describe(), None);
    }
}
