//! PostgreSQL: a batch of submissions recorded in one statement.
//!
//! [`Store::record_batch`](super) takes five statements between `BEGIN`
//! and `COMMIT`: the token read again, the token's cap, the rate limits,
//! the daily allowance and the insert. On PostgreSQL every one is a round
//! trip, and a profile of the backends under load was mostly the kernel
//! waking them for the next. Data-modifying `WITH` clauses let the usual
//! case — every submission of the batch fits both rate windows and the
//! day's allowance, and the token has no cap — run as one statement, on
//! its own (a statement outside a transaction block is its own
//! transaction, committed before it answers), counting and inserting
//! exactly as the five would.
//!
//! Anything else (a window or the allowance without room for all, the
//! token gone, changed, disabled or capped) makes the statement call
//! `keyport_decline_batch` (migration `20261204000001`), whose error undoes
//! all the statement did, and the batch takes the five statements, which
//! decide each submission's outcome. Nothing it counted is seen by anyone
//! before: its row locks are held until the error. A restriction refusing
//! one of the batch is found before the statement is sent.

use super::{Batch, Queued, SubmitOutcome};
use crate::server::credential_policy;
use crate::server::store::Store;
use crate::server::store::rate;
use serde::Serialize;
use std::sync::{Arc, LazyLock};

/// Batches larger than this take the five statements.
pub(super) const MAX_ROWS: usize = 1000;

/// The statement, one text for every batch size so that each connection
/// prepares and plans it once. `$1..$8` are the rate count's
/// ([`rate::COUNT`]: organisation, class, windows, limits, grants; `$8` is
/// the batch's size), `$9` the day's start, `$10` the allowance, `$11` the
/// token's id, `$12` its digest, `$13` the submissions as a JSON array
/// ([`rows`]), and `$14`, `$15` the token's expiry and allowlist as the
/// batch was checked against them.
///
/// The day is counted only from the rate count's answer, and the rows
/// inserted only from the day's, so the rows are locked in the order the
/// five statements lock them (rate window, then the day). The token is read
/// in the statement's snapshot and locked as the first of the five reads
/// and locks it; the answer is the day's count after the batch.
static STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH rate AS ({count}),
         day AS (
           INSERT INTO submission_days (org_id, token_id, day_start, used, last_grant)
             SELECT $1, 0, $9, $8, $8 FROM rate WHERE rate.last_grant = $8 AND $8 <= $10
           ON CONFLICT (org_id, token_id, day_start) DO UPDATE SET
             used = submission_days.used + $8, last_grant = $8
           WHERE submission_days.used + $8 <= $10
           RETURNING used),
         saved AS (
           INSERT INTO sandbox_submissions (org_id, token_id, size, md5, file_type, force, client_ip, at)
             SELECT $1, $11, v.size, v.md5, v.file_type, v.force, v.client_ip, v.at
             FROM day, json_to_recordset(CAST($13 AS TEXT)::json)
               AS v (size BIGINT, md5 TEXT, file_type TEXT, force BIGINT, client_ip TEXT, at BIGINT)),
         token AS (
           SELECT t.disabled_reason, t.daily_cap FROM sandbox_tokens t
           WHERE t.id = $11 AND t.secret_digest = $12
             AND t.expires_at IS NOT DISTINCT FROM $14 AND t.ip_allowlist = $15
           FOR KEY SHARE)
         SELECT CASE
           WHEN EXISTS (SELECT 1 FROM token WHERE daily_cap IS NOT NULL) THEN keyport_decline_batch('{capped}')
           WHEN NOT EXISTS (SELECT 1 FROM token WHERE disabled_reason IS NULL) THEN keyport_decline_batch('{other}')
           WHEN NOT EXISTS (SELECT 1 FROM day) THEN keyport_decline_batch('{other}')
           ELSE (SELECT used FROM day) END",
        count = rate::COUNT.as_str(),
        capped = CAPPED,
        other = OTHER,
    )
});

/// One submission as [`STATEMENT`] reads it from `$13`.
#[derive(Serialize)]
struct Row<'a> {
    size: i64,
    md5: &'a str,
    file_type: &'a str,
    force: i64,
    client_ip: &'a str,
    at: i64,
}

/// `items` as the JSON array `$13` carries.
fn rows(items: &[Queued]) -> Result<String, sqlx::Error> {
    let rows: Vec<Row<'_>> = items
        .iter()
        .map(|item| Row {
            size: item.size,
            md5: &item.md5,
            file_type: &item.file_type,
            force: i64::from(item.force),
            client_ip: &item.client_ip,
            at: item.at,
        })
        .collect();
    serde_json::to_string(&rows).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

/// The SQLSTATEs `keyport_decline_batch` raises.
const CAPPED: &str = "KP001";
const OTHER: &str = "KP002";

/// Why a batch went on to the five statements.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Declined {
    /// The token has a daily cap: only the five statements count it.
    Capped,
    /// Anything else: no room, the token gone or disabled, a restriction.
    Other,
}

impl Store {
    /// Records every submission of `items` in one statement if all of them
    /// are accepted (their outcomes, each `used` as one after the other);
    /// otherwise changes nothing and says why.
    pub(super) async fn record_batch_at_once(
        &self,
        batch: &Batch,
        items: &[Queued],
    ) -> Result<Result<Arc<[SubmitOutcome]>, Declined>, sqlx::Error> {
        let n = items.len() as i64;
        let limit = &batch.limit;
        let allowed = |item: &Queued| {
            credential_policy::check(
                batch.expires_at,
                &batch.ip_allowlist,
                &item.client_ip,
                item.at,
            )
            .is_ok()
        };
        if items.is_empty()
            || items.len() > MAX_ROWS
            || limit.per_second < n
            || limit.per_hour < n
            || batch.allowance < n
            || !items.iter().all(allowed)
        {
            return Ok(Err(Declined::Other));
        }
        let at = items.iter().map(|i| i.at).max().unwrap_or(0);
        let (second, hour) = rate::windows(at);
        let answer = sqlx::query_as::<_, (i64,)>(STATEMENT.as_str())
            .bind(batch.org_id)
            .bind(limit.class)
            .bind(second)
            .bind(hour)
            .bind(limit.per_second)
            .bind(limit.per_hour)
            .bind(n)
            .bind(n)
            .bind(batch.day_start)
            .bind(batch.allowance)
            .bind(batch.token_id)
            .bind(batch.token_digest.as_slice())
            .bind(rows(items)?)
            .bind(batch.expires_at)
            .bind(batch.ip_allowlist.as_str())
            .fetch_one(&self.pool)
            .await;
        let used = match answer {
            Ok((used,)) => used,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(CAPPED) => {
                return Ok(Err(Declined::Capped));
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(OTHER) => {
                return Ok(Err(Declined::Other));
            }
            Err(e) => return Err(e),
        };
        let first = used - n;
        Ok(Ok((0..n)
            .map(|k| SubmitOutcome::Accepted {
                used: first + k + 1,
            })
            .collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_are_one_json_array_whatever_their_text_holds() {
        let json = serde_json::to_string(&[Row {
            size: 7,
            md5: "0cc175b9c0f1b6a831c399e269772661",
            file_type: "pdf\",\"x",
            force: 1,
            client_ip: "203.0.113.9",
            at: 42,
        }])
        .unwrap();
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back[0]["file_type"], "pdf\",\"x");
        assert_eq!(back[0]["at"], 42);
        assert!(!STATEMENT.contains("$16"));
    }
}
