//! The invariant self-check behind `orderdesk check`: facts that must hold whatever happened.

use super::{Db, DbResult, on_pool};
use crate::domain::OrderStatus;

/// One violated invariant, in words an operator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl Db {
    /// Every violation found; empty when the database is consistent.
    pub async fn check_invariants(&self) -> DbResult<Vec<Violation>> {
        let mut out = Vec::new();

        // 1. The stock on hand of a product equals the sum of its ledger rows.
        // CAST(... AS BIGINT): PostgreSQL sums BIGINT into NUMERIC; both backends read i64.
        let sql = "SELECT p.sku, p.stock_on_hand, CAST(COALESCE(SUM(s.quantity), 0) AS BIGINT) \
                   FROM products p LEFT JOIN stock_ledger s ON s.product_id = p.id \
                   GROUP BY p.id, p.sku, p.stock_on_hand \
                   HAVING p.stock_on_hand <> COALESCE(SUM(s.quantity), 0)";
        let rows: Vec<(String, i64, i64)> =
            on_pool!(self, c => sqlx::query_as(sql).fetch_all(c).await)?;
        for (sku, on_hand, ledger) in rows {
            out.push(Violation(format!(
                "stock of {sku} is {on_hand} but its ledger sums to {ledger}"
            )));
        }

        // 2. Invoice numbers are gapless per year and agree with the counter.
        let rows: Vec<(i64, i64, i64, i64, Option<i64>)> = on_pool!(self, c => sqlx::query_as(
            "SELECT i.year, COUNT(*), MIN(i.seq), MAX(i.seq), \
                    (SELECT n.last_number FROM number_series n WHERE n.series = 'INV' AND n.year = i.year) \
             FROM invoices i GROUP BY i.year ORDER BY i.year",
        )
        .fetch_all(c)
        .await)?;
        for (year, count, min, max, counter) in rows {
            if min != 1 || max != count {
                out.push(Violation(format!(
                    "invoice numbers of {year} are not gapless: {count} invoices numbered {min} to {max}"
                )));
            }
            if counter != Some(max) {
                out.push(Violation(format!(
                    "invoice counter of {year} is {counter:?} but the highest number is {max}"
                )));
            }
        }

        // 3. One invoice per confirmed order, and none for an order that is not confirmed.
        let rows: Vec<(i64, OrderStatus)> = on_pool!(self, c => sqlx::query_as(
            "SELECT o.id, o.status FROM orders o LEFT JOIN invoices i ON i.order_id = o.id \
             WHERE (o.status = 'confirmed' AND i.order_id IS NULL) OR (o.status = 'draft' AND i.order_id IS NOT NULL)",
        )
        .fetch_all(c)
        .await)?;
        for (id, status) in rows {
            out.push(Violation(format!(
                "order {id} is {status} but its invoice count is wrong"
            )));
        }

        // 4. Invoice totals are the sums of their lines.
        let sql = "SELECT i.number FROM invoices i LEFT JOIN (SELECT order_id, \
                   CAST(SUM(net_cents) AS BIGINT) AS n, CAST(SUM(tax_cents) AS BIGINT) AS t \
                   FROM invoice_lines GROUP BY order_id) s ON s.order_id = i.order_id \
                   WHERE s.order_id IS NULL OR s.n <> i.net_cents OR s.t <> i.tax_cents";
        let rows: Vec<(String,)> = on_pool!(self, c => sqlx::query_as(sql).fetch_all(c).await)?;
        for (number,) in rows {
            out.push(Violation(format!(
                "invoice {number}: totals differ from the sum of its lines"
            )));
        }

        // 5. Each confirmed order moved stock exactly once: its sale rows equal its lines.
        let sql = "SELECT o.id FROM orders o \
             LEFT JOIN (SELECT order_id, CAST(SUM(quantity) AS BIGINT) AS q FROM order_lines \
                        GROUP BY order_id) l ON l.order_id = o.id \
             LEFT JOIN (SELECT order_id, CAST(-SUM(quantity) AS BIGINT) AS q FROM stock_ledger \
                        WHERE reason = 'sale' GROUP BY order_id) s ON s.order_id = o.id \
             WHERE o.status = 'confirmed' AND COALESCE(l.q, 0) <> COALESCE(s.q, 0)";
        let rows: Vec<(i64,)> = on_pool!(self, c => sqlx::query_as(sql).fetch_all(c).await)?;
        for (id,) in rows {
            out.push(Violation(format!(
                "order {id}: stock movements differ from its lines"
            )));
        }
        Ok(out)
    }
}
