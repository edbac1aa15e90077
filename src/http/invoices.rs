//! Invoices: the filtered list and one printable invoice.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use super::confirmation::{RateLine, rate, rate_lines};
use super::error::{PageError, PageResult};
use super::extract::{Query, page_number};
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{PAGE_SIZE, Pager, date, datetime, qs, render, units};
use crate::db::invoices::InvoiceFilter;
use crate::domain::Permission;
use crate::domain::{InvoiceNumber, Money};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/invoices", get(list_invoices))
        .route("/invoices.csv", get(export_invoices))
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
    /// The CSV export of exactly this filtered view.
    pub export: String,
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

/// The filter a query asks for, and what is wrong with its dates (if anything).
fn filter_of(query: &InvoiceQuery) -> (InvoiceFilter, Option<String>, Option<String>) {
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
    (filter, from_error, to_error)
}

async fn list_invoices(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<InvoiceQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewInvoices)?;
    let page = page_number(query.page.as_deref())?;
    let (filter, from_error, to_error) = filter_of(&query);
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
    let export = format!(
        "/invoices.csv?q={}&from={}&to={}",
        qs(&query.q),
        qs(&query.from),
        qs(&query.to)
    );
    Ok(render(&InvoiceListPage {
        me: user.me(),
        export,
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
) -> PageResult<Response> {
    user.require(Permission::ViewInvoices)?;
    let missing = || PageError::NotFound(format!("There is no invoice {raw:?}."));
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

/// Rows fetched per query while exporting.
const EXPORT_BATCH: i64 = 1000;

/// The filtered view as CSV, every matching invoice (not only one page), for accountants.
async fn export_invoices(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<InvoiceQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewInvoices)?;
    let (filter, from_error, to_error) = filter_of(&query);
    if let Some(e) = from_error.or(to_error) {
        return Err(PageError::BadRequest(e));
    }
    let mut csv = String::from(
        "number,issued_at,order,customer_code,customer_name,customer_vat_id,currency,net,tax,gross\r\n",
    );
    let mut offset = 0;
    loop {
        let rows = st.db.list_invoices(&filter, EXPORT_BATCH, offset).await?;
        for r in &rows {
            let issued = r
                .issued_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let fields = [
                csv_text(&r.number),
                issued,
                r.order_id.to_string(),
                csv_text(&r.customer_code),
                csv_text(&r.customer_name),
                csv_text(&r.customer_vat_id),
                csv_text(&r.currency),
                Money::from_cents(r.net_cents).amount().to_string(),
                Money::from_cents(r.tax_cents).amount().to_string(),
                Money::from_cents(r.gross_cents).amount().to_string(),
            ];
            csv.push_str(&fields.join(","));
            csv.push_str("\r\n");
        }
        if (rows.len() as i64) < EXPORT_BATCH {
            break;
        }
        offset += EXPORT_BATCH;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"invoices.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// A text cell: quoted when it holds a separator, a quote or a line break; and a leading
/// `=`, `+`, `-` or `@` is defused with an apostrophe so a spreadsheet never runs it as a formula.
fn csv_text(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::csv_text;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_text("Acme"), "Acme");
        assert_eq!(csv_text("Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_text("-2,3"), "\"'-2,3\"");
    }
}
