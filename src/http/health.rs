//! Liveness and readiness for load balancers and orchestrators.

use std::time::Instant;

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

/// Ready when the database answers and its schema is the one this binary expects.
async fn readyz(State(st): State<AppState>) -> (StatusCode, String) {
    match st.db.schema_state().await {
        Ok(SchemaState::Current) => (StatusCode::OK, "ready\n".into()),
        Ok(other) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("schema not current: {other:?}\n"),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "database unreachable\n".into(),
            )
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
    let res = next.run(req).await;
    st.metrics
        .record_response(res.status().as_u16(), start.elapsed());
    res
}
