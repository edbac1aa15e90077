//! Idempotency records: the claim, the recorded response, and retention.
//!
//! A key belongs to a user: the primary key is (user_id, key), so two users' API keys never
//! collide. Form keys are `form:` + the token's nonce, API keys `api:` + the client's key.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Db, DbResult, Tx, on_pool, on_tx};

/// What the claimant recorded for a key.
#[derive(Debug, Clone, FromRow)]
pub struct IdempotencyRecord {
    pub purpose: String,
    pub target: String,
    pub fingerprint: String,
    pub status_code: Option<i64>,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<String>,
    pub completed_at: Option<OffsetDateTime>,
}

/// A response to record: status, `Location`, `Content-Type`, body.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    pub status: u16,
    pub location: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: Option<&'a str>,
}

/// A response as recorded and replayed: what a face produced for an outcome (re-exported by
/// the engine, which knows no HTTP either).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

impl StoredResponse {
    /// Post/redirect/get: `303 See Other` to `location`.
    pub fn see_other(location: impl Into<String>) -> Self {
        StoredResponse {
            status: 303,
            location: Some(location.into()),
            content_type: None,
            body: None,
        }
    }
}

/// A claim on a key, as inserted first in the business transaction: by [`claim`], or, for an
/// action that folds it into its own first statement, handed over through
/// [`Tx::defer_claim`](super::Tx::defer_claim).
#[derive(Debug, Clone)]
pub struct NewClaim {
    pub user_id: i64,
    pub key: String,
    pub purpose: &'static str,
    pub target: String,
    pub fingerprint: String,
    /// The response, when the action's face knows it before running: written with the claim,
    /// so the transaction needs no second statement to record it.
    pub planned: Option<StoredResponse>,
    pub at: OffsetDateTime,
}

const SELECT: &str = "SELECT purpose, target, fingerprint, status_code, location, content_type, body, \
                      completed_at FROM idempotency_keys WHERE user_id = $1 AND key = $2";

impl Db {
    /// The record for a key, read outside any transaction: the cheap replay path.
    pub async fn find_idempotency(
        &self,
        user_id: i64,
        key: &str,
    ) -> DbResult<Option<IdempotencyRecord>> {
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, IdempotencyRecord>(SELECT)
            .bind(user_id)
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
                "DELETE FROM idempotency_keys WHERE (user_id, key) IN \
                 (SELECT user_id, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
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

/// Claim a key. True when this transaction now owns it; false when a committed record exists
/// (on PostgreSQL this statement first waits, bounded by lock_timeout, for an in-flight claimant
/// of the same key to commit or roll back).
pub async fn claim(tx: &mut Tx, claim: &NewClaim) -> DbResult<bool> {
    let planned = claim.planned.as_ref();
    let n = on_tx!(tx, c => sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, purpose, target, fingerprint, created_at, \
                                       status_code, location, content_type, body, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (user_id, key) DO NOTHING",
    )
    .bind(claim.user_id)
    .bind(&claim.key)
    .bind(claim.purpose)
    .bind(&claim.target)
    .bind(&claim.fingerprint)
    .bind(claim.at)
    .bind(planned.map(|p| i64::from(p.status)))
    .bind(planned.and_then(|p| p.location.as_deref()))
    .bind(planned.and_then(|p| p.content_type.as_deref()))
    .bind(planned.and_then(|p| p.body.as_deref()))
    .bind(planned.map(|_| claim.at))
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The record for a key as this transaction sees it.
pub async fn find(tx: &mut Tx, user_id: i64, key: &str) -> DbResult<Option<IdempotencyRecord>> {
    Ok(
        on_tx!(tx, c => sqlx::query_as::<_, IdempotencyRecord>(SELECT)
        .bind(user_id)
        .bind(key)
        .fetch_optional(c)
        .await)?,
    )
}

/// Record the response of the claimed key; commits with the business effects.
pub async fn complete(
    tx: &mut Tx,
    user_id: i64,
    key: &str,
    response: &Response<'_>,
    now: OffsetDateTime,
) -> DbResult<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE idempotency_keys SET status_code = $3, location = $4, content_type = $5, body = $6, \
         completed_at = $7 WHERE user_id = $1 AND key = $2",
    )
    .bind(user_id)
    .bind(key)
    .bind(i64::from(response.status))
    .bind(response.location)
    .bind(response.content_type)
    .bind(response.body)
    .bind(now)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}
