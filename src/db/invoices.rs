//! Invoices: issued inside the confirming transaction, never edited or deleted afterwards.

use sqlx::FromRow;

use time::OffsetDateTime;

use super::customers::like_pattern;
use super::{Db, DbResult, Reader, on_pool, on_reader};

#[derive(Debug, Clone, FromRow)]
pub struct InvoiceRow {
    pub order_id: i64,
    pub number: String,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub customer_address: String,
    pub customer_vat_id: String,
    pub currency: String,
    pub net_cents: i64,
    pub tax_cents: i64,
    pub gross_cents: i64,
    pub issued_at: OffsetDateTime,
    pub issued_by: String,
    /// The seller's details in force when it was issued (`None` before any were saved).
    pub company_id: Option<i64>,
    /// The customer's own reference for the order (their PO number), copied at issue.
    pub customer_reference: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct InvoiceLineRow {
    pub line_no: i64,
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub tax_rate_bp: i64,
    pub net_cents: i64,
    pub tax_cents: i64,
    pub gross_cents: i64,
}

/// The head of an order's receipt (see [`Db::receipt_header`]); the invoice's columns are
/// `None` while the order has no invoice.
#[derive(Debug, Clone, FromRow)]
pub struct ReceiptHeader {
    pub reference: String,
    pub number: Option<String>,
    pub customer_code: Option<String>,
    pub customer_name: Option<String>,
    pub currency: Option<String>,
    pub net_cents: Option<i64>,
    pub tax_cents: Option<i64>,
    pub gross_cents: Option<i64>,
    pub issued_at: Option<OffsetDateTime>,
    pub issued_by: Option<String>,
    pub credit_note: Option<String>,
}

/// A row of the list of billing documents: an invoice, or a credit note (negative amounts)
/// with the invoice it cancels.
#[derive(Debug, Clone, FromRow)]
pub struct BillingRow {
    /// `invoice` or `credit-note`.
    pub kind: String,
    pub number: String,
    /// For a credit note, the invoice it cancels.
    pub refers_to: Option<String>,
    pub order_id: i64,
    pub issued_at: OffsetDateTime,
    pub customer_code: String,
    pub customer_name: String,
    pub customer_vat_id: String,
    pub currency: String,
    pub net_cents: i64,
    pub tax_cents: i64,
    pub gross_cents: i64,
    pub customer_reference: String,
    /// The payment terms of the company version an invoice names (`None` for credit notes
    /// and for invoices issued before company details were saved).
    pub terms_days: Option<i64>,
}

/// One document's lines at one tax rate, summed: the per-rate columns of the CSV export.
#[derive(Debug, Clone, FromRow)]
pub struct RateSumRow {
    pub kind: String,
    pub number: String,
    pub tax_rate_bp: i64,
    pub net_cents: i64,
    pub tax_cents: i64,
}

/// An invoice header to issue; its number is taken by [`issue`], last.
#[derive(Debug, Clone)]
pub struct NewInvoice<'a> {
    pub order_id: i64,
    pub year: i32,
    pub customer_id: i64,
    pub customer_code: &'a str,
    pub customer_name: &'a str,
    pub customer_address: &'a str,
    pub customer_vat_id: &'a str,
    pub currency: &'a str,
    pub net_cents: i64,
    pub tax_cents: i64,
    pub gross_cents: i64,
    pub issued_at: OffsetDateTime,
    pub issued_by: &'a str,
}

/// Filters of the invoice list.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    /// Number, customer name or customer code.
    pub q: String,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

/// The header columns of [`InvoiceRow`], in one place for every query that reads them.
macro_rules! select_invoices {
    ($($rest:literal)?) => {
        concat!(
            "SELECT order_id, number, customer_id, customer_code, customer_name, customer_address, customer_vat_id, \
             currency, net_cents, tax_cents, gross_cents, issued_at, issued_by, company_id, customer_reference \
             FROM invoices "
            $(, $rest)?
        )
    };
}

