//! Everything SQLite-specific: connection setup and error codes.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{DbOptions, DbResult, Pools};

pub(super) async fn connect(opts: &DbOptions) -> DbResult<Pools> {
    let connect = SqliteConnectOptions::from_str(&opts.url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a confirmed invoice survives a power cut, not only a process crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(opts.lock_wait);
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(opts.lock_wait)
        .connect_with(connect.clone())
        .await?;
    let read = SqlitePoolOptions::new()
        .max_connections(opts.max_connections.max(1))
        .acquire_timeout(opts.lock_wait)
        .connect_with(connect)
        .await?;
    Ok(Pools::Sqlite { read, write })
}

/// SQLITE_BUSY (5) and its extended codes (e.g. 517 BUSY_SNAPSHOT), SQLITE_LOCKED (6).
pub(super) fn is_busy_code(code: &str) -> bool {
    matches!(code, "5" | "6" | "261" | "517" | "773")
}

/// An order's lines with their products for confirmation. SQLite has no row locks: the write
/// lock taken by `BEGIN IMMEDIATE` already excludes every other writer.
pub(super) const LOCK_ORDER_LINES: &str = "SELECT l.id, l.product_id, p.sku, p.name, l.quantity, p.unit_price_cents, \
     p.tax_rate_bp, p.stock_on_hand FROM order_lines l JOIN products p ON p.id = l.product_id \
     WHERE l.order_id = $1 ORDER BY p.id, l.id";

/// Decrement stock for an order's summed demand (then [`RECORD_SALE_FOR_ORDER`]).
pub(super) const DECREMENT_FOR_ORDER: &str = "UPDATE products SET stock_on_hand = products.stock_on_hand - d.qty \
     FROM (SELECT product_id, SUM(quantity) AS qty FROM order_lines WHERE order_id = $1 GROUP BY product_id) AS d \
     WHERE products.id = d.product_id";

/// One `sale` ledger row per product of the order, with the balance after the decrement.
pub(super) const RECORD_SALE_FOR_ORDER: &str = "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, \
     order_id, actor, created_at) SELECT p.id, -d.qty, p.stock_on_hand, 'sale', $1, $2, $3 FROM products p \
     JOIN (SELECT product_id, SUM(quantity) AS qty FROM order_lines WHERE order_id = $1 GROUP BY product_id) AS d \
     ON d.product_id = p.id";

/// Insert an invoice header: $1..$13 as for PostgreSQL's `ISSUE_INVOICE`, $14 the number and
/// $15 its running number (taken just before, in the same transaction).
pub(super) const INSERT_INVOICE: &str = "INSERT INTO invoices (order_id, number, year, seq, customer_id, customer_code, \
     customer_name, customer_address, customer_vat_id, currency, net_cents, tax_cents, gross_cents, issued_at, issued_by) \
     VALUES ($1, $14, $2, $15, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING number";
