//! Invoices and stock through the API: read only.

use axum::extract::State;
use axum::response::Response;

use super::extract::{ApiUser, PathText};
use super::problem::Problem;
use super::respond::json;
use super::schema::ReadErrors;
use super::views::{CreditNoteJson, InvoiceJson, LedgerJson, StockJson};
use crate::domain::{InvoiceNumber, Permission, Series};
use crate::error::{Error, Missing};
use crate::http::state::AppState;
use crate::ops::documents;

/// Ledger rows `GET /api/v1/stock/{sku}` shows.
const RECENT_LEDGER_ROWS: i64 = 20;

/// One issued invoice.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{number}",
    tag = "invoices",
    params(("number" = String, Path, description = "The invoice number, e.g. INV-2026-000042")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceJson),
        (status = 404, description = "There is no such invoice", body = Problem, content_type = "application/problem+json"),
        ReadErrors
    ),
    security(("bearer" = []))
)]
pub async fn show_invoice(
    State(st): State<AppState>,
    user: ApiUser,
    PathText(raw): PathText,
) -> Result<Response, Problem> {
    user.require(Permission::ViewInvoices)?;
    let missing = || Error::NotFound(Missing::Invoice(raw.clone()));
    let number = InvoiceNumber::parse(&raw).map_err(|_| missing())?;
    let doc = documents::invoice(&st.db, &number.to_string())
        .await?
        .ok_or_else(missing)?;
    Ok(json(&InvoiceJson::from(&doc)))
}

/// One credit note.
#[utoipa::path(
    get,
    path = "/api/v1/credit-notes/{number}",
    tag = "invoices",
    params(("number" = String, Path, description = "The credit note number, e.g. CN-2026-000007")),
    responses(
        (status = 200, description = "The credit note", body = CreditNoteJson),
        (status = 404, description = "There is no such credit note", body = Problem, content_type = "application/problem+json"),
        ReadErrors
    ),
    security(("bearer" = []))
)]
pub async fn show_credit_note(
    State(st): State<AppState>,
    user: ApiUser,
    PathText(raw): PathText,
) -> Result<Response, Problem> {
    user.require(Permission::ViewInvoices)?;
    let missing = || Error::NotFound(Missing::CreditNote(raw.clone()));
    let number = InvoiceNumber::parse(&raw)
        .ok()
        .filter(|n| n.series() == Series::CreditNote)
        .ok_or_else(missing)?;
    let doc = documents::credit_note(&st.db, &number.to_string())
        .await?
        .ok_or_else(missing)?;
    Ok(json(&CreditNoteJson::from(&doc)))
}

/// One product's stock on hand with its most recent ledger rows.
#[utoipa::path(
    get,
    path = "/api/v1/stock/{sku}",
    tag = "stock",
    params(("sku" = String, Path, description = "The product's SKU")),
    responses(
        (status = 200, description = "The product's stock", body = StockJson),
        (status = 404, description = "There is no such product", body = Problem, content_type = "application/problem+json"),
        ReadErrors
    ),
    security(("bearer" = []))
)]
pub async fn show_stock(
    State(st): State<AppState>,
    user: ApiUser,
    PathText(raw): PathText,
) -> Result<Response, Problem> {
    user.require(Permission::ViewStock)?;
    let product = documents::product(&st.db, &raw).await?;
    let ledger = st.db.ledger(product.id, RECENT_LEDGER_ROWS, 0).await?;
    Ok(json(&StockJson {
        low: product.stock_on_hand <= product.reorder_level,
        sku: product.sku,
        name: product.name,
        on_hand: product.stock_on_hand,
        reorder_level: product.reorder_level,
        active: product.active,
        ledger: ledger.into_iter().map(LedgerJson::from).collect(),
    }))
}