/// Rows per INSERT: 10 bound values a line stays far below SQLite's 32,766-variable limit.
/// Invoices and credit notes of a filter as [`BillingRow`]s ($1 the text, $2 its LIKE pattern,
/// $3 from, $4 until), as one table `d`, followed by `$tail`.
macro_rules! billing_documents {
    ($tail:literal) => {
        concat!(
            "SELECT * FROM ( \
               SELECT 'invoice' AS kind, number, CAST(NULL AS TEXT) AS refers_to, order_id, issued_at, \
                      customer_code, customer_name, customer_vat_id, currency, net_cents, tax_cents, gross_cents, \
                      customer_reference, \
                      (SELECT p.payment_terms_days FROM company_profiles p WHERE p.id = company_id) AS terms_days \
               FROM invoices \
               WHERE ($1 = '' OR LOWER(number) LIKE $2 OR LOWER(customer_name) LIKE $2 OR LOWER(customer_code) LIKE $2) \
                 AND ($3 IS NULL OR issued_at >= $3) AND ($4 IS NULL OR issued_at < $4) \
               UNION ALL \
               SELECT 'credit-note', number, invoice_number, order_id, issued_at, \
                      customer_code, customer_name, customer_vat_id, currency, net_cents, tax_cents, gross_cents, \
                      customer_reference, CAST(NULL AS BIGINT) \
               FROM credit_notes \
               WHERE ($1 = '' OR LOWER(number) LIKE $2 OR LOWER(invoice_number) LIKE $2 \
                      OR LOWER(customer_name) LIKE $2 OR LOWER(customer_code) LIKE $2) \
                 AND ($3 IS NULL OR issued_at >= $3) AND ($4 IS NULL OR issued_at < $4) \
             ) d ",
            $tail
        )
    };
}

impl Db {
    /// One page of invoices, newest first.
    pub async fn list_invoices(
        &self,
        f: &InvoiceFilter,
        limit: i64,
        offset: i64,
    ) -> DbResult<Vec<InvoiceRow>> {
        let q = f.q.trim();
        Ok(on_pool!(self, c => sqlx::query_as::<_, InvoiceRow>(
            select_invoices!(
            "WHERE ($1 = '' OR LOWER(number) LIKE $2 OR LOWER(customer_name) LIKE $2 OR LOWER(customer_code) LIKE $2) \
               AND ($3 IS NULL OR issued_at >= $3) AND ($4 IS NULL OR issued_at < $4) \
             ORDER BY issued_at DESC, number DESC LIMIT $5 OFFSET $6"
        ))
        .bind(q)
        .bind(like_pattern(q))
        .bind(f.from)
        .bind(f.until)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?)
    }

    /// One page of invoices and credit notes together, newest first: the list accountants
    /// read, whose amounts sum to the real revenue.
    pub async fn list_billing_documents(
        &self,
        f: &InvoiceFilter,
        limit: i64,
        offset: i64,
    ) -> DbResult<Vec<BillingRow>> {
        let q = f.q.trim();
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, BillingRow>(billing_documents!(
            "ORDER BY issued_at DESC, number DESC LIMIT $5 OFFSET $6"
        ))
        .bind(q)
        .bind(like_pattern(q))
        .bind(f.from)
        .bind(f.until)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?,
        )
    }

