//! Invoices: the filtered list and one printable invoice.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use super::AppState;
use super::extract::Query;
use super::receipt::{RateLine, rate, rate_lines};
use super::session::{CurrentUser, Me};
use super::templates::{PAGE_SIZE, Pager, date, datetime, page_number, qs, render, units};
use crate::db::invoices::InvoiceFilter;
use crate::domain::InvoiceNumber;
use crate::domain::Permission;
use crate::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invoices", get(list_invoices))
        .route("/invoices/{number}", get(show_invoice))
}

#[derive(Deserialize, Default)]
pub struct InvoiceQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    page: Option<String>,
}

pub struct InvoiceItem {
    pub number: String,
    pub issued: String,
    pub customer: String,
    pub order_id: i64,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

#[derive(Template)]
#[template(path = "invoices/list.html")]
pub struct InvoiceListPage {
    pub me: Option<Me>,
    pub q: String,
    pub from: String,
    pub to: String,
    pub from_error: Option<String>,
    pub to_error: Option<String>,
    pub invoices: Vec<InvoiceItem>,
    pub pager: Pager,
}

fn parse_day(s: &str) -> Result<Option<Date>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| "Enter a date as YYYY-MM-DD.".to_string())
}

async fn list_invoices(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<InvoiceQuery>,
) -> AppResult<Response> {
    user.require(Permission::ViewInvoices)?;
    let page = page_number(query.page.as_deref())?;
    let from = parse_day(&query.from);
    let to = parse_day(&query.to);
    let (from_error, to_error) = (from.clone().err(), to.clone().err());
    let filter = InvoiceFilter {
        q: query.q.clone(),
        from: from
            .ok()
            .flatten()
            .map(|d| d.with_time(Time::MIDNIGHT).assume_utc()),
        // "to" is inclusive: everything before the next midnight.
        until: to
            .ok()
            .flatten()
            .and_then(|d| d.next_day())
            .map(|d| d.with_time(Time::MIDNIGHT).assume_utc()),
    };
    let mut rows = st
        .db
        .list_invoices(&filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let pager = Pager::new(page, rows.len(), |n| {
        format!(
            "/invoices?q={}&from={}&to={}&page={n}",
            qs(&query.q),
            qs(&query.from),
            qs(&query.to)
        )
    });
    rows.truncate(PAGE_SIZE as usize);
    let cur = &st.currency;
    let invoices = rows
        .into_iter()
        .map(|r| InvoiceItem {
            number: r.number,
            issued: datetime(r.issued_at),
            customer: r.customer_name,
            order_id: r.order_id,
            net: cur.cents(r.net_cents),
            tax: cur.cents(r.tax_cents),
            gross: cur.cents(r.gross_cents),
        })
        .collect();
    Ok(render(&InvoiceListPage {
        me: user.me(),
        q: query.q,
        from: query.from,
        to: query.to,
        from_error,
        to_error,
        invoices,
        pager,
    }))
}

pub struct InvoiceLineItem {
    pub no: i64,
    pub sku: String,
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

#[derive(Template)]
#[template(path = "invoices/show.html")]
pub struct InvoicePage {
    pub me: Option<Me>,
    pub number: String,
    pub issued_on: String,
    pub issued_at: String,
    pub issued_by: String,
    pub order_id: i64,
    pub customer_name: String,
    pub customer_code: String,
    pub customer_address: Vec<String>,
    pub customer_vat_id: String,
    pub currency: String,
    pub lines: Vec<InvoiceLineItem>,
    pub by_rate: Vec<RateLine>,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

async fn show_invoice(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
) -> AppResult<Response> {
    user.require(Permission::ViewInvoices)?;
    let missing = || AppError::NotFound(format!("There is no invoice {raw:?}."));
    let number = InvoiceNumber::parse(&raw).map_err(|_| missing())?;
    let inv = st
        .db
        .find_invoice(&number.to_string())
        .await?
        .ok_or_else(missing)?;
    let rows = st.db.invoice_lines(inv.order_id).await?;
    let cur = &st.currency;
    let by_rate = rate_lines(&rows, cur);
    let issued: OffsetDateTime = inv.issued_at;
    Ok(render(&InvoicePage {
        me: user.me(),
        number: inv.number,
        issued_on: date(issued),
        issued_at: datetime(issued),
        issued_by: inv.issued_by,
        order_id: inv.order_id,
        customer_name: inv.customer_name,
        customer_code: inv.customer_code,
        customer_address: inv.customer_address.lines().map(str::to_string).collect(),
        customer_vat_id: inv.customer_vat_id,
        currency: inv.currency,
        lines: rows
            .into_iter()
            .map(|r| InvoiceLineItem {
                no: r.line_no,
                sku: r.sku,
                name: r.name,
                quantity: units(r.quantity),
                unit_price: cur.cents(r.unit_price_cents),
                tax_rate: rate(r.tax_rate_bp),
                net: cur.cents(r.net_cents),
                tax: cur.cents(r.tax_cents),
                gross: cur.cents(r.gross_cents),
            })
            .collect(),
        by_rate,
        net: cur.cents(inv.net_cents),
        tax: cur.cents(inv.tax_cents),
        gross: cur.cents(inv.gross_cents),
    }))
}
