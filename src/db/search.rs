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
use std::sync::Arc;

use super::{Backend, Db, DbResult};
use crate::domain::Sku;

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

/// The columns of [`ProductRow`], qualified, and the branch a row came from (0: its SKU
/// starts with the text, 1: it contains the text).
macro_rules! product_columns {
    ($branch:literal) => {
        concat!(
            "SELECT p.id, p.sku, p.name, p.unit_price_cents, p.tax_rate_bp, p.stock_on_hand, \
                    p.reorder_level, p.active, ",
            $branch,
            " AS branch FROM products p "
        )
    };
}

// The picker's search, in two branches of one statement, as an order clerk used to Odoo expects
// (its product search also puts the code first):
// - 0: active products whose SKU starts with the text (a SKU fragment, upper-cased), the first
//   `$5` by SKU, walked from the SKU index: what a clerk who knows the code types comes first;
// - 1: active products whose SKU or name contains the text: the first `$2` found in the
//   index's own order (product id), of which the first `$5` by SKU.
// Branch 1 stops after `$2` matches instead of collecting and sorting every match: a word every
// product has ("paper" in a paper shop) reads `$2` rows, not the catalogue. Past `$2` matches
// the rows shown are therefore the SKU-prefix matches and then, by SKU, matches among the first
// found; the clerk types more to narrow them. Whether one, several or none match is exact.
// Only the rows shown leave the database (on SQLite each row is a hand-off between threads).
//
// `$1` is the needle, `$2` the number found, `$3` and `$4` the SKU range ('' and '' when the
// text cannot start a SKU: an empty range), `$5` the number shown.
const PRODUCTS_SQLITE: &str = concat!(
    "SELECT * FROM (",
    product_columns!("0"),
    "WHERE p.sku >= $3 AND p.sku < $4 AND p.active ORDER BY p.sku LIMIT $5) \
     UNION ALL SELECT * FROM (SELECT * FROM (",
    product_columns!("1"),
    "JOIN product_search s ON s.rowid = p.id \
     WHERE product_search MATCH $1 AND p.active LIMIT $2) ORDER BY sku LIMIT $5)"
);
// `COLLATE "C"`: SKUs are upper-case ASCII, and the range is a byte range whatever the
// database's collation (migration 0008 indexes it). `$6` is the word of the text that the
// trigram index is asked for (see [`SearchSample`]); the whole text is then checked with
// `strpos`, which the index cannot answer, so that the planner asks the index for `$6` alone.
const PRODUCTS_POSTGRES: &str = concat!(
    "(",
    product_columns!("0"),
    "WHERE p.sku COLLATE \"C\" >= $3 AND p.sku COLLATE \"C\" < $4 AND p.active \
     ORDER BY p.sku COLLATE \"C\" LIMIT $5) UNION ALL (SELECT * FROM (",
    product_columns!("1"),
    "WHERE p.active AND orderdesk_fold(p.sku || ' ' || p.name) LIKE '%' || orderdesk_fold($6) || '%' \
       AND strpos(orderdesk_fold(p.sku || ' ' || p.name), orderdesk_fold($1)) > 0 \
     LIMIT $2) f ORDER BY sku LIMIT $5)"
);

// The sample that ANALYZE keeps of the indexed search expression (the planner's own statistics,
// about 100 values), from which [`SearchSample::index_word`] judges which word of a text the
// fewest products contain.
const SAMPLE_POSTGRES: &str = "SELECT v FROM pg_stats s, unnest(s.histogram_bounds::text::text[]) AS v \
     WHERE s.schemaname = current_schema() AND s.tablename = 'products_search'";

/// How long a server keeps the sample before it reads it again.
const SAMPLE_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// How many matches branch 1 of the product search reads before it stops.
const FOUND: i64 = 50;

/// The SKU range `[from, to)` of the SKUs that start with `q`, or an empty range when `q`
/// cannot start a SKU (a space, an accent). A SKU's start is SKU-shaped itself, and SKUs are
/// upper-case ASCII letters, digits, `-`, `_` and `.`, all below `~`.
fn sku_range(q: &str) -> (String, String) {
    match Sku::parse(q) {
        Ok(sku) => {
            let to = format!("{}~", sku.as_str());
            (sku.as_str().to_string(), to)
        }
        Err(_) => (String::new(), String::new()),
    }
}

