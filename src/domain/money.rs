//! Money and tax rates: exact decimal amounts, stored as integer minor units (cents).

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;

/// An amount of money in the configured currency, always held at two decimals.
///
/// Stored in the database as integer cents (exact on SQLite and PostgreSQL alike);
/// converted to `Decimal` here, at the edge, and never touched by floating point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(Decimal);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("enter an amount such as 12.50")]
    NotANumber,
    #[error("use a point for decimals, such as 12.50; a comma only separates thousands (1,234.50)")]
    DecimalComma,
    #[error("amounts have at most two decimals")]
    TooPrecise,
    #[error("amounts cannot be negative")]
    Negative,
    #[error("that amount is too large")]
    TooLarge,
}

/// Largest unit price accepted: a billion in the major unit keeps every order total far
/// below the i64 cent range even at the maximum quantity.
const MAX_PRICE_CENTS: i64 = 100_000_000_000;

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// From integer minor units as stored.
    pub fn from_cents(cents: i64) -> Self {
        Money(Decimal::new(cents, 2))
    }

    /// Integer minor units for storage.
    pub fn cents(self) -> i64 {
        let scaled = self.0 * Decimal::ONE_HUNDRED;
        // Always two decimals by construction, so the scaled value is integral.
        i64::try_from(scaled.trunc()).unwrap_or(i64::MAX)
    }

    /// Parse a price typed by a person: `12`, `12.5`, `12.50`, `1,234.50`; no negative, at most
    /// two decimals. A comma is read only as a thousands separator in well-formed groups:
    /// `12,50` is refused with a message rather than read as 1,250 or as 12.50 by guesswork.
    pub fn parse_price(input: &str) -> Result<Self, MoneyError> {
        let trimmed = match ungroup(input.trim()) {
            Some(t) => t,
            None => return Err(MoneyError::DecimalComma),
        };
        if !plain_decimal(&trimmed) {
            return Err(MoneyError::NotANumber);
        }
        let value: Decimal = trimmed.parse().map_err(|_| MoneyError::NotANumber)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        if value.normalize().scale() > 2 {
            return Err(MoneyError::TooPrecise);
        }
        let money = Money::round(value);
        if money.cents() > MAX_PRICE_CENTS {
            return Err(MoneyError::TooLarge);
        }
        Ok(money)
    }

    /// Round any decimal to cents, half away from zero (the invoicing rule).
    pub fn round(value: Decimal) -> Self {
        let mut rounded = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(2);
        Money(rounded)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// `1234.50`: the exact decimal, always two places, no grouping: how machines read it.
    pub fn plain(self) -> String {
        self.0.to_string()
    }

    /// `1,234.50`: grouped thousands, always two decimals, no currency.
    pub fn grouped(self) -> String {
        let cents = self.cents();
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.unsigned_abs();
        let grouped = group_thousands(&(abs / 100).to_string());
        format!("{sign}{grouped}.{:02}", abs % 100)
    }
}

/// `1234567` as `1,234,567`: digits grouped in threes for reading.
pub fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Digits with at most one decimal point and an optional leading minus: what people type,
/// and nothing that `Decimal` would also accept (exponents, `+`, spaces).
/// `s` without its thousands separators, or `None` when a comma stands anywhere but between
/// groups of three digits before the decimal point (`1,234.5` is fine, `12,50` and `1,2` not).
pub(super) fn ungroup(s: &str) -> Option<String> {
    if !s.contains(',') {
        return Some(s.to_string());
    }
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let whole = unsigned.split('.').next().unwrap_or("");
    let mut groups = whole.split(',');
    let first = groups.next().unwrap_or("");
    let first_ok = (1..=3).contains(&first.len()) && first.bytes().all(|b| b.is_ascii_digit());
    let rest_ok = groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
    let after_point = unsigned.get(whole.len()..).unwrap_or("");
    (first_ok && rest_ok && !after_point.contains(',')).then(|| s.replace(',', ""))
}

pub(super) fn plain_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty()
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxRateError {
    #[error("enter a rate in percent, such as 20 or 7.7")]
    NotANumber,
    #[error("use a point for decimals, such as 7.7")]
    DecimalComma,
    #[error("a rate has at most two decimals")]
    TooPrecise,
    #[error("a rate is between 0 and 100 percent")]
    OutOfRange,
}

/// A tax rate in basis points (2000 = 20%), exact and integer in storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaxRate(u32);

impl TaxRate {
    pub const ZERO: TaxRate = TaxRate(0);

    /// From basis points; rates above 100% are refused.
    pub fn from_basis_points(bp: i64) -> Option<Self> {
        u32::try_from(bp)
            .ok()
            .filter(|bp| *bp <= 10_000)
            .map(TaxRate)
    }

    pub fn basis_points(self) -> i64 {
        i64::from(self.0)
    }

