//! Stock on hand, and the ledger of one product with its running balance.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::charts::{self, Chart, Figure};
use super::error::PageResult;
use super::extract::{Query, page_number};
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{PAGE_SIZE, Pager, datetime, qs, render, units};
use crate::db::history::TimeBound;
use crate::db::products::ProductFilter;
use crate::domain::Permission;
use crate::domain::Sku;

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
) -> PageResult<Response> {
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
    /// The document of the movement: the credit note of a return, else the invoice.
    pub document: Option<Document>,
    pub actor: String,
}

/// A document a stock movement links to.
pub struct Document {
    /// Where its page is: `/invoices/` or `/credit-notes/`.
    pub prefix: &'static str,
    pub number: String,
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
    /// Stock on hand at the end of each of the last days.
    pub chart: Chart,
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
) -> PageResult<Response> {
    user.require(Permission::ViewStock)?;
    let page = page_number(query.page.as_deref())?;
    let product = crate::ops::documents::product(&st.db, &raw).await?;
    let mut rows = st
        .db
        .ledger(product.id, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let pager = Pager::new(page, rows.len(), |n| {
        format!("/stock/{}?page={n}", qs(&product.sku))
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
            document: match (r.credit_note_number, r.invoice_number) {
                (Some(number), _) => Some(Document {
                    prefix: "/credit-notes/",
                    number,
                }),
                (None, Some(number)) => Some(Document {
                    prefix: "/invoices/",
                    number,
                }),
                (None, None) => None,
            },
            actor: r.actor,
        })
        .collect();
    let chart = stock_chart(&st, product.id, product.reorder_level).await?;
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
        chart,
    }))
}

/// Stock on hand at the end of each of the last [`super::dashboard::CHART_DAYS`] days.
async fn stock_chart(st: &AppState, product_id: i64, reorder_level: i64) -> PageResult<Chart> {
    let days = charts::last_days(
        charts::day_of(time::OffsetDateTime::now_utc()),
        super::dashboard::CHART_DAYS,
    );
    // One day more than shown, so the days can be counted in any zone (see `charts::day_of`).
    let since = TimeBound::utc_day_start(days[0] - time::Duration::days(1));
    let opening = st.db.balance_before(product_id, since).await?;
    let changes = st.db.balance_by_quarter(product_id, since).await?;
    let balances = charts::balance_per_day(
        &days,
        opening,
        changes.iter().map(|r| (r.start(), r.balance)),
    );
    let figures: Vec<Figure> = days
        .iter()
        .zip(balances)
        .map(|(day, b)| Figure {
            day: *day,
            value: b.into(),
            shown: units(b),
        })
        .collect();
    Ok(charts::steps(
        "chart-stock",
        "Stock on hand per day",
        "On hand (end of day)",
        &figures,
        (reorder_level > 0).then(|| (reorder_level.into(), "Reorder level")),
        |d| units(i64::try_from(d).unwrap_or(i64::MAX)),
    ))
}

/// A form's SKU field: the parsed SKU, or the message to show beside the field. The action
/// decides whether the product exists and may be used; when `look_up` is set (another field of
/// the form is in error, so the action will not run) the product is looked up here too, so the
/// clerk sees every problem of the form at once.
pub async fn sku_field(
    db: &crate::db::Db,
    raw: &str,
    look_up: bool,
) -> PageResult<Result<Sku, String>> {
    let sku = match Sku::parse(raw) {
        Ok(sku) => sku,
        Err(e) => return Ok(Err(super::templates::sentence(&e.to_string()))),
    };
    if look_up && db.find_product_by_sku(sku.as_str()).await?.is_none() {
        let missing = crate::error::Missing::Product(sku.to_string());
        return Ok(Err(super::templates::sentence(&missing.to_string())));
    }
    Ok(Ok(sku))
}
