//! Liveness and readiness for load balancers and orchestrators.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use super::AppState;
use crate::db::migrate::SchemaState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
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
