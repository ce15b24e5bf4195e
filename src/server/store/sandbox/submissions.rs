//! Submissions made with Sandbox API tokens, counted against the
//! organisation's rate limits and daily allowance.
//!
//! The day's counts live in `submission_days`: one row for the
//! organisation (`token_id` 0, against its allowance) and one per token
//! (against its cap), each counted by a conditional UPSERT in the
//! submission's own transaction, so the insert and its counts commit
//! together and parallel submissions cannot both take the last place.

use crate::model::DisableReason;
use crate::server::credential_policy::{self, Denied};
use crate::server::store::rate::{self, RateLimit};
use crate::server::store::usage::{Credential, Generation};
use crate::server::store::{AuditRecord, Backend, Lock, Store, WriteTx};
use std::sync::Arc;

mod at_once;

/// The organisation's own row in `submission_days`.
pub(in crate::server::store) const ORG_ROW: i64 = 0;

/// A submission to record.
pub struct NewSubmission<'a> {
    pub org_id: i64,
    /// Its short name: rate-limit refusals are remembered under it.
    pub org: &'a str,
    pub token_id: i64,
    /// The presented token's digest: checked again inside the transaction,
    /// so a token replaced or deleted a moment ago records nothing.
    pub token_digest: &'a [u8],
    /// The token's expiry and allowlist as the request was let through
    /// with them: a batch recorded in one statement (PostgreSQL) checks
    /// its submissions against them and the statement that they are
    /// still the token's.
    pub token_expires_at: Option<i64>,
    pub token_ip_allowlist: &'a str,
    pub size: i64,
    pub md5: &'a str,
    pub file_type: &'a str,
    pub force: bool,
    pub client_ip: &'a str,
    pub at: i64,
    /// The UTC day the submission counts in (its start, ms).
    pub day_start: i64,
    /// The organisation's submission rate limits.
    pub limit: &'a RateLimit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// Recorded; `used` submissions so far today.
    Accepted { used: i64 },
    /// Over the allowance: not recorded, and the organisation's tokens are now disabled.
    OverAllowance,
    /// The token was replaced or deleted since it was checked.
    TokenGone,
    /// The token was disabled since it was checked.
    TokenDisabled,
    /// The token's restrictions refuse it (its allowlist or its expiry,
    /// read again here). Nothing recorded or counted.
    Denied(Denied),
    /// The token made its daily cap of submissions today: not recorded,
    /// and nothing counted against the organisation's allowance or limits.
    OverTokenCap,
    /// Over a rate limit: wait this many seconds. Nothing recorded.
    RateLimited(u64),
}

/// Counts up to `$6` more of the day in row `token_id` (or [`ORG_ROW`]):
/// as many as fewer than `$4` leaves room for; a new row counts `$5`.
/// Answers the day's count and how many were counted (`last_grant`), or no
/// row when the day is full.
const COUNT_DAY: &str =
    "INSERT INTO submission_days (org_id, token_id, day_start, used, last_grant) VALUES ($1, $2, $3, $5, $5)
     ON CONFLICT (org_id, token_id, day_start) DO UPDATE SET
       used = submission_days.used + (CASE WHEN $4 - submission_days.used < $6 THEN $4 - submission_days.used ELSE $6 END),
       last_grant = (CASE WHEN $4 - submission_days.used < $6 THEN $4 - submission_days.used ELSE $6 END)
     WHERE submission_days.used < $4
     RETURNING used, last_grant";

/// Counts `n` submissions of the day in row `row`, at most `max` in all:
/// how many were counted, and the day's count after them.
async fn count_days(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    row: i64,
    day_start: i64,
    max: i64,
    n: usize,
) -> Result<(usize, i64), sqlx::Error> {
    let n = n as i64;
    if max <= 0 || n == 0 {
        return Ok((0, 0));
    }
    let counted: Option<(i64, i64)> = sqlx::query_as(COUNT_DAY)
        .bind(org_id)
        .bind(row)
        .bind(day_start)
        .bind(max)
        .bind(n.min(max))
        .bind(n)
        .fetch_optional(conn)
        .await?;
    Ok(counted.map_or((0, max), |(used, granted)| {
        (granted.clamp(0, n) as usize, used)
    }))
}

/// [`current_token`]'s read (on PostgreSQL with a lock after it).
const CURRENT_TOKEN: &str = "SELECT disabled_reason, expires_at, ip_allowlist, daily_cap FROM sandbox_tokens WHERE id = $1 AND secret_digest = $2";

