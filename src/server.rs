//! Building the application state from configuration, and serving it.

use std::time::Duration;

use crate::db::migrate::SchemaState;
use crate::db::users::SessionLifetimes;
use crate::db::{Db, DbOptions};
use crate::http::state::SessionConfig;
use crate::http::templates::Currency;
use crate::http::{AppState, router};
use crate::idempotency::{Idempotency, Secret};

/// Everything `serve` needs, from flags and environment.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: String,
    pub currency: String,
    /// The IANA time zone pages show times in (`Europe/Vienna`); empty or `UTC` for UTC.
    pub timezone: String,
    /// Explicit token secret; when absent one is generated once and kept in the database, so
    /// every server on the same database shares it.
    pub secret: Option<String>,
    pub key_retention: Duration,
    /// Signed out after this long without a request.
    pub session_idle: Duration,
    /// Signed out this long after signing in.
    pub session_absolute: Duration,
    /// Mark the session cookie `Secure` (serve behind TLS).
    pub secure_cookies: bool,
    /// Bearer token for `/metrics` scrapers; without it only signed-in admins read metrics.
    pub metrics_token: Option<String>,
    /// Requests per second one API token may send to this server (bursts of twice that);
    /// 0 for no limit.
    pub api_rate: u32,
    /// How long a request may take before the answer is a 408 page (or problem).
    pub request_timeout: Duration,
}

/// Why the server refuses to start, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Schema(String),
    #[error("{0}")]
    Zone(#[from] crate::domain::UnknownZone),
    #[error("database: {0}")]
    Db(#[from] crate::db::DbError),
    #[error("cannot listen on {bind}: {err}")]
    Bind { bind: String, err: std::io::Error },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Make sure the schema is the one this binary expects. A brand-new SQLite database is
/// migrated on the spot (the embedded default needs no separate step); anything else that is
/// not current stops the server with the command to run.
pub async fn ensure_schema(db: &Db) -> Result<(), StartError> {
    match db.schema_state().await? {
        SchemaState::Current => Ok(()),
        SchemaState::Empty if db.backend() == crate::db::Backend::Sqlite => {
            tracing::info!("new database: applying the schema");
            db.migrate().await?;
            Ok(())
        }
        SchemaState::Empty | SchemaState::Pending(_) => Err(StartError::Schema(
            "the database schema is not current: run `orderdesk migrate run` (see `orderdesk migrate status`)".into(),
        )),
        SchemaState::Unknown(v) => Err(StartError::Schema(format!(
            "the database has migrations this orderdesk does not know ({v:?}): it was written by a newer \
             version; run that version instead"
        ))),
    }
}

/// The application state for a database: the token secret, the currency.
pub async fn state(db: Db, cfg: &ServerConfig) -> Result<AppState, StartError> {
    let secret = match &cfg.secret {
        Some(s) => s.clone(),
        None => {
            db.setting_or_init("token_secret", &crate::auth::random_hex(32))
                .await?
        }
    };
    Ok(AppState {
        idem: Idempotency::new(Secret::new(secret.into_bytes())),
        currency: Currency::new(&cfg.currency),
        zone: crate::domain::Zone::named(&cfg.timezone)?,
        sessions: SessionConfig {
            lifetimes: SessionLifetimes {
                idle: time::Duration::try_from(cfg.session_idle).unwrap_or(time::Duration::HOUR),
                absolute: time::Duration::try_from(cfg.session_absolute)
                    .unwrap_or(time::Duration::HOUR),
            },
            secure_cookies: cfg.secure_cookies,
        },
        metrics: Default::default(),
        lifecycle: Default::default(),
        metrics_token: cfg.metrics_token.clone().filter(|t| !t.is_empty()),
        api_limits: std::sync::Arc::new(crate::http::limits::RateLimiter::new(cfg.api_rate)),
        request_timeout: cfg.request_timeout,
        db,
    })
}

/// How a server stops on SIGTERM (or Ctrl-C).
#[derive(Debug, Clone, Copy)]
pub struct Shutdown {
    /// How long `/readyz` answers 503 while requests are still served, so that a load balancer
    /// stops sending new ones before the listener closes.
    pub drain: Duration,
    /// How long requests in flight (confirmations among them) may take to finish after the
    /// listener closed; the server exits when they are done or this has passed.
    pub timeout: Duration,
}

/// Serve until SIGINT/SIGTERM: drain (readyz 503, still serving), stop accepting, let requests
/// in flight finish within the shutdown timeout, exit.
pub async fn serve(
    db_opts: DbOptions,
    cfg: ServerConfig,
    shutdown: Shutdown,
) -> Result<(), StartError> {
    let db = Db::connect(&db_opts).await?;
    ensure_schema(&db).await?;
    let state = state(db.clone(), &cfg).await?;
    let listener = tokio::net::TcpListener::bind(&cfg.bind)
        .await
        .map_err(|err| StartError::Bind {
            bind: cfg.bind.clone(),
            err,
        })?;
    let addr = listener.local_addr()?;
    tokio::spawn(purge_keys_periodically(db.clone(), cfg.key_retention));
    tracing::info!(%addr, backend = ?db.backend(), "orderdesk listening");
    println!("orderdesk is running at http://{addr}/  (Ctrl-C stops it)");
    let lifecycle = std::sync::Arc::clone(&state.lifecycle);
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    let drain = {
        let lifecycle = std::sync::Arc::clone(&lifecycle);
        async move {
            shutdown_signal().await;
            lifecycle.start_draining();
            tracing::info!(
                seconds = shutdown.drain.as_secs_f64(),
                "draining: /readyz answers 503 while requests are still served"
            );
            tokio::time::sleep(shutdown.drain).await;
            tracing::info!(
                in_flight = lifecycle.in_flight(),
                "no longer accepting connections; finishing the requests in flight"
            );
            let _ = closed_tx.send(());
        }
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(drain);
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        done = &mut server => done?,
        Ok(()) = closed_rx => {
            let waited_for = lifecycle.in_flight();
            match tokio::time::timeout(shutdown.timeout, &mut server).await {
                Ok(done) => {
                    done?;
                    tracing::info!(waited_for, "requests in flight finished");
                }
                Err(_) => tracing::warn!(
                    waited_for,
                    still_running = lifecycle.in_flight(),
                    "shutdown timeout passed with requests still running; exiting"
                ),
            }
        }
    }
    db.close().await;
    tracing::info!("orderdesk stopped");
    Ok(())
}

/// Every server purges expired idempotency keys now and then; several servers doing so at once
/// only delete the same rows. After a purge the conditional updates still prevent a second effect.
async fn purge_keys_periodically(db: Db, retention: Duration) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        let Ok(keep) = time::Duration::try_from(retention) else {
            return;
        };
        let cutoff = time::OffsetDateTime::now_utc() - keep;
        match db.purge_idempotency(cutoff, 10_000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "expired idempotency keys purged"),
            Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
        }
        // The sign-in throttle counts failures of the last minutes; a day is plenty.
        let day_ago = time::OffsetDateTime::now_utc() - time::Duration::DAY;
        match db.purge_login_failures(day_ago).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "old failed sign-ins purged"),
            Err(e) => tracing::warn!(error = %e, "purging failed sign-ins failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