/// One row of the product search and the branch that found it.
#[derive(sqlx::FromRow)]
struct Found {
    #[sqlx(flatten)]
    product: ProductRow,
    branch: i32,
}

/// The SKU-prefix matches by SKU, then the other matches by SKU, each product once, at most
/// `limit`.
fn ranked(mut found: Vec<Found>, limit: i64) -> Vec<ProductRow> {
    found.sort_by(|a, b| (a.branch, &a.product.sku).cmp(&(b.branch, &b.product.sku)));
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|f| seen.insert(f.product.id))
        .map(|f| f.product)
        .take(usize::try_from(limit).unwrap_or(0))
        .collect()
}

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
    /// Active products whose SKU or name contains `q` (case- and accent-insensitive), at most
    /// `limit`: those whose SKU starts with `q` first, then the others, each group by SKU
    /// (see [`PRODUCTS_SQLITE`] for which are shown when many match). What an order line may be
    /// added with. Empty for a text of fewer than three characters.
    pub async fn search_active_products(&self, q: &str, limit: i64) -> DbResult<Vec<ProductRow>> {
        let needle = Needle::new(self.backend(), q);
        if !needle.indexed {
            return Ok(Vec::new());
        }
        let (from, to) = sku_range(q);
        let found = match &self.pools {
            // SQLite's plan does not depend on the values, so the statement is kept (parsing it
            // again cost more than running it). FTS5 seeks within its lists by itself.
            super::Pools::Sqlite { read, .. } => {
                sqlx::query_as::<_, Found>(PRODUCTS_SQLITE)
                    .bind(&needle.value)
                    .bind(FOUND.max(limit))
                    .bind(&from)
                    .bind(&to)
                    .bind(limit)
                    .fetch_all(read)
                    .await?
            }
            // Not a kept prepared statement: PostgreSQL then plans each search for its text (a
            // word every product has reads the table in order and stops, a rare one asks the
            // trigram index), where a generic plan would take one of them for every text.
            super::Pools::Postgres(pool) => {
                let word = self.search_sample.index_word(pool, &needle).await?;
                sqlx::query_as::<_, Found>(PRODUCTS_POSTGRES)
                    .bind(&needle.value)
                    .bind(FOUND.max(limit))
                    .bind(&from)
                    .bind(&to)
                    .bind(limit)
                    .bind(word.as_deref().unwrap_or(&needle.value))
                    .persistent(false)
                    .fetch_all(pool)
                    .await?
            }
        };
        Ok(ranked(found, limit))
    }
}

/// Which word of a PostgreSQL search text to ask the trigram index for.
///
/// A trigram index reads every posting list of the pattern it is given: for "product 4751" in a
/// catalogue where every name says "product", that is the lists of "pro", "rod", ... (100,000
/// entries each) to find 11 rows; asked for "4751" alone it reads two short lists (measured:
/// 2.5 ms and 229 index pages, against 0.24 ms and 5). Of the words, the one that the fewest
/// values of the planner's sample contain is taken, the longest among equals. The choice only
/// decides what the index is asked; every row is still checked against the whole text, so a
/// poor choice (no statistics yet, a fold that differs from `orderdesk_fold` for a rare letter)
/// is slower, never wrong. The sample is read at most once a minute per server.
#[derive(Debug, Default)]
pub(crate) struct SearchSample(std::sync::Mutex<Option<(std::time::Instant, Arc<[String]>)>>);

impl SearchSample {
    async fn index_word(&self, pool: &sqlx::PgPool, needle: &Needle) -> DbResult<Option<String>> {
        let words = words(&needle.value);
        if words.len() < 2 {
            return Ok(None);
        }
        let kept = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .filter(|(at, _)| at.elapsed() < SAMPLE_AGE);
        let sample = match kept {
            Some((_, sample)) => sample,
            None => {
                let read: Vec<String> = sqlx::query_scalar(SAMPLE_POSTGRES).fetch_all(pool).await?;
                let sample: Arc<[String]> = read.into();
                *self
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) =
                    Some((std::time::Instant::now(), Arc::clone(&sample)));
                sample
            }
        };
        Ok(rarest(&words, &sample))
    }
}

