//! Products and their stock on hand.

use sqlx::FromRow;

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

    pub async fn find_product_by_sku(&self, sku: &str) -> DbResult<Option<ProductRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, ProductRow>(
            select_products!("WHERE sku = $1"))
        .bind(sku)
        .fetch_optional(c)
        .await)?)
    }
}

/// Insert a product and its opening ledger row, so stock always equals its ledger.
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
