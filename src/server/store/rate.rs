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
use std::sync::{LazyLock, Mutex};

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

/// Counts up to `$8` requests in both windows at once: as many as both
/// windows have room for (`last_grant`, what `RETURNING` answers), or none,
/// and then the row is left as it was. A window rolls over only forwards, so
/// a request whose clock reads a little earlier than the row's is counted in
/// the newer window, never resets it. A new row counts `$7`, the grant the
/// caller worked out for empty windows.
pub(in crate::server::store) static COUNT: LazyLock<String> = LazyLock::new(|| count_sql(None));

/// [`COUNT`] that counts nothing unless the organisation's version
/// (`org_versions`) is still `$9`, read in the same statement: what the
/// caller checked from memory is still what the database holds.
static COUNT_AT_VERSION: LazyLock<String> = LazyLock::new(|| {
    count_sql(Some(
        "(SELECT version FROM org_versions WHERE org_id = $1) = $9",
    ))
});

fn count_sql(guard: Option<&str>) -> String {
    let second = "(CASE WHEN excluded.second_start > api_rate_limits.second_start THEN 0 ELSE api_rate_limits.second_count END)";
    let hour = "(CASE WHEN excluded.hour_start > api_rate_limits.hour_start THEN 0 ELSE api_rate_limits.hour_count END)";
    let room =
        format!("(CASE WHEN $5 - {second} < $6 - {hour} THEN $5 - {second} ELSE $6 - {hour} END)");
    let grant = format!("(CASE WHEN {room} < $8 THEN {room} ELSE $8 END)");
    let (row, also) = match guard {
        None => (
            "VALUES ($1, $2, $3, $7, $4, $7, $7)".to_owned(),
            String::new(),
        ),
        Some(guard) => (
            format!("SELECT $1, $2, $3, $7, $4, $7, $7 WHERE {guard}"),
            format!(" AND {guard}"),
        ),
    };
    format!(
        "INSERT INTO api_rate_limits (org_id, class, second_start, second_count, hour_start, hour_count, last_grant)
         {row}
         ON CONFLICT (org_id, class) DO UPDATE SET
           second_count = {second} + {grant},
           second_start = CASE WHEN excluded.second_start > api_rate_limits.second_start THEN excluded.second_start ELSE api_rate_limits.second_start END,
           hour_count = {hour} + {grant},
           hour_start = CASE WHEN excluded.hour_start > api_rate_limits.hour_start THEN excluded.hour_start ELSE api_rate_limits.hour_start END,
           last_grant = {grant}
         WHERE {room} > 0{also}
         RETURNING last_grant"
    )
}

/// The starts of the second and of the hour `now` counts in.
pub(in crate::server::store) fn windows(now: i64) -> (i64, i64) {
    (
        now - now.rem_euclid(SECOND_MS),
        now - now.rem_euclid(HOUR_MS),
    )
}

/// What [`Store::count_shared_at`] told one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shared {
    Counted,
    /// Not counted: a window is full until this time (ms).
    Full(i64),
    /// Not counted: the organisation's version moved on.
    Stale,
}

/// [`count_many`]'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Counted {
    /// How many of the requests were counted: the first this many.
    pub granted: i64,
    /// When the full window ends, if not all were counted.
    pub full_until: i64,
    /// Nothing was counted because the organisation's version was not the
    /// one asked for ([`count_at_version`]).
    pub stale: bool,
}

/// Counts `n` requests at `now` on `conn` (a pooled connection, or the
/// caller's transaction) in one statement: as many as both windows have
/// room for.
pub(super) async fn count_many(
    conn: &mut AnyConnection,
    org_id: i64,
    now: i64,
    limit: &RateLimit,
    n: i64,
) -> Result<Counted, sqlx::Error> {
    count_at_version(conn, org_id, now, limit, n, None).await
}

