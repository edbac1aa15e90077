//! Sales orders and their lines.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::search::{Needle, customer_match, reference_match};
use super::types::TimeBound;
use super::{Db, DbResult, Reader, Tx, on_pool, on_reader, on_tx};
use crate::domain::OrderStatus;

#[derive(Debug, Clone, FromRow)]
pub struct OrderListRow {
    pub id: i64,
    pub customer_name: String,
    pub status: OrderStatus,
    pub reference: String,
    pub created_at: OffsetDateTime,
    pub line_count: i64,
    pub invoice_number: Option<String>,
    pub gross_cents: Option<i64>,
}

#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub id: i64,
    pub customer_id: i64,
    pub customer_code: String,
    pub customer_name: String,
    pub status: OrderStatus,
    pub reference: String,
    pub revision: i64,
    pub created_at: OffsetDateTime,
    pub created_by: String,
    pub confirmed_at: Option<OffsetDateTime>,
    pub confirmed_by: Option<String>,
    pub cancelled_at: Option<OffsetDateTime>,
    pub cancelled_by: Option<String>,
    pub cancel_reason: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct OrderLineRow {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub tax_rate_bp: i64,
    pub stock_on_hand: i64,
}

/// Where a page of the order list starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest orders.
    First,
    /// Orders older than this id.
    Before(i64),
    /// Orders newer than this id (the page before).
    After(i64),
}

/// The order list query up to its ORDER BY; the search condition follows. Parameters: $1
/// status or '', $2/$3 the id window, $4 an order number, $5 the search needle, $6 the limit.
const ORDER_LIST: &str = "SELECT o.id, c.name AS customer_name, o.status, o.reference, o.created_at, \
            (SELECT COUNT(*) FROM order_lines l WHERE l.order_id = o.id) AS line_count, \
            i.number AS invoice_number, i.gross_cents \
     FROM orders o JOIN customers c ON c.id = o.customer_id \
     LEFT JOIN invoices i ON i.order_id = o.id \
     WHERE ($1 = '' OR o.status = $1) AND o.id < $2 AND o.id > $3 ";

/// Search by order number, customer name or code (a small table searched first), or a
/// substring of the customer reference: each branch uses an index (see `search`), so a million
/// orders stay fast. `$N` is the needle.
fn order_search(backend: super::Backend, needle: &Needle) -> String {
    format!(
        "AND o.id IN (SELECT $4 UNION ALL \
           SELECT o2.id FROM orders o2 WHERE o2.customer_id IN \
             (SELECT id FROM customers WHERE {}) \
           UNION ALL SELECT o3.id FROM orders o3 WHERE {})",
        customer_match(backend, needle),
        reference_match(backend, needle)
    )
    .replace("$N", "$5")
}

/// Filters of the order list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// One status, or all.
    pub status: Option<OrderStatus>,
    /// Customer name or code, a part of the reference, or an order number.
    pub q: String,
}

impl Db {
    /// One page of orders, newest first, by keyset: `cursor` says where the page starts, so a
    /// deep page costs what the first does. Returns at most `limit` rows, newest first, and
    /// whether more rows lie beyond the page in the direction of travel.
    pub async fn list_orders(
        &self,
        filter: &OrderFilter,
        limit: i64,
        cursor: Cursor,
    ) -> DbResult<(Vec<OrderListRow>, bool)> {
        let q = filter.q.trim();
        let id: i64 = q.trim_start_matches('#').parse().unwrap_or(-1);
        let (below, above, ascending) = match cursor {
            Cursor::First => (i64::MAX, 0, false),
            Cursor::Before(b) => (b, 0, false),
            Cursor::After(a) => (i64::MAX, a, true),
        };
        let needle = Needle::new(self.backend(), q);
        let search = if q.is_empty() {
            String::new()
        } else {
            order_search(self.backend(), &needle)
        };
        let direction = if ascending { "ASC" } else { "DESC" };
        let sql = format!("{ORDER_LIST}{search} ORDER BY o.id {direction} LIMIT $6");
        let mut rows = on_pool!(self, c => sqlx::query_as::<_, OrderListRow>(&sql)
            .bind(filter.status.map_or("", OrderStatus::as_str))
            .bind(below)
            .bind(above)
            .bind(id)
            .bind(&needle.value)
            .bind(limit + 1)
            .fetch_all(c)
            .await)?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        if ascending {
            rows.reverse();
        }
        Ok((rows, more))
    }

    pub async fn find_order(&self, id: i64) -> DbResult<Option<OrderRow>> {
        find(&mut Reader::Db(self), id).await
    }

    /// The order's lines in entry order, with current product data.
    pub async fn order_lines(&self, order_id: i64) -> DbResult<Vec<OrderLineRow>> {
        lines(&mut Reader::Db(self), order_id).await
    }

    /// Confirmations since `since`: (count, gross cents).
    pub async fn confirmations_since(&self, since: TimeBound) -> DbResult<(i64, i64)> {
        let sql = "SELECT COUNT(*), CAST(COALESCE(SUM(gross_cents), 0) AS BIGINT) FROM invoices \
                   WHERE issued_at >= $1";
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, (i64, i64)>(sql).bind(since).fetch_one(c).await)?,
        )
    }
}

/// The order with its customer.
pub async fn find(r: &mut Reader<'_>, id: i64) -> DbResult<Option<OrderRow>> {
    Ok(on_reader!(r, c => sqlx::query_as::<_, OrderRow>(
        "SELECT o.id, o.customer_id, c.code AS customer_code, c.name AS customer_name, o.status, \
                o.reference, o.revision, o.created_at, o.created_by, o.confirmed_at, o.confirmed_by, \
                o.cancelled_at, o.cancelled_by, o.cancel_reason \
         FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1",
    )
    .bind(id)
    .fetch_optional(c)
    .await)?)
}

