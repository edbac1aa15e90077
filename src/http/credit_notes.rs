//! One printable credit note: it looks like the invoice it cancels, names it, and says why.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::error::{PageError, PageResult};
use super::invoices::DocumentPage;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::render;
use crate::domain::{InvoiceNumber, Permission, Series};

pub fn router() -> Router<AppState> {
    Router::new().route("/credit-notes/{number}", get(show_credit_note))
}

async fn show_credit_note(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
) -> PageResult<Response> {
    user.require(Permission::ViewInvoices)?;
    let missing = || PageError::NotFound(format!("There is no credit note {raw:?}."));
    let number = InvoiceNumber::parse(&raw)
        .ok()
        .filter(|n| n.series() == Series::CreditNote)
        .ok_or_else(missing)?;
    let cn = st
        .db
        .find_credit_note(&number.to_string())
        .await?
        .ok_or_else(missing)?;
    let rows = st.db.credit_note_lines(cn.order_id).await?;
    let (company_id, issued_at, reference) = (cn.company_id, cn.issued_at, cn.customer_reference);
    let mut page = DocumentPage::new(
        &user,
        "Credit note",
        cn.number,
        cn.order_id,
        (cn.issued_at, cn.issued_by),
        (
            cn.customer_name,
            cn.customer_code,
            cn.customer_address,
            cn.customer_vat_id,
        ),
        cn.currency,
        rows,
        (cn.net_cents, cn.tax_cents, cn.gross_cents),
    );
    page.cancels = Some(cn.invoice_number);
    page.reason = Some(cn.reason);
    let page = page
        .with_company(&st, company_id, issued_at, reference)
        .await?;
    Ok(render(&page))
}
