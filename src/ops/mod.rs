//! State-changing operations. Each is an [`Action`](crate::idempotency::Action): it performs
//! all its effects through the one transaction the idempotency engine hands it, and returns the
//! outcome to record. Domain rules come from `domain`, SQL from `db`.

mod confirm;
mod orders;
mod receipts;
mod users;

pub use confirm::{ConfirmOrder, ShortLine};
pub use orders::{AddLine, CreateOrder, RemoveLine};
pub use receipts::{ReceiveGoods, stock_path};
pub use users::{AddUser, DisableUser, USERS_PATH};

/// Where the receipt of an order lives.
pub fn confirmation_path(order_id: i64) -> String {
    format!("/orders/{order_id}/confirmation")
}

pub fn order_path(order_id: i64) -> String {
    format!("/orders/{order_id}")
}
