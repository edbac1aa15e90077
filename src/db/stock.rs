//! Stock movements: the ledger, and the set-based decrement of a confirmation.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Db, DbResult, Tx, on_pool, on_tx, per_backend};

#[derive(Debug, Clone, FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub quantity: i64,
    pub balance_after: i64,
    pub reason: String,
    pub order_id: Option<i64>,
    /// The invoice of the order a `sale` or `return` row belongs to.
    pub invoice_number: Option<String>,
    /// The credit note that put a `return` row's stock back.
    pub credit_note_number: Option<String>,
    pub actor: String,
    pub created_at: OffsetDateTime,
}

impl Db {
    /// One page of a product's ledger, newest first.
    pub async fn ledger(
        &self,
        product_id: i64,
        limit: i64,
        offset: i64,
    ) -> DbResult<Vec<LedgerRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, LedgerRow>(
            "SELECT s.id, s.quantity, s.balance_after, s.reason, s.order_id, i.number AS invoice_number, \
                    n.number AS credit_note_number, s.actor, s.created_at \
             FROM stock_ledger s LEFT JOIN invoices i ON i.order_id = s.order_id \
             LEFT JOIN credit_notes n ON n.order_id = s.order_id AND s.reason = 'return' \
             WHERE s.product_id = $1 ORDER BY s.id DESC LIMIT $2 OFFSET $3",
        )
        .bind(product_id)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?)
    }

    /// How many ledger rows a product has (for paging).
    pub async fn ledger_len(&self, product_id: i64) -> DbResult<i64> {
        Ok(
            on_pool!(self, c => sqlx::query_scalar("SELECT COUNT(*) FROM stock_ledger WHERE product_id = $1")
            .bind(product_id)
            .fetch_one(c)
            .await)?,
        )
    }
}

/// Put back the stock a cancelled order took: every product of its invoice incremented by the
/// invoiced quantity, one `return` ledger row per product with the balance after.
pub async fn return_for_order(
    tx: &mut Tx,
    order_id: i64,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<()> {
    per_backend!(tx, return_stock_for_order(order_id, actor, at))
}

/// Move a product's stock by `delta` (goods received, a count corrected) and record it in the
/// ledger with the balance after; refused by the CHECK constraint if it would go below zero.
/// Returns the new balance.
pub async fn adjust(tx: &mut Tx, product_id: i64, delta: i64, actor: &str) -> DbResult<i64> {
    let balance: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "UPDATE products SET stock_on_hand = stock_on_hand + $2 WHERE id = $1 RETURNING stock_on_hand",
    )
    .bind(product_id)
    .bind(delta)
    .fetch_one(c)
    .await)?;
    let reason = if delta > 0 { "receipt" } else { "adjustment" };
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, actor, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(product_id)
    .bind(delta)
    .bind(balance)
    .bind(reason)
    .bind(actor)
    .bind(super::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(balance)
}
