//! Stock movements: the ledger, and the set-based decrement of a confirmation.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Db, DbResult, Tx, on_pool, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct LedgerRow {
    pub id: i64,
    pub quantity: i64,
    pub balance_after: i64,
    pub reason: String,
    pub order_id: Option<i64>,
    pub invoice_number: Option<String>,
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
            "SELECT s.id, s.quantity, s.balance_after, s.reason, s.order_id, i.number AS invoice_number, s.actor, s.created_at \
             FROM stock_ledger s LEFT JOIN invoices i ON i.order_id = s.order_id \
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

/// Decrement every product of the order by its summed demand (the same product on two lines
/// counts once), in one statement. The CHECK constraint `stock_on_hand >= 0` is the last line of
/// defence against going negative.
pub async fn decrement_for_order(tx: &mut Tx, order_id: i64) -> DbResult<u64> {
    Ok(on_tx!(tx, c => sqlx::query(
        "UPDATE products SET stock_on_hand = products.stock_on_hand - d.qty \
         FROM (SELECT product_id, SUM(quantity) AS qty FROM order_lines WHERE order_id = $1 GROUP BY product_id) AS d \
         WHERE products.id = d.product_id",
    )
    .bind(order_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?)
}

/// One `sale` ledger row per product of the order, with the balance after the decrement.
pub async fn record_sale(
    tx: &mut Tx,
    order_id: i64,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<u64> {
    Ok(on_tx!(tx, c => sqlx::query(
        "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, actor, created_at) \
         SELECT p.id, -d.qty, p.stock_on_hand, 'sale', $1, $2, $3 FROM products p \
         JOIN (SELECT product_id, SUM(quantity) AS qty FROM order_lines WHERE order_id = $1 GROUP BY product_id) AS d \
           ON d.product_id = p.id",
    )
    .bind(order_id)
    .bind(actor)
    .bind(at)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?)
}
