//! Everything SQLite-specific: connection setup, error codes, migrations, and the statements
//! whose SQL differs from PostgreSQL's (no row locks, no data-modifying CTEs).

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use time::OffsetDateTime;

use super::audit::bind_event;
use super::confirmation::{StartParams, bind_start};
use super::credit_notes::NewCreditNote;
use super::invoices::bind_header;
use super::orders::OrderLineRow;
use super::{DbOptions, DbResult, Pools};
use crate::domain::{InvoiceNumber, Series};

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The pause between two tries at opening a busy SQLite file; it grows with each try.
const OPEN_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(25);

/// A wait for the file's lock that ran out while opening (not a missing or broken file).
fn busy_while_opening(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut)
        || e.as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|c| is_busy_code(&c))
}

pub(super) async fn connect(
    opts: &DbOptions,
    health: std::sync::Arc<super::WriteHealth>,
) -> DbResult<Pools> {
    let connect = SqliteConnectOptions::from_str(&opts.url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a confirmed invoice survives a power cut, not only a process crash.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(opts.lock_wait);
    let write = open_retrying(opts, &connect, |connect| {
        let health = std::sync::Arc::clone(&health);
        SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(opts.lock_wait)
            // A file cannot hang up: sqlx's ping before each use (a hand-off to the
            // connection's thread and back) finds nothing; a broken writer is found on release.
            .test_before_acquire(false)
            .after_release(move |conn, _| {
                let health = std::sync::Arc::clone(&health);
                Box::pin(async move {
                    let usable = still_usable(conn).await;
                    if !usable {
                        health.failed();
                    }
                    Ok(usable)
                })
            })
            .connect_with(connect)
    })
    .await?;
    let read = open_retrying(opts, &connect, |connect| {
        SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.lock_wait)
            .test_before_acquire(false)
            .connect_with(connect)
    })
    .await?;
    Ok(Pools::Sqlite { read, write })
}

/// Opens a pool on `connect`, trying again while the file is busy.
///
/// Opening a brand-new file switches it to WAL, which needs a moment of exclusive access: when
/// several processes create the same file at once (two first starts), an open can run past its
/// wait while another process migrates, or get SQLITE_BUSY at once (SQLite does not call the
/// busy handler while it changes the journal mode). Such an open is tried again, after a
/// growing pause, until the lock wait has passed once more; any other failure is reported at
/// once, naming the file.
async fn open_retrying<F, Fut>(
    opts: &DbOptions,
    connect: &SqliteConnectOptions,
    open: F,
) -> DbResult<SqlitePool>
where
    F: Fn(SqliteConnectOptions) -> Fut,
    Fut: std::future::Future<Output = Result<SqlitePool, sqlx::Error>>,
{
    let give_up = std::time::Instant::now() + opts.lock_wait;
    let mut attempt: u32 = 1;
    loop {
        match open(connect.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(e) if std::time::Instant::now() < give_up && busy_while_opening(&e) => {
                tracing::info!(
                    attempt,
                    "the database file is busy while opening; trying again"
                );
                tokio::time::sleep(OPEN_RETRY_PAUSE * attempt.min(8)).await;
                attempt += 1;
            }
            Err(e) => return Err(cannot_open(connect.get_filename(), e)),
        }
    }
}

/// Why an SQLite file cannot be opened, in an operator's words: the path, and the cause
/// (a missing directory, no permission, not a database file), or the driver's reason.
fn cannot_open(path: &std::path::Path, e: sqlx::Error) -> super::DbError {
    let code = e
        .as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.into_owned())
        .unwrap_or_default();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let why = if code == "26" {
        "it is not an SQLite database file (a different file at that path?)".to_string()
    } else if !parent.is_dir() {
        format!("the directory {} does not exist", parent.display())
    } else if code == "14" || code == "8" {
        "it cannot be created or opened for writing here (permissions?)".to_string()
    } else {
        return super::DbError::from(e);
    };
    super::DbError::Connect(format!(
        "cannot open the SQLite database {}: {why} ({e})",
        path.display()
    ))
}

