//! Everything PostgreSQL-specific: connection setup, lock clauses and error codes.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{DbOptions, DbResult, Pools};

pub(super) async fn connect(opts: &DbOptions) -> DbResult<Pools> {
    let lock_ms = opts.lock_wait.as_millis().to_string();
    let connect = PgConnectOptions::from_str(&opts.url)?
        .application_name("orderdesk")
        // Bounds every lock wait, in particular a duplicate's wait on the first request's
        // uncommitted idempotency row. READ COMMITTED is the server default and what we rely on.
        .options([("lock_timeout", lock_ms.as_str())]);
    let pool = PgPoolOptions::new()
        .max_connections(opts.max_connections.max(2))
        .acquire_timeout(opts.lock_wait)
        .connect_with(connect)
        .await?;
    Ok(Pools::Postgres(pool))
}

/// 55P03 lock_not_available (lock_timeout), 57014 query_canceled, and the two failures after
/// which the transaction was rolled back whole and a retry can succeed: 40P01 deadlock_detected,
/// 40001 serialization_failure. All answer "busy, nothing changed" rather than a 500.
pub(super) fn is_busy_code(code: &str) -> bool {
    matches!(code, "55P03" | "57014" | "40P01" | "40001")
}

/// An order's lines with their products for confirmation, the product rows locked in
/// ascending id order (rows are locked as the sorted result is produced), so two confirmations
/// sharing products never deadlock.
pub(super) const LOCK_ORDER_LINES: &str = "SELECT l.id, l.product_id, p.sku, p.name, l.quantity, p.unit_price_cents, \
     p.tax_rate_bp, p.stock_on_hand FROM order_lines l JOIN products p ON p.id = l.product_id \
     WHERE l.order_id = $1 ORDER BY p.id, l.id FOR UPDATE OF p";

/// Decrement stock for an order's summed demand and append the ledger rows, in one statement.
pub(super) const TAKE_STOCK_FOR_ORDER: &str = "WITH d AS (SELECT product_id, SUM(quantity) AS qty FROM order_lines \
     WHERE order_id = $1 GROUP BY product_id), \
     u AS (UPDATE products p SET stock_on_hand = p.stock_on_hand - d.qty FROM d WHERE p.id = d.product_id \
           RETURNING p.id, d.qty, p.stock_on_hand) \
     INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, actor, created_at) \
     SELECT id, -qty, stock_on_hand, 'sale', $1, $2, $3 FROM u";

/// Take the next invoice number and insert the header in one statement (the counter row is
/// locked for the shortest time). The number's text is `InvoiceNumber`'s format:
/// `INV-YYYY-NNNNNN`, at least six digits. $1..$13 are the header, $14 the series, $15 the year.
pub(super) const ISSUE_INVOICE: &str = "WITH n AS (INSERT INTO number_series (series, year, last_number) \
     VALUES ($14, $15, 1) ON CONFLICT (series, year) DO UPDATE SET last_number = number_series.last_number + 1 \
     RETURNING last_number) \
     INSERT INTO invoices (order_id, number, year, seq, customer_id, customer_code, customer_name, customer_address, \
       customer_vat_id, currency, net_cents, tax_cents, gross_cents, issued_at, issued_by) \
     SELECT $1, $14 || '-' || lpad($2::text, 4, '0') || '-' || lpad(n.last_number::text, GREATEST(6, length(n.last_number::text)), '0'), \
       $2, n.last_number, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM n RETURNING number";
