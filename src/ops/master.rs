//! Master data: customers and products, created and edited by admins, deactivated instead of
//! deleted. Codes and SKUs are given once and never change or get reused (documents and
//! bookmarks name them); a price change applies to lines priced from then on and is kept in
//! the product's price history; every change is audited with its old and new values.

use crate::db::audit::{self, AuditEvent};
use crate::db::customers::{self, CustomerRow, NewCustomer};
use crate::db::products::{self, NewProduct, ProductChange, ProductRow};
use crate::db::{DbError, Tx};
use crate::domain::{Actor, CustomerCode, Money, Permission, Sku, TaxRate};
use crate::error::{Error, Field, Invalid, Missing, Result};
use crate::idempotency::{Action, Scope};

/// Longest texts, in characters.
pub const MAX_NAME: usize = 120;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_VAT_ID: usize = 30;
/// The highest reorder level.
pub const MAX_REORDER_LEVEL: i64 = 1_000_000;

/// What a customer form says, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerDetails {
    pub name: String,
    pub address: String,
    pub vat_id: String,
}

/// What a product form says, parsed (the SKU aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDetails {
    pub name: String,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
    pub reorder_level: i64,
}

impl CustomerDetails {
    /// Trimmed, with every field's limit checked; the first refusal names its field.
    pub fn check(self) -> Result<Self> {
        let d = CustomerDetails {
            name: self.name.trim().to_string(),
            address: self.address.trim().replace("\r\n", "\n"),
            vat_id: self.vat_id.trim().to_string(),
        };
        text(Field::Name, &d.name, 1, MAX_NAME)?;
        text(Field::Address, &d.address, 0, MAX_ADDRESS)?;
        text(Field::VatId, &d.vat_id, 0, MAX_VAT_ID)?;
        Ok(d)
    }
}

impl ProductDetails {
    pub fn check(self) -> Result<Self> {
        let d = ProductDetails {
            name: self.name.trim().to_string(),
            ..self
        };
        text(Field::Name, &d.name, 1, MAX_NAME)?;
        if !(0..=MAX_REORDER_LEVEL).contains(&d.reorder_level) {
            let message = format!("a reorder level is between 0 and {MAX_REORDER_LEVEL}");
            return Err(Invalid::new(Field::ReorderLevel, message).into());
        }
        Ok(d)
    }
}

/// A text field's length, in characters, between `min` and `max`; the refusal names `field`.
pub(crate) fn text(field: Field, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min {
        return Err(Invalid::new(field, "this cannot be empty").into());
    }
    if n > max {
        return Err(Invalid::new(field, format!("at most {max} characters")).into());
    }
    Ok(())
}

/// `old -> new` for the audit trail, or nothing when the value did not change.
pub(crate) fn change(what: &str, old: &str, new: &str) -> Option<String> {
    (old != new).then(|| format!("{what} {old:?} -> {new:?}"))
}

async fn record(
    tx: &mut Tx,
    actor: &Actor,
    action: &str,
    entity: &str,
    id: &str,
    detail: String,
) -> Result<()> {
    let event = AuditEvent {
        actor: &actor.username,
        action,
        entity,
        entity_id: id.to_string(),
        detail,
    };
    Ok(audit::record(tx, &event, crate::db::now()).await?)
}

/// Add a customer.
#[derive(Debug, Clone)]
pub struct CreateCustomer {
    pub actor: Actor,
    pub code: CustomerCode,
    pub details: CustomerDetails,
}

impl CreateCustomer {
    pub fn scope_for() -> Scope {
        Scope::new("create-customer", "customers")
    }
}

impl Action for CreateCustomer {
    type Output = CustomerCode;
    const PERMISSION: Permission = Permission::ManageMasterData;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for()
    }

    async fn apply(self, tx: &mut Tx) -> Result<CustomerCode> {
        let d = self.details.check()?;
        let new = NewCustomer {
            code: self.code.as_str(),
            name: &d.name,
            address: &d.address,
            vat_id: &d.vat_id,
        };
        let id = customers::insert(tx, &new).await.map_err(|e| {
            taken(
                e,
                "customers.code",
                Field::Code,
                "customer code",
                self.code.as_str(),
            )
        })?;
        let detail = format!("{} {:?}", self.code, d.name);
        record(
            tx,
            &self.actor,
            "create-customer",
            "customer",
            &id.to_string(),
            detail,
        )
        .await?;
        Ok(self.code)
    }
}

