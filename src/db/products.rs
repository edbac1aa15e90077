//! Products and their stock on hand.

use sqlx::FromRow;

use time::OffsetDateTime;

use super::{Db, DbResult, Tx, customers::like_pattern, now, on_pool, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct ProductRow {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub tax_rate_bp: i64,
    pub stock_on_hand: i64,
    pub reorder_level: i64,
    pub active: bool,
}

/// A new product, with its opening stock.
#[derive(Debug, Clone)]
pub struct NewProduct<'a> {
    pub sku: &'a str,
    pub name: &'a str,
    pub unit_price_cents: i64,
    pub tax_rate_bp: i64,
    pub opening_stock: i64,
    pub reorder_level: i64,
}

/// Filters of the stock and product lists.
#[derive(Debug, Clone, Default)]
pub struct ProductFilter {
    pub q: String,
    pub low_only: bool,
}

/// The columns of [`ProductRow`], in one place for every query that reads them.
macro_rules! select_products {
    ($rest:literal) => {
        concat!(
            "SELECT id, sku, name, unit_price_cents, tax_rate_bp, stock_on_hand, reorder_level, active \
             FROM products ",
            $rest
        )
    };
}

impl Db {
    /// One page of products matching `filter`, by SKU, plus whether another page follows.
    pub async fn list_products(
        &self,
        filter: &ProductFilter,
        limit: i64,
        offset: i64,
    ) -> DbResult<Vec<ProductRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, ProductRow>(
            select_products!(
            "WHERE ($1 = '' OR LOWER(sku) LIKE $2 OR LOWER(name) LIKE $2) \
               AND ($3 = 0 OR stock_on_hand <= reorder_level) \
             ORDER BY sku LIMIT $4 OFFSET $5"
        ))
        .bind(filter.q.trim())
        .bind(like_pattern(&filter.q))
        .bind(i64::from(filter.low_only))
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?)
    }

    /// Products matching `q` (SKU or name), in ascending id after `after`: keyset pages for
    /// the API, at most `limit`.
    pub async fn products_after(
        &self,
        q: &str,
        after: i64,
        limit: i64,
    ) -> DbResult<Vec<ProductRow>> {
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, ProductRow>(select_products!(
            "WHERE id > $1 AND ($2 = '' OR LOWER(sku) LIKE $3 OR LOWER(name) LIKE $3) \
             ORDER BY id LIMIT $4"
        ))
        .bind(after)
        .bind(q.trim())
        .bind(like_pattern(q))
        .bind(limit)
        .fetch_all(c)
        .await)?,
        )
    }

    /// A product's prices, newest first.
    pub async fn product_prices(&self, product_id: i64) -> DbResult<Vec<PriceRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, PriceRow>(
            "SELECT unit_price_cents, tax_rate_bp, changed_at, changed_by FROM product_prices \
             WHERE product_id = $1 ORDER BY id DESC",
        )
        .bind(product_id)
        .fetch_all(c)
        .await)?)
    }

    pub async fn find_product_by_sku(&self, sku: &str) -> DbResult<Option<ProductRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, ProductRow>(
            select_products!("WHERE sku = $1"))
        .bind(sku)
        .fetch_optional(c)
        .await)?)
    }
}

/// One price a product had.
#[derive(Debug, Clone, FromRow)]
pub struct PriceRow {
    pub unit_price_cents: i64,
    pub tax_rate_bp: i64,
    pub changed_at: OffsetDateTime,
    pub changed_by: String,
}

/// Insert a product, its first price in the price history, and its opening ledger row (when
/// it has opening stock: demo data and tests), so stock always equals its ledger.
pub async fn insert(tx: &mut Tx, p: &NewProduct<'_>, actor: &str) -> DbResult<i64> {
    let at = now();
    let id: i64 = on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO products (sku, name, unit_price_cents, tax_rate_bp, stock_on_hand, reorder_level) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(p.sku)
    .bind(p.name)
    .bind(p.unit_price_cents)
    .bind(p.tax_rate_bp)
    .bind(p.opening_stock)
    .bind(p.reorder_level)
    .fetch_one(c)
    .await)?;
    record_price(tx, id, p.unit_price_cents, p.tax_rate_bp, actor, at).await?;
    if p.opening_stock > 0 {
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, actor, created_at) \
             VALUES ($1, $2, $2, 'opening', $3, $4)",
        )
        .bind(id)
        .bind(p.opening_stock)
        .bind(actor)
        .bind(at)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(id)
}

/// Append a price to a product's history.
pub async fn record_price(
    tx: &mut Tx,
    product_id: i64,
    unit_price_cents: i64,
    tax_rate_bp: i64,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO product_prices (product_id, unit_price_cents, tax_rate_bp, changed_at, changed_by) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(product_id)
    .bind(unit_price_cents)
    .bind(tax_rate_bp)
    .bind(at)
    .bind(actor)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// What an edit may change of a product (the SKU never changes; stock moves through receipts).
#[derive(Debug, Clone)]
pub struct ProductChange<'a> {
    pub name: &'a str,
    pub unit_price_cents: i64,
    pub tax_rate_bp: i64,
    pub reorder_level: i64,
}

pub async fn update(tx: &mut Tx, id: i64, p: &ProductChange<'_>) -> DbResult<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE products SET name = $2, unit_price_cents = $3, tax_rate_bp = $4, reorder_level = $5 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(p.name)
    .bind(p.unit_price_cents)
    .bind(p.tax_rate_bp)
    .bind(p.reorder_level)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Activate or deactivate a product; false when it already was.
pub async fn set_active(tx: &mut Tx, id: i64, active: bool) -> DbResult<bool> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE products SET active = $2 WHERE id = $1 AND active <> $2")
        .bind(id)
        .bind(active)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Product lookup inside a write transaction (e.g. adding a line by SKU).
pub async fn find_by_sku(tx: &mut Tx, sku: &str) -> DbResult<Option<ProductRow>> {
    Ok(on_tx!(tx, c => sqlx::query_as::<_, ProductRow>(
            select_products!("WHERE sku = $1"))
    .bind(sku)
    .fetch_optional(c)
    .await)?)
}

/// The products with any of `skus`, in one statement (an order of hundreds of lines does not
/// make hundreds of round trips).
pub async fn find_by_skus(tx: &mut Tx, skus: &[&str]) -> DbResult<Vec<ProductRow>> {
    let mut out = Vec::with_capacity(skus.len());
    // Bound values stay far below SQLite's 32,766-variable limit.
    for chunk in skus.chunks(1000) {
        let rows = on_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(select_products!("WHERE sku IN ("));
            let mut list = qb.separated(", ");
            for sku in chunk {
                list.push_bind(*sku);
            }
            qb.push(")");
            qb.build_query_as::<ProductRow>().fetch_all(c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}