    /// Parse a rate typed by a person in percent: `20`, `7.7`, `7.70`, `0`; at most two
    /// decimals (a basis point), from 0 to 100. A decimal comma is refused with a message, as
    /// for prices.
    pub fn parse_percent(input: &str) -> Result<Self, TaxRateError> {
        let t = input.trim().trim_end_matches('%').trim_end();
        if t.contains(',') {
            return Err(TaxRateError::DecimalComma);
        }
        if !plain_decimal(t) {
            return Err(TaxRateError::NotANumber);
        }
        let value: Decimal = t.parse().map_err(|_| TaxRateError::NotANumber)?;
        if value.normalize().scale() > 2 {
            return Err(TaxRateError::TooPrecise);
        }
        let bp = value * Decimal::ONE_HUNDRED;
        i64::try_from(bp.trunc())
            .ok()
            .and_then(TaxRate::from_basis_points)
            .filter(|_| !value.is_sign_negative() || value.is_zero())
            .ok_or(TaxRateError::OutOfRange)
    }

    /// The rate in percent, exact: 2000 bp is 20.00, 770 bp is 7.70.
    pub fn percent(self) -> Decimal {
        Decimal::new(i64::from(self.0), 2)
    }

    /// The rate as a fraction: 2000 bp is 0.20.
    pub fn fraction(self) -> Decimal {
        Decimal::new(i64::from(self.0), 4)
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let percent = Decimal::new(i64::from(self.0), 2).normalize();
        write!(f, "{percent}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(Money::round(Decimal::new(1005, 3)).cents(), 101);
        assert_eq!(Money::round(Decimal::new(1004, 3)).cents(), 100);
        assert_eq!(Money::round(Decimal::new(-1005, 3)).cents(), -101);
        assert_eq!(Money::round(Decimal::new(5, 3)).cents(), 1);
        assert_eq!(Money::round(Decimal::new(4999, 3)).cents(), 500);
    }

    #[test]
    fn parses_prices_people_type() {
        assert_eq!(Money::parse_price("12").unwrap().cents(), 1200);
        assert_eq!(Money::parse_price(" 12.5 ").unwrap().cents(), 1250);
        assert_eq!(Money::parse_price("1,234.50").unwrap().cents(), 123450);
        assert_eq!(Money::parse_price("1,234,567").unwrap().cents(), 123456700);
        // A decimal comma is refused, never guessed at.
        for bad in [
            "12,50", "12,5", "1,2", "1,23,4", ",5", "1.234,5", "1,234,56",
        ] {
            assert_eq!(
                Money::parse_price(bad),
                Err(MoneyError::DecimalComma),
                "{bad}"
            );
        }
        assert_eq!(
            Money::parse_price("0.10").unwrap(),
            Money::parse_price("0.1").unwrap()
        );
        assert_eq!(Money::parse_price("1.234"), Err(MoneyError::TooPrecise));
        assert_eq!(Money::parse_price("-1"), Err(MoneyError::Negative));
        assert_eq!(Money::parse_price("abc"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse_price("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(
            Money::parse_price("99999999999999"),
            Err(MoneyError::TooLarge)
        );
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(Money::from_cents(0).grouped(), "0.00");
        assert_eq!(Money::from_cents(5).grouped(), "0.05");
        assert_eq!(Money::from_cents(123456789).grouped(), "1,234,567.89");
        assert_eq!(Money::from_cents(-100000).grouped(), "-1,000.00");
    }

    #[test]
    fn plain_and_percent_strings() {
        assert_eq!(Money::from_cents(123456).plain(), "1234.56");
        assert_eq!(Money::from_cents(-5).plain(), "-0.05");
        assert_eq!(Money::from_cents(0).plain(), "0.00");
        assert_eq!(Money::round(Decimal::new(1005, 3)).plain(), "1.01");
        let r = TaxRate::from_basis_points(770).unwrap();
        assert_eq!(r.percent().to_string(), "7.70");
        assert_eq!(TaxRate::ZERO.percent().to_string(), "0.00");
    }

    #[test]
    fn cents_round_trip() {
        for c in [0, 1, 99, 100, 12345, i64::from(i32::MAX)] {
            assert_eq!(Money::from_cents(c).cents(), c);
        }
    }

    #[test]
    fn tax_rates() {
        assert_eq!(TaxRate::from_basis_points(2000).unwrap().to_string(), "20%");
        assert_eq!(TaxRate::from_basis_points(770).unwrap().to_string(), "7.7%");
        assert_eq!(TaxRate::from_basis_points(0).unwrap().to_string(), "0%");
        assert!(TaxRate::from_basis_points(10_001).is_none());
        assert!(TaxRate::from_basis_points(-1).is_none());
    }

    #[test]
    fn tax_rates_people_type() {
        let bp = |s: &str| TaxRate::parse_percent(s).map(TaxRate::basis_points);
        assert_eq!(bp("20"), Ok(2000));
        assert_eq!(bp(" 7.7 "), Ok(770));
        assert_eq!(bp("7.70%"), Ok(770));
        assert_eq!(bp("0"), Ok(0));
        assert_eq!(bp("100"), Ok(10_000));
        assert_eq!(bp("7,7"), Err(TaxRateError::DecimalComma));
        assert_eq!(bp("7.775"), Err(TaxRateError::TooPrecise));
        assert_eq!(bp("101"), Err(TaxRateError::OutOfRange));
        assert_eq!(bp("-1"), Err(TaxRateError::OutOfRange));
        assert_eq!(bp("twenty"), Err(TaxRateError::NotANumber));
        assert_eq!(bp(""), Err(TaxRateError::NotANumber));
    }
}
