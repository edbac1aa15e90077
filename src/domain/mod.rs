//! Pure domain values and rules: no web framework and no database in here.
//!
//! Every value a person types is parsed once, at the edge, into one of these types.

mod invoice;
mod invoice_number;
mod money;
mod quantity;
mod role;
mod sku;
mod stock;

pub use invoice::{LineAmounts, PricedLine, RateTotal, Totals, totals};
pub use invoice_number::{InvoiceNumber, InvoiceNumberError, Series};
pub use money::{Money, MoneyError, TaxRate, group_thousands};
pub use quantity::{Quantity, QuantityError};
pub use role::{NewPassword, PasswordError, Permission, Role, Username, UsernameError};
pub use sku::{Sku, SkuError};
pub use stock::{Shortage, demand_by_product, shortages};

/// The lifecycle of a sales order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Draft,
    Confirmed,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Draft => "draft",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// From the stored text; unknown text is a corrupt row, treated as cancelled (inert).
    pub fn from_db(s: &str) -> Self {
        match s {
            "draft" => OrderStatus::Draft,
            "confirmed" => OrderStatus::Confirmed,
            _ => OrderStatus::Cancelled,
        }
    }

    /// Only drafts take new lines, lose lines, or get confirmed.
    pub fn is_editable(self) -> bool {
        self == OrderStatus::Draft
    }
}