/// The token as it is now, read again in the write transaction (a
/// regenerate, delete or disable committed since it was checked is seen):
/// its restrictions and daily cap, or the refusal every submission with it
/// gets.
async fn current_token(
    tx: &mut WriteTx,
    backend: Backend,
    token_id: i64,
    digest: &[u8],
) -> Result<Result<CurrentToken, SubmitOutcome>, sqlx::Error> {
    type Current = (Option<String>, Option<i64>, String, Option<i64>);
    // No share lock: a stream of submissions holding one starved the
    // regenerate. On PostgreSQL a key-share lock, the one a foreign key's
    // check would take: `sandbox_submissions` has none there (migration
    // `20261204000002`), and the row stays until the batch is recorded.
    let sql = match backend {
        Backend::Sqlite => CURRENT_TOKEN.to_owned(),
        Backend::Postgres => format!("{CURRENT_TOKEN} FOR KEY SHARE"),
    };
    let current: Option<Current> = sqlx::query_as(&sql)
        .bind(token_id)
        .bind(digest)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match current {
        None => Err(SubmitOutcome::TokenGone),
        Some((Some(_), ..)) => Err(SubmitOutcome::TokenDisabled),
        Some((None, expires_at, ip_allowlist, daily_cap)) => Ok(CurrentToken {
            expires_at,
            ip_allowlist,
            daily_cap,
        }),
    })
}

/// What [`current_token`] found of a usable token.
struct CurrentToken {
    expires_at: Option<i64>,
    ip_allowlist: String,
    daily_cap: Option<i64>,
}

/// Past the daily allowance: every enabled token of the organisation is
/// disabled, audited with `on_exceeded`.
async fn disable_tokens(
    tx: &mut WriteTx,
    org_id: i64,
    on_exceeded: &AuditRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sandbox_tokens SET disabled_reason = $1 WHERE org_id = $2 AND disabled_reason IS NULL")
        .bind(DisableReason::ThresholdExceeded.as_str())
        .bind(org_id)
        .execute(&mut **tx)
        .await?;
    on_exceeded.insert(tx).await
}

impl Store {
    /// Records a submission against the token's restrictions and daily cap,
    /// then the organisation's rate limits and daily allowance, all in one
    /// write transaction. A submission over the token's cap changes nothing;
    /// the one that would go past the allowance is not recorded and
    /// disables the organisation's tokens.
    ///
    /// Concurrent submissions with the same token are recorded together, in
    /// one transaction whose statements count them all at once
    /// (`flight.rs`): each gets the outcome it would have had one after the
    /// other, in the order they joined.
    pub async fn record_submission(
        &self,
        sub: &NewSubmission<'_>,
        allowance: i64,
        on_exceeded: &AuditRecord,
    ) -> Result<SubmitOutcome, sqlx::Error> {
        if let Some(wait) = self.rate_refused(sub.org, sub.at, sub.limit) {
            return Ok(SubmitOutcome::RateLimited(wait));
        }
        let item = Queued {
            size: sub.size,
            md5: sub.md5.to_owned(),
            file_type: sub.file_type.to_owned(),
            force: sub.force,
            client_ip: sub.client_ip.to_owned(),
            at: sub.at,
            on_exceeded: on_exceeded.clone(),
        };
        let batch = Batch {
            org_id: sub.org_id,
            org: sub.org.to_owned(),
            token_id: sub.token_id,
            token_digest: sub.token_digest.to_vec(),
            expires_at: sub.token_expires_at,
            ip_allowlist: sub.token_ip_allowlist.to_owned(),
            day_start: sub.day_start,
            limit: *sub.limit,
            allowance,
        };
        let key = (sub.org_id, sub.token_digest.to_vec());
        let (outcomes, place) = self
            .flights
            .submissions
            .run_with(key, item, |items| {
                // Its own task: a client that hangs up does not cancel the
                // transaction half way.
                let task = tokio::spawn(self.clone().record_batch(batch, items));
                async move {
                    task.await
                        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
                }
            })
            .await?;
        let outcome = outcomes
            .get(place)
            .cloned()
            .ok_or_else(|| sqlx::Error::Protocol("a submission batch lost a place".into()))?;
        if let SubmitOutcome::Accepted { .. } = outcome {
            self.note_use(
                sub.org_id,
                Credential::SandboxToken(sub.token_id),
                Generation(sub.token_digest.to_vec()),
                sub.at,
                sub.client_ip,
            );
        }
        Ok(outcome)
    }