/// The order's lines in entry order, with current product data.
pub async fn lines(r: &mut Reader<'_>, order_id: i64) -> DbResult<Vec<OrderLineRow>> {
    Ok(on_reader!(r, c => sqlx::query_as::<_, OrderLineRow>(
        "SELECT l.id, l.product_id, p.sku, p.name, l.quantity, p.unit_price_cents, p.tax_rate_bp, \
                p.stock_on_hand \
         FROM order_lines l JOIN products p ON p.id = l.product_id WHERE l.order_id = $1 ORDER BY l.id",
    )
    .bind(order_id)
    .fetch_all(c)
    .await)?)
}

/// Create a draft order; returns its id.
pub async fn insert(
    tx: &mut Tx,
    customer_id: i64,
    reference: &str,
    actor: &str,
    at: OffsetDateTime,
) -> DbResult<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO orders (customer_id, reference, created_at, created_by) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(customer_id)
    .bind(reference)
    .bind(at)
    .bind(actor)
    .fetch_one(c)
    .await)?)
}

/// Take the order's row lock and bump its revision, only while it is a draft. `None` when the
/// order does not exist or is no longer a draft. Every line change goes through this first, so
/// a line change and a confirmation of the same order are serialised by the database.
pub async fn touch_draft(tx: &mut Tx, order_id: i64) -> DbResult<Option<i64>> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "UPDATE orders SET revision = revision + 1 WHERE id = $1 AND status = 'draft' RETURNING revision",
    )
    .bind(order_id)
    .fetch_optional(c)
    .await)?)
}

/// The order's status and revision as this transaction sees them.
pub async fn status_of(tx: &mut Tx, order_id: i64) -> DbResult<Option<(OrderStatus, i64)>> {
    Ok(on_tx!(tx, c => sqlx::query_as::<_, (OrderStatus, i64)>(
        "SELECT status, revision FROM orders WHERE id = $1",
    )
    .bind(order_id)
    .fetch_optional(c)
    .await)?)
}

pub async fn insert_line(
    tx: &mut Tx,
    order_id: i64,
    product_id: i64,
    quantity: i64,
) -> DbResult<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO order_lines (order_id, product_id, quantity) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(order_id)
    .bind(product_id)
    .bind(quantity)
    .fetch_one(c)
    .await)?)
}

/// The order's first line of `product_id`, as (line id, quantity), if it has one.
pub async fn line_of_product(
    tx: &mut Tx,
    order_id: i64,
    product_id: i64,
) -> DbResult<Option<(i64, i64)>> {
    Ok(on_tx!(tx, c => sqlx::query_as::<_, (i64, i64)>(
        "SELECT id, quantity FROM order_lines WHERE order_id = $1 AND product_id = $2 ORDER BY id LIMIT 1",
    )
    .bind(order_id)
    .bind(product_id)
    .fetch_optional(c)
    .await)?)
}

/// One line of the order with its product's SKU, as (quantity, SKU), if it exists.
pub async fn line(tx: &mut Tx, order_id: i64, line_id: i64) -> DbResult<Option<(i64, String)>> {
    Ok(on_tx!(tx, c => sqlx::query_as::<_, (i64, String)>(
        "SELECT l.quantity, p.sku FROM order_lines l JOIN products p ON p.id = l.product_id \
         WHERE l.id = $1 AND l.order_id = $2",
    )
    .bind(line_id)
    .bind(order_id)
    .fetch_optional(c)
    .await)?)
}

/// Set one line's quantity; false when the order has no such line.
pub async fn set_line_quantity(
    tx: &mut Tx,
    order_id: i64,
    line_id: i64,
    quantity: i64,
) -> DbResult<bool> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE order_lines SET quantity = $3 WHERE id = $1 AND order_id = $2")
        .bind(line_id)
        .bind(order_id)
        .bind(quantity)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Insert several lines of (product id, quantity) in a few multi-row statements.
pub async fn insert_lines(tx: &mut Tx, order_id: i64, lines: &[(i64, i64)]) -> DbResult<()> {
    for chunk in lines.chunks(1000) {
        on_tx!(tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO order_lines (order_id, product_id, quantity) ",
            );
            qb.push_values(chunk, |mut b, (product_id, quantity)| {
                b.push_bind(order_id).push_bind(*product_id).push_bind(*quantity);
            });
            qb.build().execute(c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Delete one line of the order; false when no such line.
pub async fn delete_line(tx: &mut Tx, order_id: i64, line_id: i64) -> DbResult<bool> {
    let n = on_tx!(tx, c => sqlx::query("DELETE FROM order_lines WHERE id = $1 AND order_id = $2")
        .bind(line_id)
        .bind(order_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The conditional state change of a cancellation: `from` (draft or confirmed) to cancelled,
/// only if the order is still in that state. False when it is not (any more).
pub async fn mark_cancelled(
    tx: &mut Tx,
    order_id: i64,
    from: OrderStatus,
    actor: &str,
    reason: &str,
    at: OffsetDateTime,
) -> DbResult<bool> {
    let n = on_tx!(tx, c => sqlx::query(
        "UPDATE orders SET status = 'cancelled', cancelled_at = $3, cancelled_by = $4, \
                cancel_reason = $5, revision = revision + 1 \
         WHERE id = $1 AND status = $2",
    )
    .bind(order_id)
    .bind(from)
    .bind(at)
    .bind(actor)
    .bind(reason)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
