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
//! rows are. SQLite runs the same two steps inside `BEGIN IMMEDIATE`, which already excludes
//! every other writer, each as one batch of statements handed to the connection's thread at
//! once: four hand-offs instead of eleven.

use time::OffsetDateTime;

use super::audit::AuditEvent;
use super::customers::CustomerRow;
use super::idempotency::NewClaim;
use super::invoices::{InvoiceLineRow, NewInvoice};
use super::orders::OrderLineRow;
use super::{ClaimRefused, DbResult, Tx, TxConn, postgres, sqlite};

/// What [`start`] found.
#[derive(Debug)]
pub enum Start {
    /// The order moved from draft to confirmed (not committed yet): its customer as it is now,
    /// and its lines with their products, locked, in ascending product id order.
    Confirming {
        customer: CustomerRow,
        /// The customer's own reference for the order (copied onto the invoice).
        reference: String,
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
    let params = StartParams {
        claim: claim.as_ref(),
        order_id,
        revision,
        actor,
        at,
    };
    let start = match &mut tx.conn {
        TxConn::Postgres(c) => match postgres::start_confirmation(c, &params).await {
            Ok(Some(start)) => start,
            Ok(None) => return Err(tx.refuse_claim(ClaimRefused::Taken)),
            Err(postgres::StartError::KeyInFlight) => {
                return Err(tx.refuse_claim(ClaimRefused::InFlight));
            }
            Err(postgres::StartError::Db(e)) => return Err(e),
        },
        TxConn::Sqlite(c) => match sqlite::start_confirmation(c, &params).await? {
            Some(start) => start,
            None => return Err(tx.refuse_claim(ClaimRefused::Taken)),
        },
    };
    if claim.is_some() {
        super::faults::pause_after_claim(tx).await;
    }
    Ok(start)
}

/// The parameters of [`start`]'s statement, laid out alike on both backends (see [`bind_start`]).
pub(super) struct StartParams<'a> {
    pub claim: Option<&'a NewClaim>,
    pub order_id: i64,
    pub revision: Option<i64>,
    pub actor: &'a str,
    pub at: OffsetDateTime,
}

/// Bind [`start`]'s parameters: $1 the order, $2 the revision asked for (NULL: any), $3 the
/// time, $4 the actor, then the claim (NULL when there is none): $5 user, $6 key, $7 purpose,
/// $8 target, $9 fingerprint, and the planned response, $10 status, $11 location, $12 content
/// type, $13 body.
pub(super) fn bind_start<'q, DB>(
    q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    p: &StartParams<'q>,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    OffsetDateTime: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let (claim, planned) = (p.claim, p.claim.and_then(|k| k.planned.as_ref()));
    q.bind(p.order_id)
        .bind(p.revision)
        .bind(p.at)
        .bind(p.actor)
        .bind(claim.map(|k| k.user_id))
        .bind(claim.map(|k| k.key.as_str()))
        .bind(claim.map(|k| k.purpose))
        .bind(claim.map(|k| k.target.as_str()))
        .bind(claim.map(|k| k.fingerprint.as_str()))
        .bind(planned.map(|p| i64::from(p.status)))
        .bind(planned.and_then(|p| p.location.as_deref()))
        .bind(planned.and_then(|p| p.content_type.as_deref()))
        .bind(planned.and_then(|p| p.body.as_deref()))
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
    match &mut tx.conn {
        TxConn::Postgres(c) => postgres::finish_confirmation(c, w).await,
        TxConn::Sqlite(c) => sqlite::finish_confirmation(c, w).await,
    }
}
