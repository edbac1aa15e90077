//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the API, generated from the
//! handlers' own annotations and the views' types (utoipa), so it cannot drift from the code.

use axum::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::problem::{FieldProblem, Problem, ShortLineJson};
use super::respond::json;
use super::{catalogue, invoices, orders};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "orderdesk API",
        version = "1",
        description = "Orders, confirmations and invoices for integrations. Every POST requires an \
            `Idempotency-Key`: the same key with the same method, path and body replays the first \
            response with `Idempotent-Replayed: true` and never has a second effect; with another \
            body or path it is a 422; while the first request is still running a duplicate waits, \
            then replays, or gets a 409 with `Retry-After`. Amounts are decimal strings with two \
            places, tax rates percent strings, quantities integers. Errors are RFC 9457 problem \
            documents (`application/problem+json`)."
    ),
    paths(
        catalogue::list_customers,
        catalogue::list_products,
        orders::create_order,
        orders::list_orders,
        orders::show_order,
        orders::add_line,
        orders::confirm_order,
        orders::cancel_order,
        invoices::show_invoice,
        invoices::show_credit_note,
        invoices::show_stock,
    ),
    components(schemas(Problem, FieldProblem, ShortLineJson)),
    modifiers(&BearerAuth),
    tags(
        (name = "orders", description = "Draft orders, their lines, confirmation"),
        (name = "invoices", description = "Issued invoices and credit notes"),
        (name = "stock", description = "Stock on hand and its ledger"),
        (name = "master data", description = "Customers and products"),
    )
)]
pub struct ApiDoc;

/// The bearer scheme every operation uses: an API token (`orderdesk api-token add`).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token; it acts as its user, with that user's role.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document itself: public, no token needed.
pub async fn document() -> Response {
    json(&ApiDoc::openapi())
}
