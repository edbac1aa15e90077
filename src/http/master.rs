//! Master data: customers and products (read-only lists for now).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::confirmation::rate;
use super::error::PageResult;
use super::extract::{Query, page_number};
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{PAGE_SIZE, Pager, qs, render, units};
use crate::db::products::ProductFilter;
use crate::domain::Permission;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list_customers))
        .route("/products", get(list_products))
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

pub struct CustomerItem {
    pub code: String,
    pub name: String,
    pub address: String,
    pub vat_id: String,
}

#[derive(Template)]
#[template(path = "customers.html")]
pub struct CustomersPage {
    pub me: Option<Me>,
    pub q: String,
    pub customers: Vec<CustomerItem>,
    pub pager: Pager,
}

async fn list_customers(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewMasterData)?;
    let page = page_number(query.page.as_deref())?;
    let mut rows = st
        .db
        .search_customers(&query.q, false, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let pager = Pager::new(page, rows.len(), |n| {
        format!("/customers?q={}&page={n}", qs(&query.q))
    });
    rows.truncate(PAGE_SIZE as usize);
    let customers = rows
        .into_iter()
        .map(|c| CustomerItem {
            code: c.code,
            name: c.name,
            address: c.address.replace('\n', ", "),
            vat_id: c.vat_id,
        })
        .collect();
    Ok(render(&CustomersPage {
        me: user.me(),
        q: query.q,
        customers,
        pager,
    }))
}

pub struct ProductItem {
    pub sku: String,
    pub name: String,
    pub price: String,
    pub tax_rate: String,
    pub on_hand: String,
}

#[derive(Template)]
#[template(path = "products.html")]
pub struct ProductsPage {
    pub me: Option<Me>,
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
        })
        .collect();
    Ok(render(&ProductsPage {
        me: user.me(),
        q: query.q,
        products,
        pager,
    }))
}
