//! Order-line quantities: whole units from 1 to 1,000,000.

use rust_decimal::Decimal;
use std::fmt;

/// A quantity on an order line. Private field: the only way in is [`Quantity::parse`]
/// or [`Quantity::new`], so every value in the program is within range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("enter a whole number of units")]
    NotANumber,
    #[error("quantities are whole units")]
    Fractional,
    #[error("the quantity must be at least 1")]
    TooSmall,
    #[error("the quantity can be at most 1,000,000")]
    TooLarge,
}

impl Quantity {
    pub const MAX: i64 = 1_000_000;

    pub fn new(units: i64) -> Result<Self, QuantityError> {
        if units < 1 {
            Err(QuantityError::TooSmall)
        } else if units > Self::MAX {
            Err(QuantityError::TooLarge)
        } else {
            Ok(Quantity(units))
        }
    }

    /// Parse what a person typed. `3`, ` 3 `, `3.0` and `3.00` are three units; `3.5` is refused.
    pub fn parse(input: &str) -> Result<Self, QuantityError> {
        let Some(cleaned) = super::money::ungroup(input.trim()) else {
            return Err(QuantityError::NotANumber);
        };
        if !super::money::plain_decimal(&cleaned) {
            return Err(QuantityError::NotANumber);
        }
        let value: Decimal = cleaned.parse().map_err(|_| QuantityError::NotANumber)?;
        if !value.fract().is_zero() {
            return Err(QuantityError::Fractional);
        }
        let units = i64::try_from(value.trunc()).map_err(|_| QuantityError::TooLarge)?;
        Self::new(units)
    }

    pub fn units(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_whole_units_in_range() {
        assert_eq!(Quantity::parse("1").unwrap().units(), 1);
        assert_eq!(Quantity::parse(" 42 ").unwrap().units(), 42);
        assert_eq!(Quantity::parse("3.00").unwrap().units(), 3);
        assert_eq!(Quantity::parse("1,000,000").unwrap().units(), 1_000_000);
        // A comma that is not a thousands separator is refused, never dropped.
        assert_eq!(Quantity::parse("1,5"), Err(QuantityError::NotANumber));
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(Quantity::parse("0"), Err(QuantityError::TooSmall));
        assert_eq!(Quantity::parse("-3"), Err(QuantityError::TooSmall));
        assert_eq!(Quantity::parse("1000001"), Err(QuantityError::TooLarge));
        assert_eq!(Quantity::parse("2.5"), Err(QuantityError::Fractional));
        assert_eq!(Quantity::parse(""), Err(QuantityError::NotANumber));
        assert_eq!(Quantity::parse("ten"), Err(QuantityError::NotANumber));
        assert_eq!(Quantity::parse("1e3"), Err(QuantityError::NotANumber));
        assert_eq!(
            Quantity::parse("99999999999999999999999"),
            Err(QuantityError::TooLarge)
        );
    }
}
