//! The JSON API (v1) for integrations: the core's second face (SPEC section 12).
//!
//! Same operations, same engine, same transactions as the pages; only the presentation
//! differs: JSON in and out, amounts as decimal strings, cursor pages, errors as RFC 9457
//! problem+json (never HTML), bearer tokens instead of sessions, and a client-chosen
//! `Idempotency-Key` on every POST with the contract of the IETF httpapi draft: the same key
//! with the same method, path and body replays the first response (status, body, `Location`)
//! with `Idempotent-Replayed: true`; with anything else it is a 422; while the first request is
//! in flight a duplicate waits (bounded), then replays, or past the bound gets 409 with
//! `Retry-After`.

mod catalogue;
mod extract;
mod invoices;
mod openapi;
mod orders;
mod problem;
mod respond;
mod schema;
mod views;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use openapi::ApiDoc;
pub use problem::{PROBLEM_JSON, Problem};

use self::extract::BODY_LIMIT;
use super::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(catalogue::list_customers))
        .route("/products", get(catalogue::list_products))
        .route(
            "/orders",
            get(orders::list_orders).post(orders::create_order),
        )
        .route("/orders/{id}", get(orders::show_order))
        .route("/orders/{id}/lines", post(orders::add_line))
        .route("/orders/{id}/confirm", post(orders::confirm_order))
        .route("/orders/{id}/cancel", post(orders::cancel_order))
        .route("/invoices/{number}", get(invoices::show_invoice))
        .route("/credit-notes/{number}", get(invoices::show_credit_note))
        .route("/stock/{sku}", get(invoices::show_stock))
        .route("/openapi.json", get(openapi::document))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Middleware for `/api/v1`: count the API's responses, and turn the body-limit and timeout
/// answers of the outer layers into problems.
pub async fn api_layer(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    st.metrics.record_api_response(res.status().as_u16());
    let is_problem_or_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/"));
    if is_problem_or_json || res.status().is_success() || res.status().is_redirection() {
        return res;
    }
    // An answer of a layer that knows nothing of the API (axum's own rejections).
    let status = res.status();
    let problem = match status {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::too_large(BODY_LIMIT),
        other => Problem::new(
            other,
            "http",
            other.canonical_reason().unwrap_or("Error"),
            "The request could not be served.",
        ),
    };
    problem.into_response()
}

async fn not_found() -> Problem {
    Problem::not_found("There is no API endpoint at this address. See /api/v1/openapi.json.")
}

async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "This endpoint does not answer this method. See /api/v1/openapi.json.",
    )
}
