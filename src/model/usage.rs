//! Usage you can see (docs/PAGES.md#beyond-the-reference-portal): when and from where a credential was
//! last used, how many calls it served, and the organisation's daily quota.

use super::format_timestamp;
use serde::{Deserialize, Serialize};

/// A token's or key's recent use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Epoch milliseconds of the last call it served.
    pub last_used_on: Option<i64>,
    /// The client address of that call.
    pub last_used_from: Option<String>,
    pub calls_1h: i64,
    pub calls_24h: i64,
}

impl Usage {
    /// The Last Used cell: `2026-11-22 06:04:53 UTC from 10.0.0.7`, or `Never`.
    pub fn last_used_label(&self) -> String {
        match (self.last_used_on, &self.last_used_from) {
            (Some(at), Some(from)) => format!("{} from {from}", format_timestamp(at)),
            (Some(at), None) => format_timestamp(at),
            (None, _) => "Never".to_owned(),
        }
    }

    /// What the Regenerate and Delete dialogs say before the admin acts.
    pub fn blast_radius(&self) -> String {
        let calls = match self.calls_1h {
            0 => "no calls".to_owned(),
            1 => "1 call".to_owned(),
            n => format!("{n} calls"),
        };
        match self.last_used_on {
            None => "It has never been used.".to_owned(),
            Some(_) => format!(
                "Last used {}. It served {calls} in the last hour.",
                self.last_used_label()
            ),
        }
    }
}

/// Share of the daily allowance from which the quota meter warns.
pub const QUOTA_WARN_PERCENT: i64 = 80;

/// The organisation's Sandbox submissions today against its daily allowance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub used: i64,
    pub allowed: i64,
}

impl Quota {
    /// Whole percent used, 0 to 100.
    pub fn percent(self) -> i64 {
        if self.allowed <= 0 {
            return 100;
        }
        (self.used * 100 / self.allowed).clamp(0, 100)
    }

    /// From 80 % on, the page warns that the tokens will soon be disabled.
    pub fn warns(self) -> bool {
        self.allowed <= 0 || self.used * 100 >= self.allowed * QUOTA_WARN_PERCENT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_warns_from_eighty_percent() {
        assert!(
            !Quota {
                used: 79,
                allowed: 100
            }
            .warns()
        );
        assert!(
            Quota {
                used: 80,
                allowed: 100
            }
            .warns()
        );
        assert!(
            !Quota {
                used: 3,
                allowed: 4
            }
            .warns()
        );
        assert!(
            Quota {
                used: 4,
                allowed: 5
            }
            .warns()
        );
        assert_eq!(
            Quota {
                used: 150,
                allowed: 100
            }
            .percent(),
            100
        );
        assert!(
            Quota {
                used: 0,
                allowed: 0
            }
            .warns()
        );
    }

    #[test]
    fn blast_radius_reads_naturally() {
        assert_eq!(Usage::default().blast_radius(), "It has never been used.");
        let used = Usage {
            last_used_on: Some(0),
            last_used_from: Some("10.0.0.7".into()),
            calls_1h: 1,
            calls_24h: 3,
        };
        assert_eq!(
            used.blast_radius(),
            "Last used 1970-01-01 00:00:00 UTC from 10.0.0.7. It served 1 call in the last hour."
        );
    }
}
