//! The lifecycle of a sales order.

use std::fmt;
use std::str::FromStr;

/// Where an order stands. Stored as its lower-case name; an unknown stored text is an error
/// when the row is read, never a silent default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Draft,
    Confirmed,
    Cancelled,
}

/// A status text that names no status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an order status (draft, confirmed or cancelled)")]
pub struct UnknownStatus(pub String);

impl OrderStatus {
    pub const ALL: [OrderStatus; 3] = [
        OrderStatus::Draft,
        OrderStatus::Confirmed,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Draft => "draft",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Only drafts take new lines, lose lines, or get confirmed.
    pub fn is_editable(self) -> bool {
        self == OrderStatus::Draft
    }
}

impl FromStr for OrderStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly_the_stored_names() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>(), Ok(s));
        }
        assert!("Draft".parse::<OrderStatus>().is_err());
        assert!("".parse::<OrderStatus>().is_err());
        assert!("shipped".parse::<OrderStatus>().is_err());
        assert!(OrderStatus::Draft.is_editable());
        assert!(!OrderStatus::Confirmed.is_editable());
    }
}
