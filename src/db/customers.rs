//! Customers: master data read by the order pages and copied onto invoices.

use sqlx::FromRow;

use super::search::{Needle, customer_match};
use super::{Db, DbResult, Tx, now, on_pool, on_tx};

#[derive(Debug, Clone, FromRow)]
pub struct CustomerRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub address: String,
    pub vat_id: String,
    pub active: bool,
}

/// The columns of [`CustomerRow`], in one place for every query that reads them.
macro_rules! select_customers {
    ($rest:literal) => {
        concat!(
            "SELECT id, code, name, address, vat_id, active FROM customers ",
            $rest
        )
    };
}

/// A new customer, as entered by an admin or loaded by `orderdesk demo`.
#[derive(Debug, Clone)]
pub struct NewCustomer<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub address: &'a str,
    pub vat_id: &'a str,
}

impl Db {
    /// Customers whose code or name contains `q` (case- and accent-insensitive), by name, at
    /// most `limit`; inactive ones too unless `active_only`.
    pub async fn search_customers(
        &self,
        q: &str,
        active_only: bool,
        limit: i64,
        offset: i64,
    ) -> DbResult<Vec<CustomerRow>> {
        let needle = Needle::new(self.backend(), q);
        let sql = format!(
            "SELECT id, code, name, address, vat_id, active FROM customers \
             WHERE ($1 = '' OR {}) AND ($5 = FALSE OR active) \
             ORDER BY name, id LIMIT $3 OFFSET $4",
            customer_match(self.backend(), &needle).replace("$N", "$2")
        );
        Ok(on_pool!(self, c => sqlx::query_as::<_, CustomerRow>(&sql)
            .bind(q.trim())
            .bind(&needle.value)
            .bind(limit)
            .bind(offset)
            .bind(active_only)
            .fetch_all(c)
            .await)?)
    }

    pub async fn find_customer_by_code(&self, code: &str) -> DbResult<Option<CustomerRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, CustomerRow>(
            select_customers!("WHERE code = $1"))
        .bind(code)
        .fetch_optional(c)
        .await)?)
    }

    pub async fn find_customer(&self, id: i64) -> DbResult<Option<CustomerRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, CustomerRow>(
            select_customers!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await)?)
    }

    /// Customers matching `q` (code or name), in ascending id after `after`: keyset pages for
    /// the API, at most `limit`.
    pub async fn customers_after(
        &self,
        q: &str,
        after: i64,
        limit: i64,
    ) -> DbResult<Vec<CustomerRow>> {
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, CustomerRow>(select_customers!(
            "WHERE id > $1 AND ($2 = '' OR LOWER(name) LIKE $3 OR LOWER(code) LIKE $3) \
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
}

pub async fn insert(tx: &mut Tx, customer: &NewCustomer<'_>) -> DbResult<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO customers (code, name, address, vat_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(customer.code)
    .bind(customer.name)
    .bind(customer.address)
    .bind(customer.vat_id)
    .bind(now())
    .fetch_one(c)
    .await)?)
}

/// Change a customer's name, address and VAT id (the code never changes).
pub async fn update(tx: &mut Tx, id: i64, customer: &NewCustomer<'_>) -> DbResult<()> {
    on_tx!(tx, c => sqlx::query(
        "UPDATE customers SET name = $2, address = $3, vat_id = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(customer.name)
    .bind(customer.address)
    .bind(customer.vat_id)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Activate or deactivate a customer; false when it already was.
pub async fn set_active(tx: &mut Tx, id: i64, active: bool) -> DbResult<bool> {
    let n = on_tx!(tx, c => sqlx::query("UPDATE customers SET active = $2 WHERE id = $1 AND active <> $2")
        .bind(id)
        .bind(active)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// `%q%`, lower-cased, with LIKE's wildcards in the search text taken literally.
pub(crate) fn like_pattern(q: &str) -> String {
    let escaped: String = q
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect();
    format!("%{escaped}%")
}

/// The customer as this transaction sees it; `None` if there is no such customer.
pub async fn find(tx: &mut Tx, customer_id: i64) -> DbResult<Option<CustomerRow>> {
    Ok(
        on_tx!(tx, c => sqlx::query_as::<_, CustomerRow>(select_customers!("WHERE id = $1"))
    .bind(customer_id)
    .fetch_optional(c)
    .await)?,
    )
}

/// The customer with `code` as this transaction sees it.
pub async fn find_by_code(tx: &mut Tx, code: &str) -> DbResult<Option<CustomerRow>> {
    Ok(
        on_tx!(tx, c => sqlx::query_as::<_, CustomerRow>(select_customers!("WHERE code = $1"))
    .bind(code)
    .fetch_optional(c)
    .await)?,
    )
}
