//! Confirming an order: SPEC section 2, in one transaction.

use std::collections::BTreeMap;

use super::documents::{CustomerSnapshot, InvoiceDoc, InvoiceLineDoc, invoice_of_order};
use crate::db::audit::AuditEvent;
use crate::db::confirmation::{self, Start, Writes};
use crate::db::invoices::{InvoiceLineRow, NewInvoice};
use crate::db::timing::Phase;
use crate::db::{Reader, Tx, faults, orders};
use crate::domain::{
    Actor, InvoiceNumber, Money, OrderStatus, Permission, PricedLine, Quantity, ShortLine, TaxRate,
    demand_by_product, shortages, totals,
};
use crate::error::{Conflict, Error, Missing, Result};
use crate::idempotency::{Action, Scope};

/// Confirm an order: claim (done by the engine), draft to confirmed at the revision the client
/// saw, stock down, ledger rows, invoice with the next gapless number, audit event.
#[derive(Debug, Clone)]
pub struct ConfirmOrder {
    pub actor: Actor,
    pub order_id: i64,
    /// The revision the clerk's form (or the API client) saw; `None` confirms the order as it
    /// is now.
    pub revision: Option<i64>,
    pub currency: String,
}

/// A confirmed order and its invoice.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub order_id: i64,
    pub invoice: InvoiceDoc,
    /// True when this request confirmed it; false when it was confirmed already (another
    /// tab, another token) and nothing changed.
    pub fresh: bool,
}

impl ConfirmOrder {
    /// What a key for confirming `order_id` is bound to.
    pub fn scope_for(order_id: i64) -> Scope {
        Scope::new("confirm-order", format!("order:{order_id}"))
    }
}

