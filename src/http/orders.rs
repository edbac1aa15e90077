//! One order: its lines, totals, history, and the forms that change or confirm it. The
//! `/orders` routes are declared here; the list and the new-order form live beside it.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::error::{PageError, PageResult};
use super::extract::Id;
use super::new_order::{create_order, new_order};
use super::order_list::list_orders;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{datetime, render, units};
use crate::db::orders::OrderRow;
use crate::domain::{Money, Permission, PricedLine, Quantity, ShortLine, TaxRate, totals};
use crate::ops::{AddLine, ConfirmOrder, RemoveLine};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list_orders).post(create_order))
        .route("/orders/new", get(new_order))
        .route("/orders/{id}", get(show_order))
}

pub struct LineItem {
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: String,
    pub unit_price: String,
    pub tax_rate: String,
    pub net: String,
    pub in_stock: String,
    pub short: bool,
    pub remove_token: String,
}

/// What the add-line form shows again after a refused submit.
#[derive(Default)]
pub struct AddLineForm {
    pub token: String,
    pub sku: String,
    pub quantity: String,
    pub sku_error: Option<String>,
    pub quantity_error: Option<String>,
}

pub struct HistoryItem {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "orders/show.html")]
pub struct OrderPage {
    pub me: Option<Me>,
    pub can_confirm: bool,
    pub id: i64,
    pub customer: String,
    pub customer_code: String,
    pub reference: String,
    pub status: &'static str,
    pub editable: bool,
    pub created: String,
    pub created_by: String,
    pub confirmed: Option<String>,
    pub confirmed_by: String,
    pub lines: Vec<LineItem>,
    pub net: String,
    pub tax: String,
    pub gross: String,
    pub add: AddLineForm,
    pub revision: i64,
    pub confirm_token: String,
    pub shortages: Vec<ShortLine>,
    pub notice: Option<String>,
    pub history: Vec<HistoryItem>,
}

async fn show_order(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(id): Id,
) -> PageResult<Response> {
    user.require(Permission::ViewOrders)?;
    let page = order_page(&st, &user, id, AddLineForm::default(), Vec::new(), None).await?;
    Ok(render(&page))
}

/// Build the order page; `add` keeps what the clerk typed in the add-line form after an error,
/// `shortages` lists the lines stock could not cover on a refused confirmation.
pub async fn order_page(
    st: &AppState,
    user: &CurrentUser,
    id: i64,
    mut add: AddLineForm,
    shortages: Vec<ShortLine>,
    notice: Option<String>,
) -> PageResult<OrderPage> {
    let order: OrderRow = st
        .db
        .find_order(id)
        .await?
        .ok_or_else(|| PageError::NotFound(format!("There is no order {id}.")))?;
    let status = order.status;
    let rows = st.db.order_lines(id).await?;
    let short_skus: Vec<&str> = shortages.iter().map(|s| s.sku.as_str()).collect();
    let mut lines = Vec::with_capacity(rows.len());
    let mut amounts = Vec::with_capacity(rows.len());
    for r in rows {
        let rate = TaxRate::from_basis_points(r.tax_rate_bp).unwrap_or(TaxRate::ZERO);
        let priced = Quantity::new(r.quantity).ok().map(|quantity| PricedLine {
            quantity,
            unit_price: Money::from_cents(r.unit_price_cents),
            tax_rate: rate,
        });
        let a = priced.map(|p| p.amounts());
        if let Some(a) = a {
            amounts.push((rate, a));
        }
        lines.push(LineItem {
            id: r.id,
            short: short_skus.contains(&r.sku.as_str()),
            sku: r.sku,
            name: r.name,
            quantity: units(r.quantity),
            unit_price: st.currency.cents(r.unit_price_cents),
            tax_rate: rate.to_string(),
            net: a.map(|a| st.currency.show(a.net)).unwrap_or_default(),
            in_stock: units(r.stock_on_hand),
            remove_token: if status.is_editable() && user.role.can(Permission::EditOrders) {
                st.idem.issue(user.id, &RemoveLine::scope_for(id))
            } else {
                String::new()
            },
        });
    }
    let t = totals(amounts.iter().map(|(r, a)| (*r, a)));
    let editable = status.is_editable() && user.role.can(Permission::EditOrders);
    let can_confirm = status.is_editable() && user.role.can(Permission::ConfirmOrders);
    if editable && add.token.is_empty() {
        add.token = st.idem.issue(user.id, &AddLine::scope_for(id));
    }
    let history = st
        .db
        .audit_events("order", &id.to_string())
        .await?
        .into_iter()
        .map(|e| HistoryItem {
            at: datetime(e.at),
            actor: e.actor,
            action: e.action.replace('-', " "),
            detail: e.detail,
        })
        .collect();
    Ok(OrderPage {
        me: user.me(),
        history,
        can_confirm,
        id,
        customer: order.customer_name,
        customer_code: order.customer_code,
        reference: order.reference,
        status: status.as_str(),
        editable,
        created: datetime(order.created_at),
        created_by: order.created_by,
        confirmed: order.confirmed_at.map(datetime),
        confirmed_by: order.confirmed_by.unwrap_or_default(),
        lines,
        net: st.currency.show(t.net),
        tax: st.currency.show(t.tax),
        gross: st.currency.show(t.gross),
        add,
        revision: order.revision,
        confirm_token: if can_confirm {
            st.idem.issue(user.id, &ConfirmOrder::scope_for(id))
        } else {
            String::new()
        },
        shortages,
        notice,
    })
}
