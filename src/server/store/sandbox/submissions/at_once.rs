//! PostgreSQL: a batch of submissions recorded in one statement.
//!
//! [`Store::record_batch`](super) takes five statements between `BEGIN`
//! and `COMMIT`: the token read again, the token's cap, the rate limits,
//! the daily allowance and the insert. On PostgreSQL every one is a round
//! trip, and a profile of the backends under load was mostly the kernel
//! waking them for the next. Data-modifying `WITH` clauses let the usual
//! case — every submission of the batch fits both rate windows and the
//! day's allowance, and the token has no cap — run as one statement in the
//! same transaction, counting and inserting exactly as the five would.
//!
//! Anything else (a window or the allowance without room for all, the
//! token gone, disabled or capped, a restriction refusing one of them) is
//! rolled back, and the batch takes the five statements, which decide each
//! submission's outcome. Nothing this statement counted is seen by anyone
//! before the rollback: its row locks are held until then.

use super::{Batch, Queued, SubmitOutcome};
use crate::server::credential_policy;
use crate::server::store::rate;
use crate::server::store::{Lock, Store};
use std::sync::Arc;

/// Batches larger than this take the five statements (6 parameters a row).
pub(super) const MAX_ROWS: usize = 100;

/// The statement for `rows` submissions. `$1..$8` are the rate count's
/// ([`rate::COUNT`]: organisation, class, windows, limits, grants; `$8` is
/// the batch's size), `$9` the day's start, `$10` the allowance, `$11` the
/// token's id, `$12` its digest, then six per submission.
///
/// The day is counted only from the rate count's answer, and the rows
/// inserted only from the day's, so the rows are locked in the order the
/// five statements lock them (rate window, then the day). The token is read
/// in the statement's snapshot, as the first of the five reads it.
fn statement(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let p = 13 + r * 6;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                p,
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5
            )
        })
        .collect();
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
             FROM day, (VALUES {values}) AS v (size, md5, file_type, force, client_ip, at))
         SELECT t.disabled_reason, t.expires_at, t.ip_allowlist, t.daily_cap, (SELECT used FROM day)
         FROM sandbox_tokens t WHERE t.id = $11 AND t.secret_digest = $12",
        count = rate::COUNT.as_str(),
        values = values.join(", "),
    )
}

type Answer = (
    Option<String>,
    Option<i64>,
    String,
    Option<i64>,
    Option<i64>,
);

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
        if items.is_empty()
            || items.len() > MAX_ROWS
            || limit.per_second < n
            || limit.per_hour < n
            || batch.allowance < n
        {
            return Ok(Err(Declined::Other));
        }
        let at = items.iter().map(|i| i.at).max().unwrap_or(0);
        let (second, hour) = rate::windows(at);
        let sql = statement(items.len());
        let mut query = sqlx::query_as::<_, Answer>(&sql)
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
            .bind(batch.token_digest.as_slice());
        for item in items {
            query = query
                .bind(item.size)
                .bind(item.md5.as_str())
                .bind(item.file_type.as_str())
                .bind(i64::from(item.force))
                .bind(item.client_ip.as_str())
                .bind(item.at);
        }
        let mut tx = self.begin_write(Lock::Rows).await?;
        let answer = query.fetch_optional(&mut *tx).await?;
        let declined = match answer {
            Some((None, expires_at, ip_allowlist, None, Some(used))) => {
                let allowed = items.iter().all(|item| {
                    credential_policy::check(expires_at, &ip_allowlist, &item.client_ip, item.at)
                        .is_ok()
                });
                if allowed {
                    tx.commit().await?;
                    let first = used - n;
                    return Ok(Ok((0..n)
                        .map(|k| SubmitOutcome::Accepted {
                            used: first + k + 1,
                        })
                        .collect()));
                }
                Declined::Other
            }
            Some((None, _, _, Some(_), _)) => Declined::Capped,
            _ => Declined::Other,
        };
        tx.rollback().await?;
        Ok(Err(declined))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_takes_its_own_six_parameters_after_the_twelve_shared() {
        let sql = statement(2);
        assert!(sql.contains("($13, $14, $15, $16, $17, $18), ($19, $20, $21, $22, $23, $24)"));
        assert!(!sql.contains("$25"));
    }
}
