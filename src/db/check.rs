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

        // 2. Invoice and credit-note numbers are gapless per year and agree with their counters.
        self.check_series(&mut out, "invoices", "INV", "invoice")
            .await?;
        self.check_series(&mut out, "credit_notes", "CN", "credit note")
            .await?;

        // 3. One invoice per confirmed order and none for a draft; a credit note exactly for
        //    the invoiced orders that were cancelled (at most one per invoice: its key).
        let rows: Vec<(i64, OrderStatus)> = on_pool!(self, c => sqlx::query_as(
            "SELECT o.id, o.status FROM orders o LEFT JOIN invoices i ON i.order_id = o.id \
             LEFT JOIN credit_notes n ON n.order_id = o.id \
             WHERE (o.status = 'confirmed' AND (i.order_id IS NULL OR n.order_id IS NOT NULL)) \
                OR (o.status = 'draft' AND i.order_id IS NOT NULL) \
                OR (o.status = 'cancelled' AND (i.order_id IS NULL) <> (n.order_id IS NULL))",
        )
        .fetch_all(c)
        .await)?;
        for (id, status) in rows {
            out.push(Violation(format!(
                "order {id} is {status} but its invoice or credit note is missing or extra"
            )));
        }

        // 4. Invoice totals are the sums of their lines, and each line's net is its quantity
        //    times its unit price and its gross its net plus its tax (README, "Money and
        //    rounding"). The header's gross is net plus tax by a CHECK constraint.
        let sql = "SELECT i.number FROM invoices i LEFT JOIN (SELECT order_id, \
                   CAST(SUM(net_cents) AS BIGINT) AS n, CAST(SUM(tax_cents) AS BIGINT) AS t, \
                   CAST(SUM(CASE WHEN net_cents <> quantity * unit_price_cents \
                                   OR gross_cents <> net_cents + tax_cents THEN 1 ELSE 0 END) \
                        AS BIGINT) AS wrong \
                   FROM invoice_lines GROUP BY order_id) s ON s.order_id = i.order_id \
                   WHERE s.order_id IS NULL OR s.n <> i.net_cents OR s.t <> i.tax_cents \
                      OR s.wrong > 0";
        let rows: Vec<(String,)> = on_pool!(self, c => sqlx::query_as(sql).fetch_all(c).await)?;
        for (number,) in rows {
            out.push(Violation(format!(
                "invoice {number}: totals differ from the sum of its lines, \
                 or a line from its price"
            )));
        }

        // 5. Each invoiced order moved stock exactly once: its sale rows equal its lines; and
        //    each credited one got exactly that back: its return rows equal its sale rows.
        let sql = "SELECT o.id FROM orders o JOIN invoices i ON i.order_id = o.id \
             LEFT JOIN (SELECT order_id, CAST(SUM(quantity) AS BIGINT) AS q FROM order_lines \
                        GROUP BY order_id) l ON l.order_id = o.id \
             LEFT JOIN (SELECT order_id, CAST(-SUM(quantity) AS BIGINT) AS q FROM stock_ledger \
                        WHERE reason = 'sale' GROUP BY order_id) s ON s.order_id = o.id \
             LEFT JOIN (SELECT order_id, CAST(SUM(quantity) AS BIGINT) AS q FROM stock_ledger \
                        WHERE reason = 'return' GROUP BY order_id) r ON r.order_id = o.id \
             LEFT JOIN credit_notes n ON n.order_id = o.id \
             WHERE COALESCE(l.q, 0) <> COALESCE(s.q, 0) \
                OR COALESCE(r.q, 0) <> (CASE WHEN n.order_id IS NULL THEN 0 ELSE COALESCE(s.q, 0) END)";
        let rows: Vec<(i64,)> = on_pool!(self, c => sqlx::query_as(sql).fetch_all(c).await)?;
        for (id,) in rows {
            out.push(Violation(format!(
                "order {id}: stock movements differ from its lines"
            )));
        }

        // 6. A credit note negates its invoice: its totals are minus the invoice's, and the
        //    sums of its own lines.
        let sql = "SELECT n.number FROM credit_notes n JOIN invoices i ON i.order_id = n.order_id \
             LEFT JOIN (SELECT order_id, CAST(SUM(net_cents) AS BIGINT) AS net, \
                        CAST(SUM(tax_cents) AS BIGINT) AS tax FROM credit_note_lines \
                        GROUP BY order_id) s ON s.order_id = n.order_id \
             WHERE n.net_cents <> -i.net_cents OR n.tax_cents <> -i.tax_cents \
                OR n.gross_cents <> -i.gross_cents OR n.invoice_number <> i.number \
                OR s.order_id IS NULL OR s.net <> n.net_cents OR s.tax <> n.tax_cents";
        let rows: Vec<(String,)> = on_pool!(self, c => sqlx::query_as(sql).fetch_all(c).await)?;
        for (number,) in rows {
            out.push(Violation(format!(
                "credit note {number} does not negate its invoice line by line"
            )));
        }
        Ok(out)
    }

    /// The numbers of `table` (series `series`) are gapless per year and agree with the
    /// series' counter.
    async fn check_series(
        &self,
        out: &mut Vec<Violation>,
        table: &str,
        series: &str,
        what: &str,
    ) -> DbResult<()> {
        let sql = format!(
            "SELECT d.year, COUNT(*), MIN(d.seq), MAX(d.seq), \
                    (SELECT n.last_number FROM number_series n WHERE n.series = $1 AND n.year = d.year) \
             FROM {table} d GROUP BY d.year ORDER BY d.year"
        );
        let rows: Vec<(i64, i64, i64, i64, Option<i64>)> =
            on_pool!(self, c => sqlx::query_as(&sql).bind(series).fetch_all(c).await)?;
        for (year, count, min, max, counter) in rows {
            if min != 1 || max != count {
                out.push(Violation(format!(
                    "{what} numbers of {year} are not gapless: {count} numbered {min} to {max}"
                )));
            }
            if counter != Some(max) {
                out.push(Violation(format!(
                    "{what} counter of {year} is {counter:?} but the highest number is {max}"
                )));
            }
        }
        Ok(())
    }
}
