//! Documents of the core: an order and an invoice as a whole, in domain values, built from their
//! rows in one place. The faces present them (the API as JSON); the pages still read rows.

use time::OffsetDateTime;

use crate::db::credit_notes::{self, CreditNoteRow};
use crate::db::invoices::{self, InvoiceLineRow, InvoiceRow};
use crate::db::orders::{self, OrderLineRow};
use crate::db::products::ProductRow;
use crate::db::{Db, Reader, Tx};
use crate::domain::{
    LineAmounts, Money, OrderStatus, PricedLine, Quantity, Sku, TaxRate, Totals, totals,
};
use crate::error::{Error, Missing, Result};

/// The customer as copied onto a document when it was issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerSnapshot {
    pub code: String,
    pub name: String,
    pub address: String,
    pub vat_id: String,
    /// The customer's own reference for the order (their purchase order number); empty when
    /// they gave none.
    pub reference: String,
}

/// One line of an invoice as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLineDoc {
    pub line_no: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
    pub amounts: LineAmounts,
}

/// An issued invoice: never changes after issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDoc {
    pub number: String,
    pub order_id: i64,
    pub customer: CustomerSnapshot,
    pub currency: String,
    pub issued_at: OffsetDateTime,
    pub issued_by: String,
    pub lines: Vec<InvoiceLineDoc>,
    pub totals: Totals,
}

/// A credit note: it cancels an invoice line by line, with the invoice's data and negated
/// amounts, and never changes after issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNoteDoc {
    pub number: String,
    pub invoice_number: String,
    pub order_id: i64,
    pub reason: String,
    pub customer: CustomerSnapshot,
    pub currency: String,
    pub issued_at: OffsetDateTime,
    pub issued_by: String,
    /// Quantities and prices as invoiced, amounts negative.
    pub lines: Vec<InvoiceLineDoc>,
    pub totals: Totals,
}

/// One line of an order, priced: as the products are now for a draft, as invoiced otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineDoc {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    /// The product's stock on hand now (not part of any document: a hint for the clerk).
    pub on_hand: i64,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
    pub amounts: LineAmounts,
}

/// An order with its lines, totals and invoice number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDoc {
    pub id: i64,
    pub status: OrderStatus,
    pub revision: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub reference: String,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub confirmed_at: Option<OffsetDateTime>,
    pub confirmed_by: Option<String>,
    pub cancelled_at: Option<OffsetDateTime>,
    pub cancelled_by: Option<String>,
    /// Empty unless cancelled.
    pub cancel_reason: String,
    pub lines: Vec<OrderLineDoc>,
    pub totals: Totals,
    pub invoice: Option<String>,
}

fn stored_rate(bp: i64) -> Result<TaxRate> {
    TaxRate::from_basis_points(bp)
        .ok_or_else(|| Error::Internal(format!("stored tax rate {bp} bp is out of range")))
}

impl InvoiceLineDoc {
    fn from_row(r: InvoiceLineRow) -> Result<Self> {
        Ok(InvoiceLineDoc {
            line_no: r.line_no,
            tax_rate: stored_rate(r.tax_rate_bp)?,
            unit_price: Money::from_cents(r.unit_price_cents),
            amounts: LineAmounts {
                net: Money::from_cents(r.net_cents),
                tax: Money::from_cents(r.tax_cents),
                gross: Money::from_cents(r.gross_cents),
            },
            sku: r.sku,
            name: r.name,
            quantity: r.quantity,
        })
    }
}

impl InvoiceDoc {
    /// The document of an invoice's header and lines, with totals summed from the lines.
    pub fn from_rows(h: InvoiceRow, rows: Vec<InvoiceLineRow>) -> Result<Self> {
        let lines = rows
            .into_iter()
            .map(InvoiceLineDoc::from_row)
            .collect::<Result<Vec<_>>>()?;
        let totals = totals(lines.iter().map(|l| (l.tax_rate, &l.amounts)));
        Ok(InvoiceDoc {
            number: h.number,
            order_id: h.order_id,
            customer: CustomerSnapshot {
                code: h.customer_code,
                name: h.customer_name,
                address: h.customer_address,
                vat_id: h.customer_vat_id,
                reference: h.customer_reference,
            },
            currency: h.currency,
            issued_at: h.issued_at,
            issued_by: h.issued_by,
            lines,
            totals,
        })
    }
}

impl CreditNoteDoc {
    /// The document of a credit note's header and lines, with totals summed from the lines.
    pub fn from_rows(h: CreditNoteRow, rows: Vec<InvoiceLineRow>) -> Result<Self> {
        let lines = rows
            .into_iter()
            .map(InvoiceLineDoc::from_row)
            .collect::<Result<Vec<_>>>()?;
        let totals = totals(lines.iter().map(|l| (l.tax_rate, &l.amounts)));
        Ok(CreditNoteDoc {
            number: h.number,
            invoice_number: h.invoice_number,
            order_id: h.order_id,
            reason: h.reason,
            customer: CustomerSnapshot {
                code: h.customer_code,
                name: h.customer_name,
                address: h.customer_address,
                vat_id: h.customer_vat_id,
                reference: h.customer_reference,
            },
            currency: h.currency,
            issued_at: h.issued_at,
            issued_by: h.issued_by,
            lines,
            totals,
        })
    }
}

