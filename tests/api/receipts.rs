//! Goods receipts: the warehouse's form, idempotent like every other.

use axum::http::StatusCode;
use orderdesk::domain::Role;

use crate::helpers::{TestApp, db_test, set};

db_test!(
    a_goods_receipt_adds_stock_once_and_only_the_warehouse_may,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 1).await;
        let order = app.draft(c, &[(a, 5)]).await;
        let form = app.confirm_form(order).await;
        assert_eq!(
            app.confirm(order, &form).await.status,
            StatusCode::CONFLICT,
            "short before the goods arrive"
        );

        let wh = app.browser_as("walter", Role::Warehouse).await;
        let page = wh.get("/stock/A-1").await;
        assert_eq!(page.count("a[href='/receipts/new?sku=A-1']"), 1);
        let page = wh.get("/receipts/new?sku=A-1").await;
        assert_eq!(page.status, StatusCode::OK);
        let bad = set(
            &set(&page.form("form#receipt"), "quantity", "0"),
            "note",
            &"n".repeat(201),
        );
        let res = wh.post("/receipts", &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text("#quantity-error").is_some() && res.text("#note-error").is_some());
        assert_eq!(app.stock("A-1").await, 1);

        let good = set(
            &set(&res.form("form#receipt"), "quantity", "10"),
            "note",
            "DN-4711",
        );
        let r1 = wh.post("/receipts", &good).await;
        let r2 = wh.post("/receipts", &good).await;
        assert_eq!(r1.status, StatusCode::SEE_OTHER, "{}", r1.body);
        assert_eq!(r1.location(), Some("/stock/A-1"));
        assert!(r2.replayed());
        assert_eq!(app.stock("A-1").await, 11, "received once");
        assert_eq!(app.ledger_rows(a).await, 2, "opening + one receipt");
        let ledger = wh.get("/stock/A-1").await;
        assert!(ledger.text("#ledger tbody tr").unwrap().contains("receipt"));

        // The clerk's page's fresh form now confirms.
        let form = app.confirm_form(order).await;
        assert_eq!(
            app.confirm(order, &form).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(app.stock("A-1").await, 6);

        // A clerk neither sees nor uses the receipt form, even with the warehouse's form.
        assert_eq!(
            app.browser.get("/receipts/new").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.browser.post("/receipts", &good).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.browser
                .get("/stock/A-1")
                .await
                .count("a[href^='/receipts/new']"),
            0
        );
        assert_eq!(app.stock("A-1").await, 6);
        app.assert_invariants().await;
    }
);
