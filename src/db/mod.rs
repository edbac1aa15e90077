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

pub mod api_tokens;
pub mod audit;
pub mod check;
pub mod company;
pub mod confirmation;
pub mod credit_notes;
pub mod customers;
pub mod faults;
pub mod history;
pub mod idempotency;
pub mod invoices;
pub mod migrate;
pub mod orders;
mod postgres;
pub mod products;
pub mod search;
mod settings;
mod sqlite;
pub mod stock;
pub mod timing;
pub mod types;
pub mod users;

use std::time::Duration;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// Expand `$body` once per backend with `$c` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut ($tx).conn {
            $crate::db::TxConn::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::TxConn::Postgres(t) => {
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

/// Expand `$body` once per backend with `$c` bound to a [`Reader`]'s connection: the pool
/// outside a transaction, or the transaction's own connection (to read what it wrote).
macro_rules! on_reader {
    ($r:expr, $c:ident => $body:expr) => {
        match $r {
            $crate::db::Reader::Db(db) => $crate::db::on_pool!(db, $c => $body),
            $crate::db::Reader::Tx(tx) => $crate::db::on_tx!(tx, $c => $body),
        }
    };
}

/// Call the backend module's own version of a statement whose SQL differs per backend:
/// `per_backend!(tx, return_stock_for_order(id, actor, at))` runs `sqlite::return_stock_for_order`
/// or `postgres::return_stock_for_order` on the transaction's connection.
macro_rules! per_backend {
    ($tx:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match &mut ($tx).conn {
            $crate::db::TxConn::Sqlite(t) => $crate::db::sqlite::$f(&mut **t, $($arg),*).await,
            $crate::db::TxConn::Postgres(t) => $crate::db::postgres::$f(&mut **t, $($arg),*).await,
        }
    };
}

pub(crate) use {on_pool, on_reader, on_tx, per_backend};

/// Where a read runs: on the pool, or inside a transaction that must see its own writes (a
/// document recorded with the effects that made it).
pub enum Reader<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

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

/// Whether this server's writes are failing: set when a write connection is found unusable
/// (SQLite after a full disk or an I/O error) or a commit fails for a reason other than
/// contention or a constraint; cleared by the next commit that succeeds. `/readyz` answers 503
/// while it is set, and probes with a small write of its own so that it turns 200 by itself
/// once writes work again.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failing: std::sync::atomic::AtomicBool,
}

impl WriteHealth {
    /// Note the outcome of a step that writes: success clears the flag; a failure that is not
    /// contention (busy, lock timeout) nor a constraint sets it.
    fn observe<T>(&self, r: DbResult<T>) -> DbResult<T> {
        match &r {
            Ok(_) => self.succeeded(),
            Err(DbError::Other(_) | DbError::CommitOutcomeUnknown(_)) => self.failed(),
            Err(_) => {}
        }
        r
    }

    pub(crate) fn failed(&self) {
        self.failing
            .store(true, std::sync::atomic::Ordering::Release);
    }

    fn succeeded(&self) {
        self.failing
            .store(false, std::sync::atomic::Ordering::Release);
    }

    pub fn is_failing(&self) -> bool {
        self.failing.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// The database handle shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pub(crate) pools: Pools,
    write_health: std::sync::Arc<WriteHealth>,
    search_sample: std::sync::Arc<search::SearchSample>,
    #[cfg(feature = "test-hooks")]
    faults: std::sync::Arc<faults::Faults>,
}

/// A write transaction, begun so that it takes its locks up front where the backend needs it
/// (`BEGIN IMMEDIATE` on SQLite). Dropping it without commit rolls back.
pub struct Tx {
    pub(crate) conn: TxConn,
    health: std::sync::Arc<WriteHealth>,
    /// Where this transaction's time went, phase by phase (see [`timing`]).
    times: timing::PhaseTimes,
    /// An idempotency claim handed to the action's first statement (see [`Tx::defer_claim`]).
    pending_claim: Option<idempotency::NewClaim>,
    /// What a deferred claim found when the key was not free.
    claim_refused: Option<ClaimRefused>,
    #[cfg(feature = "test-hooks")]
    pub(crate) faults: std::sync::Arc<faults::Faults>,
}

/// Why a deferred idempotency claim could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimRefused {
    /// A committed request holds the key: replay its response.
    Taken,
    /// Another transaction holds the key uncommitted past the lock wait: still in flight.
    InFlight,
}