/// The credit note of `order_id` as `r` sees it.
pub async fn credit_note_of_order(
    r: &mut Reader<'_>,
    order_id: i64,
) -> Result<Option<CreditNoteDoc>> {
    let Some(header) = credit_notes::find_for_order(r, order_id).await? else {
        return Ok(None);
    };
    let lines = credit_notes::lines(r, order_id).await?;
    CreditNoteDoc::from_rows(header, lines).map(Some)
}

/// The credit note numbered `number`.
pub async fn credit_note(db: &Db, number: &str) -> Result<Option<CreditNoteDoc>> {
    let Some(header) = db.find_credit_note(number).await? else {
        return Ok(None);
    };
    let lines = db.credit_note_lines(header.order_id).await?;
    CreditNoteDoc::from_rows(header, lines).map(Some)
}

/// The invoice of `order_id` as `r` sees it.
pub async fn invoice_of_order(r: &mut Reader<'_>, order_id: i64) -> Result<Option<InvoiceDoc>> {
    let Some(header) = invoices::find_for_order(r, order_id).await? else {
        return Ok(None);
    };
    let lines = invoices::lines(r, order_id).await?;
    InvoiceDoc::from_rows(header, lines).map(Some)
}

/// The invoice numbered `number`.
pub async fn invoice(db: &Db, number: &str) -> Result<Option<InvoiceDoc>> {
    let Some(header) = db.find_invoice(number).await? else {
        return Ok(None);
    };
    let lines = db.invoice_lines(header.order_id).await?;
    InvoiceDoc::from_rows(header, lines).map(Some)
}

/// The product a SKU typed in an address names (`/stock/{sku}`): not found when the text is
/// not a SKU at all, or names no product.
pub async fn product(db: &Db, raw_sku: &str) -> Result<ProductRow> {
    let missing = || Error::NotFound(Missing::Product(raw_sku.to_string()));
    let sku = Sku::parse(raw_sku).map_err(|_| missing())?;
    db.find_product_by_sku(sku.as_str())
        .await?
        .ok_or_else(missing)
}

/// The order `id` as `r` sees it.
pub async fn order(r: &mut Reader<'_>, id: i64) -> Result<Option<OrderDoc>> {
    let Some(o) = orders::find(r, id).await? else {
        return Ok(None);
    };
    let rows = orders::lines(r, id).await?;
    let invoice = match o.status {
        OrderStatus::Draft => None,
        _ => invoice_of_order(r, id).await?,
    };
    let lines = match &invoice {
        // Billed figures: the invoice numbered its lines 1.. in the order lines' entry order.
        Some(inv) if inv.lines.len() == rows.len() => rows
            .into_iter()
            .zip(&inv.lines)
            .map(|(r, l)| OrderLineDoc {
                id: r.id,
                on_hand: r.stock_on_hand,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price,
                tax_rate: l.tax_rate,
                amounts: l.amounts,
            })
            .collect(),
        _ => rows
            .into_iter()
            .map(priced_now)
            .collect::<Result<Vec<_>>>()?,
    };
    let totals = totals(lines.iter().map(|l| (l.tax_rate, &l.amounts)));
    Ok(Some(OrderDoc {
        id: o.id,
        status: o.status,
        revision: o.revision,
        customer_code: o.customer_code,
        customer_name: o.customer_name,
        reference: o.reference,
        created_at: o.created_at,
        created_by: o.created_by,
        confirmed_at: o.confirmed_at,
        confirmed_by: o.confirmed_by,
        cancelled_at: o.cancelled_at,
        cancelled_by: o.cancelled_by,
        cancel_reason: o.cancel_reason,
        lines,
        totals,
        invoice: invoice.map(|i| i.number),
    }))
}

/// The order `id` inside `tx`: what the transaction wrote, before it commits.
pub async fn order_in(tx: &mut Tx, id: i64) -> Result<OrderDoc> {
    order(&mut Reader::Tx(tx), id)
        .await?
        .ok_or_else(|| Error::Internal(format!("order {id} vanished inside its transaction")))
}

fn priced_now(r: OrderLineRow) -> Result<OrderLineDoc> {
    let tax_rate = stored_rate(r.tax_rate_bp)?;
    let unit_price = Money::from_cents(r.unit_price_cents);
    let quantity = Quantity::new(r.quantity)
        .map_err(|e| Error::Internal(format!("stored quantity out of range: {e}")))?;
    let amounts = PricedLine {
        quantity,
        unit_price,
        tax_rate,
    }
    .amounts();
    Ok(OrderLineDoc {
        id: r.id,
        on_hand: r.stock_on_hand,
        sku: r.sku,
        name: r.name,
        quantity: r.quantity,
        unit_price,
        tax_rate,
        amounts,
    })
}
