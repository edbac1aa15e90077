//! State-changing operations of the core. Each is an [`Action`]: it names its idempotency scope
//! and the permission its actor needs, performs all its effects through the one transaction the
//! engine hands it, and returns what happened in domain terms (`Confirmed`, `LineAdded`, ...).
//! It builds no URL and no sentence for a person: the faces present the result. Domain rules
//! come from `domain`, SQL from `db`.

pub mod api_tokens;
pub mod cancel;
pub mod company;
pub mod confirm;
pub mod documents;
pub mod entry;
pub mod master;
pub mod orders;
pub mod receipts;
pub mod users;

pub use api_tokens::{ApiTokenCreated, CreateApiToken, RevokeApiToken};
pub use cancel::{CancelOrder, Cancellation};
pub use company::{CompanyDetails, CompanyForm, SaveCompany};
pub use confirm::{ConfirmOrder, Confirmation};
pub use master::{
    CreateCustomer, CreateProduct, CustomerDetails, ProductDetails, SetCustomerActive,
    SetProductActive, UpdateCustomer, UpdateProduct,
};
pub use orders::{
    AddLine, ChangeLine, CreateOrder, CustomerRef, LineAdded, LineChanged, LineRemoved, NewLine,
    OrderCreated, RemoveLine,
};
pub use receipts::{GoodsReceived, ReceiveGoods};
pub use users::{AddUser, DisableUser, SetPassword, UserAdded, UserDisabled, add_user};

use crate::db::Db;
use crate::domain::{Actor, Permission};
use crate::error::{Error, Result};
use crate::idempotency::Action;

/// Run `action` once in its own transaction, without an idempotency key: for the operator at
/// the command line, whose commands are not retried by a browser. The permission check is the
/// engine's.
pub async fn run_once<A: Action>(db: &Db, action: A) -> Result<A::Output> {
    require(action.actor(), A::PERMISSION)?;
    let mut tx = db.begin().await?;
    let output = action.apply(&mut tx).await?;
    tx.commit().await?;
    Ok(output)
}

/// Refuse unless `actor`'s role grants `p`: for actions whose requirement depends on the
/// state they find (cancelling a draft or an invoiced order).
pub fn require(actor: &Actor, p: Permission) -> Result<()> {
    if actor.role.can(p) {
        Ok(())
    } else {
        Err(Error::Forbidden {
            role: actor.role,
            permission: p,
        })
    }
}
