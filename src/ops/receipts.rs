//! Goods receipts: stock in, with its ledger row and audit event, once per form.

use crate::db::audit::{self, AuditEvent};
use crate::db::{Tx, stock};
use crate::domain::Quantity;
use crate::error::AppError;
use crate::idempotency::{Action, Outcome};

/// Where a product's stock and ledger are shown.
pub fn stock_path(sku: &str) -> String {
    format!("/stock/{sku}")
}

/// Receive `quantity` units of a product.
#[derive(Debug, Clone)]
pub struct ReceiveGoods {
    pub product_id: i64,
    pub sku: String,
    pub quantity: Quantity,
    /// The supplier's delivery note or any remark, kept in the audit trail.
    pub note: String,
    pub actor: String,
}

impl Action for ReceiveGoods {
    fn pending_location(&self) -> String {
        stock_path(&self.sku)
    }

    fn planned_outcome(&self) -> Option<Outcome> {
        Some(Outcome::see_other(stock_path(&self.sku)))
    }

    async fn apply(self, tx: &mut Tx) -> Result<Outcome, AppError> {
        let balance =
            stock::adjust(tx, self.product_id, self.quantity.units(), &self.actor).await?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor,
                action: "receive",
                entity: "product",
                entity_id: self.product_id.to_string(),
                detail: format!(
                    "+{} {} (balance {balance}) {}",
                    self.quantity, self.sku, self.note
                )
                .trim_end()
                .to_string(),
            },
            crate::db::now(),
        )
        .await?;
        Ok(Outcome::see_other(stock_path(&self.sku)))
    }
}
