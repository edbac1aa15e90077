//! The confirmation transaction, one request at a time.

use axum::http::StatusCode;

use crate::helpers::{Backend, TestApp, db_test};

/// A customer, two products and a draft ordering 3 of A and 2 of B (A on two lines).
async fn setup(app: &TestApp) -> (i64, i64, i64) {
    let c = app.customer("C-1", "Acme").await;
    let a = app.product("A-1", 1999, 2000, 10).await;
    let b = app.product("B-1", 5, 1000, 5).await;
    let order = app.draft(c, &[(a, 1), (b, 2), (a, 2)]).await;
    (order, a, b)
}

db_test!(
    double_submit_gives_the_same_receipt_and_one_effect,
    |app: TestApp| async move {
        let (order, a, b) = setup(&app).await;
        let page = app.browser.get(&format!("/orders/{order}")).await;
        assert_eq!(page.status, StatusCode::OK);
        let form = page.form("form#confirm");

        let first = app.confirm(order, &form).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
        assert_eq!(
            first.location(),
            Some(format!("/orders/{order}/confirmation").as_str())
        );
        assert!(!first.replayed());
        assert!(first.headers.get("set-cookie").is_none());

        let second = app.confirm(order, &form).await;
        assert_eq!(second.status, StatusCode::SEE_OTHER);
        assert_eq!(second.location(), first.location());
        assert!(
            second.replayed(),
            "a duplicate is answered from the recorded outcome"
        );
        assert!(
            second.headers.get("set-cookie").is_none(),
            "a replay never sets cookies"
        );

        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(
            app.stock("A-1").await,
            7,
            "3 of A on two lines count once, summed"
        );
        assert_eq!(app.stock("B-1").await, 3);
        assert_eq!(app.ledger_rows(a).await, 2, "opening + one sale row");
        assert_eq!(app.ledger_rows(b).await, 2);
        app.assert_invariants().await;

        let receipt = app.browser.get(first.location().unwrap()).await;
        assert_eq!(receipt.status, StatusCode::OK);
        let number = receipt.text("#invoice-number").unwrap();
        assert!(
            number.starts_with("INV-") && number.ends_with("-000001"),
            "{number}"
        );
        // The same receipt however often it is opened.
        let again = app.browser.get(first.location().unwrap()).await;
        assert_eq!(again.text("#invoice-number").unwrap(), number);
        assert_eq!(again.text("#confirmed-at"), receipt.text("#confirmed-at"));
    }
);

db_test!(
    two_tabs_confirm_once_and_both_see_the_confirmation,
    |app: TestApp| async move {
        let (order, _, _) = setup(&app).await;
        let tab1 = app.confirm_form(order).await;
        let tab2 = app.confirm_form(order).await;
        assert_ne!(tab1, tab2, "each render has its own token");
        let r1 = app.confirm(order, &tab1).await;
        let r2 = app.confirm(order, &tab2).await;
        assert_eq!(r1.status, StatusCode::SEE_OTHER);
        assert_eq!(r2.status, StatusCode::SEE_OTHER, "{}", r2.body);
        assert_eq!(r1.location(), r2.location());
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 7);
        app.assert_invariants().await;
    }
);

db_test!(
    injected_failure_after_stock_update_leaves_nothing_and_retry_succeeds_once,
    |app: TestApp| async move {
        let (order, a, _) = setup(&app).await;
        let form = app.confirm_form(order).await;
        app.db.faults().fail_next_confirmation_after_stock_update();
        let failed = app.confirm(order, &form).await;
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !failed.body.contains("injected"),
            "a 500 shows a generic page, not the detail"
        );
        assert_eq!(app.stock("A-1").await, 10, "the stock update rolled back");
        assert_eq!(app.order_status(order).await, "draft");
        assert!(app.invoice_numbers().await.is_empty());
        assert_eq!(app.ledger_rows(a).await, 1);
        app.assert_invariants().await;

        // The same token again: nothing was recorded, so it is evaluated afresh, exactly once.
        let retry = app.confirm(order, &form).await;
        assert_eq!(retry.status, StatusCode::SEE_OTHER, "{}", retry.body);
        assert!(!retry.replayed());
        let dup = app.confirm(order, &form).await;
        assert!(dup.replayed());
        let numbers = app.invoice_numbers().await;
        assert_eq!(numbers.len(), 1);
        assert!(
            numbers[0].ends_with("-000001"),
            "the failed attempt burned no number: {numbers:?}"
        );
        assert_eq!(app.stock("A-1").await, 7);
        app.assert_invariants().await;
    }
);

