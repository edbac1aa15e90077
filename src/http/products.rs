//! Products: the list (everyone who may see master data), and the forms that add, edit,
//! deactivate and reactivate one (admins), with the product's price history. The SKU is given
//! once and never changes; stock comes in through goods receipts, never typed in here.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::confirmation::rate;
use super::customers::{ActiveForm, active_field};
use super::error::{PageError, PageResult};
use super::extract::{Query, TokenForm, page_number};
use super::forms::{Refusal, Submission};
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::{
    Me, PAGE_SIZE, Pager, datetime, qs, render, render_status, sentence, units,
};
use crate::db::products::ProductFilter;
use crate::domain::{Money, Permission, Sku, TaxRate};
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::{CreateProduct, ProductDetails, SetProductActive, UpdateProduct};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list_products).post(create_product))
        .route("/products/new", get(new_product))
        .route(
            "/products/{sku}/edit",
            get(edit_product).post(update_product),
        )
        .route("/products/{sku}/active", post(set_product_active))
}

/// Where a product's record lives.
fn product_path(sku: &str) -> String {
    format!("/products/{sku}/edit")
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

pub struct ProductItem {
    pub sku: String,
    pub name: String,
    pub price: String,
    pub tax_rate: String,
    pub on_hand: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "products/list.html")]
pub struct ProductsPage {
    pub me: Option<Me>,
    pub can_edit: bool,
    pub q: String,
    pub products: Vec<ProductItem>,
    pub pager: Pager,
}

async fn list_products(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewMasterData)?;
    let page = page_number(query.page.as_deref())?;
    let filter = ProductFilter {
        q: query.q.clone(),
        low_only: false,
    };
    let mut rows = st
        .db
        .list_products(&filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let pager = Pager::new(page, rows.len(), |n| {
        format!("/products?q={}&page={n}", qs(&query.q))
    });
    rows.truncate(PAGE_SIZE as usize);
    let products = rows
        .into_iter()
        .map(|p| ProductItem {
            price: st.currency.cents(p.unit_price_cents),
            tax_rate: rate(p.tax_rate_bp),
            on_hand: units(p.stock_on_hand),
            sku: p.sku,
            name: p.name,
            active: p.active,
        })
        .collect();
    Ok(render(&ProductsPage {
        me: user.me(),
        can_edit: user.role.can(Permission::ManageMasterData),
        q: query.q,
        products,
        pager,
    }))
}

pub struct PriceItem {
    pub price: String,
    pub tax_rate: String,
    pub since: String,
    pub by: String,
}

/// The product form, new or existing, with what was typed and the errors beside the fields.
#[derive(Template, Default)]
#[template(path = "products/form.html")]
pub struct ProductPage {
    pub me: Option<Me>,
    pub currency: String,
    /// The SKU of the product being edited; `None` for a new one.
    pub editing: Option<String>,
    pub active: bool,
    pub on_hand: String,
    pub token: String,
    pub active_token: String,
    pub sku: String,
    pub name: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub reorder_level: String,
    pub sku_error: Option<String>,
    pub name_error: Option<String>,
    pub unit_price_error: Option<String>,
    pub tax_rate_error: Option<String>,
    pub reorder_level_error: Option<String>,
    pub prices: Vec<PriceItem>,
}

impl ProductPage {
    /// Put a refused field's message beside it; false when the field is not on this form.
    fn field_error(&mut self, field: Field, message: &str) -> bool {
        let slot = match field {
            Field::Sku => &mut self.sku_error,
            Field::Name => &mut self.name_error,
            Field::UnitPrice => &mut self.unit_price_error,
            Field::TaxRate => &mut self.tax_rate_error,
            Field::ReorderLevel => &mut self.reorder_level_error,
            _ => return false,
        };
        *slot = Some(sentence(message));
        true
    }
}

async fn new_product(State(st): State<AppState>, user: CurrentUser) -> PageResult<Response> {
    user.require(CreateProduct::PERMISSION)?;
    Ok(render(&ProductPage {
        me: user.me(),
        currency: st.currency.code.clone(),
        active: true,
        reorder_level: "0".into(),
        token: st.idem.issue(user.id, &CreateProduct::scope_for()),
        ..Default::default()
    }))
}

fn parse_sku(raw: &str) -> PageResult<Sku> {
    Sku::parse(raw)
        .map_err(|_| PageError::NotFound(format!("There is no product with SKU {raw:?}.")))
}

async fn edit_product(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
) -> PageResult<Response> {
    user.require(UpdateProduct::PERMISSION)?;
    let sku = parse_sku(&raw)?;
    Ok(render(&product_page(&st, &user, &sku, None).await?))
}

