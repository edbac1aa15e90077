//! Idempotency records: the claim, the recorded outcome, and retention.

use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Db, DbResult, Tx, on_pool, on_tx};

/// What the claimant recorded for a key.
#[derive(Debug, Clone, FromRow)]
pub struct IdempotencyRecord {
    pub subject: String,
    pub purpose: String,
    pub target: String,
    pub fingerprint: String,
    pub status_code: Option<i64>,
    pub location: Option<String>,
    pub body: Option<String>,
    pub completed_at: Option<OffsetDateTime>,
}

/// A claim on a key, as inserted first in the business transaction.
#[derive(Debug, Clone)]
pub struct NewClaim<'a> {
    pub key: Uuid,
    pub subject: &'a str,
    pub purpose: &'a str,
    pub target: &'a str,
    pub fingerprint: &'a str,
    /// The outcome, when the action knows it before running: written with the claim, so the
    /// transaction needs no second statement to record it.
    pub planned: Option<PlannedOutcome<'a>>,
}

/// An outcome known in advance: status, Location, body.
#[derive(Debug, Clone, Copy)]
pub struct PlannedOutcome<'a> {
    pub status_code: u16,
    pub location: Option<&'a str>,
    pub body: Option<&'a str>,
}

const SELECT: &str = "SELECT subject, purpose, target, fingerprint, status_code, location, body, completed_at \
                      FROM idempotency_keys WHERE key = $1";

impl Db {
    /// The completed record for `key`, read outside any transaction: the cheap replay path.
    pub async fn find_idempotency(&self, key: Uuid) -> DbResult<Option<IdempotencyRecord>> {
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, IdempotencyRecord>(SELECT)
            .bind(key)
            .fetch_optional(c)
            .await)?,
        )
    }

    /// Delete keys older than `cutoff`, at most `batch` per statement; returns how many went.
    pub async fn purge_idempotency(&self, cutoff: OffsetDateTime, batch: i64) -> DbResult<u64> {
        let mut total = 0;
        loop {
            let mut tx = self.begin().await?;
            let n = on_tx!(&mut tx, c => sqlx::query(
                "DELETE FROM idempotency_keys WHERE key IN \
                 (SELECT key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
            )
            .bind(cutoff)
            .bind(batch)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            tx.commit().await?;
            total += n;
            if n < u64::try_from(batch).unwrap_or(0) || n == 0 {
                return Ok(total);
            }
        }
    }
}

/// Claim `key`. True when this transaction now owns it; false when a committed record exists
/// (on PostgreSQL this statement first waits, bounded by lock_timeout, for an in-flight claimant
/// of the same key to commit or roll back).
pub async fn claim(tx: &mut Tx, claim: &NewClaim<'_>, now: OffsetDateTime) -> DbResult<bool> {
    let planned = claim.planned;
    let n = on_tx!(tx, c => sqlx::query(
        "INSERT INTO idempotency_keys (key, subject, purpose, target, fingerprint, created_at, \
                                       status_code, location, body, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (key) DO NOTHING",
    )
    .bind(claim.key)
    .bind(claim.subject)
    .bind(claim.purpose)
    .bind(claim.target)
    .bind(claim.fingerprint)
    .bind(now)
    .bind(planned.map(|p| i64::from(p.status_code)))
    .bind(planned.and_then(|p| p.location))
    .bind(planned.and_then(|p| p.body))
    .bind(planned.map(|_| now))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The record for `key` as this transaction sees it.
pub async fn find(tx: &mut Tx, key: Uuid) -> DbResult<Option<IdempotencyRecord>> {
    Ok(
        on_tx!(tx, c => sqlx::query_as::<_, IdempotencyRecord>(SELECT)
        .bind(key)
        .fetch_optional(c)
        .await)?,
    )
}

/// Record the outcome of the claimed key; commits with the business effects.
pub async fn complete(
    tx: &mut Tx,
    key: Uuid,
    status_code: u16,
    location: Option<&str>,
    body: Option<&str>,
    now: OffsetDateTime,
) -> DbResult<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE idempotency_keys SET status_code = $2, location = $3, body = $4, completed_at = $5 \
         WHERE key = $1",
    )
    .bind(key)
    .bind(i64::from(status_code))
    .bind(location)
    .bind(body)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
