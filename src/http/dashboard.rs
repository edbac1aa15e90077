//! The dashboard: each role's first step, today's confirmations and what is running low.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::error::PageResult;
use super::session::CurrentUser;
use super::state::AppState;
use super::stock::StockItem;
use super::templates::Me;
use super::templates::{datetime, render, units};
use crate::db::orders::{Cursor, OrderFilter};
use crate::db::products::ProductFilter;
use crate::domain::{Permission, Role};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(show_dashboard))
}

pub struct RecentOrder {
    pub id: i64,
    pub customer: String,
    pub status: &'static str,
    pub invoice: Option<String>,
    pub total: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub me: Option<Me>,
    /// The button a role starts its day with.
    pub first_step: FirstStep,
    /// Amounts and invoice numbers, for roles that see invoices.
    pub show_money: bool,
    pub today: String,
    pub confirmed_today: String,
    pub gross_today: String,
    pub low: Vec<StockItem>,
    pub recent: Vec<RecentOrder>,
}

/// A role's first step: where the big button goes, and what it says.
pub struct FirstStep {
    pub label: &'static str,
    pub href: &'static str,
    pub hint: &'static str,
}

impl FirstStep {
    fn of(role: Role) -> FirstStep {
        match role {
            Role::Clerk => FirstStep {
                label: "New order",
                href: "/orders/new",
                hint: "Enter an order, add its lines, confirm it.",
            },
            Role::Warehouse => FirstStep {
                label: "Record goods received",
                href: "/receipts/new",
                hint: "Book what arrived; low stock is listed below.",
            },
            Role::Accountant => FirstStep {
                label: "Invoices",
                href: "/invoices",
                hint: "Review invoices and credit notes, export them, or cancel an order from its page.",
            },
            Role::Admin => FirstStep {
                label: "New product",
                href: "/products/new",
                hint: "Keep customers, products and users up to date.",
            },
        }
    }
}

async fn show_dashboard(State(st): State<AppState>, user: CurrentUser) -> PageResult<Response> {
    user.require(Permission::ViewOrders)?;
    // "Today" is the day in the display zone: from its local midnight on.
    let today = st.zone.today();
    let midnight = st.zone.day_start(today);
    let (count, gross) = st.db.confirmations_since(midnight).await?;
    let low = st
        .db
        .list_products(
            &ProductFilter {
                q: String::new(),
                low_only: true,
            },
            10,
            0,
        )
        .await?
        .into_iter()
        .map(|p| StockItem {
            low: true,
            out: p.stock_on_hand == 0,
            sku: p.sku,
            name: p.name,
            on_hand: units(p.stock_on_hand),
            reorder_level: units(p.reorder_level),
        })
        .collect();
    let recent = st
        .db
        .list_orders(&OrderFilter::default(), 10, Cursor::First)
        .await?
        .0
        .into_iter()
        .map(|r| RecentOrder {
            id: r.id,
            customer: r.customer_name,
            status: r.status.as_str(),
            invoice: r.invoice_number,
            total: r
                .gross_cents
                .map(|c| st.currency.cents(c))
                .unwrap_or_default(),
            created: datetime(r.created_at),
        })
        .collect();
    Ok(render(&DashboardPage {
        me: user.me(),
        first_step: FirstStep::of(user.role),
        show_money: user.role.can(Permission::ViewInvoices),
        today: today.to_string(),
        confirmed_today: units(count),
        gross_today: st.currency.cents(gross),
        low,
        recent,
    }))
}
