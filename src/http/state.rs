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
