//! Orders: the list, the new-order form, and one order with its lines and Confirm button.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::extract::{Id, Query, TokenForm};
use super::session::CurrentUser;
use super::session::Me;
use super::templates::{PAGE_SIZE, Pager, datetime, qs, render, render_status, units};
use crate::db::orders::{Cursor, OrderFilter, OrderRow};
use crate::domain::{Money, OrderStatus, Permission, PricedLine, Quantity, TaxRate, totals};
use crate::error::{AppError, AppResult};
use crate::idempotency::Scope;
use crate::ops::{CreateOrder, ShortLine};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders", get(list_orders).post(create_order))
        .route("/orders/new", get(new_order))
        .route("/orders/{id}", get(show_order))
}

// ---------------------------------------------------------------- list

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    /// Orders older than this order number (the next page).
    before: Option<String>,
    /// Orders newer than this order number (the previous page).
    after: Option<String>,
}

/// An order number in the query string: absent, or a positive number (else a 400).
fn id_param(raw: &Option<String>) -> AppResult<Option<i64>> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("{s:?} is not an order number."))),
    }
}

pub struct OrderItem {
    pub id: i64,
    pub customer: String,
    pub reference: String,
    pub status: &'static str,
    pub lines: String,
    pub invoice: Option<String>,
    pub total: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "orders/list.html")]
pub struct OrderListPage {
    pub me: Option<Me>,
    pub q: String,
    pub status: String,
    pub orders: Vec<OrderItem>,
    pub pager: Pager,
}

async fn list_orders(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> AppResult<Response> {
    user.require(Permission::ViewOrders)?;
    let cursor = match (id_param(&query.before)?, id_param(&query.after)?) {
        (Some(b), None) => Cursor::Before(b),
        (None, Some(a)) => Cursor::After(a),
        (None, None) => Cursor::First,
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest(
                "Use either before or after, not both.".into(),
            ));
        }
    };
    let status = match query.status.as_str() {
        "" | "draft" | "confirmed" | "cancelled" => query.status.clone(),
        other => {
            return Err(AppError::BadRequest(format!(
                "{other:?} is not an order status."
            )));
        }
    };
    let filter = OrderFilter {
        status: status.clone(),
        q: query.q.clone(),
    };
    let (rows, more) = st.db.list_orders(&filter, PAGE_SIZE, cursor).await?;
    let base = format!("/orders?q={}&status={}", qs(&query.q), qs(&status));
    let (newest, oldest) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id));
    // Newer orders exist when we came from a newer page, or walked back and found more.
    let newer = match cursor {
        Cursor::First => false,
        Cursor::Before(_) => true,
        Cursor::After(_) => more,
    };
    let older = match cursor {
        Cursor::After(_) => true,
        _ => more,
    };
    let pager = Pager {
        page: 0,
        prev: newest
            .filter(|_| newer)
            .map(|id| format!("{base}&after={id}")),
        next: oldest
            .filter(|_| older)
            .map(|id| format!("{base}&before={id}")),
    };
    let orders = rows
        .into_iter()
        .map(|r| OrderItem {
            id: r.id,
            customer: r.customer_name,
            reference: r.reference,
            status: OrderStatus::from_db(&r.status).as_str(),
            lines: units(r.line_count),
            invoice: r.invoice_number,
            total: r
                .gross_cents
                .map(|c| st.currency.cents(c))
                .unwrap_or_default(),
            created: datetime(r.created_at),
        })
        .collect();
    Ok(render(&OrderListPage {
        me: user.me(),
        q: query.q,
        status,
        orders,
        pager,
    }))
}

// ---------------------------------------------------------------- new order

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    q: String,
}

pub struct CustomerChoice {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "orders/new.html")]
pub struct NewOrderPage {
    pub me: Option<Me>,
    pub q: String,
    pub customers: Vec<CustomerChoice>,
    pub reference: String,
    pub token: String,
    pub customer_error: Option<String>,
    pub reference_error: Option<String>,
}

/// Customers offered in the picker; the search narrows it on the server.
const PICKER_SIZE: i64 = 200;