impl Action for ConfirmOrder {
    type Output = Confirmation;
    const PERMISSION: Permission = Permission::ConfirmOrders;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(self.order_id)
    }

    /// The claim goes into the confirmation's first statement: on PostgreSQL the whole
    /// transaction is then four round trips (see `db::confirmation`).
    const CLAIMS_IN_FIRST_STATEMENT: bool = true;

    async fn apply(self, tx: &mut Tx) -> Result<Confirmation> {
        let at = crate::db::now();
        let id = self.order_id;
        let actor = self.actor.username.as_str();

        // The key's claim, then the conditional update: only a draft at the revision the clerk
        // saw moves; its lines come back with their products locked in ascending id order.
        let (customer, reference, mut lines) =
            match confirmation::start(tx, id, self.revision, actor, at).await? {
                Start::Confirming {
                    customer,
                    reference,
                    lines,
                } => (customer, reference, lines),
                Start::NotDraft => return self.not_draft(tx).await,
            };
        tx.mark(Phase::Lock);
        if lines.is_empty() {
            return Err(Conflict::NoLines { order_id: id }.into());
        }
        let demand = demand_by_product(lines.iter().map(|l| (l.product_id, l.quantity)));
        let on_hand: BTreeMap<i64, i64> = lines
            .iter()
            .map(|l| (l.product_id, l.stock_on_hand))
            .collect();
        let short = shortages(&demand, &on_hand);
        if !short.is_empty() {
            let names: BTreeMap<i64, (&str, &str)> = lines
                .iter()
                .map(|l| (l.product_id, (l.sku.as_str(), l.name.as_str())))
                .collect();
            return Err(Error::ShortStock(
                short
                    .into_iter()
                    .map(|s| {
                        let (sku, name) = names.get(&s.product_id).copied().unwrap_or(("?", "?"));
                        ShortLine {
                            sku: sku.to_string(),
                            name: name.to_string(),
                            requested: s.requested,
                            available: s.available,
                        }
                    })
                    .collect(),
            ));
        }

        // Invoice lines in entry order, priced as the products are now.
        lines.sort_by_key(|l| l.id);
        let mut rows = Vec::with_capacity(lines.len());
        let mut docs = Vec::with_capacity(lines.len());
        for (n, l) in lines.into_iter().enumerate() {
            let quantity = Quantity::new(l.quantity)
                .map_err(|e| Error::Internal(format!("stored quantity out of range: {e}")))?;
            let tax_rate = TaxRate::from_basis_points(l.tax_rate_bp)
                .ok_or_else(|| Error::Internal("stored tax rate out of range".into()))?;
            let unit_price = Money::from_cents(l.unit_price_cents);
            let amounts = PricedLine {
                quantity,
                unit_price,
                tax_rate,
            }
            .amounts();
            let line_no = i64::try_from(n + 1).unwrap_or(i64::MAX);
            rows.push(InvoiceLineRow {
                line_no,
                product_id: l.product_id,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price_cents: l.unit_price_cents,
                tax_rate_bp: l.tax_rate_bp,
                net_cents: amounts.net.cents(),
                tax_cents: amounts.tax.cents(),
                gross_cents: amounts.gross.cents(),
            });
            docs.push(InvoiceLineDoc {
                line_no,
                sku: l.sku,
                name: l.name,
                quantity: l.quantity,
                unit_price,
                tax_rate,
                amounts,
            });
        }
        let t = totals(docs.iter().map(|l| (l.tax_rate, &l.amounts)));
        let demand: Vec<(i64, i64)> = demand.into_iter().collect();

        // Stock, ledger, lines, audit and, last, the number and the header.
        let number = confirmation::finish(
            tx,
            &Writes {
                demand: &demand,
                lines: &rows,
                audit: AuditEvent {
                    actor,
                    action: "confirm",
                    entity: "order",
                    entity_id: id.to_string(),
                    detail: format!("{} lines, gross {} {}", docs.len(), t.gross, self.currency),
                },
                invoice: NewInvoice {
                    order_id: id,
                    year: at.year(),
                    customer_id: customer.id,
                    customer_code: &customer.code,
                    customer_name: &customer.name,
                    customer_address: &customer.address,
                    customer_vat_id: &customer.vat_id,
                    currency: &self.currency,
                    net_cents: t.net.cents(),
                    tax_cents: t.tax.cents(),
                    gross_cents: t.gross.cents(),
                    issued_at: at,
                    issued_by: actor,
                },
            },
        )
        .await?;
        debug_assert!(InvoiceNumber::parse(&number).is_ok(), "{number}");
        tx.mark(Phase::Write);
        if faults::fail_after_stock_update(tx) {
            return Err(Error::Internal(
                "injected fault after the stock update".into(),
            ));
        }
        Ok(Confirmation {
            order_id: id,
            fresh: true,
            invoice: InvoiceDoc {
                number,
                order_id: id,
                customer: CustomerSnapshot {
                    code: customer.code,
                    name: customer.name,
                    address: customer.address,
                    vat_id: customer.vat_id,
                    reference,
                },
                currency: self.currency,
                issued_at: at,
                issued_by: self.actor.username,
                lines: docs,
                totals: t,
            },
        })
    }
}

impl ConfirmOrder {
    /// The order did not move: missing, cancelled, changed since the clerk saw it, or
    /// confirmed already (another tab, another token), in which case that confirmation stands.
    async fn not_draft(self, tx: &mut Tx) -> Result<Confirmation> {
        let id = self.order_id;
        match orders::status_of(tx, id).await? {
            None => Err(Missing::Order(id).into()),
            Some((OrderStatus::Confirmed, _)) => {
                let invoice = invoice_of_order(&mut Reader::Tx(tx), id)
                    .await?
                    .ok_or_else(|| {
                        Error::Internal(format!("confirmed order {id} has no invoice"))
                    })?;
                Ok(Confirmation {
                    order_id: id,
                    invoice,
                    fresh: false,
                })
            }
            Some((OrderStatus::Draft, _)) => Err(Conflict::Changed {
                order_id: id,
                seen: self.revision.unwrap_or_default(),
            }
            .into()),
            Some((OrderStatus::Cancelled, _)) => Err(Conflict::Cancelled { order_id: id }.into()),
        }
    }
}
