//! Stock on hand, and the ledger of one product with its running balance.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::extract::Query;
use super::session::{CurrentUser, Me};
use super::templates::{PAGE_SIZE, Pager, datetime, page_number, qs, render, units};
use crate::db::products::{ProductFilter, ProductRow};
use crate::domain::Permission;
use crate::domain::Sku;
use crate::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stock", get(list_stock))
        .route("/stock/{sku}", get(show_stock))
}

#[derive(Deserialize, Default)]
pub struct StockQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    low: String,
    page: Option<String>,
}

pub struct StockItem {
    pub sku: String,
    pub name: String,
    pub on_hand: String,
    pub reorder_level: String,
    pub low: bool,
    pub out: bool,
}

#[derive(Template)]
#[template(path = "stock/list.html")]
pub struct StockListPage {
    pub me: Option<Me>,
    pub can_receive: bool,
    pub q: String,
    pub low_only: bool,
    pub items: Vec<StockItem>,
    pub pager: Pager,
}

async fn list_stock(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<StockQuery>,
) -> AppResult<Response> {
    user.require(Permission::ViewStock)?;
    let page = page_number(query.page.as_deref())?;
    let low_only = matches!(query.low.as_str(), "1" | "on" | "true");
    let filter = ProductFilter {
        q: query.q.clone(),
        low_only,
    };
    let mut rows = st
        .db
        .list_products(&filter, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let pager = Pager::new(page, rows.len(), |n| {
        format!(
            "/stock?q={}&low={}&page={n}",
            qs(&query.q),
            if low_only { "1" } else { "" }
        )
    });
    rows.truncate(PAGE_SIZE as usize);
    let items = rows
        .into_iter()
        .map(|p| StockItem {
            low: p.stock_on_hand <= p.reorder_level,
            out: p.stock_on_hand == 0,
            sku: p.sku,
            name: p.name,
            on_hand: units(p.stock_on_hand),
            reorder_level: units(p.reorder_level),
        })
        .collect();
    Ok(render(&StockListPage {
        me: user.me(),
        can_receive: user.role.can(Permission::ReceiveStock),
        q: query.q,
        low_only,
        items,
        pager,
    }))
}

pub struct LedgerItem {
    pub at: String,
    pub change: String,
    pub incoming: bool,
    pub balance: String,
    pub reason: String,
    pub order_id: Option<i64>,
    pub invoice: Option<String>,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "stock/show.html")]
pub struct StockPage {
    pub me: Option<Me>,
    pub can_receive: bool,
    pub sku: String,
    pub name: String,
    pub on_hand: String,
    pub reorder_level: String,
    pub low: bool,
    pub entries: Vec<LedgerItem>,
    pub movements: String,
    pub pager: Pager,
}

#[derive(Deserialize, Default)]
pub struct LedgerQuery {
    page: Option<String>,
}

async fn show_stock(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
    Query(query): Query<LedgerQuery>,
) -> AppResult<Response> {
    user.require(Permission::ViewStock)?;
    let page = page_number(query.page.as_deref())?;
    let missing = || AppError::NotFound(format!("There is no product with SKU {raw:?}."));
    let sku = Sku::parse(&raw).map_err(|_| missing())?;
    let product = st
        .db
        .find_product_by_sku(sku.as_str())
        .await?
        .ok_or_else(missing)?;
    let mut rows = st
        .db
        .ledger(product.id, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let pager = Pager::new(page, rows.len(), |n| {
        format!("/stock/{}?page={n}", qs(sku.as_str()))
    });
    rows.truncate(PAGE_SIZE as usize);
    let movements = units(st.db.ledger_len(product.id).await?);
    let entries = rows
        .into_iter()
        .map(|r| LedgerItem {
            at: datetime(r.created_at),
            change: if r.quantity > 0 {
                format!("+{}", units(r.quantity))
            } else {
                units(r.quantity)
            },
            incoming: r.quantity > 0,
            balance: units(r.balance_after),
            reason: r.reason,
            order_id: r.order_id,
            invoice: r.invoice_number,
            actor: r.actor,
        })
        .collect();
    Ok(render(&StockPage {
        me: user.me(),
        can_receive: user.role.can(Permission::ReceiveStock),
        sku: product.sku,
        name: product.name,
        on_hand: units(product.stock_on_hand),
        reorder_level: units(product.reorder_level),
        low: product.stock_on_hand <= product.reorder_level,
        entries,
        movements,
        pager,
    }))
}

/// The product a form's SKU field names, or the message to show beside the field.
pub async fn product_field(db: &crate::db::Db, raw: &str) -> AppResult<Result<ProductRow, String>> {
    let sku = match Sku::parse(raw) {
        Ok(sku) => sku,
        Err(e) => return Ok(Err(super::templates::sentence(&e.to_string()))),
    };
    Ok(db
        .find_product_by_sku(sku.as_str())
        .await?
        .ok_or_else(|| format!("There is no product with SKU {sku}.")))
}
