//! Master data (SPEC section 11): customers and products created, edited, deactivated and
//! reactivated by admins through tokenized forms; codes and SKUs never reused; prices read as
//! people type them and stored exactly; inactive records on no new order or line; and issued
//! documents that never change, down to the database refusing raw SQL.

use std::time::Duration;

use axum::http::StatusCode;
use orderdesk::domain::Role;
use serde_json::{Value, json};

use crate::api_client::clerk_client;
use crate::credit_notes::{
    Fields, accountant, cancel, cancel_form, cn, confirm_by_form, raw_i64, raw_sql, rows,
};
use crate::helpers::{Browser, Page, TestApp, db_test, set};

/// An admin's browser (`root`).
async fn admin(app: &TestApp) -> Browser {
    app.browser_as("root", Role::Admin).await
}

/// `form` with these fields set.
fn fill(form: &Fields, values: &[(&str, &str)]) -> Fields {
    values.iter().fold(form.clone(), |f, (k, v)| set(&f, k, v))
}

/// The form `css` of the page at `path`, which must answer 200.
async fn form_of(b: &Browser, path: &str, css: &str) -> Fields {
    let page = b.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    page.form(css)
}

/// The new-customer form filled in (the address is a textarea, so it is added here).
async fn customer_form(b: &Browser, code: &str, name: &str, address: &str) -> Fields {
    let form = form_of(b, "/customers/new", "form#customer").await;
    fill(
        &form,
        &[
            ("code", code),
            ("name", name),
            ("address", address),
            ("vat_id", ""),
        ],
    )
}

/// The new-product form filled in.
async fn product_form(b: &Browser, sku: &str, name: &str, price: &str, rate: &str) -> Fields {
    let form = form_of(b, "/products/new", "form#product").await;
    fill(
        &form,
        &[
            ("sku", sku),
            ("name", name),
            ("unit_price", price),
            ("tax_rate", rate),
            ("reorder_level", "5"),
        ],
    )
}

/// The `value` of the input `css` on a page.
fn value(page: &Page, css: &str) -> String {
    let sel = scraper::Selector::parse(css).unwrap();
    page.html()
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_string))
        .unwrap_or_else(|| panic!("no {css} with a value"))
}

async fn customers(app: &TestApp) -> i64 {
    raw_i64(app, "SELECT COUNT(*) FROM customers").await
}

async fn products(app: &TestApp) -> i64 {
    raw_i64(app, "SELECT COUNT(*) FROM products").await
}

/// The product of the API's product list with `sku`.
async fn api_product(app: &TestApp, sku: &str) -> Value {
    let api = clerk_client(app).await;
    let list = api.get("/api/v1/products?limit=200").await.expect_json(200);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["sku"] == sku)
        .cloned()
        .unwrap_or_else(|| panic!("{sku} in {list}"))
}

/// The cells of a product's row on the product list: SKU, name, price, rate, on hand, status.
async fn listed_product(b: &Browser, sku: &str) -> Vec<String> {
    let page = b.get(&format!("/products?q={sku}")).await;
    rows(&page, &format!("#products tr[data-product='{sku}']"))
        .pop()
        .unwrap_or_else(|| panic!("{sku} is not listed: {}", page.body))
}

