//! API tokens: bearer credentials of the JSON API, each acting as one user with that user's
//! role. Only the SHA-256 of a token is stored.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Db, DbResult, Tx, now, on_pool, on_tx};
use crate::domain::Role;

/// A token as the admin lists it.
#[derive(Debug, Clone, FromRow)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub label: String,
    pub hint: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

/// The user behind a live token.
#[derive(Debug, Clone, FromRow)]
pub struct TokenUser {
    pub token_id: i64,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub last_used_at: Option<OffsetDateTime>,
}

/// A token to store: the hash of its secret and what identifies it in lists.
#[derive(Debug, Clone)]
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub label: &'a str,
    pub token_hash: &'a str,
    pub hint: &'a str,
    pub created_by: &'a str,
}

const SELECT_TOKENS: &str = "SELECT t.id, t.user_id, u.username, t.label, t.hint, t.created_at, \
     t.created_by, t.last_used_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id ";

impl Db {
    /// The user of a live token: not revoked, user not disabled.
    pub async fn find_api_token(&self, token_hash: &str) -> DbResult<Option<TokenUser>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, TokenUser>(
            "SELECT t.id AS token_id, u.id AS user_id, u.username, u.display_name, u.role, \
                    t.last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(c)
        .await)?)
    }

    /// Record that a token was used (the caller does so at most once a minute).
    pub async fn touch_api_token(&self, token_id: i64) -> DbResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(token_id)
            .bind(now())
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(())
    }

    /// Every token, newest first.
    pub async fn list_api_tokens(&self) -> DbResult<Vec<ApiTokenRow>> {
        let sql = format!("{SELECT_TOKENS} ORDER BY t.id DESC");
        Ok(on_pool!(self, c => sqlx::query_as::<_, ApiTokenRow>(&sql).fetch_all(c).await)?)
    }
}

/// Store a new token; returns its id.
pub async fn insert(tx: &mut Tx, t: &NewApiToken<'_>) -> DbResult<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO api_tokens (user_id, label, token_hash, hint, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(t.user_id)
    .bind(t.label)
    .bind(t.token_hash)
    .bind(t.hint)
    .bind(now())
    .bind(t.created_by)
    .fetch_one(c)
    .await)?)
}

/// The token `id` as this transaction sees it.
pub async fn find(tx: &mut Tx, id: i64) -> DbResult<Option<ApiTokenRow>> {
    let sql = format!("{SELECT_TOKENS} WHERE t.id = $1");
    Ok(on_tx!(tx, c => sqlx::query_as::<_, ApiTokenRow>(&sql)
        .bind(id)
        .fetch_optional(c)
        .await)?)
}

/// Revoke a token; false when it was revoked already.
pub async fn revoke(tx: &mut Tx, id: i64) -> DbResult<bool> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
