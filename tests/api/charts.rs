//! The charts: confirmations and revenue per day on the dashboard, stock on hand per day on a
//! product's ledger page, each with its figures table as the text alternative.

use axum::http::StatusCode;
use orderdesk::db::history::TimeBound;
use orderdesk::db::products::{self, NewProduct};
use orderdesk::domain::Role;
use scraper::Selector;

use crate::helpers::{Page, TestApp, db_test};

/// The (day, value) rows of a chart's figures table.
fn figures(page: &Page, chart: &str) -> Vec<(String, String)> {
    let html = page.html();
    let rows = Selector::parse(&format!("#{chart} table tbody tr")).unwrap();
    let cell = Selector::parse("td").unwrap();
    html.select(&rows)
        .map(|r| {
            let cells: Vec<String> = r
                .select(&cell)
                .map(|c| c.text().collect::<String>().trim().to_string())
                .collect();
            (cells[0].clone(), cells[1].clone())
        })
        .collect()
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

db_test!(
    the_dashboard_charts_count_todays_confirmations_and_revenue,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 50).await;
        let before = app.browser.get("/").await;
        assert_eq!(before.status, StatusCode::OK);
        let rows = figures(&before, "chart-confirmations");
        assert_eq!(rows.len(), 30, "the last 30 days");
        assert_eq!(rows[29], (today(), "0".to_string()), "today is last");
        assert!(
            before
                .text("#chart-confirmations desc")
                .is_some_and(|d| d.contains("none")),
            "the description says there is nothing yet"
        );

        for qty in [1, 2] {
            let order = app.draft(c, &[(a, qty)]).await;
            let form = app.confirm_form(order).await;
            assert_eq!(
                app.confirm(order, &form).await.status,
                StatusCode::SEE_OTHER
            );
        }
        // An order left in draft counts nowhere.
        app.draft(c, &[(a, 4)]).await;

        let admin = app.browser_as("root", Role::Admin).await;
        let page = admin.get("/").await;
        let rows = figures(&page, "chart-confirmations");
        assert_eq!(rows[29], (today(), "2".to_string()));
        assert!(rows[..29].iter().all(|(_, v)| v == "0"), "{rows:?}");
        // 3 x 10.00 at 20% tax
        let revenue = figures(&page, "chart-revenue");
        assert_eq!(revenue[29], (today(), "€36.00".to_string()));
        assert_eq!(page.count("#chart-revenue svg rect.chart-bar"), 30);
        assert_eq!(
            page.count("#chart-confirmations svg[role=img][aria-labelledby]"),
            1
        );
        // The warehouse sees confirmations, not money.
        let warehouse = app.browser_as("walter", Role::Warehouse).await;
        let page = warehouse.get("/").await;
        assert_eq!(figures(&page, "chart-confirmations")[29].1, "2");
        assert_eq!(page.count("#chart-revenue"), 0);

        // Stored figures per quarter-hour, on this backend's SQL.
        let since = TimeBound::utc_day_start(
            time::OffsetDateTime::now_utc().date() - time::Duration::days(1),
        );
        let quarters = app.db.issued_by_quarter(since).await.unwrap();
        assert_eq!(quarters.iter().map(|q| q.invoices).sum::<i64>(), 2);
        assert_eq!(quarters.iter().map(|q| q.gross_cents).sum::<i64>(), 3600);
        let now = time::OffsetDateTime::now_utc();
        for q in &quarters {
            assert!(q.start() <= now && now - q.start() < time::Duration::minutes(16));
        }
    }
);

db_test!(
    the_ledger_chart_shows_stock_on_hand_at_the_end_of_each_day,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 50).await;
        let order = app.draft(c, &[(a, 7)]).await;
        let form = app.confirm_form(order).await;
        assert_eq!(
            app.confirm(order, &form).await.status,
            StatusCode::SEE_OTHER
        );
        let page = app.browser.get("/stock/A-1").await;
        assert_eq!(page.status, StatusCode::OK);
        let rows = figures(&page, "chart-stock");
        assert_eq!(rows.len(), 30);
        assert_eq!(rows[29], (today(), "43".to_string()), "today ends at 43");
        assert!(
            rows[..29].iter().all(|(_, v)| v == "0"),
            "before its opening stock the product had none: {rows:?}"
        );
        assert_eq!(page.count("#chart-stock polyline.chart-line"), 1);
        assert_eq!(
            page.count("#chart-stock line.chart-mark"),
            0,
            "no reorder level, no line"
        );

        // A product with a reorder level shows it as a dashed line and says it.
        let mut tx = app.db.begin().await.unwrap();
        let new = NewProduct {
            sku: "B-1",
            name: "Binder",
            unit_price_cents: 250,
            tax_rate_bp: 2000,
            opening_stock: 12,
            reorder_level: 10,
        };
        products::insert(&mut tx, &new, "test").await.unwrap();
        tx.commit().await.unwrap();
        let page = app.browser.get("/stock/B-1").await;
        assert_eq!(page.count("#chart-stock line.chart-mark"), 1);
        assert!(
            page.text("#chart-stock desc")
                .is_some_and(|d| d.contains("12 at the end") && d.contains("Reorder level: 10")),
            "{:?}",
            page.text("#chart-stock desc")
        );

        let since = TimeBound::utc_day_start(
            time::OffsetDateTime::now_utc().date() - time::Duration::days(1),
        );
        let balances = app.db.balance_by_quarter(a, since).await.unwrap();
        assert_eq!(balances.last().map(|b| b.balance), Some(43));
        assert_eq!(app.db.balance_before(a, since).await.unwrap(), 0);
    }
);
