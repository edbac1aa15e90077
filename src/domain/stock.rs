//! Stock availability: which lines of an order the stock on hand cannot cover.

use std::collections::BTreeMap;

/// A product an order asks for more of than is on hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: i64,
    pub requested: i64,
    pub available: i64,
}

/// A product an order asks for more of than is on hand, as the clerk or the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLine {
    pub sku: String,
    pub name: String,
    pub requested: i64,
    pub available: i64,
}

/// Sums the demand per product (the same product on two lines counts once, summed) and
/// returns it in ascending product id, the order in which rows are locked and updated.
pub fn demand_by_product(lines: impl IntoIterator<Item = (i64, i64)>) -> BTreeMap<i64, i64> {
    let mut demand = BTreeMap::new();
    for (product_id, qty) in lines {
        *demand.entry(product_id).or_insert(0) += qty;
    }
    demand
}

/// Every product whose summed demand exceeds what is on hand, in ascending product id.
pub fn shortages(demand: &BTreeMap<i64, i64>, on_hand: &BTreeMap<i64, i64>) -> Vec<Shortage> {
    demand
        .iter()
        .filter_map(|(&product_id, &requested)| {
            let available = on_hand.get(&product_id).copied().unwrap_or(0);
            (requested > available).then_some(Shortage {
                product_id,
                requested,
                available,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_repeated_products_and_finds_every_short_line() {
        let demand = demand_by_product([(2, 3), (1, 5), (2, 4), (3, 1)]);
        assert_eq!(
            demand.into_iter().collect::<Vec<_>>(),
            vec![(1, 5), (2, 7), (3, 1)]
        );
        let demand = demand_by_product([(2, 3), (1, 5), (2, 4), (3, 1)]);
        let on_hand = BTreeMap::from([(1, 5), (2, 6), (3, 0)]);
        let short = shortages(&demand, &on_hand);
        assert_eq!(
            short,
            vec![
                Shortage {
                    product_id: 2,
                    requested: 7,
                    available: 6
                },
                Shortage {
                    product_id: 3,
                    requested: 1,
                    available: 0
                },
            ]
        );
    }

    #[test]
    fn exact_stock_is_enough() {
        let demand = demand_by_product([(1, 5)]);
        assert!(shortages(&demand, &BTreeMap::from([(1, 5)])).is_empty());
    }
}
