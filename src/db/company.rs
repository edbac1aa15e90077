//! The seller's details (company profile): every save adds a version that never changes, and
//! documents name the version that was current when they were issued.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Db, DbResult, Tx, on_pool, on_tx};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct CompanyRow {
    pub id: i64,
    pub name: String,
    pub address: String,
    pub vat_id: String,
    /// Without spaces; empty when not given.
    pub iban: String,
    pub bic: String,
    pub payment_terms_days: i64,
    pub footer: String,
    pub saved_at: OffsetDateTime,
    pub saved_by: String,
}

/// A new version of the profile.
#[derive(Debug, Clone)]
pub struct NewCompany<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub vat_id: &'a str,
    pub iban: &'a str,
    pub bic: &'a str,
    pub payment_terms_days: i64,
    pub footer: &'a str,
    pub saved_at: OffsetDateTime,
    pub saved_by: &'a str,
}

macro_rules! select_company {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, address, vat_id, iban, bic, payment_terms_days, footer, saved_at, \
             saved_by FROM company_profiles ",
            $rest
        )
    };
}

impl Db {
    /// The version in force now (the newest), if any was ever saved.
    pub async fn current_company(&self) -> DbResult<Option<CompanyRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, CompanyRow>(
            select_company!("ORDER BY id DESC LIMIT 1"))
        .fetch_optional(c)
        .await)?)
    }

    /// One version, as a document names it.
    pub async fn company_version(&self, id: i64) -> DbResult<Option<CompanyRow>> {
        Ok(on_pool!(self, c => sqlx::query_as::<_, CompanyRow>(
            select_company!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await)?)
    }
}

/// The version in force, read inside a transaction.
pub async fn current(tx: &mut Tx) -> DbResult<Option<CompanyRow>> {
    Ok(on_tx!(tx, c => sqlx::query_as::<_, CompanyRow>(
        select_company!("ORDER BY id DESC LIMIT 1"))
    .fetch_optional(c)
    .await)?)
}

/// Save a new version; returns its id.
pub async fn insert(tx: &mut Tx, new: &NewCompany<'_>) -> DbResult<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO company_profiles (name, address, vat_id, iban, bic, payment_terms_days, \
         footer, saved_at, saved_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.name)
    .bind(new.address)
    .bind(new.vat_id)
    .bind(new.iban)
    .bind(new.bic)
    .bind(new.payment_terms_days)
    .bind(new.footer)
    .bind(new.saved_at)
    .bind(new.saved_by)
    .fetch_one(c)
    .await)?)
}
