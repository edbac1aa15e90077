//! Goods receipts: stock in, with its ledger row and audit event, once per form.

use crate::db::audit::{self, AuditEvent};
use crate::db::{Tx, products, stock};
use crate::domain::{Actor, Permission, Quantity, Sku};
use crate::error::{Field, Invalid, Missing, Result};
use crate::idempotency::{Action, Scope};

/// The longest note on a receipt (a delivery note number, a remark), in characters.
pub const MAX_NOTE: usize = 200;

/// Receive `quantity` units of a product.
#[derive(Debug, Clone)]
pub struct ReceiveGoods {
    pub actor: Actor,
    pub sku: Sku,
    pub quantity: Quantity,
    /// The supplier's delivery note or any remark, kept in the audit trail.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoodsReceived {
    pub sku: Sku,
    /// Stock on hand after the receipt.
    pub balance: i64,
}

impl ReceiveGoods {
    pub fn scope_for() -> Scope {
        Scope::new("receive-goods", "stock")
    }
}

impl Action for ReceiveGoods {
    type Output = GoodsReceived;
    const PERMISSION: Permission = Permission::ReceiveStock;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for()
    }

    async fn apply(self, tx: &mut Tx) -> Result<GoodsReceived> {
        let note = self.note.trim();
        if note.chars().count() > MAX_NOTE {
            return Err(Invalid::new(
                Field::Note,
                format!("a note has at most {MAX_NOTE} characters"),
            )
            .into());
        }
        let product = products::find_by_sku(tx, self.sku.as_str())
            .await?
            .ok_or_else(|| {
                Invalid::new(
                    Field::Sku,
                    Missing::Product(self.sku.to_string()).to_string(),
                )
            })?;
        let balance =
            stock::adjust(tx, product.id, self.quantity.units(), &self.actor.username).await?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor.username,
                action: "receive",
                entity: "product",
                entity_id: product.id.to_string(),
                detail: format!("+{} {} (balance {balance}) {note}", self.quantity, self.sku)
                    .trim_end()
                    .to_string(),
            },
            crate::db::now(),
        )
        .await?;
        Ok(GoodsReceived {
            sku: self.sku,
            balance,
        })
    }
}
