//! Every page renders; the schema is what the binary expects; health endpoints answer.

use axum::http::StatusCode;

use crate::helpers::{TestApp, db_test};

db_test!(every_page_renders_with_data, |app: TestApp| async move {
    orderdesk::demo::load(&app.db).await.unwrap();
    // Loading twice changes nothing.
    assert!(
        orderdesk::demo::load(&app.db)
            .await
            .unwrap()
            .contains("already")
    );
    let order = app.db.list_orders(&Default::default(), 1, 0).await.unwrap()[0].id;
    let form = app.confirm_form(order).await;
    let confirmed = app.confirm(order, &form).await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let number = app.invoice_numbers().await[0].clone();
    for path in [
        "/".to_string(),
        "/orders".into(),
        "/orders?status=draft&q=acme".into(),
        "/orders/new".into(),
        "/orders/new?q=m%C3%BCller".into(),
        format!("/orders/{order}"),
        format!("/orders/{order}/confirmation"),
        "/stock".into(),
        "/stock?low=1".into(),
        "/stock/PAPER-A4-500".into(),
        "/invoices".into(),
        "/invoices?from=2020-01-01&to=2099-12-31".into(),
        format!("/invoices/{number}"),
        "/customers".into(),
        "/products?q=paper".into(),
        "/static/app.css".into(),
        "/static/app.js".into(),
        "/healthz".into(),
        "/readyz".into(),
    ] {
        let p = app.browser.get(&path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
    }
    let list = app.browser.get("/invoices").await;
    assert_eq!(list.count("#invoices tbody tr"), 1);
    let stock = app.browser.get("/stock/PAPER-A4-500").await;
    assert_eq!(stock.count("#ledger tbody tr"), 2);
    app.assert_invariants().await;
});

db_test!(
    schema_is_current_after_migration_and_pages_carry_security_headers,
    |app: TestApp| async move {
        assert_eq!(
            app.db.schema_state().await.unwrap(),
            orderdesk::db::migrate::SchemaState::Current
        );
        assert!(
            app.db
                .migration_status()
                .await
                .unwrap()
                .iter()
                .all(|m| m.applied)
        );
        let p = app.browser.get("/orders").await;
        let csp = p
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
        assert_eq!(p.headers.get("x-content-type-options").unwrap(), "nosniff");
        assert!(p.headers.get("x-request-id").is_some());
        assert!(p.count("script:not([src])") == 0, "no inline script");
    }
);
