//! Confirming an order: SPEC section 2, in one transaction.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::db::audit::{self, AuditEvent};
use crate::db::invoices::{self, InvoiceLineRow, NewInvoice};
use crate::db::{Faults, Tx, orders, stock};
use crate::domain::{
    Money, OrderStatus, PricedLine, Quantity, TaxRate, demand_by_product, shortages, totals,
};
use crate::error::AppError;
use crate::idempotency::{Action, Outcome};

use super::{confirmation_path, order_path};

/// A product the order asks for more of than is on hand, for the clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLine {
    pub sku: String,
    pub name: String,
    pub requested: i64,
    pub available: i64,
}

/// Confirm `order_id` as seen at `revision`: claim (done by the engine), draft to confirmed,
/// stock down, ledger rows, invoice with the next gapless number, audit event.
#[derive(Debug, Clone)]
pub struct ConfirmOrder {
    pub order_id: i64,
    pub revision: i64,
    pub actor: String,
    pub currency: String,
    pub faults: Arc<Faults>,
}

impl Action for ConfirmOrder {
    fn pending_location(&self) -> String {
        confirmation_path(self.order_id)
    }

    fn planned_outcome(&self) -> Option<Outcome> {
        Some(Outcome::see_other(confirmation_path(self.order_id)))
    }

    async fn apply(self, tx: &mut Tx) -> Result<Outcome, AppError> {
        let at = crate::db::now();
        let id = self.order_id;

        // The conditional update: only a draft at the revision the clerk saw moves.
        let Some(customer) = orders::mark_confirmed(tx, id, self.revision, &self.actor, at).await?
        else {
            return match orders::status_of(tx, id).await? {
                None => Err(AppError::NotFound(format!("There is no order {id}."))),
                Some((status, _)) => match OrderStatus::from_db(&status) {
                    // Already confirmed (another tab, another token): show that confirmation.
                    OrderStatus::Confirmed => Ok(Outcome::see_other(confirmation_path(id))),
                    OrderStatus::Draft => Err(AppError::Conflict(format!(
                        "Order {id} was changed after you opened it. Nothing was confirmed: \
                         review the order at {} and confirm it again.",
                        order_path(id)
                    ))),
                    OrderStatus::Cancelled => Err(AppError::Conflict(format!(
                        "Order {id} is cancelled and cannot be confirmed."
                    ))),
                },
            };
        };

        // Lines with their products, products locked in ascending id order.
        let mut lines = orders::lock_lines(tx, id).await?;
        if lines.is_empty() {
            return Err(AppError::Conflict(format!(
                "Order {id} has no lines yet. Add at least one line before confirming."
            )));
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
            return Err(AppError::ShortStock(
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

        stock::take_for_order(tx, id, &self.actor, at).await?;
        if self.faults.take_fail_after_stock_update() {
            return Err(AppError::Internal(
                "injected fault after the stock update".into(),
            ));
        }

        // Invoice lines in entry order, priced as the products are now.
        lines.sort_by_key(|l| l.id);
        let mut invoice_lines = Vec::with_capacity(lines.len());
        let mut rated = Vec::with_capacity(lines.len());
        for (n, l) in lines.iter().enumerate() {
            let quantity = Quantity::new(l.quantity)
                .map_err(|e| AppError::Internal(format!("stored quantity out of range: {e}")))?;
            let tax_rate = TaxRate::from_basis_points(l.tax_rate_bp)
                .ok_or_else(|| AppError::Internal("stored tax rate out of range".into()))?;
            let priced = PricedLine {
                quantity,
                unit_price: Money::from_cents(l.unit_price_cents),
                tax_rate,
            };
            let a = priced.amounts();
            rated.push((tax_rate, a));
            invoice_lines.push(InvoiceLineRow {
                line_no: i64::try_from(n + 1).unwrap_or(i64::MAX),
                product_id: l.product_id,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price_cents: l.unit_price_cents,
                tax_rate_bp: l.tax_rate_bp,
                net_cents: a.net.cents(),
                tax_cents: a.tax.cents(),
                gross_cents: a.gross.cents(),
            });
        }
        let t = totals(rated.iter().map(|(r, a)| (*r, a)));
        invoices::insert_lines(tx, id, &invoice_lines).await?;

        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor,
                action: "confirm",
                entity: "order",
                entity_id: id.to_string(),
                detail: format!("{} lines, gross {} {}", lines.len(), t.gross, self.currency),
            },
            at,
        )
        .await?;

        // Last: the numbering counter, on which every confirmation queues until commit.
        invoices::issue(
            tx,
            &NewInvoice {
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
                issued_by: &self.actor,
            },
        )
        .await?;
        Ok(Outcome::see_other(confirmation_path(id)))
    }
}
