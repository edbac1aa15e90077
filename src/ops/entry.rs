//! Finding the product a clerk means from what they typed on the add-line form: an exact SKU,
//! or a part of a SKU or name that only one active product has.

use crate::db::Db;
use crate::db::products::ProductRow;
use crate::domain::Sku;
use crate::error::Result;

/// The most products a choice list or the picker offers; a clerk types more to narrow it.
pub const CHOICES: i64 = 10;

/// What the typed text names.
#[derive(Debug, Clone)]
pub enum ProductPick {
    /// One product: an exact SKU (active or not: the action says why an inactive or unknown
    /// one cannot go on a line), or the only active product matching the text.
    One(Sku),
    /// Several active products match: the clerk chooses (at most [`CHOICES`] are listed).
    Several(Vec<ProductRow>),
    /// Nothing matches, and the text is no SKU either.
    Nothing,
}

/// Resolve `text` to a product. An exact SKU always wins (so "A4" is the product A4 even when
/// "A4-BOX" exists); otherwise the text is searched in the SKU and name of active products,
/// case- and accent-insensitively. The JSON API does not use this: it takes exact SKUs only,
/// since a program should not depend on what else happens to be in the catalogue.
pub async fn pick_product(db: &Db, text: &str) -> Result<ProductPick> {
    let sku = Sku::parse(text).ok();
    if let Some(sku) = &sku
        && db.find_product_by_sku(sku.as_str()).await?.is_some()
    {
        return Ok(ProductPick::One(sku.clone()));
    }
    let mut found = db.search_active_products(text, CHOICES + 1).await?;
    Ok(match found.len() {
        0 => sku.map_or(ProductPick::Nothing, ProductPick::One),
        1 => match Sku::parse(&found.remove(0).sku) {
            Ok(sku) => ProductPick::One(sku),
            Err(_) => ProductPick::Nothing,
        },
        _ => ProductPick::Several(found),
    })
}
