//! Invoices and credit notes: the filtered list of both, its CSV export, and one printable
//! invoice (the printable credit note, in `credit_notes.rs`, shares its page).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use super::confirmation::{RateLine, rate, rate_lines};
use super::error::{PageError, PageResult};
use super::extract::{Query, page_number};
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{
    Currency, PAGE_SIZE, Pager, csv_download, csv_text, date, datetime, display_zone, qs, render,
    units,
};
use crate::db::invoices::{BillingRow, InvoiceFilter, InvoiceLineRow};
use crate::domain::Permission;
use crate::domain::{InvoiceNumber, Money, due_date, grouped};

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
    /// The document's page: `/invoices/..` or `/credit-notes/..`.
    pub href: String,
    pub is_credit_note: bool,
    pub refers_to: Option<String>,
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
    // Days as the reader's calendar has them: from local midnight to local midnight.
    let zone = display_zone();
    let filter = InvoiceFilter {
        q: query.q.clone(),
        from: from.ok().flatten().map(|d| zone.day_start(d)),
        // "to" is inclusive: everything before the next midnight.
        until: to
            .ok()
            .flatten()
            .and_then(|d| d.next_day())
            .map(|d| zone.day_start(d)),
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
        .list_billing_documents(&filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
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
    let invoices = rows
        .into_iter()
        .map(|r| InvoiceItem {
            href: document_path(&r),
            is_credit_note: r.kind == CREDIT_NOTE,
            refers_to: r.refers_to,
            number: r.number,
            issued: datetime(r.issued_at),
            customer: r.customer_name,
            order_id: r.order_id,
            net: Currency::new(&r.currency).cents(r.net_cents),
            tax: Currency::new(&r.currency).cents(r.tax_cents),
            gross: Currency::new(&r.currency).cents(r.gross_cents),
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

/// A printable billing document: an invoice, or the credit note that cancels one. Both look
/// alike on paper; a credit note names the invoice it cancels and why.
#[derive(Template)]
#[template(path = "invoices/show.html")]
pub struct DocumentPage {
    pub me: Option<Me>,
    /// "Invoice" or "Credit note".
    pub title: &'static str,
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
    /// For an invoice: the credit note that cancelled it.
    pub credit_note: Option<String>,
    /// For a credit note: the invoice it cancels, and why.
    pub cancels: Option<String>,
    pub reason: Option<String>,
    /// The seller as in force when the document was issued; `None` for documents issued
    /// before the company details were first saved.
    pub seller: Option<Seller>,
    /// The customer's own reference (their PO number), copied from the order at issue.
    pub reference: String,
    /// For an invoice: the day payment is due and the terms it comes from.
    pub due: Option<Due>,
}

/// The seller block of a printed document, from the company version it names.
pub struct Seller {
    pub name: String,
    pub address: Vec<String>,
    pub vat_id: String,
    /// In groups of four; empty when none was given.
    pub iban: String,
    pub bic: String,
    pub footer: Vec<String>,
}

/// When an invoice is due: "2026-12-30" and "30 days net" (or "due on receipt").
pub struct Due {
    pub on: String,
    pub terms: String,
}

impl DocumentPage {
    /// Add what the company version `company_id` says: the seller block, and for an invoice
    /// its due date (its issue day plus that version's payment terms).
    pub async fn with_company(
        mut self,
        st: &AppState,
        company_id: Option<i64>,
        issued_at: OffsetDateTime,
        reference: String,
    ) -> PageResult<Self> {
        self.reference = reference;
        let Some(id) = company_id else {
            return Ok(self);
        };
        let Some(c) = st.db.company_version(id).await? else {
            return Ok(self);
        };
        if self.cancels.is_none() {
            let days = c.payment_terms_days;
            self.due = Some(Due {
                // From the issue day as printed on the document (the display zone's).
                on: due_date(display_zone().local_date(issued_at), days).to_string(),
                terms: match days {
                    0 => "due on receipt".to_string(),
                    1 => "1 day net".to_string(),
                    n => format!("{n} days net"),
                },
            });
        }
        self.seller = Some(Seller {
            address: c.address.lines().map(str::to_string).collect(),
            footer: c.footer.lines().map(str::to_string).collect(),
            iban: grouped(&c.iban),
            name: c.name,
            vat_id: c.vat_id,
            bic: c.bic,
        });
        Ok(self)
    }
}

impl DocumentPage {
    /// The page of a document's header fields and lines; the caller sets what links it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        user: &CurrentUser,
        title: &'static str,
        number: String,
        order_id: i64,
        issued: (OffsetDateTime, String),
        customer: (String, String, String, String),
        currency: String,
        rows: Vec<InvoiceLineRow>,
        totals: (i64, i64, i64),
    ) -> Self {
        // An issued document is shown in the currency it was issued in, whatever the server's
        // configured currency is today.
        let cur = &Currency::new(&currency);
        let (name, code, address, vat_id) = customer;
        DocumentPage {
            me: user.me(),
            title,
            number,
            issued_on: date(issued.0),
            issued_at: datetime(issued.0),
            issued_by: issued.1,
            order_id,
            customer_name: name,
            customer_code: code,
            customer_address: address.lines().map(str::to_string).collect(),
            customer_vat_id: vat_id,
            currency,
            by_rate: rate_lines(&rows, cur),
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
            net: cur.cents(totals.0),
            tax: cur.cents(totals.1),
            gross: cur.cents(totals.2),
            credit_note: None,
            cancels: None,
            reason: None,
            seller: None,
            reference: String::new(),
            due: None,
        }
    }
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
    let credit_note = st.db.find_credit_note_for_order(inv.order_id).await?;
    let (company_id, issued_at, reference) =
        (inv.company_id, inv.issued_at, inv.customer_reference);
    let mut page = DocumentPage::new(
        &user,
        "Invoice",
        inv.number,
        inv.order_id,
        (inv.issued_at, inv.issued_by),
        (
            inv.customer_name,
            inv.customer_code,
            inv.customer_address,
            inv.customer_vat_id,
        ),
        inv.currency,
        rows,
        (inv.net_cents, inv.tax_cents, inv.gross_cents),
    );
    page.credit_note = credit_note.map(|c| c.number);
    let page = page
        .with_company(&st, company_id, issued_at, reference)
        .await?;
    Ok(render(&page))
}

/// The `kind` of a credit note in the billing list.
const CREDIT_NOTE: &str = "credit-note";

/// Where a billing document is shown.
fn document_path(r: &BillingRow) -> String {
    if r.kind == CREDIT_NOTE {
        format!("/credit-notes/{}", r.number)
    } else {
        format!("/invoices/{}", r.number)
    }
}

/// Rows fetched per query while exporting.
const EXPORT_BATCH: i64 = 1000;

/// The filtered view as CSV, every matching invoice and credit note (not only one page), for
/// accountants: one row per document; credit notes carry negative amounts, so the column sums
/// are the real revenue. After the totals come the customer's reference, the due date, and a
/// net and a tax column for each tax rate that occurs in the export ("net 20%", "tax 20%"), so
/// a VAT return is a column sum. It starts with a UTF-8 byte order mark, which Excel needs to
/// read "Müller" as written; times are UTC to the second, in a form spreadsheets read as dates.
async fn export_invoices(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<InvoiceQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewInvoices)?;
    let (mut filter, from_error, to_error) = filter_of(&query);
    if let Some(e) = from_error.or(to_error) {
        return Err(PageError::BadRequest(e));
    }
    // Documents issued while the export runs are left to the next one, so that the per-rate
    // sums and the pages of rows below describe the same documents.
    let started = crate::db::now();
    filter.until = Some(filter.until.map_or(started, |u| u.min(started)));
    let mut per_rate: HashMap<(String, String), BTreeMap<i64, (i64, i64)>> = HashMap::new();
    for r in st.db.billing_rate_sums(&filter).await? {
        per_rate
            .entry((r.kind, r.number))
            .or_default()
            .insert(r.tax_rate_bp, (r.net_cents, r.tax_cents));
    }
    let rates: BTreeSet<i64> = per_rate.values().flat_map(|m| m.keys().copied()).collect();
    let mut csv = String::from(
        "number,issued_at_utc,order,document,cancels,customer_code,customer_name,customer_vat_id,currency,net,tax,gross,customer_reference,due_date",
    );
    for bp in &rates {
        let r = rate(*bp);
        csv.push_str(&format!(",net {r},tax {r}"));
    }
    csv.push_str("\r\n");
    let amount = |cents: i64| Money::from_cents(cents).amount().to_string();
    let seconds = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let mut after: Option<(OffsetDateTime, String)> = None;
    loop {
        let rows = st
            .db
            .billing_documents_after(&filter, EXPORT_BATCH, after.as_ref())
            .await?;
        for r in &rows {
            let issued_at = r.issued_at.to_offset(time::UtcOffset::UTC);
            let due = r
                .terms_days
                .map(|days| due_date(issued_at.date(), days).to_string());
            let mut fields = vec![
                csv_text(&r.number),
                issued_at.format(seconds).unwrap_or_default(),
                r.order_id.to_string(),
                if r.kind == CREDIT_NOTE {
                    "credit note".to_string()
                } else {
                    "invoice".to_string()
                },
                csv_text(r.refers_to.as_deref().unwrap_or("")),
                csv_text(&r.customer_code),
                csv_text(&r.customer_name),
                csv_text(&r.customer_vat_id),
                csv_text(&r.currency),
                amount(r.net_cents),
                amount(r.tax_cents),
                amount(r.gross_cents),
                csv_text(&r.customer_reference),
                due.unwrap_or_default(),
            ];
            let mine = per_rate.get(&(r.kind.clone(), r.number.clone()));
            for bp in &rates {
                match mine.and_then(|m| m.get(bp)) {
                    Some((net, tax)) => fields.extend([amount(*net), amount(*tax)]),
                    None => fields.extend([String::new(), String::new()]),
                }
            }
            csv.push_str(&fields.join(","));
            csv.push_str("\r\n");
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == EXPORT_BATCH => {
                after = Some((last.issued_at, last.number.clone()));
            }
            _ => break,
        }
    }
    Ok(csv_download("invoices.csv", &csv))
}
