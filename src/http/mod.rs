//! The web layer: one router per area, merged here, plus the layers every request passes.

mod admin;
mod assets;
mod dashboard;
mod extract;
mod health;
mod invoices;
mod login;
mod master;
mod new_order;
mod order_lines;
mod order_list;
mod orders;
mod receipt;
mod receipts;
pub mod session;
mod stock;
pub mod templates;

use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::db::Db;
use crate::idempotency::{Claim, Idempotency, Scope};
use templates::Currency;

/// Everything a handler may ask for. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub idem: Idempotency,
    pub currency: Currency,
    pub sessions: session::SessionConfig,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// A bearer token that lets a scraper read `/metrics` without signing in.
    pub metrics_token: Option<String>,
}

impl AppState {
    /// Verify a submitted form's token for `user` and `scope`, and prepare its claim. A form
    /// that already completed is answered here with its recorded outcome (see
    /// [`Idempotency::claim`]).
    pub async fn claim<T>(
        &self,
        user: &session::CurrentUser,
        scope: Scope,
        form: &extract::TokenForm<T>,
    ) -> Result<Claim, crate::error::AppError> {
        self.idem
            .claim(&self.db, &user.subject(), scope, &form.token, form.pairs())
            .await
    }
}

impl FromRef<AppState> for Db {
    fn from_ref(s: &AppState) -> Db {
        s.db.clone()
    }
}

/// The request-id header, kept when the client sent one.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: used by `orderdesk serve` and by the tests alike.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(dashboard::router())
        .merge(orders::router())
        .merge(order_lines::router())
        .merge(receipt::router())
        .merge(receipts::router())
        .merge(stock::router())
        .merge(invoices::router())
        .merge(master::router())
        .merge(health::router())
        .merge(login::router())
        .merge(admin::router())
        .merge(assets::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::require_sign_in))
        .layer(axum::middleware::from_fn(session::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(state.clone(), health::record_metrics))
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(axum::middleware::from_fn(drop_insane_request_id))
}

/// Keep a client's `X-Request-Id` only when it is short and plain; otherwise a fresh one is made.
async fn drop_insane_request_id(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let sane = req.headers().get(REQUEST_ID).is_none_or(|v| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 64
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    });
    if !sane {
        req.headers_mut().remove(REQUEST_ID);
    }
    next.run(req).await
}

async fn not_found() -> crate::error::AppError {
    crate::error::AppError::NotFound("There is no page at this address.".into())
}