/// A unique violation of `table_column` as the field error it is; anything else stays.
fn taken(e: DbError, table_column: &str, field: Field, what: &str, value: &str) -> Error {
    if e.is_unique(table_column) {
        Invalid::new(
            field,
            format!("a {what} {value} exists already; codes are never reused"),
        )
        .into()
    } else {
        e.into()
    }
}

async fn customer(tx: &mut Tx, code: &CustomerCode) -> Result<CustomerRow> {
    customers::find_by_code(tx, code.as_str())
        .await?
        .ok_or_else(|| Missing::Customer(code.to_string()).into())
}

/// Change a customer's name, address or VAT id. Documents already issued keep what they
/// copied; new ones take the new details.
#[derive(Debug, Clone)]
pub struct UpdateCustomer {
    pub actor: Actor,
    pub code: CustomerCode,
    pub details: CustomerDetails,
}

impl UpdateCustomer {
    pub fn scope_for(code: &CustomerCode) -> Scope {
        Scope::new("update-customer", format!("customer:{code}"))
    }
}

impl Action for UpdateCustomer {
    /// Whether anything changed.
    type Output = bool;
    const PERMISSION: Permission = Permission::ManageMasterData;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(&self.code)
    }

    async fn apply(self, tx: &mut Tx) -> Result<bool> {
        let d = self.details.check()?;
        let old = customer(tx, &self.code).await?;
        let changes: Vec<String> = [
            change("name", &old.name, &d.name),
            change("address", &old.address, &d.address),
            change("VAT id", &old.vat_id, &d.vat_id),
        ]
        .into_iter()
        .flatten()
        .collect();
        if changes.is_empty() {
            return Ok(false);
        }
        let new = NewCustomer {
            code: self.code.as_str(),
            name: &d.name,
            address: &d.address,
            vat_id: &d.vat_id,
        };
        customers::update(tx, old.id, &new).await?;
        let detail = format!("{}: {}", self.code, changes.join("; "));
        record(
            tx,
            &self.actor,
            "update-customer",
            "customer",
            &old.id.to_string(),
            detail,
        )
        .await?;
        Ok(true)
    }
}

/// Deactivate a customer (no new orders; every existing document stays) or reactivate it.
#[derive(Debug, Clone)]
pub struct SetCustomerActive {
    pub actor: Actor,
    pub code: CustomerCode,
    pub active: bool,
}

impl SetCustomerActive {
    pub fn scope_for(code: &CustomerCode) -> Scope {
        Scope::new("customer-active", format!("customer:{code}"))
    }
}

impl Action for SetCustomerActive {
    /// Whether it changed (false: it was so already).
    type Output = bool;
    const PERMISSION: Permission = Permission::ManageMasterData;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(&self.code)
    }

    async fn apply(self, tx: &mut Tx) -> Result<bool> {
        let c = customer(tx, &self.code).await?;
        let changed = customers::set_active(tx, c.id, self.active).await?;
        if changed {
            let action = if self.active {
                "reactivate-customer"
            } else {
                "deactivate-customer"
            };
            record(
                tx,
                &self.actor,
                action,
                "customer",
                &c.id.to_string(),
                self.code.to_string(),
            )
            .await?;
        }
        Ok(changed)
    }
}

/// Add a product. Its stock starts at zero: opening stock comes in as a goods receipt, so the
/// ledger explains every unit.
#[derive(Debug, Clone)]
pub struct CreateProduct {
    pub actor: Actor,
    pub sku: Sku,
    pub details: ProductDetails,
}

impl CreateProduct {
    pub fn scope_for() -> Scope {
        Scope::new("create-product", "products")
    }
}

