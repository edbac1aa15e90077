//! The product picker's search at catalogue scale: C clerks asking
//! `/orders/product-search?q=...` as the add-line form's script does, one row per kind of text.

use std::time::Instant;

use crate::scenarios::drive;
use crate::stats::summarize;
use crate::{Ctx, check, print_row};

/// The texts a clerk types, by kind: a part of a SKU that names one product, a part of a name
/// that matches a handful, a word every product has, three letters of it, and a text with an
/// accent the catalogue does not have.
fn text(kind: &str, i: usize, products: i64) -> String {
    let n = 1 + (i as i64 * 7919) % products.max(1);
    match kind {
        "sku part" => format!("{n:07}"),
        "name part" => format!("product {n}"),
        "common word" => "bench".to_string(),
        "three letters" => "nch".to_string(),
        _ => format!("prödüct {n}"),
    }
}

pub(crate) async fn search(ctx: &Ctx, requests: usize) -> Result<(), String> {
    let products = ctx.catalogue.products;
    // The catalogue was loaded in one statement: give the planner its statistics now, as
    // autovacuum would shortly after on a live server.
    ctx.bulk.analyze().await.map_err(|e| e.to_string())?;
    for kind in [
        "sku part",
        "name part",
        "common word",
        "three letters",
        "accented",
    ] {
        let (samples, wall) = drive(ctx, "search", requests, move |clerk, i| async move {
            let q = text(kind, i, products);
            let path = format!(
                "/orders/product-search?q={}",
                serde_urlencoded::to_string([("q", q.as_str())])
                    .map_err(|e| e.to_string())?
                    .trim_start_matches("q=")
            );
            let t = Instant::now();
            let res = clerk.get(&path).await?;
            let took = t.elapsed();
            if res.status != 200 || !res.body.starts_with('[') {
                return Err(format!("{path} answered {}: {}", res.status, res.body));
            }
            if kind == "sku part" && !res.body.contains("BENCH-") {
                return Err(format!("{path} found nothing"));
            }
            Ok(vec![took])
        })
        .await?;
        let s = summarize(samples, wall);
        print_row(
            ctx,
            &format!("search: {kind}"),
            &s,
            &format!(
                "{products} products; GET /orders/product-search?q={}",
                text(kind, 0, products)
            ),
        );
    }
    check(&ctx.db).await
}
