//! Invoice arithmetic: per-line rounding and totals, pure and exact.
//!
//! The rule (also in README): line net = quantity x unit price (exact, since prices have two
//! decimals); line tax = line net x rate, rounded half away from zero to cents; line gross =
//! net + tax. Invoice totals are sums of the rounded line figures, broken down per tax rate.

use super::{Money, Quantity, TaxRate};
use rust_decimal::Decimal;

/// One priced line as it goes onto an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub quantity: Quantity,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
}

/// The rounded figures of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
}

/// Totals for one tax rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateTotal {
    pub rate: TaxRate,
    pub net: Money,
    pub tax: Money,
}

/// The invoice's totals: sums of rounded lines, and the per-rate breakdown in ascending rate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    pub net: Money,
    pub tax: Money,
    pub gross: Money,
    pub by_rate: Vec<RateTotal>,
}

impl PricedLine {
    pub fn amounts(&self) -> LineAmounts {
        let net = Money::round(self.unit_price.amount() * Decimal::from(self.quantity.units()));
        let tax = Money::round(net.amount() * self.tax_rate.fraction());
        LineAmounts {
            net,
            tax,
            gross: net + tax,
        }
    }
}

/// Totals over already rounded line amounts.
pub fn totals<'a>(lines: impl IntoIterator<Item = (TaxRate, &'a LineAmounts)>) -> Totals {
    let mut t = Totals::default();
    for (rate, a) in lines {
        t.net = t.net + a.net;
        t.tax = t.tax + a.tax;
        t.gross = t.gross + a.gross;
        match t.by_rate.binary_search_by_key(&rate, |r| r.rate) {
            Ok(i) => {
                t.by_rate[i].net = t.by_rate[i].net + a.net;
                t.by_rate[i].tax = t.by_rate[i].tax + a.tax;
            }
            Err(i) => t.by_rate.insert(
                i,
                RateTotal {
                    rate,
                    net: a.net,
                    tax: a.tax,
                },
            ),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(qty: i64, price_cents: i64, rate_bp: i64) -> PricedLine {
        PricedLine {
            quantity: Quantity::new(qty).unwrap(),
            unit_price: Money::from_cents(price_cents),
            tax_rate: TaxRate::from_basis_points(rate_bp).unwrap(),
        }
    }

    #[test]
    fn half_cent_rounds_up() {
        // 0.05 x 10% = 0.005 -> 0.01 (half away from zero).
        let a = line(1, 5, 1000).amounts();
        assert_eq!((a.net.cents(), a.tax.cents(), a.gross.cents()), (5, 1, 6));
        // 0.04 x 10% = 0.004 -> 0.00.
        let a = line(1, 4, 1000).amounts();
        assert_eq!(a.tax.cents(), 0);
        // 0.15 x 19% = 0.0285 -> 0.03; 0.45 x 7.7% = 0.03465 -> 0.03.
        assert_eq!(line(1, 15, 1900).amounts().tax.cents(), 3);
        assert_eq!(line(1, 45, 770).amounts().tax.cents(), 3);
    }

    #[test]
    fn per_line_rounding_differs_from_rounding_the_sum() {
        // Three lines of 0.05 at 10%: each line's tax rounds to 0.01, total tax 0.03,
        // whereas rounding the sum (0.015) would give 0.02. The rule is per line.
        let lines: Vec<_> = (0..3).map(|_| line(1, 5, 1000)).collect();
        let amounts: Vec<_> = lines.iter().map(|l| (l.tax_rate, l.amounts())).collect();
        let t = totals(amounts.iter().map(|(r, a)| (*r, a)));
        assert_eq!(t.net.cents(), 15);
        assert_eq!(t.tax.cents(), 3);
        assert_eq!(t.gross.cents(), 18);
    }

    #[test]
    fn totals_are_sums_of_lines_with_breakdown() {
        let lines = [line(3, 1999, 2000), line(7, 333, 700), line(1, 1, 2000)];
        let amounts: Vec<_> = lines.iter().map(|l| (l.tax_rate, l.amounts())).collect();
        let t = totals(amounts.iter().map(|(r, a)| (*r, a)));
        let sum = |f: fn(&LineAmounts) -> Money| amounts.iter().map(|(_, a)| f(a)).sum::<Money>();
        assert_eq!(t.net, sum(|a| a.net));
        assert_eq!(t.tax, sum(|a| a.tax));
        assert_eq!(t.gross, t.net + t.tax);
        assert_eq!(t.by_rate.len(), 2);
        assert_eq!(t.by_rate[0].rate.basis_points(), 700);
        // 7 x 3.33 = 23.31; 23.31 x 7% = 1.6317 -> 1.63
        assert_eq!(t.by_rate[0].net.cents(), 2331);
        assert_eq!(t.by_rate[0].tax.cents(), 163);
        // 59.97 + 0.01 = 59.98 net at 20%; taxes 11.994 -> 11.99 and 0.002 -> 0.00
        assert_eq!(t.by_rate[1].net.cents(), 5998);
        assert_eq!(t.by_rate[1].tax.cents(), 1199);
    }

    #[test]
    fn large_quantities_stay_exact() {
        let a = line(1_000_000, 99_999_999, 2000).amounts();
        assert_eq!(a.net.cents(), 99_999_999_000_000);
        assert_eq!(a.tax.cents(), 19_999_999_800_000);
    }
}
