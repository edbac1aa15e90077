//! The JSON shapes of the API: requests and the documents it answers with. Amounts are decimal
//! strings with two places (`"12.34"`), tax rates percent strings (`"20.00"`), quantities
//! integers, times RFC 3339 in UTC. Each view is made from a core document or row in one place.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::db::customers::CustomerRow;
use crate::db::orders::OrderListRow;
use crate::db::products::ProductRow;
use crate::db::stock::LedgerRow;
use crate::domain::{Money, RateTotal, TaxRate, Totals};
use crate::ops::documents::{
    CreditNoteDoc, CustomerSnapshot, InvoiceDoc, InvoiceLineDoc, OrderDoc,
};

/// `POST /api/v1/orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    /// The customer's code.
    #[schema(example = "C-1001", min_length = 1)]
    pub customer: String,
    /// The customer's own reference, such as their purchase order number.
    #[serde(default)]
    #[schema(example = "PO 4711", max_length = 80)]
    pub reference: String,
    /// Lines to put on the order at once; more can be added later.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub lines: Vec<LineRequest>,
}

/// A line to put on an order (`POST /api/v1/orders/{id}/lines`, or inside a new order).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    /// Letters A-Z (either case), digits, `-`, `_` and `.`; surrounding spaces are ignored.
    #[schema(example = "PAPER-A4", pattern = r"^\s*[A-Za-z0-9._-]{1,40}\s*$")]
    pub sku: String,
    /// Whole units (`3` or `3.0`).
    #[serde(deserialize_with = "whole_number")]
    #[schema(example = 3, minimum = 1, maximum = 1_000_000)]
    pub quantity: i64,
}

/// `POST /api/v1/orders/{id}/confirm`: `{}` confirms the order as it is now; with `revision`
/// only if nobody changed it since the client read that revision.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    #[serde(default, deserialize_with = "optional_revision")]
    #[schema(example = 3, minimum = 0)]
    pub revision: Option<i64>,
}

/// A JSON number that is a whole number, as JSON Schema's `integer` means it: `3` and `3.0`
/// alike; `3.5` is refused. Read through its decimal text, never through a float.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(i) = n.as_i64() {
        return Ok(i);
    }
    n.to_string()
        .parse::<rust_decimal::Decimal>()
        .ok()
        .filter(|v| v.fract().is_zero())
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
}

/// A revision: a whole number, 0 or more (revisions count up from 0), or absent. A negative
/// one is refused even where it would not matter (an order confirmed already), so that a request
/// the schema calls invalid is never accepted.
fn optional_revision<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "whole_number")] i64);
    match Option::<Whole>::deserialize(d)? {
        Some(Whole(n)) if n < 0 => Err(serde::de::Error::custom(format!(
            "revision {n} is negative; revisions count up from 0"
        ))),
        w => Ok(w.map(|w| w.0)),
    }
}

/// `POST /api/v1/orders/{id}/cancel`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// Why the order is cancelled; kept with the order and printed on the credit note.
    #[schema(
        example = "Customer withdrew the order",
        min_length = 1,
        max_length = 200
    )]
    pub reason: String,
}

/// A page of a list: `next` is the cursor of the following page, `null` on the last.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerJson>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductJson>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub items: Vec<OrderSummaryJson>,
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerJson {
    #[schema(example = "C-1001")]
    pub code: String,
    pub name: String,
    pub address: String,
    pub vat_id: String,
    pub active: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductJson {
    #[schema(example = "PAPER-A4")]
    pub sku: String,
    pub name: String,
    /// Net price of one unit.
    #[schema(example = "4.99")]
    pub unit_price: String,
    /// Percent.
    #[schema(example = "20.00")]
    pub tax_rate: String,
    pub on_hand: i64,
    pub active: bool,
}

/// One order in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummaryJson {
    pub id: i64,
    #[schema(example = "draft")]
    pub status: String,
    pub customer_name: String,
    pub reference: String,
    pub created_at: String,
    pub line_count: i64,
    /// The invoice number once confirmed.
    pub invoice: Option<String>,
    /// The invoice's gross total once confirmed.
    pub gross: Option<String>,
}

