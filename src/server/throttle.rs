//! A per-address throttle for anonymous failures: consumer-API calls with
//! no live session, unknown tokens, malformed sign-ins. They are never
//! counted against an organisation's rate limit (an anonymous caller must
//! not be able to lock out the organisation's real integrations), and
//! past the limit they are refused here, before any database work.
//!
//! The counts live in this instance's memory: a throttle, not a rule that
//! must hold exactly across instances (those live in the database).

use std::collections::HashMap;
use std::sync::Mutex;

/// Addresses remembered at most; beyond it, old windows are dropped first.
const MAX_ADDRESSES: usize = 100_000;
const WINDOW_MS: i64 = 60_000;

#[derive(Debug)]
pub struct AnonymousThrottle {
    per_minute: u32,
    /// address → (start of its one-minute window, failures in it)
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl AnonymousThrottle {
    pub fn new(per_minute: u32) -> Self {
        AnonymousThrottle {
            per_minute: per_minute.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait if `address` used up its failures for this minute.
    pub fn blocked(&self, address: &str, now: i64) -> Option<u64> {
        let start = now - now.rem_euclid(WINDOW_MS);
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        match windows.get(address) {
            Some(&(s, n)) if s == start && n >= self.per_minute => {
                Some(((start + WINDOW_MS - now + 999) / 1000).max(1) as u64)
            }
            _ => None,
        }
    }

    /// Counts one anonymous failure from `address`.
    pub fn failed(&self, address: &str, now: i64) {
        let start = now - now.rem_euclid(WINDOW_MS);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= MAX_ADDRESSES && !windows.contains_key(address) {
            windows.retain(|_, (s, _)| *s == start);
            if windows.len() >= MAX_ADDRESSES {
                // Every remembered address failed this minute: forget them
                // rather than grow without bound.
                windows.clear();
            }
        }
        let entry = windows.entry(address.to_owned()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_one_address_per_minute() {
        let t = AnonymousThrottle::new(3);
        let now = 1_700_000_000_000;
        for _ in 0..3 {
            assert_eq!(t.blocked("10.0.0.1", now), None);
            t.failed("10.0.0.1", now);
        }
        assert!(t.blocked("10.0.0.1", now).is_some());
        assert_eq!(t.blocked("10.0.0.2", now), None, "other addresses go on");
        assert_eq!(t.blocked("10.0.0.1", now + WINDOW_MS), None, "a new minute");
    }
}
