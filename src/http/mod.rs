//! The web layer, the core's two faces: the pages (one router per area, merged here) and the
//! JSON API (`api`, under `/api/v1`), plus the layers every request passes.

mod admin;
pub mod api;
mod assets;
mod audit;
mod cancellation;
mod charts;
mod company;
mod confirmation;
mod credit_notes;
mod customers;
mod dashboard;
pub mod error;
mod extract;
mod feedback;
mod forms;
mod health;
mod invoices;
pub mod limits;
mod login;
mod new_order;
mod order_lines;
mod order_list;
mod orders;
mod paths;
mod products;
mod receipts;
mod responses;
pub mod session;
pub mod state;
mod stock;
pub mod templates;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use state::AppState;

/// The request-id header, kept when the client sent one.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application: used by `orderdesk serve` and by the tests alike.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(dashboard::router())
        .merge(orders::router())
        .merge(order_lines::router())
        .merge(confirmation::router())
        .merge(cancellation::router())
        .merge(receipts::router())
        .merge(stock::router())
        .merge(invoices::router())
        .merge(credit_notes::router())
        .merge(customers::router())
        .merge(company::router())
        .merge(products::router())
        .merge(health::router())
        .merge(login::router())
        .merge(admin::router())
        .merge(audit::router())
        .merge(assets::router())
        .nest(
            paths::API,
            api::router().layer(axum::middleware::from_fn_with_state(
                state.clone(),
                api::api_layer,
            )),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), feedback::layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::require_sign_in))
        .layer(axum::middleware::from_fn(session::refuse_cross_site))
        .layer(axum::middleware::from_fn_with_state(state.clone(), health::record_metrics))
        .layer(axum::middleware::from_fn_with_state(state.clone(), display_zone))
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(256 * 1024))
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

/// Every time a page shows is in the configured zone (`templates::datetime`).
async fn display_zone(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    templates::in_zone(st.zone.clone(), next.run(req)).await
}

/// Stop waiting for a request after the request timeout: a page that says so (with the header,
/// as the feedback layer outside this one adds it) or, under `/api`, a problem. Inside the
/// metrics layer, so a timeout is counted like any other answer. A form's work already started
/// runs to its end in a task of its own, so the answer never claims that nothing changed.
async fn time_limit(
    axum::extract::State(st): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let api = paths::is_api(req.uri().path());
    let Ok(res) = tokio::time::timeout(st.request_timeout, next.run(req)).await else {
        let seconds = st.request_timeout.as_secs().max(1);
        tracing::warn!(seconds, "request timed out");
        if api {
            st.metrics.record_api_response(408);
            return api::Problem::new(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timeout",
                format!(
                    "The server stopped waiting after {seconds} seconds. The request may have \
                     taken effect: send it again with the same Idempotency-Key to learn its outcome."
                ),
            )
            .into_response();
        }
        return error::PageError::TimedOut { seconds }.into_response();
    };
    res
}

/// A page address asked with a method it does not take (a PUT or DELETE): a page that says
/// so. A GET of a form's address is sent to its page by the feedback layer instead.
async fn method_not_allowed() -> error::PageError {
    error::PageError::MethodNotAllowed
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

/// Nothing here: a page for people, a problem for API clients (`/api/v1/` with its trailing
/// slash falls through the API's own router to here).
async fn not_found(
    axum::extract::State(st): axum::extract::State<AppState>,
    uri: axum::http::Uri,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if paths::is_api(uri.path()) {
        st.metrics.record_api_response(404);
        return api::Problem::not_found(
            "There is no API endpoint at this address. See /api/v1/openapi.json.",
        )
        .into_response();
    }
    error::PageError::NotFound("There is no page at this address.".into()).into_response()
}
