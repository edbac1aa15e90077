//! The audit log: every event, filtered and paged (`/audit`), and its CSV export.

use axum::Router;

use super::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
