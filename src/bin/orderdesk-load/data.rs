//! Bulk data for benchmarks: customers, a catalogue and draft orders made by set-based SQL, so
//! a million orders take seconds, not hours. Everything it writes keeps the invariants: every
//! product's opening stock has its ledger row.
//!
//! It lives in the load generator, not in the server: it talks to the database on its own
//! connections (one at a time, so on SQLite it queues behind the servers' writers like them).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{PgPool, SqlitePool};

type DbResult<T> = Result<T, sqlx::Error>;

/// The bulk loader's own connection to the servers' database.
pub enum Bulk {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run `$body` in one write transaction, with `$c` its connection and `$pg` whether the
/// database is PostgreSQL (the statements below differ where SQLite lacks `generate_series`).
macro_rules! in_tx {
    ($bulk:expr, $c:ident, $pg:ident => $body:expr) => {
        match $bulk {
            Bulk::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let $pg = false;
                let $c = &mut *tx;
                let out = $body;
                tx.commit().await?;
                out
            }
            Bulk::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let $pg = true;
                let $c = &mut *tx;
                let out = $body;
                tx.commit().await?;
                out
            }
        }
    };
}

/// The columns after `at` of a synthetic audit event, from its number `n`, an actor bucket
/// `h` (0..36) and an action bucket `b` (0..100): 36 actors (24 clerks, 6 warehouse, 4
/// accountants, 2 admins), the real actions in plausible proportions, each on its kind of
/// record (a failed sign-in names the name tried). The same SQL on both backends.
macro_rules! bench_event_columns {
    () => {
        concat!(
            bench_actor!(),
            ", CASE WHEN b < 25 THEN 'add-line' WHEN b < 37 THEN 'create' WHEN b < 52 THEN 'confirm' \
                    WHEN b < 54 THEN 'cancel' WHEN b < 56 THEN 'remove-line' WHEN b < 64 THEN 'receive' \
                    WHEN b < 66 THEN 'update-product' WHEN b < 67 THEN 'create-product' \
                    WHEN b < 69 THEN 'update-customer' WHEN b < 70 THEN 'create-customer' \
                    WHEN b < 85 THEN 'sign-in' WHEN b < 96 THEN 'sign-out' ELSE 'sign-in-failed' END, \
               CASE WHEN b < 56 THEN 'order' WHEN b < 67 THEN 'product' WHEN b < 70 THEN 'customer' \
                    ELSE 'user' END, \
               CASE WHEN b < 56 THEN CAST(1 + (n * 7919) % 200000 AS TEXT) \
                    WHEN b < 67 THEN CAST(1 + n % 10000 AS TEXT) \
                    WHEN b < 70 THEN CAST(1 + n % 1000 AS TEXT) \
                    WHEN b < 96 THEN CAST(1 + h AS TEXT) \
                    ELSE ",
            bench_actor!(),
            " END, \
               CASE WHEN b >= 37 AND b < 52 \
                      THEN (1 + n % 9) || ' lines, gross ' || (n % 100000) || '.' || (10 + n % 90) || ' EUR' \
                    WHEN b >= 96 THEN 'from 127.0.0.1' \
                    ELSE 'bench event ' || n END"
        )
    };
}

/// The actor of a synthetic audit event from its bucket `h`: `bench-clerk00` ... `bench-admin35`.
macro_rules! bench_actor {
    () => {
        "'bench-' || CASE WHEN h < 24 THEN 'clerk' WHEN h < 30 THEN 'store' WHEN h < 34 THEN 'acct' \
                          ELSE 'admin' END || CASE WHEN h < 10 THEN '0' ELSE '' END || h"
    };
}

/// Products and customers of the benchmark catalogue (created once per database).
#[derive(Debug, Clone, Copy)]
pub struct Catalogue {
    pub first_product: i64,
    pub products: i64,
    pub first_customer: i64,
    pub customers: i64,
}

/// How the lines of generated orders pick their products.
#[derive(Debug, Clone, Copy)]
pub enum Spread {
    /// Lines spread over the whole catalogue.
    Wide,
    /// Every order has the same first product (and others spread): all queue on one row.
    Hot,
}

