//! Stock-keeping unit codes.

use std::fmt;

/// A product's SKU: 1 to 40 characters of ASCII letters, digits, `-`, `_` and `.`,
/// upper-cased, so it is safe in a URL path (`/stock/{sku}`) and unambiguous on paper.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sku(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkuError {
    #[error("enter a SKU")]
    Empty,
    #[error("a SKU has at most 40 characters")]
    TooLong,
    #[error("a SKU uses only letters A-Z, digits, '-', '_' and '.'")]
    BadCharacter,
}

impl Sku {
    pub fn parse(input: &str) -> Result<Self, SkuError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(SkuError::Empty);
        }
        if s.len() > 40 {
            return Err(SkuError::TooLong);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(SkuError::BadCharacter);
        }
        Ok(Sku(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses() {
        assert_eq!(Sku::parse(" ab-12.x ").unwrap().as_str(), "AB-12.X");
        assert_eq!(Sku::parse(""), Err(SkuError::Empty));
        assert_eq!(Sku::parse(&"A".repeat(41)), Err(SkuError::TooLong));
        assert_eq!(Sku::parse("A/B"), Err(SkuError::BadCharacter));
        assert_eq!(Sku::parse("<script>"), Err(SkuError::BadCharacter));
    }
}
