//! Restrictions an admin puts on one credential (docs/PAGES.md#credential-restrictions):
//! an expiry date, an IP allowlist and, for sandbox tokens, a daily cap —
//! what the Add and Edit forms send, what a row shows, and who revealed it.
//! The server checks them (`server::credential_policy`); these types only
//! carry them.

use super::format_timestamp;
use serde::{Deserialize, Serialize};

/// From this close to its expiry a row warns ("Expires in N days").
pub const EXPIRY_WARN_DAYS: i64 = 7;
/// The furthest ahead an expiry may be set, in days (two years).
pub const EXPIRY_MAX_DAYS: i64 = 730;
/// The most blocks an allowlist holds.
pub const ALLOWLIST_MAX_ENTRIES: usize = 32;
/// The most reveals "Who looked" lists.
pub const REVEALS_LISTED: i64 = 10;

const DAY_MS: i64 = 24 * 3_600_000;

/// The restrictions as the forms send them. Each field is what the admin
/// chose, not a change: a form always sends all of them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialPolicy {
    /// Epoch milliseconds from which the credential stops working; `None`:
    /// it never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Addresses and CIDR blocks (IPv4, IPv6) separated by commas, spaces
    /// or new lines, as typed; empty: any address.
    #[serde(default)]
    pub ip_allowlist: String,
    /// Sandbox tokens only: the most submissions the token makes per day
    /// (from midnight UTC); `None`: only the organisation's allowance.
    #[serde(default)]
    pub daily_cap: Option<i64>,
}

/// The restrictions as a row shows them (computed by the server when the
/// page is read, so the server's and the browser's HTML agree).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub expiry: Expiry,
    /// Normalised blocks (`10.0.0.0/8`, `2001:db8::/32`); empty: any address.
    pub ip_allowlist: Vec<String>,
    /// Sandbox tokens only.
    pub daily_cap: Option<i64>,
}

impl PolicyView {
    /// The form's starting values for this credential.
    pub fn form(&self) -> CredentialPolicy {
        CredentialPolicy {
            expires_at: self.expiry.at(),
            ip_allowlist: self.ip_allowlist.join("\n"),
            daily_cap: self.daily_cap,
        }
    }

    /// The allowlist cell: the blocks, or "Any address".
    pub fn allowlist_label(&self) -> String {
        if self.ip_allowlist.is_empty() {
            "Any address".to_owned()
        } else {
            self.ip_allowlist.join(", ")
        }
    }
}

/// Where a credential stands against its expiry date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiry {
    #[default]
    Never,
    /// More than [`EXPIRY_WARN_DAYS`] away.
    On(i64),
    /// Within [`EXPIRY_WARN_DAYS`]: `days` left, rounded up.
    Soon { at: i64, days: i64 },
    /// The credential stopped working at this time.
    Expired(i64),
}

impl Expiry {
    /// The state of an expiry at `expires_at` (epoch ms) seen at `now`.
    pub fn of(expires_at: Option<i64>, now: i64) -> Self {
        match expires_at {
            None => Expiry::Never,
            Some(at) if at <= now => Expiry::Expired(at),
            Some(at) if at - now <= EXPIRY_WARN_DAYS * DAY_MS => Expiry::Soon {
                at,
                days: (at - now + DAY_MS - 1) / DAY_MS,
            },
            Some(at) => Expiry::On(at),
        }
    }

    pub fn at(self) -> Option<i64> {
        match self {
            Expiry::Never => None,
            Expiry::On(at) | Expiry::Soon { at, .. } | Expiry::Expired(at) => Some(at),
        }
    }

    /// The Expires cell.
    pub fn label(self) -> String {
        match self {
            Expiry::Never => "Never".to_owned(),
            Expiry::On(at) => format_timestamp(at),
            Expiry::Soon { at, .. } => format!(
                "{} ({})",
                format_timestamp(at),
                self.warning().unwrap_or_default()
            ),
            Expiry::Expired(at) => format!("Expired {}", format_timestamp(at)),
        }
    }

    /// What the row warns, if anything: "Expires in 3 days", "Expired".
    pub fn warning(self) -> Option<String> {
        match self {
            Expiry::Never | Expiry::On(_) => None,
            Expiry::Soon { days: 1, .. } => Some("Expires in 1 day".to_owned()),
            Expiry::Soon { days, .. } => Some(format!("Expires in {days} days")),
            Expiry::Expired(_) => Some("Expired".to_owned()),
        }
    }

    pub fn is_expired(self) -> bool {
        matches!(self, Expiry::Expired(_))
    }
}

/// A date input's value (`2027-01-31`) as the expiry it means: that day at
/// 00:00 UTC, in epoch milliseconds. `None` for anything that is not a date.
pub fn expiry_from_date(date: &str) -> Option<i64> {
    let mut parts = date.trim().splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp() * 1000)
}

/// An expiry as a date input's value (`2027-01-31`, UTC).
pub fn date_of_expiry(expires_at: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(expires_at.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// One reveal of a secret, as "Who looked" lists it (from the audit log;
/// never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealEntry {
    pub admin: String,
    /// Epoch milliseconds.
    pub at: i64,
    pub client_ip: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_warns_from_seven_days_and_says_expired() {
        let now = 1_000 * DAY_MS;
        assert_eq!(Expiry::of(None, now), Expiry::Never);
        assert_eq!(Expiry::of(Some(now + 8 * DAY_MS), now).warning(), None);
        assert_eq!(
            Expiry::of(Some(now + 7 * DAY_MS), now).warning().as_deref(),
            Some("Expires in 7 days")
        );
        assert_eq!(
            Expiry::of(Some(now + 2 * DAY_MS + 1), now)
                .warning()
                .as_deref(),
            Some("Expires in 3 days")
        );
        assert_eq!(
            Expiry::of(Some(now + 1), now).warning().as_deref(),
            Some("Expires in 1 day")
        );
        assert!(Expiry::of(Some(now), now).is_expired());
        assert_eq!(
            Expiry::of(Some(now - 1), now).warning().as_deref(),
            Some("Expired")
        );
    }

    #[test]
    fn dates_round_trip() {
        let at = expiry_from_date("2027-01-31").unwrap();
        assert_eq!(format_timestamp(at), "2027-01-31 00:00:00 UTC");
        assert_eq!(date_of_expiry(at), "2027-01-31");
        for bad in [
            "",
            "2027-02-30",
            "2027-13-01",
            "tomorrow",
            "2027-01",
            "2027-01-31-1",
        ] {
            assert_eq!(expiry_from_date(bad), None, "{bad}");
        }
    }
}