impl Action for CreateProduct {
    type Output = Sku;
    const PERMISSION: Permission = Permission::ManageMasterData;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for()
    }

    async fn apply(self, tx: &mut Tx) -> Result<Sku> {
        let d = self.details.check()?;
        let new = NewProduct {
            sku: self.sku.as_str(),
            name: &d.name,
            unit_price_cents: d.unit_price.cents(),
            tax_rate_bp: d.tax_rate.basis_points(),
            opening_stock: 0,
            reorder_level: d.reorder_level,
        };
        let id = products::insert(tx, &new, &self.actor.username)
            .await
            .map_err(|e| {
                taken(
                    e,
                    "products.sku",
                    Field::Sku,
                    "product with SKU",
                    self.sku.as_str(),
                )
            })?;
        let detail = format!(
            "{} {:?} at {} net, tax {}, reorder at {}",
            self.sku, d.name, d.unit_price, d.tax_rate, d.reorder_level
        );
        record(
            tx,
            &self.actor,
            "create-product",
            "product",
            &id.to_string(),
            detail,
        )
        .await?;
        Ok(self.sku)
    }
}

async fn product(tx: &mut Tx, sku: &Sku) -> Result<ProductRow> {
    products::find_by_sku(tx, sku.as_str())
        .await?
        .ok_or_else(|| Missing::Product(sku.to_string()).into())
}

/// Change a product's name, price, tax rate or reorder level. A new price or rate applies to
/// lines priced from now on (drafts are priced when confirmed); issued documents keep theirs.
#[derive(Debug, Clone)]
pub struct UpdateProduct {
    pub actor: Actor,
    pub sku: Sku,
    pub details: ProductDetails,
}

impl UpdateProduct {
    pub fn scope_for(sku: &Sku) -> Scope {
        Scope::new("update-product", format!("product:{sku}"))
    }
}

impl Action for UpdateProduct {
    /// Whether anything changed.
    type Output = bool;
    const PERMISSION: Permission = Permission::ManageMasterData;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(&self.sku)
    }

    async fn apply(self, tx: &mut Tx) -> Result<bool> {
        let d = self.details.check()?;
        let old = product(tx, &self.sku).await?;
        let old_price = Money::from_cents(old.unit_price_cents);
        let old_rate = TaxRate::from_basis_points(old.tax_rate_bp)
            .ok_or_else(|| Error::Internal("stored tax rate out of range".into()))?;
        let changes: Vec<String> = [
            change("name", &old.name, &d.name),
            change("price", &old_price.to_string(), &d.unit_price.to_string()),
            change("tax", &old_rate.to_string(), &d.tax_rate.to_string()),
            change(
                "reorder level",
                &old.reorder_level.to_string(),
                &d.reorder_level.to_string(),
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if changes.is_empty() {
            return Ok(false);
        }
        let at = crate::db::now();
        let new = ProductChange {
            name: &d.name,
            unit_price_cents: d.unit_price.cents(),
            tax_rate_bp: d.tax_rate.basis_points(),
            reorder_level: d.reorder_level,
        };
        products::update(tx, old.id, &new).await?;
        if old_price != d.unit_price || old_rate != d.tax_rate {
            let (price, rate) = (new.unit_price_cents, new.tax_rate_bp);
            products::record_price(tx, old.id, price, rate, &self.actor.username, at).await?;
        }
        let detail = format!("{}: {}", self.sku, changes.join("; "));
        record(
            tx,
            &self.actor,
            "update-product",
            "product",
            &old.id.to_string(),
            detail,
        )
        .await?;
        Ok(true)
    }
}

/// Deactivate a product (on no new line; every existing document keeps it) or reactivate it.
#[derive(Debug, Clone)]
pub struct SetProductActive {
    pub actor: Actor,
    pub sku: Sku,
    pub active: bool,
}

impl SetProductActive {
    pub fn scope_for(sku: &Sku) -> Scope {
        Scope::new("product-active", format!("product:{sku}"))
    }
}

impl Action for SetProductActive {
    /// Whether it changed (false: it was so already).
    type Output = bool;
    const PERMISSION: Permission = Permission::ManageMasterData;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(&self.sku)
    }

    async fn apply(self, tx: &mut Tx) -> Result<bool> {
        let p = product(tx, &self.sku).await?;
        let changed = products::set_active(tx, p.id, self.active).await?;
        if changed {
            let action = if self.active {
                "reactivate-product"
            } else {
                "deactivate-product"
            };
            record(
                tx,
                &self.actor,
                action,
                "product",
                &p.id.to_string(),
                self.sku.to_string(),
            )
            .await?;
        }
        Ok(changed)
    }
}