/// The edit page of `sku`; `typed` keeps a refused form's input instead of the stored record.
async fn product_page(
    st: &AppState,
    user: &CurrentUser,
    sku: &Sku,
    typed: Option<ProductPage>,
) -> PageResult<ProductPage> {
    let p = st
        .db
        .find_product_by_sku(sku.as_str())
        .await?
        .ok_or_else(|| PageError::NotFound(format!("There is no product with SKU {sku}.")))?;
    let prices = st
        .db
        .product_prices(p.id)
        .await?
        .into_iter()
        .map(|r| PriceItem {
            price: st.currency.cents(r.unit_price_cents),
            tax_rate: rate(r.tax_rate_bp),
            since: datetime(r.changed_at),
            by: r.changed_by,
        })
        .collect();
    let stored = ProductPage {
        token: st.idem.issue(user.id, &UpdateProduct::scope_for(sku)),
        sku: p.sku.clone(),
        name: p.name,
        unit_price: Money::from_cents(p.unit_price_cents).plain(),
        tax_rate: TaxRate::from_basis_points(p.tax_rate_bp)
            .map(|r| r.percent().normalize().to_string())
            .unwrap_or_default(),
        reorder_level: p.reorder_level.to_string(),
        ..Default::default()
    };
    Ok(ProductPage {
        me: user.me(),
        currency: st.currency.code.clone(),
        editing: Some(p.sku),
        active: p.active,
        on_hand: units(p.stock_on_hand),
        active_token: st.idem.issue(user.id, &SetProductActive::scope_for(sku)),
        prices,
        ..typed.unwrap_or(stored)
    })
}

#[derive(Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    unit_price: String,
    #[serde(default)]
    tax_rate: String,
    #[serde(default)]
    reorder_level: String,
}

impl ProductForm {
    /// The form as typed, to show again.
    fn again(&self, token: &str) -> ProductPage {
        ProductPage {
            token: token.to_string(),
            sku: self.sku.clone(),
            name: self.name.clone(),
            unit_price: self.unit_price.clone(),
            tax_rate: self.tax_rate.clone(),
            reorder_level: self.reorder_level.clone(),
            active: true,
            ..Default::default()
        }
    }

    /// The details, or the page with every field that does not read marked.
    fn details(&self, page: &mut ProductPage) -> Option<ProductDetails> {
        let price = Money::parse_price(&self.unit_price);
        let rate = TaxRate::parse_percent(&self.tax_rate);
        let reorder = self
            .reorder_level
            .trim()
            .parse::<i64>()
            .map_err(|_| "enter a whole number of units, such as 10");
        if let Err(e) = &price {
            page.unit_price_error = Some(sentence(&e.to_string()));
        }
        if let Err(e) = &rate {
            page.tax_rate_error = Some(sentence(&e.to_string()));
        }
        if let Err(e) = &reorder {
            page.reorder_level_error = Some(sentence(e));
        }
        Some(ProductDetails {
            name: self.name.clone(),
            unit_price: price.ok()?,
            tax_rate: rate.ok()?,
            reorder_level: reorder.ok()?,
        })
    }
}

async fn create_product(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<ProductForm>,
) -> PageResult<Response> {
    user.require(CreateProduct::PERMISSION)?;
    let claim = match st
        .claim_form(&user, CreateProduct::scope_for(), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let mut page = ProductPage {
        me: user.me(),
        currency: st.currency.code.clone(),
        ..form.data.again(&form.token)
    };
    let sku = Sku::parse(&form.data.sku).map_err(|e| e.to_string());
    if let Err(e) = &sku {
        page.sku_error = Some(sentence(e));
    }
    let details = form.data.details(&mut page);
    let (Ok(sku), Some(details)) = (sku, details) else {
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let added = format!("Product {} added.", sku.as_str());
    let action = CreateProduct {
        actor: user.actor(),
        sku,
        details,
    };
    let shown = |sku: &Sku| product_path(sku.as_str());
    match st.submit_then(claim, action, "/products", shown).await {
        Ok(done) => Ok(done.flash(&st, &user, added)),
        Err(Refusal {
            error: Error::Invalid(i),
            ..
        }) if page.field_error(i.field, &i.message) => {
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}

async fn update_product(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
    form: TokenForm<ProductForm>,
) -> PageResult<Response> {
    user.require(UpdateProduct::PERMISSION)?;
    let sku = parse_sku(&raw)?;
    let claim = match st
        .claim_form(&user, UpdateProduct::scope_for(&sku), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let mut typed = form.data.again(&form.token);
    typed.sku = sku.to_string();
    let details = form.data.details(&mut typed);
    let refused = match details {
        None => None,
        Some(details) => {
            let action = UpdateProduct {
                actor: user.actor(),
                sku: sku.clone(),
                details,
            };
            match st.submit(claim, action, product_path(sku.as_str())).await {
                Ok(done) => {
                    let saved = format!("Product {} saved.", sku.as_str());
                    return Ok(done.flash(&st, &user, saved));
                }
                Err(Refusal {
                    error: Error::Invalid(i),
                    ..
                }) => Some(i),
                Err(refused) => return Err(refused.into()),
            }
        }
    };
    let mut page = product_page(&st, &user, &sku, Some(typed)).await?;
    if let Some(i) = refused
        && !page.field_error(i.field, &i.message)
    {
        return Err(Error::Invalid(i).into());
    }
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn set_product_active(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
    form: TokenForm<ActiveForm>,
) -> PageResult<Response> {
    user.require(SetProductActive::PERMISSION)?;
    let sku = parse_sku(&raw)?;
    let claim = match st
        .claim_form(&user, SetProductActive::scope_for(&sku), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let active = active_field(&form.data.active)?;
    let action = SetProductActive {
        actor: user.actor(),
        active,
        sku: sku.clone(),
    };
    let done = if active { "reactivated" } else { "deactivated" };
    Ok(st
        .submit(claim, action, product_path(sku.as_str()))
        .await?
        .flash(&st, &user, format!("Product {} {done}.", sku.as_str())))
}
