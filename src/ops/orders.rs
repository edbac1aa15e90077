//! Creating orders and changing their lines while they are drafts.

use std::collections::HashMap;

use crate::db::audit::{self, AuditEvent};
use crate::db::products::{self, ProductRow};
use crate::db::{Tx, customers, orders};
use crate::domain::{Actor, Permission, Quantity, Sku};
use crate::error::{Conflict, Error, Field, Invalid, Missing, Result};
use crate::idempotency::{Action, Scope};

/// The longest customer reference (a purchase order number, a note), in characters.
pub const MAX_REFERENCE: usize = 80;
/// The most lines one request may put on an order.
pub const MAX_LINES: usize = 1000;

/// How a request names the customer: the pages by id (a choice list), the API by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerRef {
    Id(i64),
    Code(String),
}

/// A line to put on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub sku: Sku,
    pub quantity: Quantity,
}

/// Create a draft order for a customer, with lines if the request brings them.
#[derive(Debug, Clone)]
pub struct CreateOrder {
    pub actor: Actor,
    pub customer: CustomerRef,
    pub reference: String,
    pub lines: Vec<NewLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCreated {
    pub order_id: i64,
}

impl CreateOrder {
    pub fn scope_for() -> Scope {
        Scope::new("create-order", "orders")
    }
}

impl Action for CreateOrder {
    type Output = OrderCreated;
    const PERMISSION: Permission = Permission::EditOrders;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for()
    }

    async fn apply(self, tx: &mut Tx) -> Result<OrderCreated> {
        let at = crate::db::now();
        let reference = self.reference.trim();
        if reference.chars().count() > MAX_REFERENCE {
            return Err(Invalid::new(
                Field::Reference,
                format!("a reference has at most {MAX_REFERENCE} characters"),
            )
            .into());
        }
        if self.lines.len() > MAX_LINES {
            return Err(Invalid::new(
                Field::Lines,
                format!("an order takes at most {MAX_LINES} lines per request"),
            )
            .into());
        }
        let customer = match &self.customer {
            CustomerRef::Id(id) => customers::find(tx, *id).await?,
            CustomerRef::Code(code) => customers::find_by_code(tx, code).await?,
        };
        let customer = match customer {
            Some(c) if c.active => c,
            Some(c) => {
                return Err(Invalid::new(
                    Field::Customer,
                    format!("customer {} is inactive and takes no new orders", c.code),
                )
                .into());
            }
            None => {
                let missing = match self.customer {
                    CustomerRef::Id(id) => Missing::CustomerId(id),
                    CustomerRef::Code(code) => Missing::Customer(code),
                };
                return Err(Invalid::new(Field::Customer, missing.to_string()).into());
            }
        };
        let id = orders::insert(tx, customer.id, reference, &self.actor.username, at).await?;
        if !self.lines.is_empty() {
            let skus: Vec<&str> = self.lines.iter().map(|l| l.sku.as_str()).collect();
            let found: HashMap<String, ProductRow> = products::find_by_skus(tx, &skus)
                .await?
                .into_iter()
                .map(|p| (p.sku.clone(), p))
                .collect();
            let mut rows = Vec::with_capacity(self.lines.len());
            for (i, line) in self.lines.iter().enumerate() {
                let product =
                    orderable(found.get(line.sku.as_str()), &line.sku, Field::LineSku(i))?;
                rows.push((product.id, line.quantity.units()));
            }
            orders::insert_lines(tx, id, &rows).await?;
        }
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor.username,
                action: "create",
                entity: "order",
                entity_id: id.to_string(),
                detail: format!("customer {}, {} lines", customer.code, self.lines.len()),
            },
            at,
        )
        .await?;
        Ok(OrderCreated { order_id: id })
    }
}

/// A product that may go on an order line, or why not.
fn orderable<'p>(
    product: Option<&'p ProductRow>,
    sku: &Sku,
    field: Field,
) -> Result<&'p ProductRow> {
    match product {
        Some(p) if p.active => Ok(p),
        Some(p) => Err(Invalid::new(
            field,
            format!("product {} is inactive and goes on no new line", p.sku),
        )
        .into()),
        None => Err(Invalid::new(field, Missing::Product(sku.to_string()).to_string()).into()),
    }
}

/// Add a product to a draft order. A product the order already has is merged into its line
/// (the quantities add up) instead of making a second line of the same product: an order
/// clerk expects one line per product, the invoice reads better, and the shortage shown per
/// line is then the whole demand for that product. Like every action it runs once per token,
/// so a double-submitted add adds once.
#[derive(Debug, Clone)]
pub struct AddLine {
    pub actor: Actor,
    pub order_id: i64,
    pub line: NewLine,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineAdded {
    pub order_id: i64,
    pub line_id: i64,
    /// True when the product was on the order already and its line grew.
    pub merged: bool,
    /// The order's revision after the change.
    pub revision: i64,
}

impl AddLine {
    pub fn scope_for(order_id: i64) -> Scope {
        Scope::new("add-line", format!("order:{order_id}"))
    }
}

impl Action for AddLine {
    type Output = LineAdded;
    const PERMISSION: Permission = Permission::EditOrders;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(self.order_id)
    }

