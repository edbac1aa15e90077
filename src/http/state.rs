//! The application state every handler may ask for. Cheap to clone.

use std::sync::Arc;

use axum::extract::FromRef;

use super::templates::Currency;
use crate::db::Db;
use crate::db::users::SessionLifetimes;
use crate::idempotency::Idempotency;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub idem: Idempotency,
    pub currency: Currency,
    /// The zone pages show times in (stored times stay UTC).
    pub zone: crate::domain::Zone,
    pub sessions: SessionConfig,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// A bearer token that lets a scraper read `/metrics` without signing in.
    pub metrics_token: Option<String>,
    /// Per-token request budget of the JSON API on this server.
    pub api_limits: Arc<super::limits::RateLimiter>,
    /// Draining (after SIGTERM) and requests in flight, for `/readyz` and shutdown.
    pub lifecycle: Arc<Lifecycle>,
    /// How long a request may take before its answer is "that took too long" (408).
    pub request_timeout: std::time::Duration,
}

/// Where this server is in its life: serving, or draining after SIGTERM (`/readyz` answers 503
/// so that load balancers move traffic away while requests are still served); and how many
/// requests are in flight, so that shutdown can say what it waited for.
#[derive(Debug, Default)]
pub struct Lifecycle {
    draining: std::sync::atomic::AtomicBool,
    in_flight: std::sync::atomic::AtomicUsize,
}

impl Lifecycle {
    pub fn start_draining(&self) {
        self.draining
            .store(true, std::sync::atomic::Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Count a request as in flight until the guard is dropped.
    pub fn enter(self: &Arc<Self>) -> InFlight {
        self.in_flight
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }
}

/// A request in flight (see [`Lifecycle::enter`]).
pub struct InFlight(Arc<Lifecycle>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Session settings, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    pub lifetimes: SessionLifetimes,
    /// Mark the cookie `Secure` (the site is served over TLS).
    pub secure_cookies: bool,
}

impl FromRef<AppState> for Db {
    fn from_ref(s: &AppState) -> Db {
        s.db.clone()
    }
}