/// `n` concurrent posts of one form (the same token), the first held open so they overlap;
/// asserts one did the work and every answer is its 303 (or "still processing").
async fn storm(app: &TestApp, b: &Browser, path: &str, form: &Fields, n: usize, shown: &str) {
    app.db.faults().set_action_delay(Duration::from_millis(200));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (b, form, path) = (b.clone(), form.clone(), path.to_string());
        tasks.push(tokio::spawn(async move { b.post(&path, &form).await }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    app.db.faults().set_action_delay(Duration::ZERO);
    for p in &answers {
        match p.status {
            StatusCode::SEE_OTHER => assert_eq!(p.location(), Some(shown)),
            StatusCode::ACCEPTED => assert!(p.headers.get("refresh").is_some()),
            other => panic!("unexpected {other}: {}", p.body),
        }
    }
    let fresh = answers
        .iter()
        .filter(|p| p.status == StatusCode::SEE_OTHER && !p.replayed())
        .count();
    assert_eq!(fresh, 1, "exactly one request did the work");
}

db_test!(
    an_admin_creates_customers_and_products_through_the_forms_once,
    |app: TestApp| async move {
        let root = admin(&app).await;
        let form = customer_form(&root, "C-2001", "Harbour Foods", "1 Quay Road\nBristol").await;
        let created = root.post("/customers", &form).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert_eq!(created.location(), Some("/customers/C-2001/edit"));
        let edit = root.get("/customers/C-2001/edit").await;
        assert_eq!(edit.status, StatusCode::OK);
        assert_eq!(value(&edit, "#name"), "Harbour Foods");
        let list = root.get("/customers").await;
        let row = rows(&list, "#customers tr[data-customer='C-2001']");
        assert_eq!(
            row,
            vec![vec![
                "C-2001".to_string(),
                "Harbour Foods".into(),
                "1 Quay Road, Bristol".into(),
                "".into(),
                "active".into()
            ]]
        );

        let form = product_form(&root, "LAMP-1", "Desk lamp", "19.99", "20").await;
        let created = root.post("/products", &form).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert_eq!(created.location(), Some("/products/LAMP-1/edit"));
        assert_eq!(
            listed_product(&root, "LAMP-1").await,
            vec!["LAMP-1", "Desk lamp", "€19.99", "20%", "0", "active"]
        );
        assert_eq!(
            app.stock("LAMP-1").await,
            0,
            "stock comes in as goods received"
        );

        // The same form twice (a double-click, a reload): one record, the same answer.
        for (path, form, shown) in [
            (
                "/customers",
                customer_form(&root, "C-2002", "Twice Ltd", "").await,
                "/customers/C-2002/edit",
            ),
            (
                "/products",
                product_form(&root, "LAMP-2", "Twice lamp", "5", "20").await,
                "/products/LAMP-2/edit",
            ),
        ] {
            let first = root.post(path, &form).await;
            let second = root.post(path, &form).await;
            assert_eq!(first.location(), Some(shown), "{}", first.body);
            assert_eq!(second.status, StatusCode::SEE_OTHER);
            assert_eq!(second.location(), Some(shown));
            assert!(second.replayed());
        }
        assert_eq!(customers(&app).await, 2);
        assert_eq!(products(&app).await, 2);

        // Ten at once: one record.
        let form = customer_form(&root, "C-2003", "Storm Ltd", "").await;
        storm(
            &app,
            &root,
            "/customers",
            &form,
            10,
            "/customers/C-2003/edit",
        )
        .await;
        let form = product_form(&root, "LAMP-3", "Storm lamp", "7.5", "20").await;
        storm(&app, &root, "/products", &form, 10, "/products/LAMP-3/edit").await;
        assert_eq!(customers(&app).await, 3);
        assert_eq!(products(&app).await, 3);
        let events = raw_i64(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action IN ('create-customer', 'create-product')",
        )
        .await;
        assert_eq!(events, 6, "one audit event per record");
    }
);

db_test!(
    duplicate_codes_and_skus_are_refused_beside_the_field_and_never_reused,
    |app: TestApp| async move {
        let root = admin(&app).await;
        let form = customer_form(&root, "C-3001", "First Owner", "").await;
        assert_eq!(
            root.post("/customers", &form).await.status,
            StatusCode::SEE_OTHER
        );
        let form = product_form(&root, "BOLT-1", "Bolt", "0.10", "20").await;
        assert_eq!(
            root.post("/products", &form).await.status,
            StatusCode::SEE_OTHER
        );

        let form = customer_form(&root, "C-3001", "Second Owner", "5 Other St").await;
        let page = root.post("/customers", &form).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        let error = page.text("#code-error").unwrap_or_default();
        assert!(error.contains("C-3001"), "{error}");
        assert_eq!(value(&page, "#code"), "C-3001", "input kept");
        assert_eq!(value(&page, "#name"), "Second Owner");
        assert_eq!(page.text("#address").unwrap(), "5 Other St");
        assert_eq!(customers(&app).await, 1, "nothing created");
        // Codes are read in capitals: another spelling is the same code.
        let form = customer_form(&root, " c-3001 ", "Lower Owner", "").await;
        let page = root.post("/customers", &form).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert!(page.count("#code-error") > 0);
        assert_eq!(customers(&app).await, 1);

        let form = product_form(&root, "BOLT-1", "Another bolt", "0.20", "20").await;
        let page = root.post("/products", &form).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert!(
            page.text("#sku-error")
                .unwrap_or_default()
                .contains("BOLT-1")
        );
        assert_eq!(value(&page, "#sku"), "BOLT-1");
        assert_eq!(value(&page, "#name"), "Another bolt");
        assert_eq!(value(&page, "#unit_price"), "0.20");
        assert_eq!(products(&app).await, 1);
        let form = product_form(&root, "bolt-1", "Lower bolt", "0.20", "20").await;
        let page = root.post("/products", &form).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert!(page.count("#sku-error") > 0);
        assert_eq!(products(&app).await, 1);
        assert_eq!(api_product(&app, "BOLT-1").await["name"], "Bolt");

        // Deactivated, the codes are still taken.
        for (edit, css, path) in [
            (
                "/customers/C-3001/edit",
                "form#customer-active",
                "/customers/C-3001/active",
            ),
            (
                "/products/BOLT-1/edit",
                "form#product-active",
                "/products/BOLT-1/active",
            ),
        ] {
            let form = form_of(&root, edit, css).await;
            let done = root.post(path, &form).await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        }
        let form = customer_form(&root, "C-3001", "Third Owner", "").await;
        let page = root.post("/customers", &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.count("#code-error") > 0);
        let form = product_form(&root, "BOLT-1", "Third bolt", "1", "20").await;
        let page = root.post("/products", &form).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.count("#sku-error") > 0);
        assert_eq!((customers(&app).await, products(&app).await), (1, 1));
        let name = app
            .db
            .find_customer_by_code("C-3001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(name.name, "First Owner");
    }
);

db_test!(
    prices_and_rates_are_read_as_people_type_them_and_stored_exactly,
    |app: TestApp| async move {
        let root = admin(&app).await;
        for (sku, price, rate, listed, api_price, api_rate) in [
            ("P-HALF", "12.5", "20", "€12.50", "12.50", "20.00"),
            (
                "P-GROUPED",
                "1,234.50",
                "7.7",
                "€1,234.50",
                "1234.50",
                "7.70",
            ),
            ("P-ONE", "0.01", "0", "€0.01", "0.01", "0.00"),
        ] {
            let form = product_form(&root, sku, "Priced", price, rate).await;
            let done = root.post("/products", &form).await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{sku}: {}", done.body);
            assert_eq!(listed_product(&root, sku).await[2], listed);
            let p = api_product(&app, sku).await;
            assert_eq!(
                (&p["unit_price"], &p["tax_rate"]),
                (&json!(api_price), &json!(api_rate))
            );
        }
        let stored = app
            .db
            .find_product_by_sku("P-GROUPED")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (stored.unit_price_cents, stored.tax_rate_bp),
            (123_450, 770)
        );
        let edit = root.get("/products/P-GROUPED/edit").await;
        assert_eq!(value(&edit, "#unit_price"), "1234.50");
        assert_eq!(value(&edit, "#tax_rate"), "7.7");

        // A decimal comma: refused beside the field, with a message naming the point.
        let form = product_form(&root, "P-COMMA", "Comma", "12,50", "20").await;
        let page = root.post("/products", &form).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        let error = page.text("#unit_price-error").unwrap_or_default();
        assert!(error.contains("point"), "{error}");
        assert_eq!(value(&page, "#unit_price"), "12,50", "input kept");
        assert_eq!(page.count("#unit_price[aria-invalid=true]"), 1);
        assert_eq!(
            page.count("#tax_rate-error"),
            0,
            "only the wrong field is marked"
        );
        let form = product_form(&root, "P-COMMA", "Comma", "12.50", "7,7").await;
        let page = root.post("/products", &form).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        let error = page.text("#tax_rate-error").unwrap_or_default();
        assert!(error.contains("point"), "{error}");
        assert_eq!(value(&page, "#tax_rate"), "7,7");
        assert_eq!(page.count("#unit_price-error"), 0);
        for (price, rate) in [("12.505", "20"), ("-1", "20"), ("abc", "20"), ("1", "101")] {
            let form = product_form(&root, "P-BAD", "Bad", price, rate).await;
            let page = root.post("/products", &form).await;
            assert_eq!(
                page.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{price} {rate}"
            );
        }
        assert_eq!(products(&app).await, 3, "nothing refused was created");

        // The same reading when editing.
        let form = form_of(&root, "/products/P-HALF/edit", "form#product").await;
        let page = root
            .post("/products/P-HALF/edit", &set(&form, "unit_price", "13,5"))
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            page.text("#unit_price-error")
                .unwrap_or_default()
                .contains("point")
        );
        let done = root
            .post(
                "/products/P-HALF/edit",
                &set(&form, "unit_price", "2,013.5"),
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let stored = app.db.find_product_by_sku("P-HALF").await.unwrap().unwrap();
        assert_eq!(stored.unit_price_cents, 201_350);
    }
);

db_test!(
    price_history_address_changes_and_deactivation,
    |app: TestApp| async move {
        let root = admin(&app).await;
        let form = customer_form(&root, "C-4001", "Lakeside Inn", "1 Shore Rd\nKeswick").await;
        assert_eq!(
            root.post("/customers", &form).await.status,
            StatusCode::SEE_OTHER
        );
        let form = product_form(&root, "MUG-1", "Mug", "4.50", "20").await;
        assert_eq!(
            root.post("/products", &form).await.status,
            StatusCode::SEE_OTHER
        );
        let c = app
            .db
            .find_customer_by_code("C-4001")
            .await
            .unwrap()
            .unwrap()
            .id;
        let mug = app
            .db
            .find_product_by_sku("MUG-1")
            .await
            .unwrap()
            .unwrap()
            .id;
        let mut tx = app.db.begin().await.unwrap();
        orderdesk::db::stock::adjust(&mut tx, mug, 100, "test")
            .await
            .unwrap();
        tx.commit().await.unwrap();

        // A new price: the history gains a row saying who and when.
        let page = root.get("/products/MUG-1/edit").await;
        let before = rows(&page, "#price-history tbody tr");
        assert_eq!(before.len(), 1);
        assert_eq!(before[0][1], "€4.50");
        assert_eq!(before[0][3], "root");
        let form = set(&page.form("form#product"), "unit_price", "5.25");
        let done = root.post("/products/MUG-1/edit", &form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), Some("/products/MUG-1/edit"));
        let after = rows(
            &root.get("/products/MUG-1/edit").await,
            "#price-history tbody tr",
        );
        assert_eq!(after.len(), 2, "{after:?}");
        assert_eq!(after[0][1], "€5.25", "newest first");
        assert_eq!(after[0][2], "20%");
        assert_eq!(after[0][3], "root");
        assert!(after[0][0].ends_with("UTC"), "when: {:?}", after[0]);
        assert_eq!(after[1], before[0]);
        // A name change alone is no new price.
        let form = form_of(&root, "/products/MUG-1/edit", "form#product").await;
        let done = root
            .post("/products/MUG-1/edit", &set(&form, "name", "Big mug"))
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let page = root.get("/products/MUG-1/edit").await;
        assert_eq!(page.count("#price-history tbody tr"), 2);
        assert_eq!(value(&page, "#name"), "Big mug");

        // A new address.
        let form = form_of(&root, "/customers/C-4001/edit", "form#customer").await;
        let form = set(&form, "address", "7 Hill St\nAmbleside");
        let done = root.post("/customers/C-4001/edit", &form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let edit = root.get("/customers/C-4001/edit").await;
        assert_eq!(edit.text("#address").unwrap(), "7 Hill St\nAmbleside");
        let list = root.get("/customers").await;
        let row = rows(&list, "#customers tr[data-customer='C-4001']")
            .pop()
            .unwrap();
        assert_eq!(row[2], "7 Hill St, Ambleside");

        // Documents made while active: a draft and a confirmed order.
        let draft = app.draft(c, &[(mug, 2)]).await;
        let sold = app.draft(c, &[(mug, 1)]).await;
        let invoice = confirm_by_form(&app, sold).await;

        // Deactivate both.
        for (edit, css, path) in [
            (
                "/customers/C-4001/edit",
                "form#customer-active",
                "/customers/C-4001/active",
            ),
            (
                "/products/MUG-1/edit",
                "form#product-active",
                "/products/MUG-1/active",
            ),
        ] {
            let form = form_of(&root, edit, css).await;
            assert!(form.contains(&("active".to_string(), "0".to_string())));
            let done = root.post(path, &form).await;
            assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
            assert_eq!(done.location(), Some(edit));
            assert_eq!(root.get(edit).await.count("h1 .badge-inactive"), 1);
        }
        let list = root.get("/customers").await;
        assert_eq!(list.count("tr[data-customer='C-4001'] .badge-inactive"), 1);
        let list = root.get("/products").await;
        assert_eq!(list.count("tr[data-product='MUG-1'] .badge-inactive"), 1);
        assert_eq!(api_product(&app, "MUG-1").await["active"], false);

        // Not offered for a new order, and refused when asked for anyway.
        let new = app.browser.get("/orders/new").await;
        assert_eq!(new.status, StatusCode::OK);
        assert!(
            !new.body.contains("C-4001"),
            "an inactive customer is not offered"
        );
        let token = new.form("form[action='/orders']");
        let orders_before = app.order_count().await;
        let refused = app
            .browser
            .post(
                "/orders",
                &fill(
                    &token,
                    &[("customer_id", &c.to_string()), ("reference", "")],
                ),
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(
            refused
                .text("#customer_id-error")
                .unwrap_or_default()
                .contains("inactive")
        );
        let api = clerk_client(&app).await;
        let p = api
            .post(
                "/api/v1/orders",
                Some("inactive-customer"),
                &json!({"customer": "C-4001", "lines": []}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "customer", "{p}");
        assert_eq!(app.order_count().await, orders_before, "no order made");

        // An inactive product goes on no new line, in the form or through the API.
        let other = app.customer("C-4002", "Active customer").await;
        let open = app.draft(other, &[]).await;
        let page = app.browser.get(&format!("/orders/{open}")).await;
        let form = fill(
            &page.form("form#add-line"),
            &[("sku", "MUG-1"), ("quantity", "1")],
        );
        let refused = app
            .browser
            .post(&format!("/orders/{open}/lines"), &form)
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(
            refused
                .text("#sku-error")
                .unwrap_or_default()
                .contains("inactive")
        );
        assert_eq!(value(&refused, "#sku"), "MUG-1", "input kept");
        let p = api
            .post(
                &format!("/api/v1/orders/{open}/lines"),
                Some("inactive-line"),
                &json!({"sku": "MUG-1", "quantity": 1}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "sku", "{p}");
        let p = api
            .post(
                "/api/v1/orders",
                Some("inactive-product"),
                &json!({"customer": "C-4002", "lines": [{"sku": "MUG-1", "quantity": 1}]}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "lines[0].sku", "{p}");
        assert!(app.db.order_lines(open).await.unwrap().is_empty());

        // What exists keeps showing them.
        let page = app.browser.get(&format!("/orders/{draft}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text("h1").unwrap().contains("Lakeside Inn"));
        assert_eq!(rows(&page, "#lines tbody tr.line")[0][0], "MUG-1");
        let page = app.browser.get(&format!("/invoices/{invoice}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text(".bill-to").unwrap().contains("Lakeside Inn"));
        assert_eq!(rows(&page, "table.invoice-lines tbody tr")[0][1], "MUG-1");
        assert_eq!(
            app.browser
                .get(&format!("/orders/{sold}/confirmation"))
                .await
                .status,
            StatusCode::OK
        );

        // Reactivated: offered again and orderable.
        for (edit, css, path) in [
            (
                "/customers/C-4001/edit",
                "form#customer-active",
                "/customers/C-4001/active",
            ),
            (
                "/products/MUG-1/edit",
                "form#product-active",
                "/products/MUG-1/active",
            ),
        ] {
            let form = form_of(&root, edit, css).await;
            assert!(form.contains(&("active".to_string(), "1".to_string())));
            assert_eq!(root.post(path, &form).await.status, StatusCode::SEE_OTHER);
            assert_eq!(root.get(edit).await.count(".badge-inactive"), 0);
        }
        assert!(app.browser.get("/orders/new").await.body.contains("C-4001"));
        api.post(
            "/api/v1/orders",
            Some("active-again"),
            &json!({"customer": "C-4001", "lines": [{"sku": "MUG-1", "quantity": 1}]}),
        )
        .await
        .expect_json(201);
        let list = root.get("/products").await;
        assert_eq!(list.count("tr[data-product='MUG-1'] .badge-inactive"), 0);
        app.assert_invariants().await;
    }
);

db_test!(
    issued_documents_never_change_not_even_through_raw_sql,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1999, 2000, 50).await;
        let b = app.product("B-1", 350, 700, 50).await;
        let order = app.draft(c, &[(a, 2), (b, 3)]).await;
        let number = confirm_by_form(&app, order).await;
        let invoice_path = format!("/invoices/{number}");
        let order_path = format!("/orders/{order}");
        let invoice_before = app.browser.get(&invoice_path).await;
        let order_before = app.browser.get(&order_path).await;
        let csv_before = app.browser.get("/invoices.csv").await.body;
        assert_eq!(invoice_before.text("#gross").unwrap(), "€59.22");

        // New prices, tax rate, names and address after confirmation.
        let root = admin(&app).await;
        let form = form_of(&root, "/products/A-1/edit", "form#product").await;
        let form = fill(
            &form,
            &[
                ("unit_price", "99.00"),
                ("tax_rate", "25"),
                ("name", "New name"),
            ],
        );
        assert_eq!(
            root.post("/products/A-1/edit", &form).await.status,
            StatusCode::SEE_OTHER
        );
        let form = form_of(&root, "/customers/C-1/edit", "form#customer").await;
        let form = fill(
            &form,
            &[("name", "Acme Holdings"), ("address", "Elsewhere")],
        );
        assert_eq!(
            root.post("/customers/C-1/edit", &form).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(api_product(&app, "A-1").await["unit_price"], "99.00");

        let invoice_after = app.browser.get(&invoice_path).await;
        assert_eq!(invoice_after.text("#gross").unwrap(), "€59.22");
        assert_eq!(
            invoice_after.text("#document"),
            invoice_before.text("#document")
        );
        let order_after = app.browser.get(&order_path).await;
        assert_eq!(
            rows(&order_after, "#lines tbody tr.line"),
            rows(&order_before, "#lines tbody tr.line"),
            "the order shows its invoiced prices"
        );
        assert_eq!(rows(&order_after, "#lines tbody tr.line")[0][3], "€19.99");
        assert_eq!(
            order_after.text("#lines tfoot tr.total"),
            order_before.text("#lines tfoot tr.total")
        );
        assert_eq!(app.browser.get("/invoices.csv").await.body, csv_before);

        // The database itself refuses to change or delete an issued invoice.
        let lines = "SELECT COUNT(*) FROM invoice_lines";
        let gross = "SELECT gross_cents FROM invoices";
        for sql in [
            "UPDATE invoices SET gross_cents = 0",
            "UPDATE invoices SET customer_name = 'Someone else'",
            "UPDATE invoice_lines SET unit_price_cents = 1",
            "DELETE FROM invoice_lines",
            "DELETE FROM invoices",
        ] {
            assert!(raw_sql(&app, sql).await.is_err(), "{sql} must fail");
        }
        assert_eq!(raw_i64(&app, lines).await, 2);
        assert_eq!(raw_i64(&app, gross).await, 5922);
        assert_eq!(
            app.browser.get(&invoice_path).await.text("#document"),
            invoice_before.text("#document")
        );

        // Nor a credit note, once the order is cancelled.
        let anna = accountant(&app).await;
        let form = cancel_form(&anna, order).await;
        let done = cancel(&anna, order, &form, "Wrong customer").await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let cn_path = format!("/credit-notes/{}", cn(1));
        let cn_before = anna.get(&cn_path).await;
        assert_eq!(cn_before.text("#gross").unwrap(), "-€59.22");
        for sql in [
            "UPDATE credit_notes SET gross_cents = 0",
            "UPDATE credit_notes SET reason = 'Something else'",
            "UPDATE credit_note_lines SET net_cents = 0",
            "DELETE FROM credit_note_lines",
            "DELETE FROM credit_notes",
            "UPDATE invoices SET gross_cents = 0",
            "DELETE FROM invoice_lines",
        ] {
            assert!(raw_sql(&app, sql).await.is_err(), "{sql} must fail");
        }
        assert_eq!(
            raw_i64(&app, "SELECT COUNT(*) FROM credit_note_lines").await,
            2
        );
        assert_eq!(
            raw_i64(&app, "SELECT gross_cents FROM credit_notes").await,
            -5922
        );
        assert_eq!(raw_i64(&app, lines).await, 2);
        assert_eq!(
            anna.get(&cn_path).await.text("#document"),
            cn_before.text("#document")
        );
        // Every column but "in stock", which the cancellation gave back.
        let priced = |page: &Page| -> Vec<Vec<String>> {
            rows(page, "#lines tbody tr.line")
                .into_iter()
                .map(|r| r[..6].to_vec())
                .collect()
        };
        let order_after = app.browser.get(&order_path).await;
        assert_eq!(
            priced(&order_after),
            priced(&order_before),
            "a cancelled order still shows its invoiced prices"
        );
        assert_eq!(
            app.browser.get(&invoice_path).await.text("#gross").unwrap(),
            "€59.22"
        );
        app.assert_invariants().await;
    }
);

db_test!(
    a_clerk_may_not_touch_master_data,
    |app: TestApp| async move {
        let root = admin(&app).await;
        let form = customer_form(&root, "C-5001", "Kept", "").await;
        assert_eq!(
            root.post("/customers", &form).await.status,
            StatusCode::SEE_OTHER
        );
        let form = product_form(&root, "KEPT-1", "Kept", "1.00", "20").await;
        assert_eq!(
            root.post("/products", &form).await.status,
            StatusCode::SEE_OTHER
        );
        let clerk = &app.browser;

        for path in [
            "/customers/new",
            "/products/new",
            "/customers/C-5001/edit",
            "/products/KEPT-1/edit",
        ] {
            let page = clerk.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
        }
        // The lists are readable, without the ways to change them.
        for (path, link) in [
            ("/customers", "#new-customer"),
            ("/products", "#new-product"),
        ] {
            let page = clerk.get(path).await;
            assert_eq!(page.status, StatusCode::OK);
            assert_eq!(page.count(link), 0);
            assert_eq!(page.count("a[href$='/edit']"), 0);
        }

        // The admin's own forms, sent by the clerk: refused, nothing changed.
        let posts: Vec<(&str, Fields)> = vec![
            (
                "/customers",
                customer_form(&root, "C-5002", "Sneaky", "").await,
            ),
            (
                "/products",
                product_form(&root, "SNEAK-1", "Sneaky", "1", "20").await,
            ),
            (
                "/customers/C-5001/edit",
                set(
                    &form_of(&root, "/customers/C-5001/edit", "form#customer").await,
                    "name",
                    "Changed",
                ),
            ),
            (
                "/products/KEPT-1/edit",
                set(
                    &form_of(&root, "/products/KEPT-1/edit", "form#product").await,
                    "unit_price",
                    "0.01",
                ),
            ),
            (
                "/customers/C-5001/active",
                form_of(&root, "/customers/C-5001/edit", "form#customer-active").await,
            ),
            (
                "/products/KEPT-1/active",
                form_of(&root, "/products/KEPT-1/edit", "form#product-active").await,
            ),
        ];
        for (path, form) in &posts {
            let page = clerk.post(path, form).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
        }
        assert_eq!((customers(&app).await, products(&app).await), (1, 1));
        let kept = app
            .db
            .find_customer_by_code("C-5001")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((kept.name.as_str(), kept.active), ("Kept", true));
        let kept = app.db.find_product_by_sku("KEPT-1").await.unwrap().unwrap();
        assert_eq!((kept.unit_price_cents, kept.active), (100, true));
        // An accountant neither.
        let anna = accountant(&app).await;
        assert_eq!(
            anna.get("/products/new").await.status,
            StatusCode::FORBIDDEN
        );
        let (path, form) = &posts[3];
        assert_eq!(anna.post(path, form).await.status, StatusCode::FORBIDDEN);
        // The admin's forms still work: nothing was recorded under their tokens.
        for (path, form) in &posts {
            let page = root.post(path, form).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}: {}", page.body);
        }
    }
);
