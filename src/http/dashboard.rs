//! The dashboard: each role's first step, today's confirmations and what is running low.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::charts::{self, Chart, Figure};
use super::error::PageResult;
use super::session::CurrentUser;
use super::state::AppState;
use super::stock::StockItem;
use super::templates::Me;
use super::templates::{datetime, render, units};
use crate::db::history::TimeBound;
use crate::db::orders::{Cursor, OrderFilter};
use crate::db::products::ProductFilter;
use crate::domain::{Money, Permission, Role};
use rust_decimal::Decimal;

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
    /// Confirmations per day over the last [`CHART_DAYS`] days.
    pub confirmations_chart: Chart,
    /// Invoiced (gross) per day, for roles that see money.
    pub revenue_chart: Option<Chart>,
}

/// How many days the dashboard's charts cover, today included.
pub const CHART_DAYS: u16 = 30;

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
    let show_money = user.role.can(Permission::ViewInvoices);
    // "Today" is the day in the display zone: from its local midnight on.
    let today = st.zone.today();
    let midnight = st.zone.day_start(today);
    // A bound to the second, as stored on both backends: on SQLite an invoice issued in the
    // first second of the day (stored with a fraction) still counts.
    let since = TimeBound::at(midnight);
    let (count, gross) = st.db.confirmations_since(since).await?;
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
    let (confirmations_chart, revenue_chart) = day_charts(&st, show_money).await?;
    Ok(render(&DashboardPage {
        me: user.me(),
        first_step: FirstStep::of(user.role),
        show_money,
        today: today.to_string(),
        confirmed_today: units(count),
        gross_today: st.currency.cents(gross),
        low,
        recent,
        confirmations_chart,
        revenue_chart,
    }))
}

/// Confirmations (invoices issued) and revenue (gross invoiced, before credit notes) per day.
async fn day_charts(st: &AppState, show_money: bool) -> PageResult<(Chart, Option<Chart>)> {
    let days = charts::last_days(charts::day_of(time::OffsetDateTime::now_utc()), CHART_DAYS);
    // One day more than shown: the quarter-hours are mapped to days afterwards, in whatever
    // zone `day_of` counts them.
    let since = TimeBound::utc_day_start(days[0] - time::Duration::days(1));
    let rows = st.db.issued_by_quarter(since).await?;
    let counts = charts::sum_per_day(
        &days,
        rows.iter().map(|r| (r.start(), Decimal::from(r.invoices))),
    );
    let figures = |values: Vec<Decimal>, show: &dyn Fn(Decimal) -> String| -> Vec<Figure> {
        days.iter()
            .zip(values)
            .map(|(day, value)| Figure {
                day: *day,
                shown: show(value),
                value,
            })
            .collect()
    };
    let show_count = |d: Decimal| units(i64::try_from(d).unwrap_or(i64::MAX));
    let confirmations = charts::bars(
        "chart-confirmations",
        "Confirmations per day",
        "Confirmed",
        &figures(counts, &show_count),
        show_count,
    );
    if !show_money {
        return Ok((confirmations, None));
    }
    let gross = charts::sum_per_day(
        &days,
        rows.iter()
            .map(|r| (r.start(), Decimal::new(r.gross_cents, 2))),
    );
    let show_money = |d: Decimal| st.currency.show(Money::round(d));
    let revenue = charts::bars(
        "chart-revenue",
        "Revenue per day",
        &format!("Invoiced ({})", st.currency.code),
        &figures(gross, &show_money),
        show_money,
    );
    Ok((confirmations, Some(revenue)))
}