impl Bulk {
    pub async fn connect(url: &str) -> DbResult<Bulk> {
        Ok(
            if url.starts_with("postgres:") || url.starts_with("postgresql:") {
                Bulk::Postgres(PgPoolOptions::new().max_connections(1).connect(url).await?)
            } else {
                let opts =
                    SqliteConnectOptions::from_str(url)?.busy_timeout(Duration::from_secs(30));
                Bulk::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(opts)
                        .await?,
                )
            },
        )
    }

    /// The benchmark catalogue, created on first use with `products` products of `stock` units.
    pub async fn bench_catalogue(
        &self,
        products: i64,
        customers: i64,
        stock: i64,
    ) -> DbResult<Catalogue> {
        let existing: (Option<i64>, i64) = in_tx!(self, c, _pg => {
            sqlx::query_as("SELECT MIN(id), COUNT(*) FROM products WHERE sku LIKE 'BENCH-%'")
                .fetch_one(&mut *c)
                .await?
        });
        if existing.1 == 0 {
            in_tx!(self, c, pg => {
                let (cust_sql, prod_sql) = if pg {
                    (
                        "INSERT INTO customers (code, name, address, vat_id, created_at) \
                         SELECT 'BENCH-C' || g, 'Bench customer ' || g, g || ' Load Street', '', now() \
                         FROM generate_series(1, $1::BIGINT) g",
                        "INSERT INTO products (sku, name, unit_price_cents, tax_rate_bp, stock_on_hand, reorder_level) \
                         SELECT 'BENCH-' || lpad(g::text, 7, '0'), 'Bench product ' || g, 100 + g % 9900, \
                                CASE WHEN g % 3 = 0 THEN 700 ELSE 2000 END, $2, 10 \
                         FROM generate_series(1, $1::BIGINT) g",
                    )
                } else {
                    (
                        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $1) \
                         INSERT INTO customers (code, name, address, vat_id, created_at) \
                         SELECT 'BENCH-C' || x, 'Bench customer ' || x, x || ' Load Street', '', strftime('%Y-%m-%dT%H:%M:%fZ') FROM g",
                        "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $1) \
                         INSERT INTO products (sku, name, unit_price_cents, tax_rate_bp, stock_on_hand, reorder_level) \
                         SELECT printf('BENCH-%07d', x), 'Bench product ' || x, 100 + x % 9900, \
                                CASE WHEN x % 3 = 0 THEN 700 ELSE 2000 END, $2, 10 FROM g",
                    )
                };
                sqlx::query(cust_sql).bind(customers).execute(&mut *c).await?;
                sqlx::query(prod_sql).bind(products).bind(stock).execute(&mut *c).await?;
                sqlx::query(
                    "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, actor, created_at) \
                     SELECT id, stock_on_hand, stock_on_hand, 'opening', 'bench', $1 FROM products WHERE sku LIKE 'BENCH-%'",
                )
                .bind(orderdesk::db::now())
                .execute(&mut *c)
                .await?;
            });
        }
        let ((first_product, products), (first_customer, customers)): ((i64, i64), (i64, i64)) = in_tx!(self, c, _pg => {
            let p = sqlx::query_as("SELECT MIN(id), COUNT(*) FROM products WHERE sku LIKE 'BENCH-%'")
                .fetch_one(&mut *c)
                .await?;
            let k = sqlx::query_as("SELECT MIN(id), COUNT(*) FROM customers WHERE code LIKE 'BENCH-C%'")
                .fetch_one(&mut *c)
                .await?;
            (p, k)
        });
        Ok(Catalogue {
            first_product,
            products,
            first_customer,
            customers,
        })
    }

    /// `count` new draft orders of `lines` lines each (quantity 1), in batches; returns their ids
    /// as an inclusive range. Ids of one call are contiguous: the inserts run in one transaction.
    pub async fn bench_orders(
        &self,
        cat: &Catalogue,
        count: i64,
        lines: i64,
        spread: Spread,
    ) -> DbResult<(i64, i64)> {
        in_tx!(self, c, pg => {
            let before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM orders")
                .fetch_one(&mut *c)
                .await?;
            let orders_sql = if pg {
                "INSERT INTO orders (customer_id, reference, created_at, created_by) \
                 SELECT $2 + g % $3, 'bench ' || g, now(), 'bench' FROM generate_series(1, $1::BIGINT) g"
            } else {
                "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $1) \
                 INSERT INTO orders (customer_id, reference, created_at, created_by) \
                 SELECT $2 + x % $3, 'bench ' || x, strftime('%Y-%m-%dT%H:%M:%fZ'), 'bench' FROM g"
            };
            sqlx::query(orders_sql)
                .bind(count)
                .bind(cat.first_customer)
                .bind(cat.customers)
                .execute(&mut *c)
                .await?;
            // Line k of order o: a product picked by a multiplicative hash, distinct per line;
            // for the hot spread, line 1 is always the first product.
            let hot = i64::from(matches!(spread, Spread::Hot));
            let lines_sql = if pg {
                "INSERT INTO order_lines (order_id, product_id, quantity) \
                 SELECT o.id, CASE WHEN $5 = 1 AND k = 1 THEN $2 \
                                   ELSE $2 + ((o.id * 7919 + k * 104729) % $3) END, 1 \
                 FROM orders o CROSS JOIN generate_series(1, $4::BIGINT) k WHERE o.id > $1 ORDER BY o.id, k"
            } else {
                "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < $4) \
                 INSERT INTO order_lines (order_id, product_id, quantity) \
                 SELECT o.id, CASE WHEN $5 = 1 AND k.n = 1 THEN $2 \
                                   ELSE $2 + ((o.id * 7919 + k.n * 104729) % $3) END, 1 \
                 FROM orders o CROSS JOIN k WHERE o.id > $1 ORDER BY o.id, k.n"
            };
            sqlx::query(lines_sql)
                .bind(before)
                .bind(cat.first_product)
                .bind(cat.products)
                .bind(lines)
                .bind(hot)
                .execute(&mut *c)
                .await?;
            let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM orders")
                .fetch_one(&mut *c)
                .await?;
            Ok((before + 1, last))
        })
    }

    /// Top the audit log up to `count` events (counting those already there) with synthetic
    /// ones, in batches: a few dozen actors, the real actions each on its kind of record, times
    /// spread over the year before `end` in id order, with a few seconds of jitter so id order
    /// and time order disagree a little, as they do when transactions commit out of order.
    /// Returns how many were added.
    pub async fn bench_audit_events(&self, count: i64, end: time::OffsetDateTime) -> DbResult<i64> {
        const YEAR_MS: i64 = 365 * 86_400 * 1000;
        const BATCH: i64 = 200_000;
        let step_ms = (YEAR_MS / count.max(1)).max(1);
        let start = end - time::Duration::milliseconds(step_ms * count);
        let have: i64 = in_tx!(self, c, _pg => {
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
                .fetch_one(&mut *c)
                .await?
        });
        let mut next = have + 1;
        while next <= count {
            let last = (next + BATCH - 1).min(count);
            eprintln!("[audit] adding events {next} to {last} of {count}");
            in_tx!(self, c, pg => {
                if pg {
                    sqlx::query(concat!(
                        "INSERT INTO audit_events (at, actor, action, entity, entity_id, detail) \
                         SELECT $3::timestamptz + (n * $4 + ((n * 7919) % 5) * 1000) * interval '1 millisecond', ",
                        bench_event_columns!(),
                        " FROM (SELECT n, (n * 7) % 36 AS h, (n * 13) % 100 AS b \
                                FROM generate_series($1::BIGINT, $2::BIGINT) n) s"
                    ))
                    .bind(next)
                    .bind(last)
                    .bind(start)
                    .bind(step_ms)
                    .execute(&mut *c)
                    .await?;
                } else {
                    sqlx::query(concat!(
                        "WITH RECURSIVE g(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM g WHERE n < $2) \
                         INSERT INTO audit_events (at, actor, action, entity, entity_id, detail) \
                         SELECT strftime('%Y-%m-%dT%H:%M:%SZ', $3 + (n * $4) / 1000 + (n * 7919) % 5, 'unixepoch'), ",
                        bench_event_columns!(),
                        " FROM (SELECT n, (n * 7) % 36 AS h, (n * 13) % 100 AS b FROM g) s"
                    ))
                    .bind(next)
                    .bind(last)
                    .bind(start.unix_timestamp())
                    .bind(step_ms)
                    .execute(&mut *c)
                    .await?;
                }
            });
            next = last + 1;
        }
        Ok((count - have).max(0))
    }

    /// Refresh the planner's statistics and, on PostgreSQL, the visibility map after bulk
    /// loads, as autovacuum would shortly after: index-only scans depend on it.
    pub async fn vacuum_analyze(&self) -> DbResult<()> {
        match self {
            Bulk::Postgres(pool) => {
                sqlx::query("VACUUM (ANALYZE)").execute(pool).await?;
            }
            Bulk::Sqlite(_) => self.analyze().await?,
        }
        Ok(())
    }

    /// Refresh the planner's statistics after bulk loads.
    pub async fn analyze(&self) -> DbResult<()> {
        in_tx!(self, c, _pg => {
            sqlx::query("ANALYZE").execute(&mut *c).await?;
        });
        Ok(())
    }
}
