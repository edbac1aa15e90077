//! Creating orders and changing their lines while they are drafts.

use crate::db::audit::{self, AuditEvent};
use crate::db::{Tx, customers, orders};
use crate::domain::Quantity;
use crate::error::AppError;
use crate::idempotency::{Action, Outcome};

use super::order_path;

/// Create a draft order for a customer.
#[derive(Debug, Clone)]
pub struct CreateOrder {
    pub customer_id: i64,
    pub reference: String,
    pub actor: String,
}

impl Action for CreateOrder {
    fn pending_location(&self) -> String {
        "/orders".into()
    }

    async fn apply(self, tx: &mut Tx) -> Result<Outcome, AppError> {
        let at = crate::db::now();
        if customers::find(tx, self.customer_id).await?.is_none() {
            return Err(AppError::NotFound(format!(
                "There is no customer {}.",
                self.customer_id
            )));
        }
        let id = orders::insert(tx, self.customer_id, &self.reference, &self.actor, at).await?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor,
                action: "create",
                entity: "order",
                entity_id: id.to_string(),
                detail: format!("customer {}", self.customer_id),
            },
            at,
        )
        .await?;
        Ok(Outcome::see_other(order_path(id)))
    }
}

/// Add a line to a draft order.
#[derive(Debug, Clone)]
pub struct AddLine {
    pub order_id: i64,
    pub product_id: i64,
    pub sku: String,
    pub quantity: Quantity,
    pub actor: String,
}

impl Action for AddLine {
    fn pending_location(&self) -> String {
        order_path(self.order_id)
    }

    fn planned_outcome(&self) -> Option<Outcome> {
        Some(Outcome::see_other(order_path(self.order_id)))
    }

    async fn apply(self, tx: &mut Tx) -> Result<Outcome, AppError> {
        let at = crate::db::now();
        let id = self.order_id;
        require_draft(tx, id).await?;
        let line = orders::insert_line(tx, id, self.product_id, self.quantity.units()).await?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor,
                action: "add-line",
                entity: "order",
                entity_id: id.to_string(),
                detail: format!("line {line}: {} x {}", self.quantity, self.sku),
            },
            at,
        )
        .await?;
        Ok(Outcome::see_other(order_path(id)))
    }
}

/// Remove a line from a draft order. Removing a line that is already gone is a success: the
/// order is as the clerk wanted it.
#[derive(Debug, Clone)]
pub struct RemoveLine {
    pub order_id: i64,
    pub line_id: i64,
    pub actor: String,
}

impl Action for RemoveLine {
    fn pending_location(&self) -> String {
        order_path(self.order_id)
    }

    fn planned_outcome(&self) -> Option<Outcome> {
        Some(Outcome::see_other(order_path(self.order_id)))
    }

    async fn apply(self, tx: &mut Tx) -> Result<Outcome, AppError> {
        let at = crate::db::now();
        let id = self.order_id;
        require_draft(tx, id).await?;
        if orders::delete_line(tx, id, self.line_id).await? {
            audit::record(
                tx,
                &AuditEvent {
                    actor: &self.actor,
                    action: "remove-line",
                    entity: "order",
                    entity_id: id.to_string(),
                    detail: format!("line {}", self.line_id),
                },
                at,
            )
            .await?;
        }
        Ok(Outcome::see_other(order_path(id)))
    }
}

/// Lock the order and bump its revision, or explain why its lines cannot change.
async fn require_draft(tx: &mut Tx, id: i64) -> Result<i64, AppError> {
    match orders::touch_draft(tx, id).await? {
        Some(revision) => Ok(revision),
        None => match orders::status_of(tx, id).await? {
            None => Err(AppError::NotFound(format!("There is no order {id}."))),
            Some((status, _)) => Err(AppError::Conflict(format!(
                "Order {id} is {status}; its lines can no longer change."
            ))),
        },
    }
}