    /// Records the submissions `items` of one token in one transaction:
    /// the token read again, then for each in turn its restrictions, the
    /// token's cap, the organisation's rate limits and daily allowance —
    /// each counted for all of them in one statement. The one that would
    /// go past the allowance is not recorded and disables the
    /// organisation's tokens; those after it find their token disabled.
    ///
    /// On PostgreSQL a batch that is accepted whole is first tried as one
    /// statement (`at_once.rs`), except for tokens seen with a cap.
    async fn record_batch(
        self,
        batch: Batch,
        items: Vec<Queued>,
    ) -> Result<Arc<[SubmitOutcome]>, sqlx::Error> {
        if self.backend == Backend::Postgres && !self.flights.is_capped(batch.token_id) {
            match self.record_batch_at_once(&batch, &items).await? {
                Ok(outcomes) => return Ok(outcomes),
                Err(at_once::Declined::Capped) => self.flights.note_capped(batch.token_id),
                Err(at_once::Declined::Other) => {}
            }
        }
        let mut outcomes: Vec<Option<SubmitOutcome>> = vec![None; items.len()];
        let mut tx = self.begin_write(Lock::Rows).await?;
        let token = match current_token(&mut tx, self.backend, batch.token_id, &batch.token_digest)
            .await?
        {
            Ok(token) => token,
            Err(refused) => return Ok(items.iter().map(|_| refused.clone()).collect()),
        };
        let mut live: Vec<usize> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match credential_policy::check(
                token.expires_at,
                &token.ip_allowlist,
                &item.client_ip,
                item.at,
            ) {
                Ok(()) => live.push(i),
                Err(denied) => outcomes[i] = Some(SubmitOutcome::Denied(denied)),
            }
        }
        // The token's own cap comes before the organisation's limits, so a
        // busy token is stopped before it uses up what the others share.
        let mut capped = 0;
        if let Some(cap) = token.daily_cap {
            let (granted, _) = count_days(
                &mut tx,
                batch.org_id,
                batch.token_id,
                batch.day_start,
                cap,
                live.len(),
            )
            .await?;
            refuse_after(
                &mut live,
                granted,
                &mut outcomes,
                SubmitOutcome::OverTokenCap,
            );
            capped = granted;
        }
        // Counted only for a valid token: strangers cannot use up the limit.
        let mut rated = 0;
        if !live.is_empty() {
            let at = live.iter().map(|&i| items[i].at).max().unwrap_or(0);
            let counted =
                rate::count_many(&mut tx, batch.org_id, at, &batch.limit, live.len() as i64)
                    .await?;
            let granted = counted.granted.clamp(0, live.len() as i64) as usize;
            if granted < live.len()
                && let Some(wait) =
                    self.rate_outcome(&batch.org, at, &batch.limit, Err(counted.full_until))
            {
                refuse_after(
                    &mut live,
                    granted,
                    &mut outcomes,
                    SubmitOutcome::RateLimited(wait),
                );
            }
            rated = live.len();
        }
        let (granted, used) = count_days(
            &mut tx,
            batch.org_id,
            ORG_ROW,
            batch.day_start,
            batch.allowance,
            live.len(),
        )
        .await?;
        let mut kept = live.len();
        if granted < live.len() {
            let crossing = live[granted];
            disable_tokens(&mut tx, batch.org_id, &items[crossing].on_exceeded).await?;
            refuse_after(
                &mut live,
                granted + 1,
                &mut outcomes,
                SubmitOutcome::TokenDisabled,
            );
            outcomes[crossing] = Some(SubmitOutcome::OverAllowance);
            // The one that crossed keeps its counts, as on its own (its
            // transaction commits the disable).
            kept = granted + 1;
            live.truncate(granted);
        }
        // Counted, then refused further on: given back, so each count is
        // what the submissions one after the other would have left.
        give_back(
            &mut tx,
            &batch,
            capped.saturating_sub(kept),
            rated.saturating_sub(kept),
        )
        .await?;
        record_accepted(&mut tx, &batch, &items, &live).await?;
        tx.commit().await?;
        let first = used - live.len() as i64;
        for (k, &i) in live.iter().enumerate() {
            outcomes[i] = Some(SubmitOutcome::Accepted {
                used: first + k as i64 + 1,
            });
        }
        Ok(outcomes
            .into_iter()
            .map(|o| o.unwrap_or(SubmitOutcome::TokenGone))
            .collect())
    }

    /// Submissions an organisation made on the UTC day starting at `day_start`.
    pub async fn submissions_since(&self, org_id: i64, day_start: i64) -> Result<i64, sqlx::Error> {
        // Concurrent quota calls share one read (`flight.rs`).
        let (used, _) = self
            .flights
            .days
            .run((org_id, day_start), |_| async {
                let used: Option<(i64,)> = sqlx::query_as(
                    "SELECT used FROM submission_days WHERE org_id = $1 AND token_id = $2 AND day_start = $3",
                )
                .bind(org_id)
                .bind(ORG_ROW)
                .bind(day_start)
                .fetch_optional(&self.read)
                .await?;
                Ok::<_, sqlx::Error>(used.map_or(0, |(n,)| n))
            })
            .await?;
        Ok(used)
    }

    /// Drops the day counts of days before `before`.
    pub async fn prune_submission_days(&self, before: i64) -> Result<u64, sqlx::Error> {
        Ok(
            sqlx::query("DELETE FROM submission_days WHERE day_start < $1")
                .bind(before)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// Forgets a deleted token's day counts.
pub(in crate::server::store) async fn forget_token_days(
    conn: &mut sqlx::AnyConnection,
    org_id: i64,
    token_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM submission_days WHERE org_id = $1 AND token_id = $2")
        .bind(org_id)
        .bind(token_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Rows per INSERT of accepted submissions (8 parameters each).
const INSERT_CHUNK: usize = 100;

/// Records the accepted submissions `accepted` (places in `items`).
async fn record_accepted(
    conn: &mut sqlx::AnyConnection,
    batch: &Batch,
    items: &[Queued],
    accepted: &[usize],
) -> Result<(), sqlx::Error> {
    for chunk in accepted.chunks(INSERT_CHUNK) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let p = r * 8;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6,
                    p + 7,
                    p + 8
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO sandbox_submissions (org_id, token_id, size, md5, file_type, force, client_ip, at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for &i in chunk {
            let item = &items[i];
            query = query
                .bind(batch.org_id)
                .bind(batch.token_id)
                .bind(item.size)
                .bind(item.md5.as_str())
                .bind(item.file_type.as_str())
                .bind(i64::from(item.force))
                .bind(item.client_ip.as_str())
                .bind(item.at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes back `cap` counts from the token's day row and `rate` from the
/// organisation's rate-limit windows, in the batch's transaction.
async fn give_back(
    tx: &mut WriteTx,
    batch: &Batch,
    cap: usize,
    rate: usize,
) -> Result<(), sqlx::Error> {
    if cap > 0 {
        sqlx::query("UPDATE submission_days SET used = used - $1 WHERE org_id = $2 AND token_id = $3 AND day_start = $4")
            .bind(cap as i64)
            .bind(batch.org_id)
            .bind(batch.token_id)
            .bind(batch.day_start)
            .execute(&mut **tx)
            .await?;
    }
    if rate > 0 {
        sqlx::query("UPDATE api_rate_limits SET second_count = second_count - $1, hour_count = hour_count - $1 WHERE org_id = $2 AND class = $3")
            .bind(rate as i64)
            .bind(batch.org_id)
            .bind(batch.limit.class)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Gives the places of `live` from `keep` on the outcome `refused`, and
/// keeps the first `keep`.
fn refuse_after(
    live: &mut Vec<usize>,
    keep: usize,
    outcomes: &mut [Option<SubmitOutcome>],
    refused: SubmitOutcome,
) {
    for &i in live.iter().skip(keep) {
        outcomes[i] = Some(refused.clone());
    }
    live.truncate(keep);
}

/// A submission waiting to be recorded with others of its token (what a
/// [`NewSubmission`] carries of its own).
#[derive(Clone, Debug)]
pub(in crate::server::store) struct Queued {
    size: i64,
    md5: String,
    file_type: String,
    force: bool,
    client_ip: String,
    at: i64,
    /// The audit entry if this one uses up the allowance.
    on_exceeded: AuditRecord,
}

/// What the submissions of one batch share: their token, its organisation
/// and the day and limits they count against (the leader's).
#[derive(Debug)]
struct Batch {
    org_id: i64,
    org: String,
    token_id: i64,
    token_digest: Vec<u8>,
    /// The leader's [`NewSubmission::token_expires_at`] and allowlist.
    expires_at: Option<i64>,
    ip_allowlist: String,
    day_start: i64,
    limit: RateLimit,
    allowance: i64,
}
