//! Bulk data for benchmarks (`orderdesk-load`): customers, a catalogue and draft orders made by
//! set-based SQL, so a million orders take seconds, not hours. Everything it writes keeps the
//! invariants: every product's opening stock has its ledger row.

use super::{Backend, Db, DbResult, on_tx};

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

impl Db {
    /// The benchmark catalogue, created on first use with `products` products of `stock` units.
    pub async fn bench_catalogue(
        &self,
        products: i64,
        customers: i64,
        stock: i64,
    ) -> DbResult<Catalogue> {
        let existing: (Option<i64>, i64) = {
            let mut tx = self.begin().await?;
            let r = on_tx!(&mut tx, c => sqlx::query_as(
                "SELECT MIN(id), COUNT(*) FROM products WHERE sku LIKE 'BENCH-%'",
            )
            .fetch_one(c)
            .await)?;
            tx.commit().await?;
            r
        };
        if existing.1 == 0 {
            let pg = self.backend() == Backend::Postgres;
            let mut tx = self.begin().await?;
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
            on_tx!(&mut tx, c => sqlx::query(cust_sql).bind(customers).execute(c).await.map(|r| r.rows_affected()))?;
            on_tx!(&mut tx, c => sqlx::query(prod_sql).bind(products).bind(stock).execute(c).await.map(|r| r.rows_affected()))?;
            let at = super::now();
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, actor, created_at) \
                 SELECT id, stock_on_hand, stock_on_hand, 'opening', 'bench', $1 FROM products WHERE sku LIKE 'BENCH-%'",
            )
            .bind(at)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
            tx.commit().await?;
        }
        let mut tx = self.begin().await?;
        let (first_product, products): (i64, i64) = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT MIN(id), COUNT(*) FROM products WHERE sku LIKE 'BENCH-%'",
        )
        .fetch_one(c)
        .await)?;
        let (first_customer, customers): (i64, i64) = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT MIN(id), COUNT(*) FROM customers WHERE code LIKE 'BENCH-C%'",
        )
        .fetch_one(c)
        .await)?;
        tx.commit().await?;
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
        let pg = self.backend() == Backend::Postgres;
        let mut tx = self.begin().await?;
        let before: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM orders")
            .fetch_one(c)
            .await)?;
        let orders_sql = if pg {
            "INSERT INTO orders (customer_id, reference, created_at, created_by) \
             SELECT $2 + g % $3, 'bench ' || g, now(), 'bench' FROM generate_series(1, $1::BIGINT) g"
        } else {
            "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < $1) \
             INSERT INTO orders (customer_id, reference, created_at, created_by) \
             SELECT $2 + x % $3, 'bench ' || x, strftime('%Y-%m-%dT%H:%M:%fZ'), 'bench' FROM g"
        };
        on_tx!(&mut tx, c => sqlx::query(orders_sql)
            .bind(count)
            .bind(cat.first_customer)
            .bind(cat.customers)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        // Line k of order o: a product picked by a multiplicative hash, distinct per line; for the
        // hot spread, line 1 is always the first product.
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
        on_tx!(&mut tx, c => sqlx::query(lines_sql)
            .bind(before)
            .bind(cat.first_product)
            .bind(cat.products)
            .bind(lines)
            .bind(hot)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        let last: i64 = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM orders")
            .fetch_one(c)
            .await)?;
        tx.commit().await?;
        Ok((before + 1, last))
    }

    /// Refresh the planner's statistics after bulk loads.
    pub async fn analyze(&self) -> DbResult<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query("ANALYZE").execute(c).await.map(|r| r.rows_affected()))?;
        tx.commit().await?;
        Ok(())
    }
}
