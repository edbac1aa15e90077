//! Everything PostgreSQL-specific: connection setup, lock clauses, error codes, migrations, and
//! the statements that use data-modifying CTEs to save round trips.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use time::OffsetDateTime;

use super::credit_notes::NewCreditNote;
use super::invoices::{NewInvoice, bind_header};
use super::orders::OrderLineRow;
use super::{DbOptions, DbResult, Pools};
use crate::domain::Series;

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

pub(super) async fn connect(opts: &DbOptions) -> DbResult<Pools> {
    let lock_ms = opts.lock_wait.as_millis().to_string();
    let connect = PgConnectOptions::from_str(&opts.url)?
        .application_name("orderdesk")
        // Bounds every lock wait, in particular a duplicate's wait on the first request's
        // uncommitted idempotency row. READ COMMITTED is the server default and what we rely on.
        .options([("lock_timeout", lock_ms.as_str())]);
    preflight(&connect, opts).await?;
    let pool = PgPoolOptions::new()
        .max_connections(opts.max_connections.max(2))
        .acquire_timeout(opts.lock_wait)
        .connect_with(connect)
        .await?;
    Ok(Pools::Postgres(pool))
}

/// One connection before the pool is built, so that a server that is down, a wrong port or a
/// missing database is reported as what it is (the pool would only say it timed out).
async fn preflight(connect: &PgConnectOptions, opts: &DbOptions) -> DbResult<()> {
    use sqlx::Connection;
    let at = format!(
        "PostgreSQL at {}:{} (database {:?}, user {:?}; URL {})",
        connect.get_host(),
        connect.get_port(),
        connect.get_database().unwrap_or(""),
        connect.get_username(),
        super::redact_url(&opts.url)
    );
    match tokio::time::timeout(opts.lock_wait, PgConnection::connect_with(connect)).await {
        Ok(Ok(c)) => {
            let _ = c.close().await;
            Ok(())
        }
        Ok(Err(e)) => {
            let missing_db = e
                .as_database_error()
                .and_then(|d| d.code())
                .is_some_and(|c| c == "3D000");
            let next = if missing_db {
                "create the database (createdb) or correct the URL"
            } else {
                "check that the server is up and the URL's host, port and user are right"
            };
            Err(super::DbError::Connect(format!(
                "cannot connect to {at}: {e}; {next}"
            )))
        }
        Err(_) => Err(super::DbError::Connect(format!(
            "{at} did not answer within {} ms; check that the server is up and reachable",
            opts.lock_wait.as_millis()
        ))),
    }
}

/// 55P03 lock_not_available (lock_timeout), 57014 query_canceled, and the two failures after
/// which the transaction was rolled back whole and a retry can succeed: 40P01 deadlock_detected,
/// 40001 serialization_failure. All answer "busy, nothing changed" rather than a 500.
pub(super) fn is_busy_code(code: &str) -> bool {
    matches!(code, "55P03" | "57014" | "40P01" | "40001")
}

/// The table and column a unique violation names, from PostgreSQL's constraint name: the
/// default names of the schema's UNIQUE columns (`users_username_key`) map to `users.username`,
/// as SQLite reports them.
pub(super) fn unique_target(constraint: &str) -> Option<String> {
    let known = [
        ("users_username_key", "users.username"),
        ("customers_code_key", "customers.code"),
        ("products_sku_key", "products.sku"),
        ("invoices_pkey", "invoices.order_id"),
        ("invoices_number_key", "invoices.number"),
        ("api_tokens_token_hash_key", "api_tokens.token_hash"),
    ];
    known
        .iter()
        .find(|(name, _)| *name == constraint)
        .map(|(_, target)| (*target).to_string())
}

/// Whether sqlx's bookkeeping table exists (a brand-new database has none).
pub(super) async fn has_migrations_table(pool: &PgPool) -> DbResult<bool> {
    Ok(
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(pool)
            .await?,
    )
}

/// An order's lines with their products for confirmation, the product rows locked in
/// ascending id order (rows are locked as the sorted result is produced), so two confirmations
/// sharing products never deadlock.
pub(super) async fn lock_order_lines(
    c: &mut PgConnection,
    order_id: i64,
) -> DbResult<Vec<OrderLineRow>> {
    Ok(sqlx::query_as::<_, OrderLineRow>(
        "SELECT l.id, l.product_id, p.sku, p.name, l.quantity, p.unit_price_cents, \
         p.tax_rate_bp, p.stock_on_hand FROM order_lines l JOIN products p ON p.id = l.product_id \
         WHERE l.order_id = $1 ORDER BY p.id, l.id FOR UPDATE OF p",
    )
    .bind(order_id)
    .fetch_all(c)
    .await?)
}