/// Whether a write connection coming back to the pool may serve the next writer. When a
/// statement fails with "database or disk is full" or an I/O error, SQLite rolls the transaction
/// back by itself; the ROLLBACK that sqlx then sends fails ("no transaction is active") and its
/// count of open transactions never returns to 0, so every later `BEGIN` on that connection
/// would fail with "begin_with at non-zero transaction depth", even after space returns. Such a
/// connection is closed (the pool opens a fresh one for the next writer).
///
/// A transaction that committed or rolled back explicitly left nothing open: the connection is
/// usable as it is (sqlx pings every connection it takes back right after this anyway, which
/// finds a crashed worker). Only when one still looks open is the worker pinged first, which lets
/// it finish the rollback queued by a dropped transaction, so that a transaction that rolled back
/// normally does not count as open. Measured: one hand-off fewer per write, while the write lock
/// is still the next writer's to wait for.
async fn still_usable(conn: &mut SqliteConnection) -> bool {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return true;
    }
    if conn.ping().await.is_err() {
        return false;
    }
    let usable = !conn.is_in_transaction();
    if !usable {
        tracing::warn!(
            "closing the SQLite write connection: a failed transaction left it unusable; the next write opens a new one"
        );
    }
    usable
}

/// SQLITE_BUSY (5) and its extended codes (e.g. 517 BUSY_SNAPSHOT), SQLITE_LOCKED (6).
pub(super) fn is_busy_code(code: &str) -> bool {
    matches!(code, "5" | "6" | "261" | "517" | "773")
}

/// The table and column a unique violation names: SQLite says
/// `UNIQUE constraint failed: users.username` and gives no constraint name.
pub(super) fn unique_target(message: &str) -> Option<String> {
    message
        .strip_prefix("UNIQUE constraint failed: ")
        .map(|t| t.trim().to_string())
}

/// Whether sqlx's bookkeeping table exists (a brand-new database has none).
pub(super) async fn has_migrations_table(pool: &SqlitePool) -> DbResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(pool)
    .await?)
}

/// The first step of a confirmation on SQLite, in one hand-off to the connection's thread: a
/// batch of three statements that claims the key (when one is given; the parameters are laid
/// out by `confirmation::bind_start`, as on PostgreSQL), moves the order from draft to
/// confirmed (at revision $2 when given) returning its customer and reference, and reads its
/// lines with their products in ascending product id order. `BEGIN IMMEDIATE` already holds
/// the write lock, so nothing here waits for another writer and the lines read are the lines
/// confirmed.
///
/// sqlx runs every SQLite statement on the connection's own thread and hands each one and its
/// results across a channel; that hand-off, not SQLite, was most of a statement's cost
/// (docs/BENCHMARKS.md). A batch pays it once. The statements run in order whatever the first
/// one found: when the key is taken, the caller rolls the transaction back, so the order's
/// update is undone with it. Each row says which statement it comes from (`kind`).
///
/// `Ok(None)`: a committed request holds the key.
pub(super) async fn start_confirmation(
    c: &mut SqliteConnection,
    p: &StartParams<'_>,
) -> DbResult<Option<super::confirmation::Start>> {
    use super::confirmation::Start;
    use sqlx::{FromRow, Row};
    let rows = bind_start(
        sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, purpose, target, fingerprint, created_at, \
                                           status_code, location, content_type, body, completed_at) \
             SELECT $5, $6, $7, $8, $9, $3, $10, $11, $12, $13, \
                    CASE WHEN $10 IS NULL THEN NULL ELSE $3 END \
             WHERE $6 IS NOT NULL \
             ON CONFLICT (user_id, key) DO NOTHING RETURNING 'claimed' AS kind; \
             UPDATE orders SET status = 'confirmed', confirmed_at = $3, confirmed_by = $4, \
                               revision = revision + 1 \
             WHERE id = $1 AND status = 'draft' AND ($2 IS NULL OR revision = $2) \
             RETURNING 'customer' AS kind, customer_id AS id, reference, \
               (SELECT code FROM customers WHERE customers.id = orders.customer_id) AS code, \
               (SELECT name FROM customers WHERE customers.id = orders.customer_id) AS name, \
               (SELECT address FROM customers WHERE customers.id = orders.customer_id) AS address, \
               (SELECT vat_id FROM customers WHERE customers.id = orders.customer_id) AS vat_id, \
               (SELECT active FROM customers WHERE customers.id = orders.customer_id) AS active; \
             SELECT 'line' AS kind, l.id, l.product_id, p.sku, p.name, l.quantity, \
                    p.unit_price_cents, p.tax_rate_bp, p.stock_on_hand \
             FROM order_lines l JOIN products p ON p.id = l.product_id \
             WHERE l.order_id = $1 ORDER BY p.id, l.id",
        ),
        p,
    )
    .fetch_all(c)
    .await?;
    let (mut claimed, mut customer, mut lines) = (false, None, Vec::new());
    for row in &rows {
        match row.try_get::<&str, _>("kind")? {
            "claimed" => claimed = true,
            "customer" => {
                customer = Some((
                    super::customers::CustomerRow::from_row(row)?,
                    row.try_get::<String, _>("reference")?,
                ));
            }
            _ => lines.push(OrderLineRow::from_row(row)?),
        }
    }
    if p.claim.is_some() && !claimed {
        return Ok(None);
    }
    Ok(Some(match customer {
        Some((customer, reference)) => Start::Confirming {
            customer,
            reference,
            lines,
        },
        None => Start::NotDraft,
    }))
}

