//! Figures over time for the charts: invoices issued and stock on hand, summed per quarter of an
//! hour.
//!
//! The database groups by quarter-hour (UTC) and the caller maps each quarter-hour to its day
//! with the one "which day is this" function of the pages. Every time zone in use today is a
//! whole number of quarter-hours away from UTC, so the grouping is exact whatever zone the days
//! are counted in, and at most 96 rows a day come back however busy the day was.

use sqlx::FromRow;
use time::OffsetDateTime;

pub use super::types::TimeBound;
use super::{Backend, Db, DbResult, on_pool};

/// Seconds in one group.
pub const QUARTER_HOUR: i64 = 900;

/// Invoices issued in one quarter-hour.
#[derive(Debug, Clone, FromRow)]
pub struct IssuedRow {
    /// Start of the quarter-hour, in Unix seconds divided by [`QUARTER_HOUR`].
    pub quarter: i64,
    pub invoices: i64,
    pub gross_cents: i64,
}

/// A product's stock at the end of one quarter-hour in which it moved.
#[derive(Debug, Clone, FromRow)]
pub struct BalanceRow {
    pub quarter: i64,
    pub balance: i64,
}

impl IssuedRow {
    pub fn start(&self) -> OffsetDateTime {
        quarter_start(self.quarter)
    }
}

impl BalanceRow {
    pub fn start(&self) -> OffsetDateTime {
        quarter_start(self.quarter)
    }
}

fn quarter_start(quarter: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(quarter.saturating_mul(QUARTER_HOUR))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Db {
    /// Invoices issued from `since` on, counted and summed (gross, before any credit note) per
    /// quarter-hour, oldest first.
    pub async fn issued_by_quarter(&self, since: TimeBound) -> DbResult<Vec<IssuedRow>> {
        let sql = format!(
            "SELECT {q} AS quarter, COUNT(*) AS invoices, \
                    CAST(COALESCE(SUM(gross_cents), 0) AS BIGINT) AS gross_cents \
             FROM invoices WHERE issued_at >= $1 GROUP BY 1 ORDER BY 1",
            q = self.quarter_of("issued_at")
        );
        Ok(
            on_pool!(self, c => sqlx::query_as::<_, IssuedRow>(&sql).bind(since).fetch_all(c).await)?,
        )
    }

    /// A product's stock on hand at the end of each quarter-hour from `since` on in which it
    /// moved, oldest first (the balance after the last ledger row of the quarter-hour).
    pub async fn balance_by_quarter(
        &self,
        product_id: i64,
        since: TimeBound,
    ) -> DbResult<Vec<BalanceRow>> {
        let sql = format!(
            "SELECT quarter, balance FROM ( \
                 SELECT {q} AS quarter, balance_after AS balance, \
                        ROW_NUMBER() OVER (PARTITION BY {q} ORDER BY id DESC) AS nth \
                 FROM stock_ledger WHERE product_id = $1 AND created_at >= $2 \
             ) t WHERE nth = 1 ORDER BY quarter",
            q = self.quarter_of("created_at")
        );
        Ok(on_pool!(self, c => sqlx::query_as::<_, BalanceRow>(&sql)
            .bind(product_id)
            .bind(since)
            .fetch_all(c)
            .await)?)
    }

    /// A product's stock on hand just before `since`: the balance after its last earlier ledger
    /// row, 0 when it had none (stock on hand is the sum of the ledger).
    pub async fn balance_before(&self, product_id: i64, since: TimeBound) -> DbResult<i64> {
        let balance: Option<i64> = on_pool!(self, c => sqlx::query_scalar(
            "SELECT balance_after FROM stock_ledger WHERE product_id = $1 AND created_at < $2 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(product_id)
        .bind(since)
        .fetch_optional(c)
        .await)?;
        Ok(balance.unwrap_or(0))
    }

    /// The SQL expression numbering the quarter-hour of a stored time.
    fn quarter_of(&self, column: &str) -> String {
        match self.backend() {
            Backend::Sqlite => super::sqlite::quarter_of(column),
            Backend::Postgres => super::postgres::quarter_of(column),
        }
    }
}
