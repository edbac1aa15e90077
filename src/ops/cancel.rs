//! Cancelling an order: a draft simply goes (clerk); a confirmed order gets a credit note that
//! negates its invoice and its stock back, in one transaction (accountant).

use super::documents::{CreditNoteDoc, credit_note_of_order};
use super::require;
use crate::db::audit::{self, AuditEvent};
use crate::db::credit_notes::{self, NewCreditNote};
use crate::db::{Reader, Tx, orders, stock};
use crate::domain::{Actor, OrderStatus, Permission};
use crate::error::{Conflict, Error, Field, Invalid, Missing, Result};
use crate::idempotency::{Action, Scope};

/// The longest reason, in characters.
pub const MAX_REASON: usize = 200;

/// Cancel an order, saying why.
#[derive(Debug, Clone)]
pub struct CancelOrder {
    pub actor: Actor,
    pub order_id: i64,
    pub reason: String,
}

/// A cancelled order and, when it had been invoiced, its credit note.
#[derive(Debug, Clone)]
pub struct Cancellation {
    pub order_id: i64,
    pub credit_note: Option<CreditNoteDoc>,
    /// True when this request cancelled it; false when it was cancelled already (another tab,
    /// another token) and nothing changed.
    pub fresh: bool,
}

impl CancelOrder {
    pub fn scope_for(order_id: i64) -> Scope {
        Scope::new("cancel-order", format!("order:{order_id}"))
    }
}

impl Action for CancelOrder {
    type Output = Cancellation;
    /// Anyone who may cancel something; what the order's state requires is checked in
    /// `apply`: [`Permission::EditOrders`] for a draft, [`Permission::CreditInvoices`] once it
    /// is invoiced.
    const PERMISSION: Permission = Permission::CancelOrders;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(self.order_id)
    }

    async fn apply(self, tx: &mut Tx) -> Result<Cancellation> {
        let id = self.order_id;
        let reason = self.reason.trim();
        if reason.is_empty() {
            return Err(Invalid::new(Field::Reason, "say why the order is cancelled").into());
        }
        if reason.chars().count() > MAX_REASON {
            let message = format!("a reason has at most {MAX_REASON} characters");
            return Err(Invalid::new(Field::Reason, message).into());
        }
        let at = crate::db::now();
        let actor = self.actor.username.as_str();
        let (status, _) = orders::status_of(tx, id)
            .await?
            .ok_or(Error::NotFound(Missing::Order(id)))?;
        match status {
            // Cancelled already (another tab, another token): that cancellation stands.
            OrderStatus::Cancelled => already_cancelled(tx, id).await,
            OrderStatus::Draft => {
                require(&self.actor, Permission::EditOrders)?;
                if !orders::mark_cancelled(tx, id, status, actor, reason, at).await? {
                    return already_cancelled(tx, id).await;
                }
                record(tx, actor, id, format!("draft cancelled: {reason}"), at).await?;
                Ok(Cancellation {
                    order_id: id,
                    credit_note: None,
                    fresh: true,
                })
            }
            OrderStatus::Confirmed => {
                require(&self.actor, Permission::CreditInvoices)?;
                // The conditional update first: a second cancellation waits here on the order's
                // row, then finds it cancelled and shows the first one's credit note.
                if !orders::mark_cancelled(tx, id, status, actor, reason, at).await? {
                    return already_cancelled(tx, id).await;
                }
                stock::return_for_order(tx, id, actor, at).await?;
                credit_notes::insert_lines_from_invoice(tx, id).await?;
                record(tx, actor, id, format!("credit note issued: {reason}"), at).await?;
                // Last: the numbering counter, on which every cancellation queues until commit.
                let new = NewCreditNote {
                    order_id: id,
                    year: at.year(),
                    reason,
                    issued_at: at,
                    issued_by: actor,
                };
                credit_notes::issue(tx, &new).await?;
                let credit_note = credit_note_of_order(&mut Reader::Tx(tx), id).await?;
                Ok(Cancellation {
                    order_id: id,
                    credit_note,
                    fresh: true,
                })
            }
        }
    }
}

/// The order was cancelled by someone else, before or while this request decided: that
/// cancellation stands and this one changes nothing. Anything else (it was confirmed meanwhile)
/// is a state change to look at first.
async fn already_cancelled(tx: &mut Tx, id: i64) -> Result<Cancellation> {
    match orders::status_of(tx, id).await? {
        Some((OrderStatus::Cancelled, _)) => Ok(Cancellation {
            order_id: id,
            credit_note: credit_note_of_order(&mut Reader::Tx(tx), id).await?,
            fresh: false,
        }),
        _ => Err(Conflict::StateChanged { order_id: id }.into()),
    }
}

async fn record(
    tx: &mut Tx,
    actor: &str,
    order_id: i64,
    detail: String,
    at: time::OffsetDateTime,
) -> Result<()> {
    let event = AuditEvent {
        actor,
        action: "cancel",
        entity: "order",
        entity_id: order_id.to_string(),
        detail,
    };
    Ok(audit::record(tx, &event, at).await?)
}