/// An order with its lines. A draft is priced as the products are now; a confirmed order as
/// its invoice billed it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderJson {
    pub id: i64,
    /// `draft`, `confirmed` or `cancelled`.
    #[schema(example = "draft")]
    pub status: String,
    /// Goes up with every change of the lines: confirm with it to be sure of what is billed.
    pub revision: i64,
    /// The customer's code.
    pub customer: String,
    pub customer_name: String,
    pub reference: String,
    pub created_at: String,
    pub created_by: String,
    pub confirmed_at: Option<String>,
    pub confirmed_by: Option<String>,
    #[schema(example = "EUR")]
    pub currency: String,
    pub lines: Vec<OrderLineJson>,
    pub net: String,
    pub tax: String,
    pub gross: String,
    /// The invoice number once confirmed.
    pub invoice: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineJson {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

/// An issued invoice; it never changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceJson {
    #[schema(example = "INV-2026-000042")]
    pub number: String,
    pub order_id: i64,
    pub issued_at: String,
    pub issued_by: String,
    pub currency: String,
    pub customer: InvoiceCustomerJson,
    pub lines: Vec<InvoiceLineJson>,
    pub net: String,
    pub tax: String,
    pub gross: String,
    /// Sums per tax rate, ascending rate.
    pub tax_breakdown: Vec<TaxRateJson>,
}

/// A credit note: it cancels an invoice line by line (quantities as invoiced, amounts
/// negative) and never changes.
/// What `POST /api/v1/orders/{id}/cancel` answers with: the credit note when the order was
/// confirmed, the order itself when it was a draft (a draft has no document to negate).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CancellationJson {
    CreditNote(CreditNoteJson),
    Order(OrderJson),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteJson {
    #[schema(example = "CN-2026-000007")]
    pub number: String,
    /// The invoice it cancels.
    pub invoice: String,
    pub order_id: i64,
    pub reason: String,
    pub issued_at: String,
    pub issued_by: String,
    pub currency: String,
    pub customer: InvoiceCustomerJson,
    pub lines: Vec<InvoiceLineJson>,
    #[schema(example = "-10.98")]
    pub net: String,
    pub tax: String,
    pub gross: String,
    pub tax_breakdown: Vec<TaxRateJson>,
}

/// The customer as copied onto the invoice when it was issued.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceCustomerJson {
    pub code: String,
    pub name: String,
    pub address: String,
    pub vat_id: String,
    /// The customer's own reference for the order, such as their purchase order number; empty
    /// when they gave none.
    #[schema(example = "PO 4711")]
    pub reference: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLineJson {
    pub line_no: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
    pub tax: String,
    pub gross: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxRateJson {
    pub rate: String,
    pub net: String,
    pub tax: String,
}

/// A product's stock with its most recent ledger rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockJson {
    pub sku: String,
    pub name: String,
    pub on_hand: i64,
    pub reorder_level: i64,
    /// On hand at or below the reorder level.
    pub low: bool,
    pub active: bool,
    /// Newest first.
    pub ledger: Vec<LedgerJson>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerJson {
    pub id: i64,
    pub at: String,
    /// Positive in, negative out.
    pub quantity: i64,
    pub balance_after: i64,
    /// `opening`, `receipt`, `sale`, `return` or `adjustment`.
    pub reason: String,
    pub order_id: Option<i64>,
    /// The invoice of the order a `sale` or `return` belongs to.
    pub invoice: Option<String>,
    /// The credit note that put a `return`'s stock back.
    #[schema(example = "CN-2026-000007")]
    pub credit_note: Option<String>,
    pub actor: String,
}

/// RFC 3339 in UTC.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn money(m: Money) -> String {
    m.plain()
}

fn rate(r: TaxRate) -> String {
    r.percent().to_string()
}

fn breakdown(t: &Totals) -> Vec<TaxRateJson> {
    t.by_rate
        .iter()
        .map(|r: &RateTotal| TaxRateJson {
            rate: rate(r.rate),
            net: money(r.net),
            tax: money(r.tax),
        })
        .collect()
}

impl From<CustomerRow> for CustomerJson {
    fn from(c: CustomerRow) -> Self {
        CustomerJson {
            code: c.code,
            name: c.name,
            address: c.address,
            vat_id: c.vat_id,
            active: c.active,
        }
    }
}

