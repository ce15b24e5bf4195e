//! Submissions made with Sandbox API tokens, counted against the
//! organisation's rate limits and daily allowance.

use crate::model::DisableReason;
use crate::server::credential_policy::{self, Denied};
use crate::server::store::api_keys::count_request;
use crate::server::store::usage::{Credential, note_use};
use crate::server::store::{AuditRecord, Lock, Store, Window};

/// A submission to record.
pub struct NewSubmission<'a> {
    pub org_id: i64,
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
    /// Submissions since this time count toward the daily allowance.
    pub day_start: i64,
    /// The organisation's submission rate limits (see `count_request`).
    pub limits: &'a [Window],
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

impl Store {
    /// Records a submission against the token's restrictions and daily cap,
    /// then the organisation's rate limits and daily allowance, all in one
    /// write transaction (so parallel submissions cannot both take the last
    /// place under the cap or the allowance). A submission over the token's
    /// cap changes nothing; the one that would go past the allowance is not
    /// recorded and disables the organisation's tokens.
    pub async fn record_submission(
        &self,
        sub: &NewSubmission<'_>,
        allowance: i64,
        on_exceeded: &AuditRecord,
    ) -> Result<SubmitOutcome, sqlx::Error> {
        let mut tx = self.begin_write(Lock::Org(sub.org_id)).await?;
        type Current = (Option<String>, Option<i64>, String, Option<i64>);
        let current: Option<Current> = sqlx::query_as(
            "SELECT disabled_reason, expires_at, ip_allowlist, daily_cap FROM sandbox_tokens WHERE id = $1 AND secret_digest = $2",
        )
        .bind(sub.token_id)
        .bind(sub.token_digest)
        .fetch_optional(&mut *tx)
        .await?;
        let daily_cap = match current {
            None => return Ok(SubmitOutcome::TokenGone),
            Some((Some(_), ..)) => return Ok(SubmitOutcome::TokenDisabled),
            Some((None, expires_at, allowlist, daily_cap)) => {
                if let Err(denied) =
                    credential_policy::check(expires_at, &allowlist, sub.client_ip, sub.at)
                {
                    return Ok(SubmitOutcome::Denied(denied));
                }
                daily_cap
            }
        };
        // The token's own cap comes before the organisation's limits, so a
        // busy token is stopped before it uses up what the others share.
        if let Some(cap) = daily_cap {
            let (made,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM sandbox_submissions WHERE token_id = $1 AND at >= $2",
            )
            .bind(sub.token_id)
            .bind(sub.day_start)
            .fetch_one(&mut *tx)
            .await?;
            if made >= cap {
                return Ok(SubmitOutcome::OverTokenCap);
            }
        }
        // Counted only for a valid token: strangers cannot use up the limit.
        if let Some(wait) = count_request(&mut tx, sub.org_id, sub.at, sub.limits).await? {
            return Ok(SubmitOutcome::RateLimited(wait));
        }
        let (used,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sandbox_submissions WHERE org_id = $1 AND at >= $2",
        )
        .bind(sub.org_id)
        .bind(sub.day_start)
        .fetch_one(&mut *tx)
        .await?;
        if used >= allowance {
            sqlx::query("UPDATE sandbox_tokens SET disabled_reason = $1 WHERE org_id = $2 AND disabled_reason IS NULL")
                .bind(DisableReason::ThresholdExceeded.as_str())
                .bind(sub.org_id)
                .execute(&mut *tx)
                .await?;
            on_exceeded.insert(&mut tx).await?;
            tx.commit().await?;
            return Ok(SubmitOutcome::OverAllowance);
        }
        record_accepted(&mut tx, sub).await?;
        tx.commit().await?;
        Ok(SubmitOutcome::Accepted { used: used + 1 })
    }

    /// Submissions an organisation made since `day_start`.
    pub async fn submissions_since(&self, org_id: i64, day_start: i64) -> Result<i64, sqlx::Error> {
        let (used,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sandbox_submissions WHERE org_id = $1 AND at >= $2",
        )
        .bind(org_id)
        .bind(day_start)
        .fetch_one(&self.pool)
        .await?;
        Ok(used)
    }
}

/// Records an accepted submission and notes the token's use.
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
    .execute(&mut *conn)
    .await?;
    note_use(
        conn,
        sub.org_id,
        Credential::SandboxToken(sub.token_id),
        sub.at,
        sub.client_ip,
    )
    .await?;
    Ok(())
}