    async fn apply(self, tx: &mut Tx) -> Result<LineAdded> {
        let at = crate::db::now();
        let id = self.order_id;
        let revision = require_draft(tx, id).await?;
        let sku = &self.line.sku;
        let found = products::find_by_sku(tx, sku.as_str()).await?;
        let product = orderable(found.as_ref(), sku, Field::Sku)?;
        let quantity = self.line.quantity;
        let (line_id, merged, detail) = match orders::line_of_product(tx, id, product.id).await? {
            Some((line_id, before)) => {
                let total =
                    Quantity::new(before.saturating_add(quantity.units())).map_err(|_| {
                        Invalid::new(
                            Field::Quantity,
                            format!(
                                "line {sku} holds {before} already; a line holds at most {}",
                                Quantity::MAX
                            ),
                        )
                    })?;
                orders::set_line_quantity(tx, id, line_id, total.units()).await?;
                let detail = format!("line {line_id}: {quantity} x {sku} added, now {total}");
                (line_id, true, detail)
            }
            None => {
                let line_id = orders::insert_line(tx, id, product.id, quantity.units()).await?;
                (
                    line_id,
                    false,
                    format!("line {line_id}: {quantity} x {sku}"),
                )
            }
        };
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor.username,
                action: "add-line",
                entity: "order",
                entity_id: id.to_string(),
                detail,
            },
            at,
        )
        .await?;
        Ok(LineAdded {
            order_id: id,
            line_id,
            merged,
            revision,
        })
    }
}

/// Remove a line from a draft order. Removing a line that is already gone is a success: the
/// order is as the clerk wanted it.
#[derive(Debug, Clone)]
pub struct RemoveLine {
    pub actor: Actor,
    pub order_id: i64,
    pub line_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRemoved {
    pub order_id: i64,
    /// False when the line was gone already.
    pub removed: bool,
}

impl RemoveLine {
    pub fn scope_for(order_id: i64) -> Scope {
        Scope::new("remove-line", format!("order:{order_id}"))
    }
}

impl Action for RemoveLine {
    type Output = LineRemoved;
    const PERMISSION: Permission = Permission::EditOrders;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(self.order_id)
    }

    async fn apply(self, tx: &mut Tx) -> Result<LineRemoved> {
        let at = crate::db::now();
        let id = self.order_id;
        require_draft(tx, id).await?;
        let removed = orders::delete_line(tx, id, self.line_id).await?;
        if removed {
            audit::record(
                tx,
                &AuditEvent {
                    actor: &self.actor.username,
                    action: "remove-line",
                    entity: "order",
                    entity_id: id.to_string(),
                    detail: format!("line {}", self.line_id),
                },
                at,
            )
            .await?;
        }
        Ok(LineRemoved {
            order_id: id,
            removed,
        })
    }
}

/// Change the quantity of one line of a draft order. A quantity of zero is refused (the
/// quantity parses only from 1 up): removing a line is its own button, so a slip of the
/// keyboard never deletes a line.
#[derive(Debug, Clone)]
pub struct ChangeLine {
    pub actor: Actor,
    pub order_id: i64,
    pub line_id: i64,
    pub quantity: Quantity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChanged {
    pub order_id: i64,
    /// False when the line held that quantity already.
    pub changed: bool,
}

impl ChangeLine {
    pub fn scope_for(order_id: i64) -> Scope {
        Scope::new("change-line", format!("order:{order_id}"))
    }
}

impl Action for ChangeLine {
    type Output = LineChanged;
    const PERMISSION: Permission = Permission::EditOrders;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(self.order_id)
    }

    async fn apply(self, tx: &mut Tx) -> Result<LineChanged> {
        let at = crate::db::now();
        let id = self.order_id;
        require_draft(tx, id).await?;
        let Some((before, sku)) = orders::line(tx, id, self.line_id).await? else {
            return Err(Invalid::new(
                Field::Quantity,
                "that line is no longer on the order".to_string(),
            )
            .into());
        };
        let quantity = self.quantity.units();
        if before == quantity {
            return Ok(LineChanged {
                order_id: id,
                changed: false,
            });
        }
        orders::set_line_quantity(tx, id, self.line_id, quantity).await?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor.username,
                action: "change-line",
                entity: "order",
                entity_id: id.to_string(),
                detail: format!("line {}: {sku} {before} -> {quantity}", self.line_id),
            },
            at,
        )
        .await?;
        Ok(LineChanged {
            order_id: id,
            changed: true,
        })
    }
}

/// Lock the order and bump its revision, or say why its lines cannot change.
async fn require_draft(tx: &mut Tx, id: i64) -> Result<i64> {
    match orders::touch_draft(tx, id).await? {
        Some(revision) => Ok(revision),
        None => match orders::status_of(tx, id).await? {
            None => Err(Error::NotFound(Missing::Order(id))),
            Some((status, _)) => Err(Conflict::NotDraft {
                order_id: id,
                status,
            }
            .into()),
        },
    }
}