/// The second step of a confirmation on SQLite, in one hand-off (see [`start_confirmation`]):
/// stock down by the summed demand with one `sale` ledger row per product (its balance after),
/// the invoice lines, the audit event, then the counter and the invoice header; returns the
/// number. $1..$13 are the header (see `bind_header`), $14 the series, $15 the demand and $16
/// the invoice lines (JSON arrays, so the batch's text, and so its prepared statements, are
/// the same for every order), $17..$20 the audit event. The number is formatted as
/// [`InvoiceNumber`] formats it (the golden tests compare both backends' documents).
pub(super) async fn finish_confirmation(
    c: &mut SqliteConnection,
    w: &super::confirmation::Writes<'_>,
) -> DbResult<String> {
    use serde_json::{Value, json};
    let demand: Value = w.demand.iter().map(|&(id, qty)| json!([id, qty])).collect();
    let lines: Value = w
        .lines
        .iter()
        .map(|l| {
            json!([
                l.line_no,
                l.product_id,
                l.sku,
                l.name,
                l.quantity,
                l.unit_price_cents,
                l.tax_rate_bp,
                l.net_cents,
                l.tax_cents,
                l.gross_cents
            ])
        })
        .collect();
    let q = bind_header(
        sqlx::query_scalar(
            "UPDATE products SET stock_on_hand = products.stock_on_hand - (d.value ->> 1) \
             FROM json_each($15) AS d WHERE products.id = (d.value ->> 0); \
             INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, \
                                       actor, created_at) \
             SELECT p.id, -(d.value ->> 1), p.stock_on_hand, 'sale', $1, $13, $12 \
             FROM json_each($15) AS d JOIN products p ON p.id = (d.value ->> 0) ORDER BY d.key; \
             INSERT INTO invoice_lines (order_id, line_no, product_id, sku, name, quantity, \
               unit_price_cents, tax_rate_bp, net_cents, tax_cents, gross_cents) \
             SELECT $1, l.value ->> 0, l.value ->> 1, l.value ->> 2, l.value ->> 3, l.value ->> 4, \
               l.value ->> 5, l.value ->> 6, l.value ->> 7, l.value ->> 8, l.value ->> 9 \
             FROM json_each($16) AS l ORDER BY l.key; \
             INSERT INTO audit_events (at, actor, action, entity, entity_id, detail) \
             VALUES ($12, $13, $17, $18, $19, $20); \
             INSERT INTO number_series (series, year, last_number) VALUES ($14, $2, 1) \
             ON CONFLICT (series, year) DO UPDATE SET last_number = number_series.last_number + 1; \
             INSERT INTO invoices (order_id, number, year, seq, customer_id, customer_code, \
               customer_name, customer_address, customer_vat_id, currency, net_cents, tax_cents, \
               gross_cents, issued_at, issued_by, company_id, customer_reference) \
             SELECT $1, printf('%s-%04d-%06d', $14, $2, n.last_number), $2, n.last_number, \
               $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
               (SELECT max(id) FROM company_profiles), (SELECT reference FROM orders WHERE id = $1) \
             FROM number_series n WHERE n.series = $14 AND n.year = $2 \
             RETURNING number",
        ),
        &w.invoice,
    )
    .bind(Series::Invoice.prefix())
    .bind(demand.to_string())
    .bind(lines.to_string());
    Ok(bind_event(q, &w.audit).fetch_one(c).await?)
}