/// The words of a PostgreSQL needle (lower case already) that a trigram index can answer alone
/// (three characters or more).
fn words(value: &str) -> Vec<&str> {
    value
        .split_whitespace()
        .filter(|w| w.chars().count() >= 3)
        .collect()
}

/// The word that the fewest values of `sample` contain (folded), the longest among equals.
fn rarest(words: &[&str], sample: &[String]) -> Option<String> {
    words
        .iter()
        .min_by_key(|w| {
            let w = fold(w);
            let count = sample.iter().filter(|v| v.contains(&w)).count();
            (count, std::cmp::Reverse(w.chars().count()))
        })
        .map(|w| (*w).to_string())
}

/// Lower case without accents, as `orderdesk_fold` (unaccent) does for the letters of Western
/// languages: decomposed, combining marks dropped.
fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
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

    #[test]
    fn sku_ranges_cover_exactly_the_skus_a_text_starts() {
        let (from, to) = sku_range(" bench-00 ");
        assert_eq!((from.as_str(), to.as_str()), ("BENCH-00", "BENCH-00~"));
        for sku in [
            "BENCH-00",
            "BENCH-001",
            "BENCH-00_X",
            "BENCH-00.Z",
            "BENCH-00ZZ",
        ] {
            assert!(from.as_str() <= sku && sku < to.as_str(), "{sku}");
        }
        for sku in ["BENCH-0", "BENCH-01", "BENCH-"] {
            assert!(!(from.as_str() <= sku && sku < to.as_str()), "{sku}");
        }
        // A text that no SKU can start with gives an empty range.
        for text in ["paper a4", "müller", ""] {
            let (from, to) = sku_range(text);
            assert!(from >= to, "{text}");
        }
    }

    fn found(id: i64, sku: &str, branch: i32) -> Found {
        Found {
            product: ProductRow {
                id,
                sku: sku.into(),
                name: String::new(),
                unit_price_cents: 0,
                tax_rate_bp: 0,
                stock_on_hand: 0,
                reorder_level: 0,
                active: true,
            },
            branch,
        }
    }

    #[test]
    fn sku_prefix_matches_come_first_each_product_once() {
        let rows = ranked(
            vec![
                found(3, "XPAPER", 1),
                found(2, "PAPER-A4", 1),
                found(2, "PAPER-A4", 0),
                found(1, "PAPER", 0),
                found(4, "APAPER", 1),
            ],
            4,
        );
        let skus: Vec<&str> = rows.iter().map(|p| p.sku.as_str()).collect();
        assert_eq!(skus, ["PAPER", "PAPER-A4", "APAPER", "XPAPER"]);
        assert_eq!(ranked(vec![found(1, "A", 1), found(2, "B", 1)], 1).len(), 1);
    }

    #[test]
    fn the_index_is_asked_for_the_word_the_fewest_sampled_values_contain() {
        let sample: Vec<String> = (1..=100)
            .map(|i| format!("bench-{i:07} bench product {}", i * 997))
            .collect();
        let rarest_of = |t: &str, sample: &[String]| {
            let needle = Needle::new(Backend::Postgres, t);
            rarest(&words(&needle.value), sample)
        };
        assert_eq!(rarest_of("product 4751", &sample).as_deref(), Some("4751"));
        // Accents are folded for the count: "prödüct" is as common as "product".
        assert_eq!(rarest_of("Prödüct 4751", &sample).as_deref(), Some("4751"));
        // Without a sample (no ANALYZE yet) the longest word is taken.
        assert_eq!(
            rarest_of("ab product 4751", &[]).as_deref(),
            Some("product")
        );
        assert_eq!(fold("Müller ÉTÉ"), "muller ete");
    }
}
