//! The organisation's rate limits (docs/CONSUMER-API.md#rate-limits): fixed
//! windows of a second and of an hour, both kept in one row per
//! organisation and class of requests (`api_rate_limits`) and counted by one
//! conditional UPSERT. The row's own lock is the only one taken, so the
//! limits hold exactly across instances while other organisations, and the
//! organisation's other writers, go on.
//!
//! A refusal is remembered in this process until its window ends
//! ([`DenyMemo`]): a full window cannot empty before its end, so the 429s
//! that follow are answered without database work and are still exact. It
//! is kept under the organisation's short name, which every consumer-API
//! path carries, so it is consulted before the credential is even read.

use super::{OrgRow, Store};
use crate::server::HOUR_MS;
use sqlx::AnyConnection;
use std::collections::HashMap;
use std::sync::Mutex;

const SECOND_MS: i64 = 1_000;

/// One class of an organisation's requests and its two limits: at most
/// `per_second` requests in each fixed second and `per_hour` in each fixed
/// hour (UTC), counted in the row `(org_id, class)` of `api_rate_limits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub class: &'static str,
    pub per_second: i64,
    pub per_hour: i64,
}

/// Entries kept before expired ones are swept out.
const MEMO_SWEEP_AT: usize = 4_096;

/// Refusals of this process, per organisation (short name) and class:
/// refused until this time (ms).
#[derive(Debug, Default)]
pub(super) struct DenyMemo(Mutex<HashMap<(String, &'static str), i64>>);

impl DenyMemo {
    /// Seconds to wait, if a refusal at `now` is already known.
    fn refused(&self, org: &str, class: &'static str, now: i64) -> Option<u64> {
        let memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        memo.get(&(org.to_owned(), class))
            .filter(|&&until| until > now)
            .map(|&until| wait_seconds(until, now))
    }

    fn remember(&self, org: &str, class: &'static str, until: i64, now: i64) {
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= MEMO_SWEEP_AT {
            memo.retain(|_, &mut t| t > now);
        }
        memo.insert((org.to_owned(), class), until);
    }
}

/// Whole seconds from `now` to `until`, at least 1 (`Retry-After`).
fn wait_seconds(until: i64, now: i64) -> u64 {
    ((until - now + 999) / 1000).max(1) as u64
}

/// Counts one request in both windows, or neither: the UPDATE's condition
/// is that each window has either rolled over or has room. A window rolls
/// over only forwards, so a request whose clock reads a little earlier than
/// the row's is counted in the newer window, never resets it.
const COUNT: &str = "INSERT INTO api_rate_limits (org_id, class, second_start, second_count, hour_start, hour_count)
     VALUES ($1, $2, $3, 1, $4, 1)
     ON CONFLICT (org_id, class) DO UPDATE SET
       second_count = CASE WHEN excluded.second_start > api_rate_limits.second_start THEN 1 ELSE api_rate_limits.second_count + 1 END,
       second_start = CASE WHEN excluded.second_start > api_rate_limits.second_start THEN excluded.second_start ELSE api_rate_limits.second_start END,
       hour_count = CASE WHEN excluded.hour_start > api_rate_limits.hour_start THEN 1 ELSE api_rate_limits.hour_count + 1 END,
       hour_start = CASE WHEN excluded.hour_start > api_rate_limits.hour_start THEN excluded.hour_start ELSE api_rate_limits.hour_start END
     WHERE (excluded.second_start > api_rate_limits.second_start OR api_rate_limits.second_count < $5)
       AND (excluded.hour_start > api_rate_limits.hour_start OR api_rate_limits.hour_count < $6)
     RETURNING second_count";

/// Counts a request at `now` on `conn` (a pooled connection, or the
/// caller's transaction). `Err(until)`: a window is full until then, and
/// nothing was counted.
pub(super) async fn count(
    conn: &mut AnyConnection,
    org_id: i64,
    now: i64,
    limit: &RateLimit,
) -> Result<Result<(), i64>, sqlx::Error> {
    let second = now - now.rem_euclid(SECOND_MS);
    let hour = now - now.rem_euclid(HOUR_MS);
    if limit.per_hour <= 0 {
        return Ok(Err(hour + HOUR_MS));
    }
    if limit.per_second <= 0 {
        return Ok(Err(second + SECOND_MS));
    }
    let counted: Option<(i64,)> = sqlx::query_as(COUNT)
        .bind(org_id)
        .bind(limit.class)
        .bind(second)
        .bind(hour)
        .bind(limit.per_second)
        .bind(limit.per_hour)
        .fetch_optional(&mut *conn)
        .await?;
    if counted.is_some() {
        return Ok(Ok(()));
    }
    // Refused: which window is full says how long to wait.
    let (row_second, row_hour, hour_count): (i64, i64, i64) = sqlx::query_as(
        "SELECT second_start, hour_start, hour_count FROM api_rate_limits WHERE org_id = $1 AND class = $2",
    )
    .bind(org_id)
    .bind(limit.class)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Err(if row_hour >= hour && hour_count >= limit.per_hour {
        row_hour + HOUR_MS
    } else {
        second.max(row_second) + SECOND_MS
    }))
}

impl Store {
    /// Counts one request against the organisation's `limit`, on its own
    /// (not in a caller's transaction). `Some(seconds)` to wait when a
    /// window is full (the request is not counted).
    pub async fn hit_rate_limit(
        &self,
        org: &OrgRow,
        now: i64,
        limit: &RateLimit,
    ) -> Result<Option<u64>, sqlx::Error> {
        if let Some(wait) = self.rate_refused(&org.short_name, now, limit) {
            return Ok(Some(wait));
        }
        let mut conn = self.writer().await?;
        let counted = count(&mut conn, org.id, now, limit).await?;
        Ok(self.rate_outcome(&org.short_name, now, limit, counted))
    }

    /// Seconds to wait, if this process already knows that organisation
    /// `org` (short name) is over `limit` at `now`: no database work.
    pub fn rate_refused(&self, org: &str, now: i64, limit: &RateLimit) -> Option<u64> {
        self.rate_memo.refused(org, limit.class, now)
    }

    /// [`count`]'s answer as seconds to wait, remembering a refusal.
    pub(super) fn rate_outcome(
        &self,
        org: &str,
        now: i64,
        limit: &RateLimit,
        counted: Result<(), i64>,
    ) -> Option<u64> {
        let until = counted.err()?;
        self.rate_memo.remember(org, limit.class, until, now);
        Some(wait_seconds(until, now))
    }
}

#[cfg(test)]
mod tests {
    use super::{DenyMemo, wait_seconds};

    #[test]
    fn a_refusal_is_remembered_until_its_window_ends() {
        let memo = DenyMemo::default();
        memo.remember("acme", "session", 2_000, 1_250);
        assert_eq!(memo.refused("acme", "session", 1_250), Some(1));
        assert_eq!(memo.refused("acme", "session", 1_999), Some(1));
        assert_eq!(memo.refused("acme", "session", 2_000), None);
        assert_eq!(memo.refused("acme", "submit", 1_250), None);
        assert_eq!(memo.refused("globex", "session", 1_250), None);
    }

    #[test]
    fn waits_are_whole_seconds_and_never_zero() {
        assert_eq!(wait_seconds(2_000, 1_999), 1);
        assert_eq!(wait_seconds(3_600_000, 1_000), 3_599);
        assert_eq!(wait_seconds(1_000, 1_000), 1);
    }
}