impl From<ProductRow> for ProductJson {
    fn from(p: ProductRow) -> Self {
        ProductJson {
            unit_price: money(Money::from_cents(p.unit_price_cents)),
            tax_rate: TaxRate::from_basis_points(p.tax_rate_bp)
                .map(rate)
                .unwrap_or_default(),
            sku: p.sku,
            name: p.name,
            on_hand: p.stock_on_hand,
            active: p.active,
        }
    }
}

impl From<OrderListRow> for OrderSummaryJson {
    fn from(o: OrderListRow) -> Self {
        OrderSummaryJson {
            id: o.id,
            status: o.status.to_string(),
            customer_name: o.customer_name,
            reference: o.reference,
            created_at: rfc3339(o.created_at),
            line_count: o.line_count,
            invoice: o.invoice_number,
            gross: o.gross_cents.map(|c| money(Money::from_cents(c))),
        }
    }
}

impl OrderJson {
    pub fn new(o: &OrderDoc, currency: &str) -> Self {
        OrderJson {
            id: o.id,
            status: o.status.to_string(),
            revision: o.revision,
            customer: o.customer_code.clone(),
            customer_name: o.customer_name.clone(),
            reference: o.reference.clone(),
            created_at: rfc3339(o.created_at),
            created_by: o.created_by.clone(),
            confirmed_at: o.confirmed_at.map(rfc3339),
            confirmed_by: o.confirmed_by.clone(),
            currency: currency.to_string(),
            lines: o
                .lines
                .iter()
                .map(|l| OrderLineJson {
                    id: l.id,
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    unit_price: money(l.unit_price),
                    tax_rate: rate(l.tax_rate),
                    net: money(l.amounts.net),
                    tax: money(l.amounts.tax),
                    gross: money(l.amounts.gross),
                })
                .collect(),
            net: money(o.totals.net),
            tax: money(o.totals.tax),
            gross: money(o.totals.gross),
            invoice: o.invoice.clone(),
        }
    }
}

impl From<&InvoiceDoc> for InvoiceJson {
    fn from(i: &InvoiceDoc) -> Self {
        InvoiceJson {
            number: i.number.clone(),
            order_id: i.order_id,
            issued_at: rfc3339(i.issued_at),
            issued_by: i.issued_by.clone(),
            currency: i.currency.clone(),
            customer: customer_json(&i.customer),
            lines: lines_json(&i.lines),
            net: money(i.totals.net),
            tax: money(i.totals.tax),
            gross: money(i.totals.gross),
            tax_breakdown: breakdown(&i.totals),
        }
    }
}

fn lines_json(lines: &[InvoiceLineDoc]) -> Vec<InvoiceLineJson> {
    lines
        .iter()
        .map(|l| InvoiceLineJson {
            line_no: l.line_no,
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity,
            unit_price: money(l.unit_price),
            tax_rate: rate(l.tax_rate),
            net: money(l.amounts.net),
            tax: money(l.amounts.tax),
            gross: money(l.amounts.gross),
        })
        .collect()
}

fn customer_json(c: &CustomerSnapshot) -> InvoiceCustomerJson {
    InvoiceCustomerJson {
        code: c.code.clone(),
        name: c.name.clone(),
        address: c.address.clone(),
        vat_id: c.vat_id.clone(),
        reference: c.reference.clone(),
    }
}

impl From<&CreditNoteDoc> for CreditNoteJson {
    fn from(c: &CreditNoteDoc) -> Self {
        CreditNoteJson {
            number: c.number.clone(),
            invoice: c.invoice_number.clone(),
            order_id: c.order_id,
            reason: c.reason.clone(),
            issued_at: rfc3339(c.issued_at),
            issued_by: c.issued_by.clone(),
            currency: c.currency.clone(),
            customer: customer_json(&c.customer),
            lines: lines_json(&c.lines),
            net: money(c.totals.net),
            tax: money(c.totals.tax),
            gross: money(c.totals.gross),
            tax_breakdown: breakdown(&c.totals),
        }
    }
}

impl From<LedgerRow> for LedgerJson {
    fn from(r: LedgerRow) -> Self {
        LedgerJson {
            id: r.id,
            at: rfc3339(r.created_at),
            quantity: r.quantity,
            balance_after: r.balance_after,
            reason: r.reason,
            order_id: r.order_id,
            invoice: r.invoice_number,
            credit_note: r.credit_note_number,
            actor: r.actor,
        }
    }
}
