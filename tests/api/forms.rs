//! Every other form is idempotent too, and bad tokens and bad input change nothing.

use axum::http::StatusCode;

use orderdesk::domain::Role;

use crate::helpers::{TestApp, db_test, set};

db_test!(
    add_line_double_submit_adds_one_line_and_changed_content_is_refused,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        app.product("A-1", 100, 2000, 10).await;
        app.product("B-1", 100, 2000, 10).await;
        let order = app.draft(c, &[]).await;
        let page = app.browser.get(&format!("/orders/{order}")).await;
        let form = set(
            &set(&page.form("form#add-line"), "sku", "a-1"),
            "quantity",
            "2.0",
        );
        let path = format!("/orders/{order}/lines");
        let r1 = app.browser.post(&path, &form).await;
        assert_eq!(r1.status, StatusCode::SEE_OTHER, "{}", r1.body);
        // The same form again, re-encoded (2.00 is the same number): a replay.
        let r2 = app
            .browser
            .post(&path, &set(&form, "quantity", "2.00"))
            .await;
        assert_eq!(r2.status, StatusCode::SEE_OTHER);
        assert!(r2.replayed());
        assert_eq!(app.db.order_lines(order).await.unwrap().len(), 1);
        // The same token with another quantity or product: 422, nothing changes.
        let r3 = app.browser.post(&path, &set(&form, "quantity", "3")).await;
        assert_eq!(r3.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r3.body);
        let r4 = app.browser.post(&path, &set(&form, "sku", "B-1")).await;
        assert_eq!(r4.status, StatusCode::UNPROCESSABLE_ENTITY);
        let lines = app.db.order_lines(order).await.unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].quantity, 2);
        assert_eq!(lines[0].sku, "A-1");
    }
);

db_test!(
    new_order_double_submit_creates_one_order,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let page = app.browser.get("/orders/new").await;
        assert_eq!(page.status, StatusCode::OK);
        let form = set(
            &set(
                &page.form("form[action=\"/orders\"]"),
                "customer_id",
                &c.to_string(),
            ),
            "reference",
            "PO-1",
        );
        let r1 = app.browser.post("/orders", &form).await;
        let r2 = app.browser.post("/orders", &form).await;
        assert_eq!(r1.status, StatusCode::SEE_OTHER, "{}", r1.body);
        assert_eq!(r1.location(), r2.location());
        assert!(r2.replayed());
        let orders = app
            .db
            .list_orders(
                &Default::default(),
                100,
                orderdesk::db::orders::Cursor::First,
            )
            .await
            .unwrap()
            .0;
        assert_eq!(orders.len(), 1);
        assert_eq!(
            r1.location(),
            Some(format!("/orders/{}", orders[0].id).as_str())
        );
    }
);

db_test!(
    bad_tokens_are_refused_and_change_nothing,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 10).await;
        let order = app.draft(c, &[(a, 1)]).await;
        let other = app.draft(c, &[(a, 1)]).await;
        let form = app.confirm_form(order).await;
        let path = format!("/orders/{order}/confirm");

        let missing: Vec<_> = form
            .iter()
            .filter(|(k, _)| k != "idempotency_token")
            .cloned()
            .collect();
        assert_eq!(
            app.browser.post(&path, &missing).await.status,
            StatusCode::BAD_REQUEST
        );
        let malformed = set(&form, "idempotency_token", "not-a-token");
        assert_eq!(
            app.browser.post(&path, &malformed).await.status,
            StatusCode::BAD_REQUEST
        );
        let token = form
            .iter()
            .find(|(k, _)| k == "idempotency_token")
            .unwrap()
            .1
            .clone();
        let mut forged = token.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'a' { b'b' } else { b'a' };
        let forged = set(
            &form,
            "idempotency_token",
            &String::from_utf8(forged).unwrap(),
        );
        assert_eq!(
            app.browser.post(&path, &forged).await.status,
            StatusCode::FORBIDDEN
        );
        // Another browser's token, and this order's token used on another order.
        let stranger = app.browser_as("clerk2", Role::Clerk).await;
        assert_eq!(
            stranger.post(&path, &form).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.confirm(other, &form).await.status,
            StatusCode::FORBIDDEN
        );
        // A confirm token used on the add-line form.
        let as_line = set(&set(&form, "sku", "A-1"), "quantity", "1");
        assert_eq!(
            app.browser
                .post(&format!("/orders/{order}/lines"), &as_line)
                .await
                .status,
            StatusCode::FORBIDDEN
        );

        assert_eq!(app.order_status(order).await, "draft");
        assert_eq!(app.order_status(other).await, "draft");
        assert!(app.invoice_numbers().await.is_empty());
        assert_eq!(app.stock("A-1").await, 10);
        assert_eq!(app.db.order_lines(order).await.unwrap().len(), 1);
    }
);

db_test!(
    bad_input_gets_a_clear_4xx_and_keeps_what_was_typed,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        app.product("A-1", 100, 2000, 10).await;
        let order = app.draft(c, &[]).await;
        let page = app.browser.get(&format!("/orders/{order}")).await;
        let form = page.form("form#add-line");
        let res = app
            .browser
            .post(
                &format!("/orders/{order}/lines"),
                &set(&set(&form, "sku", "NOPE"), "quantity", "2.5"),
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text("#sku-error").unwrap().contains("NOPE"));
        assert!(res.text("#quantity-error").unwrap().contains("whole"));
        let kept = res.form("form#add-line");
        assert!(kept.contains(&("quantity".to_string(), "2.5".to_string())));
        assert!(kept.contains(&("sku".to_string(), "NOPE".to_string())));
        // The corrected form with the same token works, once.
        let fixed = set(&set(&kept, "sku", "A-1"), "quantity", "2");
        assert_eq!(
            app.browser
                .post(&format!("/orders/{order}/lines"), &fixed)
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(
            app.browser
                .post(&format!("/orders/{order}/lines"), &fixed)
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(app.db.order_lines(order).await.unwrap().len(), 1);

        for (path, status) in [
            ("/orders/abc", StatusCode::NOT_FOUND),
            ("/orders/999999", StatusCode::NOT_FOUND),
            ("/orders?before=-1", StatusCode::BAD_REQUEST),
            ("/orders?before=abc", StatusCode::BAD_REQUEST),
            ("/orders?status=weird", StatusCode::BAD_REQUEST),
            ("/stock/NO-SUCH", StatusCode::NOT_FOUND),
            ("/invoices/INV-2026-000001", StatusCode::NOT_FOUND),
            ("/invoices/garbage", StatusCode::NOT_FOUND),
            ("/no/such/page", StatusCode::NOT_FOUND),
        ] {
            let p = app.browser.get(path).await;
            assert_eq!(p.status, status, "{path}");
            assert!(p.body.contains("<h1>"), "{path} renders the error page");
        }
        // A form post that is not a form, or has no fields at all.
        let raw = axum::http::Request::post(format!("/orders/{order}/confirm"))
            .header("content-type", "application/json")
            .header("cookie", app.browser.cookie())
            .body(axum::body::Body::from("{}"))
            .unwrap();
        assert_eq!(
            app.browser.request(raw).await.status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            app.browser
                .post(&format!("/orders/{order}/confirm"), &[])
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
    }
);
