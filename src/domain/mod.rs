//! Pure domain values and rules: no web framework and no database in here.
//!
//! Every value a person types is parsed once, at the edge, into one of these types.

mod company;
mod customer;
mod invoice;
mod invoice_number;
mod money;
mod order;
mod quantity;
mod role;
mod sku;
mod stock;
mod zone;

pub use company::{Bic, BicError, Iban, IbanError, MAX_PAYMENT_TERMS, due_date, grouped};
pub use customer::{CustomerCode, CustomerCodeError};
pub use invoice::{LineAmounts, PricedLine, RateTotal, Totals, totals};
pub use invoice_number::{InvoiceNumber, InvoiceNumberError, Series};
pub use money::{Money, MoneyError, TaxRate, TaxRateError, group_thousands};
pub use order::OrderStatus;
pub use order::UnknownStatus;
pub use quantity::{Quantity, QuantityError};
pub use role::{
    Actor, NewPassword, PasswordError, Permission, Role, UnknownRole, Username, UsernameError,
};
pub use sku::{Sku, SkuError};
pub use stock::{ShortLine, Shortage, demand_by_product, shortages};
pub use zone::{UnknownZone, Zone};
