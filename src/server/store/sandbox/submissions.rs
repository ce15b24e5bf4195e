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
use crate::server::store::{AuditRecord, Lock, Store, WriteTx};

/// The organisation's own row in `submission_days`.
const ORG_ROW: i64 = 0;

/// A submission to record.
pub struct NewSubmission<'a> {
    pub org_id: i64,
    /// Its short name: rate-limit refusals are remembered under it.
    pub org: &'a str,
    pub token_id: i64,
    /// The presented token's digest: checked again inside the transaction,
    /// so a token replaced or deleted a moment ago records nothing.
    pub token_digest: &'a [u8],
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

#[derive(Debug, PartialEq, Eq)]
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

/// Counts one more of the day in row `token_id` (or [`ORG_ROW`]) if fewer
/// than `max` are counted; `Some(count)` after counting, `None` at `max`.
const COUNT_DAY: &str =
    "INSERT INTO submission_days (org_id, token_id, day_start, used) VALUES ($1, $2, $3, 1)
     ON CONFLICT (org_id, token_id, day_start) DO UPDATE SET used = submission_days.used + 1
     WHERE submission_days.used < $4
     RETURNING used";

async fn count_day(
    conn: &mut sqlx::AnyConnection,
    sub: &NewSubmission<'_>,
    row: i64,
    max: i64,
) -> Result<Option<i64>, sqlx::Error> {
    if max <= 0 {
        return Ok(None);
    }
    let counted: Option<(i64,)> = sqlx::query_as(COUNT_DAY)
        .bind(sub.org_id)
        .bind(row)
        .bind(sub.day_start)
        .bind(max)
        .fetch_optional(conn)
        .await?;
    Ok(counted.map(|(used,)| used))
}

/// The token of `sub` as it is now, read again in the write transaction
/// (a regenerate, delete or disable committed since the token was checked
/// is seen), with its restrictions checked: its daily cap, or the refusal.
async fn token_still_usable(
    tx: &mut WriteTx,
    sub: &NewSubmission<'_>,
) -> Result<Result<Option<i64>, SubmitOutcome>, sqlx::Error> {
    type Current = (Option<String>, Option<i64>, String, Option<i64>);
    // No share lock: a stream of submissions holding one starved the
    // regenerate.
    let current: Option<Current> = sqlx::query_as(
        "SELECT disabled_reason, expires_at, ip_allowlist, daily_cap FROM sandbox_tokens WHERE id = $1 AND secret_digest = $2",
    )
    .bind(sub.token_id)
    .bind(sub.token_digest)
    .fetch_optional(&mut **tx)
    .await?;
    match current {
        None => Ok(Err(SubmitOutcome::TokenGone)),
        Some((Some(_), ..)) => Ok(Err(SubmitOutcome::TokenDisabled)),
        Some((None, expires_at, allowlist, daily_cap)) => {
            if let Err(denied) =
                credential_policy::check(expires_at, &allowlist, sub.client_ip, sub.at)
            {
                return Ok(Err(SubmitOutcome::Denied(denied)));
            }
            Ok(Ok(daily_cap))
        }
    }
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
    pub async fn record_submission(
        &self,
        sub: &NewSubmission<'_>,
        allowance: i64,
        on_exceeded: &AuditRecord,
    ) -> Result<SubmitOutcome, sqlx::Error> {
        if let Some(wait) = self.rate_refused(sub.org, sub.at, sub.limit) {
            return Ok(SubmitOutcome::RateLimited(wait));
        }
        let mut tx = self.begin_write(Lock::Rows).await?;
        let daily_cap = match token_still_usable(&mut tx, sub).await? {
            Ok(daily_cap) => daily_cap,
            Err(refused) => return Ok(refused),
        };
        // The token's own cap comes before the organisation's limits, so a
        // busy token is stopped before it uses up what the others share.
        if let Some(cap) = daily_cap
            && count_day(&mut tx, sub, sub.token_id, cap).await?.is_none()
        {
            return Ok(SubmitOutcome::OverTokenCap);
        }
        // Counted only for a valid token: strangers cannot use up the limit.
        let counted = rate::count(&mut tx, sub.org_id, sub.at, sub.limit).await?;
        if let Some(wait) = self.rate_outcome(sub.org, sub.at, sub.limit, counted) {
            return Ok(SubmitOutcome::RateLimited(wait));
        }
        let Some(used) = count_day(&mut tx, sub, ORG_ROW, allowance).await? else {
            disable_tokens(&mut tx, sub.org_id, on_exceeded).await?;
            tx.commit().await?;
            return Ok(SubmitOutcome::OverAllowance);
        };
        record_accepted(&mut tx, sub).await?;
        tx.commit().await?;
        self.note_use(
            sub.org_id,
            Credential::SandboxToken(sub.token_id),
            Generation(sub.token_digest.to_vec()),
            sub.at,
            sub.client_ip,
        );
        Ok(SubmitOutcome::Accepted { used })
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

/// Records an accepted submission.
async fn record_accepted(
    conn: &mut sqlx::AnyConnection,
    sub: &NewSubmission<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sandbox_submissions (org_id, token_id, size, md5, file_type, force, client_ip, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(sub.org_id)
    .bind(sub.token_id)
    .bind(sub.size)
    .bind(sub.md5)
    .bind(sub.file_type)
    .bind(i64::from(sub.force))
    .bind(sub.client_ip)
    .bind(sub.at)
    .execute(conn)
    .await?;
    Ok(())
}
