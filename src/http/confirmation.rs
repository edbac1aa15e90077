//! Confirming an order (`POST /orders/{id}/confirm`) and its receipt: the heart of orderdesk.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::error::{PageError, PageResult};
use super::extract::{Id, TokenForm};
use super::forms::{Refusal, Submission};
use super::orders::{AddLineForm, order_page};
use super::paths;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{Currency, datetime, render, render_status, units};
use crate::db::invoices::InvoiceLineRow;
use crate::domain::{Permission, TaxRate};
use crate::error::Error;
use crate::idempotency::Action;
use crate::metrics::ConfirmOutcome;
use crate::ops::ConfirmOrder;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders/{id}/confirm", post(confirm_order))
        .route("/orders/{id}/confirmation", get(show_confirmation))
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    revision: String,
}

async fn confirm_order(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(order_id): Id,
    form: TokenForm<ConfirmForm>,
) -> PageResult<Response> {
    let request = confirm(&st, &user, order_id, form);
    st.metrics
        .time_confirmation(request, |e| match e {
            PageError::StillProcessing { .. } => ConfirmOutcome::StillProcessing,
            _ => ConfirmOutcome::Failed,
        })
        .await
}

async fn confirm(
    st: &AppState,
    user: &CurrentUser,
    order_id: i64,
    form: TokenForm<ConfirmForm>,
) -> PageResult<(Response, ConfirmOutcome)> {
    user.require(ConfirmOrder::PERMISSION)?;
    let claim = match st
        .claim_form(user, ConfirmOrder::scope_for(order_id), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok((res, ConfirmOutcome::Replayed)),
        Submission::New(claim) => claim,
    };
    let revision = form.data.revision.trim().parse::<i64>().map_err(|_| {
        PageError::BadRequest(
            "The form's order revision is missing or malformed. Nothing was changed.".into(),
        )
    })?;
    let action = ConfirmOrder {
        actor: user.actor(),
        order_id,
        revision: Some(revision),
        currency: st.currency.code.clone(),
    };
    match st
        .submit(claim, action, paths::confirmation(order_id))
        .await
    {
        Ok(done) if done.replayed => Ok((done.response, ConfirmOutcome::Replayed)),
        // No flash: the receipt it leads to is the message.
        Ok(done) => Ok((done.response, ConfirmOutcome::Confirmed)),
        // Nothing changed: show the order with every short line and what is available.
        Err(Refusal {
            error: Error::ShortStock(short),
            ..
        }) => {
            let page = order_page(st, user, order_id, AddLineForm::default(), short, None).await?;
            Ok((
                render_status(axum::http::StatusCode::CONFLICT, &page),
                ConfirmOutcome::Short,
            ))
        }
        Err(refused) => Err(refused.into()),
    }
}

pub struct ReceiptLine {
    pub no: i64,
    pub sku: String,
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
}

pub struct RateLine {
    pub rate: String,
    pub net: String,
    pub tax: String,
}

#[derive(Template)]
#[template(path = "orders/confirmation.html")]
pub struct ConfirmationPage {
    pub me: Option<Me>,
    pub order_id: i64,
    pub reference: String,
    pub invoice_number: String,
    pub customer: String,
    pub customer_code: String,
    pub confirmed_at: String,
    pub confirmed_by: String,
    pub lines: Vec<ReceiptLine>,
    pub by_rate: Vec<RateLine>,
    pub net: String,
    pub tax: String,
    pub gross: String,
    /// The credit note, once the order has been cancelled.
    pub credit_note: Option<String>,
}

/// The receipt. Always the same page for a confirmed order, however it was reached.
async fn show_confirmation(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(order_id): Id,
) -> PageResult<Response> {
    user.require(Permission::ViewOrders)?;
    // Two reads: the order with its invoice's header and credit note, then the lines.
    let head = st
        .db
        .receipt_header(order_id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("There is no order {order_id}.")))?;
    // A draft, or a draft that was cancelled, never had a receipt: its page says so.
    let (
        Some(number),
        Some(customer_code),
        Some(customer_name),
        Some(currency),
        Some(net),
        Some(tax),
        Some(gross),
        Some(issued_at),
        Some(issued_by),
    ) = (
        head.number,
        head.customer_code,
        head.customer_name,
        head.currency,
        head.net_cents,
        head.tax_cents,
        head.gross_cents,
        head.issued_at,
        head.issued_by,
    )
    else {
        return Ok(Redirect::to(&paths::order(order_id)).into_response());
    };
    let rows = st.db.invoice_lines(order_id).await?;
    // In the currency the invoice was issued in, whatever the server's is today.
    let cur = &Currency::new(&currency);
    let by_rate = rate_lines(&rows, cur);
    let page = ConfirmationPage {
        me: user.me(),
        order_id,
        reference: head.reference,
        invoice_number: number,
        customer: customer_name,
        customer_code,
        confirmed_at: datetime(issued_at),
        confirmed_by: issued_by,
        lines: rows
            .into_iter()
            .map(|r| ReceiptLine {
                no: r.line_no,
                sku: r.sku,
                name: r.name,
                quantity: units(r.quantity),
                unit_price: cur.cents(r.unit_price_cents),
                tax_rate: rate(r.tax_rate_bp),
                net: cur.cents(r.net_cents),
            })
            .collect(),
        by_rate,
        net: cur.cents(net),
        tax: cur.cents(tax),
        gross: cur.cents(gross),
        credit_note: head.credit_note,
    };
    Ok(render(&page))
}

pub fn rate(bp: i64) -> String {
    TaxRate::from_basis_points(bp)
        .map(|r| r.to_string())
        .unwrap_or_else(|| format!("{bp} bp"))
}

/// The per-rate breakdown of an invoice: sums of the rounded line figures, ascending rate.
pub fn rate_lines(rows: &[InvoiceLineRow], cur: &Currency) -> Vec<RateLine> {
    let mut by_rate: std::collections::BTreeMap<i64, (i64, i64)> = Default::default();
    for r in rows {
        let e = by_rate.entry(r.tax_rate_bp).or_default();
        e.0 += r.net_cents;
        e.1 += r.tax_cents;
    }
    by_rate
        .into_iter()
        .map(|(bp, (net, tax))| RateLine {
            rate: rate(bp),
            net: cur.cents(net),
            tax: cur.cents(tax),
        })
        .collect()
}