/// [`count_many`], and with `Some(version)` only while the organisation's
/// version is still `version` ([`COUNT_AT_VERSION`]); otherwise nothing is
/// counted and the answer is `stale`.
pub(super) async fn count_at_version(
    conn: &mut AnyConnection,
    org_id: i64,
    now: i64,
    limit: &RateLimit,
    n: i64,
    version: Option<i64>,
) -> Result<Counted, sqlx::Error> {
    let (second, hour) = windows(now);
    let refused = |full_until| Counted {
        granted: 0,
        full_until,
        stale: false,
    };
    if limit.per_hour <= 0 {
        return Ok(refused(hour + HOUR_MS));
    }
    if limit.per_second <= 0 {
        return Ok(refused(second + SECOND_MS));
    }
    let fresh = n.min(limit.per_second).min(limit.per_hour);
    let sql = match version {
        None => COUNT.as_str(),
        Some(_) => COUNT_AT_VERSION.as_str(),
    };
    let mut count = sqlx::query_as(sql)
        .bind(org_id)
        .bind(limit.class)
        .bind(second)
        .bind(hour)
        .bind(limit.per_second)
        .bind(limit.per_hour)
        .bind(fresh)
        .bind(n);
    if let Some(version) = version {
        count = count.bind(version);
    }
    let granted: Option<(i64,)> = count.fetch_optional(&mut *conn).await?;
    let granted = granted.map_or(0, |(g,)| g);
    if granted >= n {
        return Ok(Counted {
            granted,
            full_until: 0,
            stale: false,
        });
    }
    // Nothing counted: a version that moved on may be why. Versions only
    // grow, so one still equal now was equal when the count ran (and any
    // grant at all means it was).
    if let (Some(version), 0) = (version, granted) {
        let now_at: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM org_versions WHERE org_id = $1")
                .bind(org_id)
                .fetch_optional(&mut *conn)
                .await?;
        if now_at != Some((version,)) {
            return Ok(Counted {
                granted: 0,
                full_until: 0,
                stale: true,
            });
        }
    }
    // Some refused: which window is full says how long to wait.
    let (row_second, row_hour, hour_count): (i64, i64, i64) = sqlx::query_as(
        "SELECT second_start, hour_start, hour_count FROM api_rate_limits WHERE org_id = $1 AND class = $2",
    )
    .bind(org_id)
    .bind(limit.class)
    .fetch_one(&mut *conn)
    .await?;
    let full_until = if row_hour >= hour && hour_count >= limit.per_hour {
        row_hour + HOUR_MS
    } else {
        second.max(row_second) + SECOND_MS
    };
    Ok(Counted {
        granted,
        full_until,
        stale: false,
    })
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
        let counted = self.count_shared(org.id, now, limit).await?;
        Ok(self.rate_outcome(&org.short_name, now, limit, counted))
    }

    /// Counts one request on its own, sharing the statement with the
    /// organisation's other requests of the class that are waiting for one
    /// ([`super::flight`]): the first `granted` of them are counted.
    pub(super) async fn count_shared(
        &self,
        org_id: i64,
        now: i64,
        limit: &RateLimit,
    ) -> Result<Result<(), i64>, sqlx::Error> {
        Ok(
            match self.count_shared_at(org_id, now, limit, None).await? {
                Shared::Counted => Ok(()),
                Shared::Full(until) => Err(until),
                // Not asked for a version: never stale.
                Shared::Stale => Err(now),
            },
        )
    }

    /// [`Store::count_shared`], with `Some(version)` only while the
    /// organisation's version is still `version` ([`count_at_version`]):
    /// requests that ask for different versions share no statement.
    pub(super) async fn count_shared_at(
        &self,
        org_id: i64,
        now: i64,
        limit: &RateLimit,
        version: Option<i64>,
    ) -> Result<Shared, sqlx::Error> {
        let (counted, place) = self
            .flights
            .rate
            .run((org_id, limit.class, version), |n| {
                let (store, limit) = (self.clone(), *limit);
                // Its own task: a client that hangs up must not cancel the
                // write half way (on SQLite the writer's statement would stay
                // open, holding the database's write lock).
                let count = tokio::spawn(async move {
                    let mut conn = store.writer().await?;
                    count_at_version(&mut conn, org_id, now, &limit, n as i64, version).await
                });
                async move {
                    count
                        .await
                        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
                }
            })
            .await?;
        Ok(if counted.stale {
            Shared::Stale
        } else if (place as i64) < counted.granted {
            Shared::Counted
        } else {
            Shared::Full(counted.full_until)
        })
    }

    /// Seconds to wait, if this process already knows that organisation
    /// `org` (short name) is over `limit` at `now`: no database work.
    pub fn rate_refused(&self, org: &str, now: i64, limit: &RateLimit) -> Option<u64> {
        self.rate_memo.refused(org, limit.class, now)
    }

    /// [`count_many`]'s answer as seconds to wait, remembering a refusal.
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
