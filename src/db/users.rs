//! Users, their sessions, and failed sign-ins.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::audit::{self, AuditEvent};
use super::idempotency::IdempotencyRecord;
use super::{Db, DbResult, Tx, now, on_pool, on_tx};
use crate::domain::Role;

#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
    pub disabled_at: Option<OffsetDateTime>,
}

/// The signed-in user behind a live session.
#[derive(Debug, Clone, FromRow)]
pub struct SessionRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub last_seen_at: OffsetDateTime,
}

/// A session row with the columns of one idempotency record (all NULL when there is none).
#[derive(Debug, FromRow)]
struct SessionKeyRow {
    #[sqlx(flatten)]
    session: SessionRow,
    purpose: Option<String>,
    target: Option<String>,
    fingerprint: Option<String>,
    status_code: Option<i64>,
    location: Option<String>,
    content_type: Option<String>,
    body: Option<String>,
    completed_at: Option<OffsetDateTime>,
}

impl SessionKeyRow {
    fn split(self) -> (SessionRow, Option<IdempotencyRecord>) {
        let record = match (self.purpose, self.target, self.fingerprint) {
            (Some(purpose), Some(target), Some(fingerprint)) => Some(IdempotencyRecord {
                purpose,
                target,
                fingerprint,
                status_code: self.status_code,
                location: self.location,
                content_type: self.content_type,
                body: self.body,
                completed_at: self.completed_at,
            }),
            _ => None,
        };
        (self.session, record)
    }
}

/// How long sessions live.
#[derive(Debug, Clone, Copy)]
pub struct SessionLifetimes {
    /// Signed out after this long without a request.
    pub idle: time::Duration,
    /// Signed out this long after sign-in, whatever happens.
    pub absolute: time::Duration,
}

macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT id, username, display_name, role, password_hash, created_at, disabled_at FROM users ",
            $rest
        )
    };
}

impl Db {
    pub async fn find_user(&self, username: &str) -> DbResult<Option<UserRow>> {
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, UserRow>(select_users!("WHERE username = $1"))
            .bind(username)
            .fetch_optional(c)
            .await)?,
        )
    }

    pub async fn list_users(&self) -> DbResult<Vec<UserRow>> {
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, UserRow>(select_users!("ORDER BY username"))
            .fetch_all(c)
            .await)?,
        )
    }

    /// The user of a live session: not expired, not idle too long, user not disabled.
    pub async fn find_session(
        &self,
        id_hash: &str,
        life: SessionLifetimes,
    ) -> DbResult<Option<SessionRow>> {
        let t = now();
        Ok(on_pool!(self, c => sqlx::query_as::<_, SessionRow>(
            "SELECT u.id AS user_id, u.username, u.display_name, u.role, s.last_seen_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.disabled_at IS NULL",
        )
        .bind(id_hash)
        .bind(t)
        .bind(t - life.idle)
        .fetch_optional(c)
        .await)?)
    }

    /// [`Db::find_session`] and, in the same statement, the record of the session user's
    /// idempotency `key` (None when there is none): a resubmitted form is answered from one
    /// read, not two.
    pub async fn find_session_and_key(
        &self,
        id_hash: &str,
        life: SessionLifetimes,
        key: &str,
    ) -> DbResult<Option<(SessionRow, Option<IdempotencyRecord>)>> {
        let t = now();
        let sql = match self.backend() {
            super::Backend::Postgres => SESSION_AND_KEY_POSTGRES,
            super::Backend::Sqlite => SESSION_AND_KEY_SQLITE,
        };
        let row = on_pool!(self, c => sqlx::query_as::<_, SessionKeyRow>(sql)
        .bind(id_hash)
        .bind(t)
        .bind(t - life.idle)
        .bind(key)
        .fetch_optional(c)
        .await)?;
        Ok(row.map(SessionKeyRow::split))
    }

    /// Start a session (only the hash of the cookie's token is stored), and audit the sign-in.
    pub async fn create_session(
        &self,
        id_hash: &str,
        user_id: i64,
        username: &str,
        life: SessionLifetimes,
    ) -> DbResult<()> {
        let t = now();
        let mut tx = self.begin().await?;
        let event = AuditEvent {
            actor: username,
            action: "sign-in",
            entity: "user",
            entity_id: user_id.to_string(),
            detail: String::new(),
        };
        audit::record(&mut tx, &event, t).await?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $3, $4)",
        )
        .bind(id_hash)
        .bind(user_id)
        .bind(t)
        .bind(t + life.absolute)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
        // Expired sessions of anyone go as a side effect of signing in: no separate job needed.
        on_tx!(&mut tx, c => sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(t)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(())
    }

    /// Record activity, at most once a minute per session (a write per request would be waste).
    pub async fn touch_session(&self, id_hash: &str) -> DbResult<()> {
        let t = now();
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
            .bind(id_hash)
            .bind(t)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(())
    }

    /// Sign out: end the session on every server at once, and audit it; `everywhere` ends
    /// every session of the user (all their browsers and devices).
    pub async fn sign_out(
        &self,
        id_hash: &str,
        user_id: i64,
        username: &str,
        everywhere: bool,
    ) -> DbResult<()> {
        let mut tx = self.begin().await?;
        let ended = if everywhere {
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?
        } else {
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?
        };
        let event = AuditEvent {
            actor: username,
            action: "sign-out",
            entity: "user",
            entity_id: user_id.to_string(),
            detail: if everywhere {
                format!("everywhere: {ended} session(s) ended")
            } else {
                String::new()
            },
        };
        audit::record(&mut tx, &event, now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whose session this is, live or expired (while its row is kept): sign-in keeps a form
    /// typed before the session expired only for the user who typed it.
    pub async fn session_owner(&self, id_hash: &str) -> DbResult<Option<i64>> {
        Ok(
            on_pool!(self, c => sqlx::query_scalar("SELECT user_id FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(c)
            .await)?,
        )
    }

    /// End a session, on every server at once (they all read the same table).
    pub async fn delete_session(&self, id_hash: &str) -> DbResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(())
    }

    /// Failed sign-ins since `since` for this user name and for this address.
    pub async fn login_failures(
        &self,
        username: &str,
        address: &str,
        since: OffsetDateTime,
    ) -> DbResult<(i64, i64)> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, (i64, i64)>(
            "SELECT (SELECT COUNT(*) FROM login_failures WHERE username = $1 AND at > $3), \
                    (SELECT COUNT(*) FROM login_failures WHERE address = $2 AND at > $3)",
        )
        .bind(username)
        .bind(address)
        .bind(since)
        .fetch_one(c)
        .await)?)
    }

    /// Forget failed sign-ins older than `cutoff` (the throttle looks back minutes; the audit
    /// log keeps every failure for good). Returns how many were deleted.
    pub async fn purge_login_failures(&self, cutoff: OffsetDateTime) -> DbResult<u64> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, c => sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(cutoff)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(n)
    }

    /// Count a failed sign-in for throttling, and audit it under the name that was tried.
    pub async fn record_login_failure(&self, username: &str, address: &str) -> DbResult<()> {
        let t = now();
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO login_failures (username, address, at) VALUES ($1, $2, $3)")
            .bind(username)
            .bind(address)
            .bind(t)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        let tried: String = username.chars().take(64).collect();
        let event = AuditEvent {
            actor: &tried,
            action: "sign-in-failed",
            entity: "user",
            entity_id: tried.clone(),
            detail: format!("from {address}"),
        };
        audit::record(&mut tx, &event, t).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A new user; the password arrives already hashed.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
}