/// The next running number of a series for a year, counting it as taken.
async fn next_number(c: &mut SqliteConnection, series: Series, year: i32) -> DbResult<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO number_series (series, year, last_number) VALUES ($1, $2, 1) \
         ON CONFLICT (series, year) DO UPDATE SET last_number = number_series.last_number + 1 \
         RETURNING last_number",
    )
    .bind(series.prefix())
    .bind(i64::from(year))
    .fetch_one(c)
    .await?)
}

/// Take the next credit-note number and insert the header, copied from the order's invoice
/// with its totals negated: two statements, as for invoices.
pub(super) async fn issue_credit_note(
    c: &mut SqliteConnection,
    cn: &NewCreditNote<'_>,
) -> DbResult<String> {
    let seq = next_number(&mut *c, Series::CreditNote, cn.year).await?;
    let number = InvoiceNumber::new(Series::CreditNote, cn.year, seq).to_string();
    Ok(sqlx::query_scalar(
        "INSERT INTO credit_notes (order_id, number, year, seq, invoice_number, customer_id, \
           customer_code, customer_name, customer_address, customer_vat_id, currency, net_cents, \
           tax_cents, gross_cents, reason, issued_at, issued_by, company_id, customer_reference) \
         SELECT order_id, $2, $3, $4, number, customer_id, customer_code, customer_name, \
           customer_address, customer_vat_id, currency, -net_cents, -tax_cents, -gross_cents, \
           $5, $6, $7, (SELECT max(id) FROM company_profiles), customer_reference \
         FROM invoices WHERE order_id = $1 RETURNING number",
    )
    .bind(cn.order_id)
    .bind(&number)
    .bind(i64::from(cn.year))
    .bind(seq)
    .bind(cn.reason)
    .bind(cn.issued_at)
    .bind(cn.issued_by)
    .fetch_one(c)
    .await?)
}

/// Put back the stock of a cancelled order's invoice, one `return` ledger row per product with
/// the balance after. The write lock of `BEGIN IMMEDIATE` already excludes every other writer.
pub(super) async fn return_stock_for_order(
    c: &mut SqliteConnection,
    order_id: i64,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE products SET stock_on_hand = products.stock_on_hand + d.qty \
         FROM (SELECT product_id, SUM(quantity) AS qty FROM invoice_lines WHERE order_id = $1 \
               GROUP BY product_id) AS d \
         WHERE products.id = d.product_id",
    )
    .bind(order_id)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, actor, \
                                   created_at) \
         SELECT p.id, d.qty, p.stock_on_hand, 'return', $1, $2, $3 FROM products p \
         JOIN (SELECT product_id, SUM(quantity) AS qty FROM invoice_lines WHERE order_id = $1 \
               GROUP BY product_id) AS d ON d.product_id = p.id",
    )
    .bind(order_id)
    .bind(actor)
    .bind(at)
    .execute(c)
    .await?;
    Ok(())
}

/// The quarter-hour (Unix seconds / 900) of a stored RFC 3339 UTC text time, for grouping.
pub(super) fn quarter_of(column: &str) -> String {
    format!("(CAST(strftime('%s', {column}) AS INTEGER) / 900)")
}
