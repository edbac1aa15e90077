//! Liveness and readiness for load balancers and orchestrators.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::error::PageError;
use super::session::{CurrentUser, metrics_bearer_ok};
use super::state::AppState;
use crate::db::migrate::SchemaState;
use crate::domain::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(show_metrics))
}

/// How long `/readyz` waits for the database: a probe with a short timeout must see a 503,
/// not a timeout of its own, whatever the database does.
const READY_WITHIN: Duration = Duration::from_secs(1);

/// Ready when the database answers within [`READY_WITHIN`], its schema is the one this binary
/// expects, and writes work: after a write failed (a full disk, an I/O error), a small write of
/// its own tells when they work again.
async fn readyz(State(st): State<AppState>) -> (StatusCode, String) {
    let unavailable = |why: &str| (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n"));
    if st.lifecycle.is_draining() {
        return unavailable("draining: this server is shutting down");
    }
    let check = async {
        let schema = st.db.schema_state().await?;
        if schema == SchemaState::Current && st.db.writes_failing() {
            st.db.probe_write().await?;
        }
        Ok::<_, crate::db::DbError>(schema)
    };
    let Ok(answer) = tokio::time::timeout(READY_WITHIN, check).await else {
        tracing::warn!("readiness check: the database did not answer within 1 s");
        return unavailable("database did not answer within 1 s");
    };
    match answer {
        Ok(SchemaState::Current) => (StatusCode::OK, "ready\n".into()),
        Ok(other) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("schema not current: {other:?}\n"),
        ),
        Err(e) if st.db.writes_failing() => {
            tracing::warn!(error = %e, "readiness check: writes are failing");
            unavailable("database writes are failing")
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            unavailable("database unreachable")
        }
    }
}

/// Prometheus metrics of this server: for signed-in admins, or a scraper with the bearer token.
async fn show_metrics(
    State(st): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
) -> Response {
    let admin = user.is_some_and(|u| u.role == Role::Admin);
    if !admin && !metrics_bearer_ok(&st, &headers) {
        return PageError::Forbidden(
            "Metrics are for admins and for scrapers with the metrics token.".into(),
        )
        .into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
        .into_response()
}

/// Middleware: count every response by status class and time it.
pub async fn record_metrics(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let _in_flight = st.lifecycle.enter();
    let res = next.run(req).await;
    st.metrics
        .record_response(res.status().as_u16(), start.elapsed());
    res
}
