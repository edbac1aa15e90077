//! Customer codes.

use std::fmt;

/// A customer's code: 1 to 20 characters of ASCII letters, digits, `-`, `_` and `.`,
/// upper-cased. It names the customer in addresses (`/customers/{code}/edit`), on documents
/// and in the API, so it never changes once given and is never given twice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomerCodeError {
    #[error("enter a customer code")]
    Empty,
    #[error("a customer code has at most 20 characters")]
    TooLong,
    #[error("a customer code uses only letters A-Z, digits, '-', '_' and '.'")]
    BadCharacter,
}

impl CustomerCode {
    pub fn parse(input: &str) -> Result<Self, CustomerCodeError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(CustomerCodeError::Empty);
        }
        if s.len() > 20 {
            return Err(CustomerCodeError::TooLong);
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(CustomerCodeError::BadCharacter);
        }
        Ok(CustomerCode(s.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(CustomerCode::parse(" c-1001 ").unwrap().as_str(), "C-1001");
        assert_eq!(CustomerCode::parse(""), Err(CustomerCodeError::Empty));
        assert_eq!(
            CustomerCode::parse(&"X".repeat(21)),
            Err(CustomerCodeError::TooLong)
        );
        assert_eq!(
            CustomerCode::parse("C 1"),
            Err(CustomerCodeError::BadCharacter)
        );
        assert_eq!(
            CustomerCode::parse("C/1"),
            Err(CustomerCodeError::BadCharacter)
        );
    }
}