    /// The next `limit` documents of the filter after `after` (the `(issued_at, number)` of the
    /// last one read), newest first: the export reads by key, so documents issued while it
    /// runs never shift its pages (rows repeated or lost, as OFFSET would).
    pub async fn billing_documents_after(
        &self,
        f: &InvoiceFilter,
        limit: i64,
        after: Option<&(OffsetDateTime, String)>,
    ) -> DbResult<Vec<BillingRow>> {
        let q = f.q.trim();
        let (at, number) = after.cloned().unzip();
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, BillingRow>(billing_documents!(
            "WHERE $5 IS NULL OR issued_at < $5 OR (issued_at = $5 AND number < $6) \
             ORDER BY issued_at DESC, number DESC LIMIT $7"
        ))
        .bind(q)
        .bind(like_pattern(q))
        .bind(f.from)
        .bind(f.until)
        .bind(at)
        .bind(number)
        .bind(limit)
        .fetch_all(c)
        .await)?,
        )
    }

    /// Every document of the filter (as [`Db::list_billing_documents`] selects them) summed per
    /// tax rate, for the per-rate columns of the CSV export.
    pub async fn billing_rate_sums(&self, f: &InvoiceFilter) -> DbResult<Vec<RateSumRow>> {
        let q = f.q.trim();
        Ok(on_pool!(self, c => sqlx::query_as::<_, RateSumRow>(
            "SELECT 'invoice' AS kind, d.number, l.tax_rate_bp, \
                    CAST(SUM(l.net_cents) AS BIGINT) AS net_cents, CAST(SUM(l.tax_cents) AS BIGINT) AS tax_cents \
             FROM invoices d JOIN invoice_lines l ON l.order_id = d.order_id \
             WHERE ($1 = '' OR LOWER(d.number) LIKE $2 OR LOWER(d.customer_name) LIKE $2 OR LOWER(d.customer_code) LIKE $2) \
               AND ($3 IS NULL OR d.issued_at >= $3) AND ($4 IS NULL OR d.issued_at < $4) \
             GROUP BY d.number, l.tax_rate_bp \
             UNION ALL \
             SELECT 'credit-note', d.number, l.tax_rate_bp, \
                    CAST(SUM(l.net_cents) AS BIGINT), CAST(SUM(l.tax_cents) AS BIGINT) \
             FROM credit_notes d JOIN credit_note_lines l ON l.order_id = d.order_id \
             WHERE ($1 = '' OR LOWER(d.number) LIKE $2 OR LOWER(d.invoice_number) LIKE $2 \
                    OR LOWER(d.customer_name) LIKE $2 OR LOWER(d.customer_code) LIKE $2) \
               AND ($3 IS NULL OR d.issued_at >= $3) AND ($4 IS NULL OR d.issued_at < $4) \
             GROUP BY d.number, l.tax_rate_bp",
        )
        .bind(q)
        .bind(like_pattern(q))
        .bind(f.from)
        .bind(f.until)
        .fetch_all(c)
        .await)?)
    }

    pub async fn find_invoice(&self, number: &str) -> DbResult<Option<InvoiceRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, InvoiceRow>(
            select_invoices!("WHERE number = $1"))
        .bind(number)
        .fetch_optional(c)
        .await)?)
    }

    /// What the receipt of an order shows above its lines, in one read: the order's reference, its invoice's header (none for a draft, or a draft that was cancelled), and
    /// the number of its credit note once cancelled.
    pub async fn receipt_header(&self, order_id: i64) -> DbResult<Option<ReceiptHeader>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, ReceiptHeader>(
            "SELECT o.reference, i.number, i.customer_code, i.customer_name, i.currency, \
                    i.net_cents, i.tax_cents, i.gross_cents, i.issued_at, i.issued_by, \
                    cn.number AS credit_note \
             FROM orders o LEFT JOIN invoices i ON i.order_id = o.id \
             LEFT JOIN credit_notes cn ON cn.order_id = o.id WHERE o.id = $1",
        )
        .bind(order_id)
        .fetch_optional(c)
        .await)?)
    }

    pub async fn find_invoice_for_order(&self, order_id: i64) -> DbResult<Option<InvoiceRow>> {
        find_for_order(&mut Reader::Db(self), order_id).await
    }

    pub async fn invoice_lines(&self, order_id: i64) -> DbResult<Vec<InvoiceLineRow>> {
        lines(&mut Reader::Db(self), order_id).await
    }
}

/// The invoice of an order, if it has one.
pub async fn find_for_order(r: &mut Reader<'_>, order_id: i64) -> DbResult<Option<InvoiceRow>> {
    Ok(on_reader!(r, c => sqlx::query_as::<_, InvoiceRow>(
        select_invoices!("WHERE order_id = $1"))
    .bind(order_id)
    .fetch_optional(c)
    .await)?)
}

/// An invoice's lines in their printed order.
pub async fn lines(r: &mut Reader<'_>, order_id: i64) -> DbResult<Vec<InvoiceLineRow>> {
    Ok(on_reader!(r, c => sqlx::query_as::<_, InvoiceLineRow>(
        "SELECT line_no, product_id, sku, name, quantity, unit_price_cents, tax_rate_bp, net_cents, \
                tax_cents, gross_cents \
         FROM invoice_lines WHERE order_id = $1 ORDER BY line_no",
    )
    .bind(order_id)
    .fetch_all(c)
    .await)?)
}

/// Bind the header's fields as $1..$13 (order_id, year, customer..., totals, issued_at/by).
pub(super) fn bind_header<'q, DB, O>(
    q: sqlx::query::QueryScalar<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
    inv: &NewInvoice<'q>,
) -> sqlx::query::QueryScalar<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(inv.order_id)
        .bind(i64::from(inv.year))
        .bind(inv.customer_id)
        .bind(inv.customer_code)
        .bind(inv.customer_name)
        .bind(inv.customer_address)
        .bind(inv.customer_vat_id)
        .bind(inv.currency)
        .bind(inv.net_cents)
        .bind(inv.tax_cents)
        .bind(inv.gross_cents)
        .bind(inv.issued_at)
        .bind(inv.issued_by)
}