/// Decrement stock for an order's summed demand and append the ledger rows, in one statement.
pub(super) async fn take_stock_for_order(
    c: &mut PgConnection,
    order_id: i64,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<()> {
    sqlx::query(
        "WITH d AS (SELECT product_id, SUM(quantity) AS qty FROM order_lines \
                    WHERE order_id = $1 GROUP BY product_id), \
         u AS (UPDATE products p SET stock_on_hand = p.stock_on_hand - d.qty FROM d \
               WHERE p.id = d.product_id RETURNING p.id, d.qty, p.stock_on_hand) \
         INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, actor, \
                                   created_at) \
         SELECT id, -qty, stock_on_hand, 'sale', $1, $2, $3 FROM u",
    )
    .bind(order_id)
    .bind(actor)
    .bind(at)
    .execute(c)
    .await?;
    Ok(())
}

/// Take the next invoice number and insert the header in one statement (the counter row is
/// locked for the shortest time). The number's text is `InvoiceNumber`'s format:
/// `INV-YYYY-NNNNNN`, at least six digits. $1..$13 are the header, $14 the series, $15 the year.
pub(super) async fn issue_invoice(c: &mut PgConnection, inv: &NewInvoice<'_>) -> DbResult<String> {
    Ok(bind_header(
        sqlx::query_scalar(
            "WITH n AS (INSERT INTO number_series (series, year, last_number) VALUES ($14, $15, 1) \
               ON CONFLICT (series, year) DO UPDATE SET last_number = number_series.last_number + 1 \
               RETURNING last_number) \
             INSERT INTO invoices (order_id, number, year, seq, customer_id, customer_code, \
               customer_name, customer_address, customer_vat_id, currency, net_cents, tax_cents, \
               gross_cents, issued_at, issued_by, company_id, customer_reference) \
             SELECT $1, $14 || '-' || lpad($2::text, 4, '0') || '-' || \
                    lpad(n.last_number::text, GREATEST(6, length(n.last_number::text)), '0'), \
               $2, n.last_number, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
               (SELECT max(id) FROM company_profiles), (SELECT reference FROM orders WHERE id = $1) \
             FROM n \
             RETURNING number",
        ),
        inv,
    )
    .bind(Series::Invoice.prefix())
    .bind(i64::from(inv.year))
    .fetch_one(c)
    .await?)
}

/// Take the next credit-note number and insert the header, copied from the order's invoice
/// with its totals negated, in one statement (the counter row is locked for the shortest time).
pub(super) async fn issue_credit_note(
    c: &mut PgConnection,
    cn: &NewCreditNote<'_>,
) -> DbResult<String> {
    Ok(sqlx::query_scalar(
        "WITH n AS (INSERT INTO number_series (series, year, last_number) VALUES ($2, $3, 1) \
           ON CONFLICT (series, year) DO UPDATE SET last_number = number_series.last_number + 1 \
           RETURNING last_number) \
         INSERT INTO credit_notes (order_id, number, year, seq, invoice_number, customer_id, \
           customer_code, customer_name, customer_address, customer_vat_id, currency, net_cents, \
           tax_cents, gross_cents, reason, issued_at, issued_by, company_id, customer_reference) \
         SELECT i.order_id, $2 || '-' || lpad($3::text, 4, '0') || '-' || \
                lpad(n.last_number::text, GREATEST(6, length(n.last_number::text)), '0'), \
           $3, n.last_number, i.number, i.customer_id, i.customer_code, i.customer_name, \
           i.customer_address, i.customer_vat_id, i.currency, -i.net_cents, -i.tax_cents, \
           -i.gross_cents, $4, $5, $6, (SELECT max(id) FROM company_profiles), i.customer_reference \
         FROM invoices i, n WHERE i.order_id = $1 RETURNING number",
    )
    .bind(cn.order_id)
    .bind(Series::CreditNote.prefix())
    .bind(i64::from(cn.year))
    .bind(cn.reason)
    .bind(cn.issued_at)
    .bind(cn.issued_by)
    .fetch_one(c)
    .await?)
}

/// Put back the stock of a cancelled order's invoice with one `return` ledger row per product.
/// The products are locked first in ascending id order, as a confirmation locks them, so a
/// cancellation and a confirmation sharing products never deadlock.
pub(super) async fn return_stock_for_order(
    c: &mut PgConnection,
    order_id: i64,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<()> {
    sqlx::query(
        "SELECT id FROM products WHERE id IN \
           (SELECT product_id FROM invoice_lines WHERE order_id = $1) \
         ORDER BY id FOR UPDATE",
    )
    .bind(order_id)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "WITH d AS (SELECT product_id, SUM(quantity) AS qty FROM invoice_lines \
                    WHERE order_id = $1 GROUP BY product_id), \
         u AS (UPDATE products p SET stock_on_hand = p.stock_on_hand + d.qty FROM d \
               WHERE p.id = d.product_id RETURNING p.id, d.qty, p.stock_on_hand) \
         INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, actor, \
                                   created_at) \
         SELECT id, qty, stock_on_hand, 'return', $1, $2, $3 FROM u",
    )
    .bind(order_id)
    .bind(actor)
    .bind(at)
    .execute(c)
    .await?;
    Ok(())
}

/// The quarter-hour (Unix seconds / 900) of a TIMESTAMPTZ, for grouping.
pub(super) fn quarter_of(column: &str) -> String {
    format!("CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 900) AS BIGINT)")
}