pub(crate) enum TxConn {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// What went wrong in the database, classified so callers can answer precisely.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A lock wait ran past its bound (SQLite busy, PostgreSQL lock_timeout, pool timeout).
    #[error("timed out waiting for a lock")]
    Busy,
    /// A unique constraint refused the write; `target` names it as `table.column` on both
    /// backends (see [`DbError::is_unique`]), when it is one the schema declares.
    #[error("unique constraint violated ({})", target.as_deref().unwrap_or("unknown"))]
    Unique { target: Option<String> },
    /// A CHECK constraint refused the write (for example stock below zero).
    #[error("check constraint violated")]
    Check,
    /// The database cannot be reached or opened at all; the text names the cause and the next
    /// step (URL without its password, host and port or file path, the driver's reason).
    #[error("{0}")]
    Connect(String),
    /// The connection was lost while COMMIT was on its way (no answer came back): the
    /// transaction may or may not have committed. Only a look at the database can tell, which
    /// is what a retry with the same idempotency key does.
    #[error("connection lost during COMMIT, outcome unknown: {0}")]
    CommitOutcomeUnknown(sqlx::Error),
    /// The database URL names a kind of database orderdesk does not speak (`mysql://`).
    #[error("{0}")]
    UnsupportedUrl(String),
    /// A deferred idempotency claim (see [`Tx::defer_claim`]) found its key recorded by a
    /// committed request: the engine answers with that request's response.
    #[error("the idempotency key was used by a completed request")]
    KeyTaken,
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
                let target = match db_err.constraint() {
                    Some(name) => postgres::unique_target(name),
                    None => sqlite::unique_target(db_err.message()),
                };
                return DbError::Unique { target };
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

impl DbError {
    /// Whether this is the unique violation of `table.column`: lets the query that raises it
    /// map exactly that constraint to what it means ("a user of that name exists"), and any
    /// other violation stay an error.
    pub fn is_unique(&self, table_column: &str) -> bool {
        matches!(self, DbError::Unique { target: Some(t) } if t == table_column)
    }
}

pub type DbResult<T> = Result<T, DbError>;

impl Db {
    /// Connect to the database named by `url`: `sqlite:...` or `postgres://...`.
    pub async fn connect(opts: &DbOptions) -> DbResult<Db> {
        let write_health = std::sync::Arc::<WriteHealth>::default();
        let pools = match url_scheme(&opts.url) {
            "postgres" | "postgresql" => postgres::connect(opts).await?,
            // A URL without a scheme is read as an SQLite file name, as sqlx reads it.
            "sqlite" | "" => sqlite::connect(opts, std::sync::Arc::clone(&write_health)).await?,
            other => {
                return Err(DbError::UnsupportedUrl(format!(
                    "unsupported database URL scheme {other:?}: use sqlite:PATH (the default, \
                     a file) or postgres://USER@HOST:PORT/DATABASE"
                )));
            }
        };
        Ok(Db {
            pools,
            write_health,
            search_sample: Default::default(),
            #[cfg(feature = "test-hooks")]
            faults: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Begin a write transaction.
    pub async fn begin(&self) -> DbResult<Tx> {
        let mut times = timing::PhaseTimes::since(std::time::Instant::now());
        let conn = match &self.pools {
            Pools::Sqlite { write, .. } => write
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map(TxConn::Sqlite),
            Pools::Postgres(pool) => pool.begin().await.map(TxConn::Postgres),
        };
        // A BEGIN that works proves nothing about writes (a full disk lets it through): only a
        // failure is noted here, and only a commit clears the flag.
        let conn = conn.map_err(DbError::from).inspect_err(|e| {
            if matches!(e, DbError::Other(_)) {
                self.write_health.failed();
            }
        })?;
        times.mark(timing::Phase::Connection);
        Ok(Tx {
            conn,
            health: std::sync::Arc::clone(&self.write_health),
            times,
            pending_claim: None,
            claim_refused: None,
            #[cfg(feature = "test-hooks")]
            faults: std::sync::Arc::clone(&self.faults),
        })
    }

    /// Whether writes failed last time (see [`WriteHealth`]).
    pub fn writes_failing(&self) -> bool {
        self.write_health.is_failing()
    }

    /// A small real write (one settings row), to learn whether writes work again.
    pub async fn probe_write(&self) -> DbResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO settings (name, value) VALUES ('write-probe', $1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            .bind(now().unix_timestamp().to_string())
            .execute(c)
            .await
            .map(|_| ()))?;
        tx.commit().await
    }

    /// Write a consistent copy of an SQLite database to `file` (`VACUUM INTO`: it reads one
    /// snapshot while writers go on, and the copy is compact). Not for PostgreSQL (pg_dump).
    pub async fn backup_sqlite_to(&self, file: &std::path::Path) -> DbResult<()> {
        let Pools::Sqlite { read, .. } = &self.pools else {
            return Err(DbError::Connect(
                "a PostgreSQL database is backed up with pg_dump".into(),
            ));
        };
        sqlx::query("VACUUM INTO $1")
            .bind(file.to_string_lossy().into_owned())
            .execute(read)
            .await?;
        Ok(())
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
    /// The time since the previous mark (or `BEGIN`) belongs to `phase`.
    pub fn mark(&mut self, phase: timing::Phase) {
        self.times.mark(phase);
    }

    /// Hand the key's claim to the action's first statement instead of claiming it in a
    /// statement of its own: one round trip fewer on PostgreSQL, where the claim, the order's
    /// conditional update and the row locks are one statement (see [`confirmation::start`]).
    /// The statement that takes it with [`Tx::take_claim`] must insert the key before any
    /// effect, and call [`Tx::refuse_claim`] when the key is not free.
    pub fn defer_claim(&mut self, claim: idempotency::NewClaim) {
        self.pending_claim = Some(claim);
    }

    /// The claim deferred by [`Tx::defer_claim`], if it has not been taken yet.
    pub fn take_claim(&mut self) -> Option<idempotency::NewClaim> {
        self.pending_claim.take()
    }

    /// The deferred claim could not be made: say why, for the engine (see
    /// [`Tx::claim_refused_as`]), and get the error that ends the action.
    pub fn refuse_claim(&mut self, why: ClaimRefused) -> DbError {
        self.claim_refused = Some(why);
        match why {
            ClaimRefused::Taken => DbError::KeyTaken,
            ClaimRefused::InFlight => DbError::Busy,
        }
    }

    /// Why a deferred claim could not be made, if it could not.
    pub fn claim_refused_as(&self) -> Option<ClaimRefused> {
        self.claim_refused
    }

    /// The phases so far; a copy whose clock runs on, so that marking it after
    /// [`commit`](Tx::commit) gives the commit its time.
    pub fn times(&self) -> timing::PhaseTimes {
        self.times.clone()
    }

    pub async fn commit(self) -> DbResult<()> {
        let done = match self.conn {
            TxConn::Sqlite(t) => t.commit().await,
            TxConn::Postgres(t) => t.commit().await,
        };
        let done = done.map_err(|e| match e {
            // The COMMIT may have reached the database; only its answer is missing.
            sqlx::Error::Io(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => DbError::CommitOutcomeUnknown(e),
            e => DbError::from(e),
        });
        self.health.observe(done)
    }

    pub async fn rollback(self) -> DbResult<()> {
        match self.conn {
            TxConn::Sqlite(t) => t.rollback().await?,
            TxConn::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// The scheme of a database URL (`sqlite`, `postgres`, ...), lower case; empty when none.
fn url_scheme(url: &str) -> &str {
    url.split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+'))
        .unwrap_or("")
}

/// The URL with its password masked, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The file an SQLite URL names (`sqlite:desk.db`, `sqlite://data/desk.db?mode=rwc`); `None`
/// for PostgreSQL URLs and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    Some(opts.get_filename().to_path_buf())
}

/// The current time, truncated to microseconds so that it round-trips identically through
/// both backends.
pub fn now() -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}
