//! Everything PostgreSQL-specific: connection setup, lock clauses, error codes, migrations, and
//! the statements that use data-modifying CTEs to save round trips.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use time::OffsetDateTime;

use super::audit::bind_event;
use super::confirmation::{StartParams, bind_start};
use super::credit_notes::NewCreditNote;
use super::invoices::bind_header;
use super::orders::OrderLineRow;
use super::{DbOptions, DbResult, Pools};
use crate::domain::Series;

pub(super) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// A pooled connection idle at least this long is pinged before use (see `connect`).
const PING_WHEN_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

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
        // sqlx pings every connection it hands out (and again when it takes one back): a
        // round trip per query on top of the query. Only a connection that sat idle may have
        // been cut (a database restart, a proxy's timeout), so only those are pinged; one in
        // use a moment ago is handed out as it is.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for < PING_WHEN_IDLE_FOR {
                    return Ok(true);
                }
                use sqlx::Connection;
                conn.ping().await.map(|()| true)
            })
        })
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

/// Why [`start_confirmation`] failed.
pub(super) enum StartError {
    /// The lock wait ran out on the idempotency key: another transaction holds it, uncommitted.
    KeyInFlight,
    Db(super::DbError),
}

impl From<sqlx::Error> for StartError {
    fn from(e: sqlx::Error) -> Self {
        // A lock timeout names the relation it waited on in its context: on the key's row, the
        // first request with this key is still in flight; on an order or product row, the
        // database is busy with other confirmations.
        let on_key = e
            .as_database_error()
            .and_then(|d| d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
            .is_some_and(|d| {
                d.code() == "55P03" && d.r#where().is_some_and(|w| w.contains("idempotency_keys"))
            });
        if on_key {
            StartError::KeyInFlight
        } else {
            StartError::Db(e.into())
        }
    }
}

/// A row of [`start_confirmation`]: the claim's result, the customer (when the order moved),
/// whether the lines were read after the order's last change, and one line with its locked
/// product (none when the order did not move: then the statement returns one row).
#[derive(sqlx::FromRow)]
struct StartRow {
    claimed: bool,
    customer_id: Option<i64>,
    reference: Option<String>,
    code: Option<String>,
    name: Option<String>,
    address: Option<String>,
    vat_id: Option<String>,
    active: Option<bool>,
    lines_current: Option<bool>,
    line_id: Option<i64>,
    product_id: Option<i64>,
    sku: Option<String>,
    product_name: Option<String>,
    quantity: Option<i64>,
    unit_price_cents: Option<i64>,
    tax_rate_bp: Option<i64>,
    stock_on_hand: Option<i64>,
}

/// The first statement of a confirmation, in one round trip: claim the key (when one is
/// given; $5.. below), move the order from draft to confirmed (at revision $2 when given), and
/// return its lines with their product rows locked in ascending id order.
///
/// The products are found by `id = ANY (ARRAY (...))`, so that their primary key is always
/// used: with `id IN (SELECT ...)` the planner, misled by a young table's statistics, hashed
/// the order's lines and scanned all products for each confirmation (measured: one sequential
/// scan of 20,000 products per confirmation, and 280 confirmations/s instead of 480).
///
/// Order of effects: the key is inserted first (the order update's one-time filter needs its
/// result, so a duplicate waits on the first request's key and never touches the order); then
/// the order row; then the product rows, locked as the sorted rows are produced, so that two
/// confirmations sharing products never deadlock.
///
/// The statement reads the lines in the snapshot it started with. When another transaction
/// changed the order between that snapshot and the update (a line added, which bumps the
/// revision), the lines are read again in a statement of their own: `lines_current` compares
/// the revision the update found with the one the snapshot saw.
///
/// `Ok(None)`: a committed request holds the key; nothing changed.
pub(super) async fn start_confirmation(
    c: &mut PgConnection,
    p: &StartParams<'_>,
) -> Result<Option<super::confirmation::Start>, StartError> {
    use super::confirmation::Start;
    let rows: Vec<StartRow> = bind_start(
        sqlx::query(
            "WITH k AS ( \
               INSERT INTO idempotency_keys (user_id, key, purpose, target, fingerprint, created_at, \
                                             status_code, location, content_type, body, completed_at) \
               SELECT $5, $6, $7, $8, $9, $3, $10, $11, $12, $13, \
                      CASE WHEN $10::bigint IS NULL THEN NULL ELSE $3 END \
               WHERE $6::text IS NOT NULL \
               ON CONFLICT (user_id, key) DO NOTHING RETURNING 1), \
             c AS (SELECT $6::text IS NULL OR EXISTS (SELECT 1 FROM k) AS claimed), \
             o AS ( \
               UPDATE orders SET status = 'confirmed', confirmed_at = $3, confirmed_by = $4, \
                                 revision = revision + 1 \
               WHERE (SELECT claimed FROM c) AND id = $1 AND status = 'draft' \
                 AND ($2::bigint IS NULL OR revision = $2) \
               RETURNING customer_id, revision, reference), \
             p AS MATERIALIZED ( \
               SELECT id, sku, name, unit_price_cents, tax_rate_bp, stock_on_hand FROM products \
               WHERE EXISTS (SELECT 1 FROM o) \
                 AND id = ANY (ARRAY (SELECT product_id FROM order_lines WHERE order_id = $1)) \
               ORDER BY id FOR UPDATE) \
             SELECT c.claimed, o.customer_id, o.reference, cu.code, cu.name, cu.address, cu.vat_id, \
                    cu.active, \
                    o.revision - 1 = (SELECT revision FROM orders WHERE id = $1) AS lines_current, \
                    ol.id AS line_id, p.id AS product_id, p.sku, p.name AS product_name, ol.quantity, \
                    p.unit_price_cents, p.tax_rate_bp, p.stock_on_hand \
             FROM c LEFT JOIN o ON true LEFT JOIN customers cu ON cu.id = o.customer_id \
             LEFT JOIN (order_lines ol JOIN p ON p.id = ol.product_id) ON ol.order_id = $1 \
             ORDER BY p.id, ol.id",
        ),
        p,
    )
    .fetch_all(&mut *c)
    .await?
    .iter()
    .map(sqlx::FromRow::from_row)
    .collect::<Result<Vec<_>, _>>()?;
    // `c` is one row, so the outer joins give at least one.
    let Some(head) = rows.first() else {
        return Err(StartError::Db(sqlx::Error::RowNotFound.into()));
    };
    if !head.claimed {
        return Ok(None);
    }
    let (
        Some(id),
        Some(reference),
        Some(code),
        Some(name),
        Some(address),
        Some(vat_id),
        Some(active),
    ) = (
        head.customer_id,
        head.reference.clone(),
        head.code.clone(),
        head.name.clone(),
        head.address.clone(),
        head.vat_id.clone(),
        head.active,
    )
    else {
        return Ok(Some(Start::NotDraft));
    };
    let customer = super::customers::CustomerRow {
        id,
        code,
        name,
        address,
        vat_id,
        active,
    };
    if head.lines_current != Some(true) {
        let lines = lock_order_lines(c, p.order_id)
            .await
            .map_err(StartError::Db)?;
        return Ok(Some(Start::Confirming {
            customer,
            reference,
            lines,
        }));
    }
    let lines = rows
        .into_iter()
        .filter_map(|r| {
            Some(OrderLineRow {
                id: r.line_id?,
                product_id: r.product_id?,
                sku: r.sku?,
                name: r.product_name?,
                quantity: r.quantity?,
                unit_price_cents: r.unit_price_cents?,
                tax_rate_bp: r.tax_rate_bp?,
                stock_on_hand: r.stock_on_hand?,
            })
        })
        .collect();
    Ok(Some(Start::Confirming {
        customer,
        reference,
        lines,
    }))
}

/// The second statement of a confirmation, in one round trip: stock down by the summed demand
/// with one `sale` ledger row per product (its balance after), the invoice lines, the audit
/// event, and last the counter and the invoice header, all from arrays and values computed in
/// Rust. $1..$13 are the header (see `bind_header`), $14 the series, $15 the year, $16/$17 the
/// demand, $18..$27 the invoice lines, $28..$31 the audit event. Invoice lines reference the
/// header through a deferred foreign key, checked at commit.
///
/// The counter is taken last: PostgreSQL runs a data-modifying CTE when its rows are first
/// pulled, and the main INSERT pulls the counter's first. So the counter's insert is gated on
/// counting the other writes' rows, which makes them run to completion before it; the counter
/// row is then held only for the header's insert and the commit. Measured: with the counter
/// pulled first, the whole statement's writes were done while holding it, and confirmations
/// at 16 clients were slower than with seven round trips.
pub(super) async fn finish_confirmation(
    c: &mut PgConnection,
    w: &super::confirmation::Writes<'_>,
) -> DbResult<String> {
    let inv = &w.invoice;
    let col = |f: fn(&super::invoices::InvoiceLineRow) -> i64| -> Vec<i64> {
        w.lines.iter().map(f).collect()
    };
    let text = |f: fn(&super::invoices::InvoiceLineRow) -> &str| -> Vec<&str> {
        w.lines.iter().map(f).collect()
    };
    let q = bind_header(
        sqlx::query_scalar(
            "WITH s AS ( \
               UPDATE products p SET stock_on_hand = p.stock_on_hand - d.qty \
               FROM unnest($16::bigint[], $17::bigint[]) AS d (id, qty) WHERE p.id = d.id \
               RETURNING p.id, d.qty, p.stock_on_hand), \
             ledger AS ( \
               INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, \
                                         actor, created_at) \
               SELECT id, -qty, stock_on_hand, 'sale', $1, $13, $12 FROM s RETURNING 1), \
             lines AS ( \
               INSERT INTO invoice_lines (order_id, line_no, product_id, sku, name, quantity, \
                 unit_price_cents, tax_rate_bp, net_cents, tax_cents, gross_cents) \
               SELECT $1, l.* FROM unnest($18::bigint[], $19::bigint[], $20::text[], $21::text[], \
                 $22::bigint[], $23::bigint[], $24::bigint[], $25::bigint[], $26::bigint[], \
                 $27::bigint[]) AS l RETURNING 1), \
             audit AS ( \
               INSERT INTO audit_events (at, actor, action, entity, entity_id, detail) \
               VALUES ($12, $13, $28, $29, $30, $31) RETURNING 1), \
             n AS ( \
               INSERT INTO number_series (series, year, last_number) SELECT $14, $15, 1 \
               WHERE (SELECT count(*) FROM ledger) + (SELECT count(*) FROM lines) \
                     + (SELECT count(*) FROM audit) > 0 \
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
    .bind(w.demand.iter().map(|d| d.0).collect::<Vec<i64>>())
    .bind(w.demand.iter().map(|d| d.1).collect::<Vec<i64>>())
    .bind(col(|l| l.line_no))
    .bind(col(|l| l.product_id))
    .bind(text(|l| l.sku.as_str()))
    .bind(text(|l| l.name.as_str()))
    .bind(col(|l| l.quantity))
    .bind(col(|l| l.unit_price_cents))
    .bind(col(|l| l.tax_rate_bp))
    .bind(col(|l| l.net_cents))
    .bind(col(|l| l.tax_cents))
    .bind(col(|l| l.gross_cents));
    Ok(bind_event(q, &w.audit).fetch_one(c).await?)
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
