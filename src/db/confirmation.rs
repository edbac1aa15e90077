//! The statements of a confirmation (SPEC section 2), in as few round trips as each backend
//! allows. The rules (which lines are short, how a line is priced and rounded, the totals) stay
//! in the Rust domain; these functions only read what the rules need and write what they
//! decided.
//!
//! On PostgreSQL a confirmation is four round trips: `BEGIN`; [`start`] (one statement claims
//! the key, moves the order from draft to confirmed and returns its lines with their products
//! locked in ascending id order); [`finish`] (one statement writes stock, ledger, invoice lines,
//! audit event, counter and invoice header from arrays computed in Rust); `COMMIT`. The hot
//! product rows and the counter row are held for one round trip plus the commit, as pgbench's
//! rows are. SQLite runs the same steps as several statements inside `BEGIN IMMEDIATE`, which
//! already excludes every other writer.

use time::OffsetDateTime;

use super::audit::{self, AuditEvent};
use super::customers::CustomerRow;
use super::invoices::{self, InvoiceLineRow, NewInvoice};
use super::orders::{self, OrderLineRow};
use super::{ClaimRefused, DbResult, Tx, TxConn, idempotency, postgres, sqlite};

/// What [`start`] found.
#[derive(Debug)]
pub enum Start {
    /// The order moved from draft to confirmed (not committed yet): its customer as it is now,
    /// and its lines with their products, locked, in ascending product id order.
    Confirming {
        customer: CustomerRow,
        lines: Vec<OrderLineRow>,
    },
    /// The order is missing, or not a draft at the revision asked for: nothing changed. The
    /// caller reads its state to say why.
    NotDraft,
}

/// Claim the key deferred with [`Tx::defer_claim`] (if any), then move the order from draft to
/// confirmed (only a draft at `revision`, when given) and read its lines with their products,
/// the product rows locked in ascending id order.
pub async fn start(
    tx: &mut Tx,
    order_id: i64,
    revision: Option<i64>,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<Start> {
    let claim = tx.take_claim();
    let start = match &mut tx.conn {
        TxConn::Postgres(c) => {
            match postgres::start_confirmation(c, claim.as_ref(), order_id, revision, actor, at)
                .await
            {
                Ok(Some(start)) => start,
                Ok(None) => return Err(tx.refuse_claim(ClaimRefused::Taken)),
                Err(postgres::StartError::KeyInFlight) => {
                    return Err(tx.refuse_claim(ClaimRefused::InFlight));
                }
                Err(postgres::StartError::Db(e)) => return Err(e),
            }
        }
        // BEGIN IMMEDIATE holds the write lock: no statement here waits for another writer.
        TxConn::Sqlite(_) => {
            if let Some(claim) = &claim
                && !idempotency::claim(tx, claim).await?
            {
                return Err(tx.refuse_claim(ClaimRefused::Taken));
            }
            match orders::mark_confirmed(tx, order_id, revision, actor, at).await? {
                Some(customer) => Start::Confirming {
                    customer,
                    lines: orders::lock_lines(tx, order_id).await?,
                },
                None => Start::NotDraft,
            }
        }
    };
    if claim.is_some() {
        super::faults::pause_after_claim(tx).await;
    }
    Ok(start)
}

/// Everything a confirmation writes once its rules have decided.
#[derive(Debug)]
pub struct Writes<'a> {
    /// Per product, the summed quantity to take from stock.
    pub demand: &'a [(i64, i64)],
    /// The invoice lines, priced and rounded.
    pub lines: &'a [InvoiceLineRow],
    pub audit: AuditEvent<'a>,
    /// The invoice header; its number is taken last.
    pub invoice: NewInvoice<'a>,
}

/// Take the stock (one `sale` ledger row per product, with the balance after), write the
/// invoice lines and the audit event, then take the next invoice number and write the header;
/// returns the number. The CHECK constraint `stock_on_hand >= 0` is the last line of defence
/// against going negative.
pub async fn finish(tx: &mut Tx, w: &Writes<'_>) -> DbResult<String> {
    if let TxConn::Postgres(c) = &mut tx.conn {
        return postgres::finish_confirmation(c, w).await;
    }
    let inv = &w.invoice;
    invoices::insert_lines(tx, inv.order_id, w.lines).await?;
    audit::record(tx, &w.audit, inv.issued_at).await?;
    let TxConn::Sqlite(c) = &mut tx.conn else {
        unreachable!("PostgreSQL returned above");
    };
    sqlite::take_stock_for_order(c, inv.order_id, inv.issued_by, inv.issued_at).await?;
    // Last: the counter row (on SQLite the write lock is held from BEGIN anyway).
    sqlite::issue_invoice(c, inv).await
}