db_test!(
    short_stock_lists_every_short_line_and_changes_nothing,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 2).await;
        let b = app.product("B-1", 100, 2000, 0).await;
        let ok = app.product("OK-1", 100, 2000, 50).await;
        let order = app.draft(c, &[(a, 2), (a, 1), (b, 4), (ok, 5)]).await;
        let form = app.confirm_form(order).await;
        let res = app.confirm(order, &form).await;
        assert_eq!(res.status, StatusCode::CONFLICT);
        assert_eq!(res.count("#shortages tr.short-line"), 2, "{}", res.body);
        let text = res.text("#shortages").unwrap();
        assert!(
            text.contains("A-1") && text.contains("B-1") && !text.contains("OK-1"),
            "{text}"
        );
        assert_eq!(app.stock("A-1").await, 2);
        assert_eq!(app.stock("OK-1").await, 50);
        assert_eq!(app.order_status(order).await, "draft");
        assert!(app.invoice_numbers().await.is_empty());
        app.assert_invariants().await;

        // Fix the order (remove the short lines) with the forms of the refreshed page; then the
        // page's new Confirm form confirms exactly once.
        for _ in 0..3 {
            let page = app.browser.get(&format!("/orders/{order}")).await;
            let html = page.html();
            let sel = scraper::Selector::parse("tr.line").unwrap();
            let short = html
                .select(&sel)
                .find(|tr| {
                    let t = tr.text().collect::<String>();
                    t.contains("A-1") || t.contains("B-1")
                })
                .map(|tr| tr.value().attr("data-line").unwrap().to_string());
            let Some(line) = short else { break };
            let remove = page.form(&format!("tr[data-line=\"{line}\"] form"));
            let r = app
                .browser
                .post(&format!("/orders/{order}/lines/{line}/delete"), &remove)
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
        }
        // The old form is stale: the order changed after it was rendered.
        let stale = app.confirm(order, &form).await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        let fresh = app.confirm_form(order).await;
        let done = app.confirm(order, &fresh).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(app.stock("OK-1").await, 45);
        assert_eq!(app.stock("A-1").await, 2);
        app.assert_invariants().await;
    }
);

db_test!(
    per_line_rounding_one_cent_edges_on_the_invoice,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        // 0.05 at 10% -> tax 0.005 -> 0.01 per line; rounding the sum would give 0.02 for three.
        let p = app.product("HALF", 5, 1000, 100).await;
        // 0.04 at 10% -> 0.004 -> 0.00
        let q = app.product("UNDER", 4, 1000, 100).await;
        // 3 x 3.33 = 9.99 at 7.7% -> 0.76923 -> 0.77
        let r = app.product("ODD", 333, 770, 100).await;
        let order = app
            .draft(c, &[(p, 1), (p, 1), (p, 1), (q, 1), (r, 3)])
            .await;
        let form = app.confirm_form(order).await;
        let res = app.confirm(order, &form).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        let inv = app.db.find_invoice_for_order(order).await.unwrap().unwrap();
        let lines = app.db.invoice_lines(order).await.unwrap();
        let taxes: Vec<i64> = lines.iter().map(|l| l.tax_cents).collect();
        assert_eq!(taxes, vec![1, 1, 1, 0, 77]);
        assert_eq!(inv.net_cents, 5 + 5 + 5 + 4 + 999);
        assert_eq!(inv.tax_cents, 1 + 1 + 1 + 77);
        assert_eq!(inv.gross_cents, inv.net_cents + inv.tax_cents);
        assert_eq!(
            inv.net_cents,
            lines.iter().map(|l| l.net_cents).sum::<i64>()
        );
        let page = app.browser.get(&format!("/invoices/{}", inv.number)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.text("#gross").unwrap(), "€10.98");
        app.assert_invariants().await;
    }
);

db_test!(
    after_keys_are_purged_the_conditional_update_still_prevents_a_second_effect,
    |app: TestApp| async move {
        let (order, _, _) = setup(&app).await;
        let form = app.confirm_form(order).await;
        let first = app.confirm(order, &form).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER);
        let future = orderdesk::db::now() + time::Duration::days(1);
        let purged = app.db.purge_idempotency(future, 1).await.unwrap();
        assert!(purged >= 1);
        let again = app.confirm(order, &form).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
        assert_eq!(again.location(), first.location());
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 7);
        app.assert_invariants().await;
    }
);

db_test!(
    check_finds_an_invoice_whose_figures_break_the_rounding_rule,
    |app: TestApp| async move {
        use crate::credit_notes::raw_sql;
        let (order, _, _) = setup(&app).await;
        let form = app.confirm_form(order).await;
        let done = app.confirm(order, &form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        app.assert_invariants().await;
        let number = app.invoice_numbers().await.remove(0);
        // Issued documents never change through any connection (triggers): the check is for a
        // database edited or restored behind them, so this test drops them first.
        for (table, trigger) in [
            ("invoices", "invoices_never_change"),
            ("invoice_lines", "invoice_lines_never_change"),
        ] {
            let drop = match app.backend {
                Backend::Sqlite => format!("DROP TRIGGER {trigger}"),
                Backend::Postgres => format!("DROP TRIGGER {trigger} ON {table}"),
            };
            raw_sql(&app, &drop).await.unwrap();
        }

        // A line whose gross is not its net plus its tax: the sums of net and tax still match.
        let tamper = "UPDATE invoice_lines SET gross_cents = gross_cents + 1 WHERE line_no = 1";
        assert_eq!(raw_sql(&app, tamper).await.unwrap(), 1);
        let v = app.db.check_invariants().await.unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].0.contains(&number), "{v:?}");
        let back = "UPDATE invoice_lines SET gross_cents = gross_cents - 1 WHERE line_no = 1";
        assert_eq!(raw_sql(&app, back).await.unwrap(), 1);
        app.assert_invariants().await;

        // A cent moved from tax to net on one line and on the invoice: every sum and every
        // gross still adds up (the header's CHECK holds); only the line's net is no longer its
        // quantity times its price.
        let line = "UPDATE invoice_lines SET net_cents = net_cents + 1, tax_cents = tax_cents - 1 \
                    WHERE line_no = 1";
        assert_eq!(raw_sql(&app, line).await.unwrap(), 1);
        let head = "UPDATE invoices SET net_cents = net_cents + 1, tax_cents = tax_cents - 1";
        assert_eq!(raw_sql(&app, head).await.unwrap(), 1);
        let v = app.db.check_invariants().await.unwrap();
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].0.contains(&number), "{v:?}");
    }
);
