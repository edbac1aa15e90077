//! The database: one concrete [`Db`] type over SQLite or PostgreSQL.
//!
//! Handlers and operations never see which backend runs. SQL that is the same on both lives in
//! the query modules (`orders`, `products`, ...) and is written once through [`on_tx!`] /
//! [`on_pool!`], which expand the body for each backend so native types bind on each. SQL that
//! differs per backend (locking clauses, connection setup, error codes) lives in `sqlite.rs` and
//! `postgres.rs`, one place per backend.
//!
//! Storage choices: money is integer cents (BIGINT), tax rates integer basis points, quantities
//! BIGINT: exact on both backends, converted to `rust_decimal` at the domain edge. Idempotency
//! keys are UUID on PostgreSQL and 16-byte BLOBs on SQLite. Times are TIMESTAMPTZ on PostgreSQL
//! and RFC 3339 UTC text on SQLite.

pub mod audit;
pub mod bench;
pub mod check;
pub mod customers;
pub mod idempotency;
pub mod invoices;
pub mod migrate;
pub mod orders;
mod postgres;
pub mod products;
mod settings;
mod sqlite;
pub mod stock;
pub mod users;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// Expand `$body` once per backend with `$c` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

/// Expand `$body` once per backend with `$c` bound to the pool used for reads.
macro_rules! on_pool {
    ($db:expr, $c:ident => $body:expr) => {
        match &$db.pools {
            $crate::db::Pools::Sqlite { read, .. } => {
                let $c = read;
                $body
            }
            $crate::db::Pools::Postgres(pool) => {
                let $c = pool;
                $body
            }
        }
    };
}

pub(crate) use {on_pool, on_tx};

/// Which backend a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pools {
    /// SQLite: many readers; writers go through a single-connection pool so that in-process
    /// writers queue fairly instead of polling the file lock. Exclusion itself still comes from
    /// `BEGIN IMMEDIATE` and the busy timeout, so several processes on one file stay correct.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// Connection settings the pools are built from.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub url: String,
    /// Connections per server (PostgreSQL) or readers (SQLite).
    pub max_connections: u32,
    /// How long a write waits for a lock held by another transaction before giving up:
    /// the bound on an in-flight duplicate's wait.
    pub lock_wait: Duration,
}

/// Fault injection for tests: proves that a failure inside the confirmation leaves nothing.
#[derive(Debug, Default)]
pub struct Faults {
    fail_after_stock_update: AtomicBool,
    action_delay_ms: std::sync::atomic::AtomicU64,
}

impl Faults {
    /// Make the next confirmation fail right after it decremented stock (then disarm).
    pub fn fail_next_confirmation_after_stock_update(&self) {
        self.fail_after_stock_update.store(true, Ordering::SeqCst);
    }

    pub(crate) fn take_fail_after_stock_update(&self) -> bool {
        self.fail_after_stock_update.swap(false, Ordering::SeqCst)
    }

    /// Hold every state-changing action open this long inside its transaction, right after
    /// its claim, so that duplicates really overlap in tests.
    pub fn set_action_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.action_delay_ms.store(ms, Ordering::SeqCst);
    }

    pub(crate) fn action_delay(&self) -> Option<Duration> {
        match self.action_delay_ms.load(Ordering::SeqCst) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }
}

/// The database handle shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub(crate) pools: Pools,
    faults: Arc<Faults>,
}

/// A write transaction, begun so that it takes its locks up front where the backend needs it
/// (`BEGIN IMMEDIATE` on SQLite). Dropping it without commit rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// What went wrong in the database, classified so callers can answer precisely.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A lock wait ran past its bound (SQLite busy, PostgreSQL lock_timeout, pool timeout).
    #[error("timed out waiting for a lock")]
    Busy,
    /// A unique constraint refused the write.
    #[error("unique constraint violated")]
    Unique,
    /// A CHECK constraint refused the write (for example stock below zero).
    #[error("check constraint violated")]
    Check,
    #[error(transparent)]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(err: sqlx::Error) -> Self {
        if matches!(err, sqlx::Error::PoolTimedOut) {
            return DbError::Busy;
        }
        if let Some(db_err) = err.as_database_error() {
            if db_err.is_unique_violation() {
                return DbError::Unique;
            }
            if db_err.is_check_violation() {
                return DbError::Check;
            }
            let code = db_err.code();
            let code = code.as_deref().unwrap_or("");
            if sqlite::is_busy_code(code) || postgres::is_busy_code(code) {
                return DbError::Busy;
            }
        }
        DbError::Other(err)
    }
}

impl From<sqlx::migrate::MigrateError> for DbError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        DbError::Other(sqlx::Error::Migrate(Box::new(err)))
    }
}

pub type DbResult<T> = Result<T, DbError>;

impl Db {
    /// Connect to the database named by `url`: `sqlite:...` or `postgres://...`.
    pub async fn connect(opts: &DbOptions) -> DbResult<Db> {
        let pools = if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            postgres::connect(opts).await?
        } else {
            sqlite::connect(opts).await?
        };
        Ok(Db {
            pools,
            faults: Arc::new(Faults::default()),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// A shared handle on the fault switches, for actions that run in their own task.
    pub fn faults_handle(&self) -> Arc<Faults> {
        Arc::clone(&self.faults)
    }

    /// Begin a write transaction.
    pub async fn begin(&self) -> DbResult<Tx> {
        Ok(match &self.pools {
            Pools::Sqlite { write, .. } => Tx::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?),
            Pools::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Cheap liveness probe of the database.
    pub async fn ping(&self) -> DbResult<()> {
        on_pool!(self, c => sqlx::query("SELECT 1").execute(c).await.map(|_| ()))?;
        Ok(())
    }

    /// Close every connection (graceful shutdown, tests).
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                write.close().await;
                read.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// Connections in use and idle, for health checks and tests that prove the pool is healthy.
    pub fn pool_status(&self) -> (u32, usize) {
        match &self.pools {
            Pools::Sqlite { read, write } => (
                read.size() + write.size(),
                read.num_idle() + write.num_idle(),
            ),
            Pools::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }
}

impl Tx {
    pub async fn commit(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> DbResult<()> {
        match self {
            Tx::Sqlite(t) => t.rollback().await?,
            Tx::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

/// The current time, truncated to microseconds so that it round-trips identically through
/// both backends.
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}
