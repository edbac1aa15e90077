//! Substring search, case- and accent-insensitive ("muller" finds "Müller"), over products,
//! customers and order references: the product picker, the new-order customer list and the
//! order list.
//!
//! The SQL differs per backend and lives here, one constant per backend, so both stay side by
//! side. SQLite answers from FTS5 trigram tables (`remove_diacritics`), PostgreSQL from pg_trgm
//! GIN indexes over `orderdesk_fold(..)` (lower + unaccent); see migration 0007. Both need at
//! least three characters to use the index. Products are searched from three characters on
//! (a shorter text names a product only as its exact SKU, see `ops::entry`): one or two
//! characters would walk the whole catalogue for a rare pair. Customers and order references
//! (small, or searched by the list pages as before) take a shorter text as a plain
//! case-insensitive LIKE, which on SQLite does not fold accents.

use super::customers::like_pattern;
use super::products::ProductRow;
use super::{Backend, Db, DbResult, on_pool};

/// A search text as the query of one backend binds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Needle {
    /// The bound value: an FTS5 phrase, a LIKE pattern, or the bare text to fold.
    pub value: String,
    /// Whether the index can answer it (three characters or more).
    pub indexed: bool,
}

impl Needle {
    pub(crate) fn new(backend: Backend, q: &str) -> Needle {
        // LIKE's wildcards in the text are taken literally (dropped), as everywhere else.
        let text: String = q
            .trim()
            .chars()
            // Control characters (a NUL ends an FTS5 query early) are never part of a name.
            .filter(|c| !matches!(c, '%' | '_' | '\\') && !c.is_control())
            .collect();
        let indexed = text.chars().count() >= 3;
        let value = match (backend, indexed) {
            // An FTS5 string: the whole text is one phrase, so it matches as a substring;
            // a double quote inside is doubled.
            (Backend::Sqlite, true) => format!("\"{}\"", text.replace('"', "\"\"")),
            (Backend::Sqlite, false) => like_pattern(&text),
            (Backend::Postgres, _) => text.to_lowercase(),
        };
        Needle { value, indexed }
    }
}

/// The columns of [`ProductRow`], qualified.
macro_rules! product_columns {
    () => {
        "SELECT p.id, p.sku, p.name, p.unit_price_cents, p.tax_rate_bp, p.stock_on_hand, \
                p.reorder_level, p.active FROM products p "
    };
}

// A search sorts at most 1000 matches. A word every product has ("paper" in a paper shop)
// would otherwise sort the whole catalogue for ten lines: past 1000 matches the ten shown are
// the first by SKU among the first 1000 found (all true matches), and the clerk types more to
// narrow them. Whether one, several or none match is always exact.
const PRODUCTS_SQLITE_FTS: &str = concat!(
    product_columns!(),
    "WHERE p.active AND p.id IN (SELECT rowid FROM product_search WHERE product_search MATCH $1 \
     LIMIT 1000) ORDER BY p.sku LIMIT $2"
);
const PRODUCTS_POSTGRES: &str = concat!(
    "SELECT * FROM (",
    product_columns!(),
    "WHERE p.active AND orderdesk_fold(p.sku || ' ' || p.name) LIKE '%' || orderdesk_fold($1) || '%' \
     LIMIT 1000) p ORDER BY p.sku LIMIT $2"
);

/// The condition "customer `id` matches `$n`", per backend and needle, for the customer list
/// and the order search. `$n` is the needle's value.
pub(crate) fn customer_match(backend: Backend, needle: &Needle) -> &'static str {
    match (backend, needle.indexed) {
        (Backend::Sqlite, true) => {
            "id IN (SELECT rowid FROM customer_search WHERE customer_search MATCH $N)"
        }
        (Backend::Sqlite, false) => "(LOWER(name) LIKE $N OR LOWER(code) LIKE $N)",
        (Backend::Postgres, _) => {
            "orderdesk_fold(code || ' ' || name) LIKE '%' || orderdesk_fold($N) || '%'"
        }
    }
}

/// The condition "order `o3` has a reference containing `$n`", per backend and needle.
pub(crate) fn reference_match(backend: Backend, needle: &Needle) -> &'static str {
    match (backend, needle.indexed) {
        (Backend::Sqlite, true) => {
            "o3.id IN (SELECT rowid FROM order_search WHERE order_search MATCH $N)"
        }
        (Backend::Sqlite, false) => "LOWER(o3.reference) LIKE $N",
        (Backend::Postgres, _) => {
            "orderdesk_fold(o3.reference) LIKE '%' || orderdesk_fold($N) || '%'"
        }
    }
}

impl Db {
    /// Active products whose SKU or name contains `q` (case- and accent-insensitive), by SKU,
    /// at most `limit`: what an order line may be added with. Empty for a text of fewer than
    /// three characters.
    pub async fn search_active_products(&self, q: &str, limit: i64) -> DbResult<Vec<ProductRow>> {
        let needle = Needle::new(self.backend(), q);
        if !needle.indexed {
            return Ok(Vec::new());
        }
        let sql = match self.backend() {
            Backend::Sqlite => PRODUCTS_SQLITE_FTS,
            Backend::Postgres => PRODUCTS_POSTGRES,
        };
        // Not a kept prepared statement: PostgreSQL then plans each search for its text (a word
        // every product has reads the table in order, a rare one asks the trigram index),
        // where a generic plan would take the index for every text.
        Ok(on_pool!(self, c => sqlx::query_as::<_, ProductRow>(sql)
            .bind(&needle.value)
            .bind(limit)
            .persistent(false)
            .fetch_all(c)
            .await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_per_backend() {
        let n = Needle::new(Backend::Sqlite, " Mül\"ler ");
        assert_eq!(n.value, "\"Mül\"\"ler\"");
        assert!(n.indexed);
        let n = Needle::new(Backend::Sqlite, "a%b");
        assert_eq!(n.value, "%ab%");
        assert!(!n.indexed);
        let n = Needle::new(Backend::Sqlite, "pa\0per\r");
        assert_eq!(n.value, "\"paper\"", "control characters are dropped");
        let n = Needle::new(Backend::Postgres, "MÜL_");
        assert_eq!(n.value, "mül");
        assert!(n.indexed);
    }
}