pub async fn insert(tx: &mut Tx, u: &NewUser<'_>) -> DbResult<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(u.username)
    .bind(u.display_name)
    .bind(u.role)
    .bind(u.password_hash)
    .bind(now())
    .fetch_one(c)
    .await)?)
}

/// The id of the user named `username`, disabled or not.
pub async fn id_of(tx: &mut Tx, username: &str) -> DbResult<Option<i64>> {
    Ok(
        on_tx!(tx, c => sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_optional(c)
        .await)?,
    )
}

/// The id of the active (not disabled) user named `username`.
pub async fn active_id_of(tx: &mut Tx, username: &str) -> DbResult<Option<i64>> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "SELECT id FROM users WHERE username = $1 AND disabled_at IS NULL",
    )
    .bind(username)
    .fetch_optional(c)
    .await)?)
}

/// Disable a user and end all their sessions; false when there is no such active user.
pub async fn disable(tx: &mut Tx, user_id: i64) -> DbResult<bool> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE users SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL")
        .bind(user_id)
        .bind(now())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    on_tx!(tx, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Set a new password hash and end all the user's sessions.
pub async fn set_password(tx: &mut Tx, user_id: i64, password_hash: &str) -> DbResult<()> {
    on_tx!(tx, c => sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
        .bind(user_id)
        .bind(password_hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    on_tx!(tx, c => sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// [`Db::find_session_and_key`]'s statement. The session with its user, and the key's record
/// for that user (NULLs when there is none).
macro_rules! session_and_key {
    ($key_join:literal) => {
        concat!(
            "SELECT u.id AS user_id, u.username, u.display_name, u.role, s.last_seen_at, \
                    k.purpose, k.target, k.fingerprint, k.status_code, k.location, \
                    k.content_type, k.body, k.completed_at \
             FROM sessions s JOIN users u ON u.id = s.user_id ",
            $key_join,
            " WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 \
               AND u.disabled_at IS NULL"
        )
    };
}

/// On PostgreSQL the key is read in a subquery of its own (`LATERAL ... OFFSET 0`, which the
/// planner does not fold into the join), so that its plan always looks the key up by both
/// columns of the primary key. Joined plainly, the plan that a connection cached while the
/// key table was young and not yet analyzed (autovacuum off, or not yet run) read the index
/// by the key alone or scanned the table: one sequential scan of `idempotency_keys` per
/// confirmation, 17 million rows read in a run of 6,000 (measured with `pg_stat_user_tables`).
const SESSION_AND_KEY_POSTGRES: &str = session_and_key!(
    "LEFT JOIN LATERAL (SELECT * FROM idempotency_keys k \
     WHERE k.user_id = s.user_id AND k.key = $4 OFFSET 0) k ON true"
);

/// SQLite has no LATERAL; it plans each statement when it is prepared, with the primary key
/// for an equality on both of its columns.
const SESSION_AND_KEY_SQLITE: &str =
    session_and_key!("LEFT JOIN idempotency_keys k ON k.user_id = u.id AND k.key = $4");
