//! The order list: search, status filter, keyset pages.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::error::{PageError, PageResult};
use super::extract::Query;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::{PAGE_SIZE, Pager, datetime, qs, render, units};
use crate::db::orders::{Cursor, OrderFilter};
use crate::domain::{OrderStatus, Permission};

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
fn id_param(raw: &Option<String>) -> PageResult<Option<i64>> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| PageError::BadRequest(format!("{s:?} is not an order number."))),
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

pub async fn list_orders(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewOrders)?;
    let cursor = match (id_param(&query.before)?, id_param(&query.after)?) {
        (Some(b), None) => Cursor::Before(b),
        (None, Some(a)) => Cursor::After(a),
        (None, None) => Cursor::First,
        (Some(_), Some(_)) => {
            return Err(PageError::BadRequest(
                "Use either before or after, not both.".into(),
            ));
        }
    };
    let status =
        match query.status.as_str() {
            "" => None,
            other => Some(other.parse::<OrderStatus>().map_err(|_| {
                PageError::BadRequest(format!("{other:?} is not an order status."))
            })?),
        };
    let filter = OrderFilter {
        status,
        q: query.q.clone(),
    };
    let status = status.map_or("", OrderStatus::as_str);
    let (rows, more) = st.db.list_orders(&filter, PAGE_SIZE, cursor).await?;
    let base = format!("/orders?q={}&status={}", qs(&query.q), qs(status));
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
            status: r.status.as_str(),
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
        status: status.to_string(),
        orders,
        pager,
    }))
}