async fn new_order(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> AppResult<Response> {
    user.require(Permission::EditOrders)?;
    let page = new_order_page(&st, &user, &query.q, None, String::new(), None, None).await?;
    Ok(render(&page))
}

async fn new_order_page(
    st: &AppState,
    user: &CurrentUser,
    q: &str,
    selected: Option<i64>,
    reference: String,
    customer_error: Option<String>,
    reference_error: Option<String>,
) -> AppResult<NewOrderPage> {
    let rows = st.db.search_customers(q, PICKER_SIZE, 0).await?;
    Ok(NewOrderPage {
        me: user.me(),
        q: q.to_string(),
        customers: rows
            .into_iter()
            .map(|c| CustomerChoice {
                id: c.id,
                label: format!("{} ({})", c.name, c.code),
                selected: Some(c.id) == selected,
            })
            .collect(),
        reference,
        token: st.idem.issue(&user.subject(), &create_scope()),
        customer_error,
        reference_error,
    })
}

fn create_scope() -> Scope {
    Scope {
        purpose: "create-order",
        target: "orders".into(),
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    reference: String,
}

async fn create_order(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<CreateForm>,
) -> AppResult<Response> {
    user.require(Permission::EditOrders)?;
    let claim = st
        .idem
        .claim(
            &st.db,
            &user.subject(),
            create_scope(),
            &form.token,
            form.pairs(),
        )
        .await?;
    let customer_id = form
        .data
        .customer_id
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0);
    let reference = form.data.reference.trim().to_string();
    let customer_error = match customer_id {
        None => Some("Choose a customer.".to_string()),
        Some(id) if st.db.find_customer(id).await?.is_none() => {
            Some("That customer does not exist.".to_string())
        }
        Some(_) => None,
    };
    let reference_error =
        (reference.chars().count() > 80).then(|| "At most 80 characters.".to_string());
    if customer_error.is_some() || reference_error.is_some() {
        let mut page = new_order_page(
            &st,
            &user,
            "",
            customer_id,
            reference,
            customer_error,
            reference_error,
        )
        .await?;
        // Keep the submitted token: nothing was recorded under it, and a corrected resubmit
        // stays protected against double-clicks.
        page.token = form.token;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let action = CreateOrder {
        customer_id: customer_id.unwrap_or_default(),
        reference,
        actor: user.actor(),
    };
    Ok(st
        .idem
        .execute(&st.db, claim, action)
        .await?
        .into_response())
}

// ---------------------------------------------------------------- one order

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
) -> AppResult<Response> {
    user.require(Permission::ViewOrders)?;
    let page = order_page(&st, &user, id, AddLineForm::default(), Vec::new(), None).await?;
    Ok(render(&page))
}

pub fn add_line_scope(order_id: i64) -> Scope {
    Scope {
        purpose: "add-line",
        target: format!("order:{order_id}"),
    }
}

pub fn remove_line_scope(order_id: i64) -> Scope {
    Scope {
        purpose: "remove-line",
        target: format!("order:{order_id}"),
    }
}

pub fn confirm_scope(order_id: i64) -> Scope {
    Scope {
        purpose: "confirm-order",
        target: format!("order:{order_id}"),
    }
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
) -> AppResult<OrderPage> {
    let order: OrderRow = st
        .db
        .find_order(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no order {id}.")))?;
    let status = OrderStatus::from_db(&order.status);
    let rows = st.db.order_lines(id).await?;
    let subject = user.subject();
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
                st.idem.issue(&subject, &remove_line_scope(id))
            } else {
                String::new()
            },
        });
    }
    let t = totals(amounts.iter().map(|(r, a)| (*r, a)));
    let editable = status.is_editable() && user.role.can(Permission::EditOrders);
    let can_confirm = status.is_editable() && user.role.can(Permission::ConfirmOrders);
    if editable && add.token.is_empty() {
        add.token = st.idem.issue(&subject, &add_line_scope(id));
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
            st.idem.issue(&subject, &confirm_scope(id))
        } else {
            String::new()
        },
        shortages,
        notice,
    })
}
