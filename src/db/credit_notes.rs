//! Credit notes: issued inside the cancelling transaction, copied from the invoice they negate,
//! never edited or deleted afterwards (the database refuses it).

use sqlx::FromRow;
use time::OffsetDateTime;

use super::invoices::InvoiceLineRow;
use super::{Db, DbResult, Reader, Tx, on_reader, on_tx, per_backend};

#[derive(Debug, Clone, FromRow)]
pub struct CreditNoteRow {
    pub order_id: i64,
    pub number: String,
    pub invoice_number: String,
    pub customer_code: String,
    pub customer_name: String,
    pub customer_address: String,
    pub customer_vat_id: String,
    pub currency: String,
    pub net_cents: i64,
    pub tax_cents: i64,
    pub gross_cents: i64,
    pub reason: String,
    pub issued_at: OffsetDateTime,
    pub issued_by: String,
    /// The seller's details in force when it was issued (`None` before any were saved).
    pub company_id: Option<i64>,
    pub customer_reference: String,
}

/// A credit note to issue for an order's invoice; its number is taken by [`issue`], last.
#[derive(Debug, Clone)]
pub struct NewCreditNote<'a> {
    pub order_id: i64,
    pub year: i32,
    pub reason: &'a str,
    pub issued_at: OffsetDateTime,
    pub issued_by: &'a str,
}

/// The header columns of [`CreditNoteRow`].
macro_rules! select_credit_notes {
    ($rest:literal) => {
        concat!(
            "SELECT order_id, number, invoice_number, customer_code, customer_name, customer_address, \
             customer_vat_id, currency, net_cents, tax_cents, gross_cents, reason, issued_at, issued_by, \
             company_id, customer_reference FROM credit_notes ",
            $rest
        )
    };
}

impl Db {
    pub async fn find_credit_note(&self, number: &str) -> DbResult<Option<CreditNoteRow>> {
        Ok(
            super::on_pool!(self, c => sqlx::query_as::<_, CreditNoteRow>(
            select_credit_notes!("WHERE number = $1"))
        .bind(number)
        .fetch_optional(c)
        .await)?,
        )
    }

    pub async fn find_credit_note_for_order(
        &self,
        order_id: i64,
    ) -> DbResult<Option<CreditNoteRow>> {
        find_for_order(&mut Reader::Db(self), order_id).await
    }

    pub async fn credit_note_lines(&self, order_id: i64) -> DbResult<Vec<InvoiceLineRow>> {
        lines(&mut Reader::Db(self), order_id).await
    }
}

/// The credit note of an order, if it has one.
pub async fn find_for_order(r: &mut Reader<'_>, order_id: i64) -> DbResult<Option<CreditNoteRow>> {
    Ok(on_reader!(r, c => sqlx::query_as::<_, CreditNoteRow>(
        select_credit_notes!("WHERE order_id = $1"))
    .bind(order_id)
    .fetch_optional(c)
    .await)?)
}

/// A credit note's lines in their printed order (the invoice's).
pub async fn lines(r: &mut Reader<'_>, order_id: i64) -> DbResult<Vec<InvoiceLineRow>> {
    Ok(on_reader!(r, c => sqlx::query_as::<_, InvoiceLineRow>(
        "SELECT line_no, product_id, sku, name, quantity, unit_price_cents, tax_rate_bp, net_cents, \
                tax_cents, gross_cents \
         FROM credit_note_lines WHERE order_id = $1 ORDER BY line_no",
    )
    .bind(order_id)
    .fetch_all(c)
    .await)?)
}

/// Copy the order's invoice lines as credit-note lines, amounts negated: one statement,
/// whatever the number of lines, and the data is the invoice's, not today's products'.
pub async fn insert_lines_from_invoice(tx: &mut Tx, order_id: i64) -> DbResult<u64> {
    Ok(on_tx!(tx, c => sqlx::query(
        "INSERT INTO credit_note_lines (order_id, line_no, product_id, sku, name, quantity, \
                                        unit_price_cents, tax_rate_bp, net_cents, tax_cents, gross_cents) \
         SELECT order_id, line_no, product_id, sku, name, quantity, unit_price_cents, tax_rate_bp, \
                -net_cents, -tax_cents, -gross_cents \
         FROM invoice_lines WHERE order_id = $1",
    )
    .bind(order_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?)
}

/// Take the next number of the credit-note series for the year and insert the header, copied
/// from the invoice with its totals negated; returns the number. Like invoice numbering, the
/// counter row is locked until commit, so this is the last step before it.
pub async fn issue(tx: &mut Tx, cn: &NewCreditNote<'_>) -> DbResult<String> {
    per_backend!(tx, issue_credit_note(cn))
}
