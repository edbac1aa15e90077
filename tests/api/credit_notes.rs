//! Cancellations and credit notes (SPEC section 11): a draft is cancelled by a clerk; a
//! confirmed order is cancelled by an accountant in one transaction that issues a credit note
//! negating its invoice line by line and puts its stock back, once, whatever the clicks, tabs
//! and retries; `check` covers the CN series and the returns.

use std::time::Duration;

use axum::http::StatusCode;
use orderdesk::domain::Role;
use rust_decimal::Decimal;
use scraper::Selector;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::api_client::{ApiClient, clerk_client, client_as};
use crate::helpers::{Backend, Browser, Page, TestApp, db_test, set};

/// A form's fields as a browser sends them.
pub(crate) type Fields = Vec<(String, String)>;

/// The year documents issued now are numbered in.
pub(crate) fn year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

/// The `seq`-th credit note number of this year.
pub(crate) fn cn(seq: u32) -> String {
    format!("CN-{}-{seq:06}", year())
}

/// The `seq`-th invoice number of this year.
pub(crate) fn inv(seq: u32) -> String {
    format!("INV-{}-{seq:06}", year())
}

/// Run one statement on a connection of its own, outside the application: what an operator
/// (or an attacker) with a SQL prompt could do. Returns the rows affected or the refusal.
pub(crate) async fn raw_sql(app: &TestApp, sql: &str) -> Result<u64, sqlx::Error> {
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.url).await?;
            let done = sqlx::query(sql).execute(&mut c).await;
            c.close().await?;
            done.map(|r| r.rows_affected())
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.url).await?;
            let done = sqlx::query(sql).execute(&mut c).await;
            c.close().await?;
            done.map(|r| r.rows_affected())
        }
    }
}

/// The one integer a query returns, read on a connection of its own.
pub(crate) async fn raw_i64(app: &TestApp, sql: &str) -> i64 {
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
    }
}

/// The texts a query returns, one per row.
pub(crate) async fn raw_strings(app: &TestApp, sql: &str) -> Vec<String> {
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut c).await.unwrap()
        }
    }
}

/// Every credit note number, ascending.
pub(crate) async fn credit_notes(app: &TestApp) -> Vec<String> {
    raw_strings(app, "SELECT number FROM credit_notes ORDER BY number").await
}

/// The cells of each row matching `css`, trimmed.
pub(crate) fn rows(page: &Page, css: &str) -> Vec<Vec<String>> {
    let row_sel = Selector::parse(css).unwrap();
    let cell_sel = Selector::parse("td, th").unwrap();
    page.html()
        .select(&row_sel)
        .map(|tr| {
            tr.select(&cell_sel)
                .map(|td| td.text().collect::<String>().trim().to_string())
                .collect()
        })
        .collect()
}

/// The `href` of the first element matching `css`.
pub(crate) fn href(page: &Page, css: &str) -> Option<String> {
    let sel = Selector::parse(css).unwrap();
    page.html()
        .select(&sel)
        .next()
        .and_then(|a| a.value().attr("href").map(str::to_string))
}

/// Confirm `order` through its Confirm form as the harness's clerk; its invoice number.
pub(crate) async fn confirm_by_form(app: &TestApp, order: i64) -> String {
    let form = app.confirm_form(order).await;
    let page = app.confirm(order, &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    app.db
        .find_invoice_for_order(order)
        .await
        .unwrap()
        .expect("a confirmed order has its invoice")
        .number
}

/// The cancel form of an order page as `b` sees it.
pub(crate) async fn cancel_form(b: &Browser, order: i64) -> Fields {
    let page = b.get(&format!("/orders/{order}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.form("form#cancel")
}

/// Submit a cancel form with `reason`.
pub(crate) async fn cancel(b: &Browser, order: i64, form: &Fields, reason: &str) -> Page {
    b.post(
        &format!("/orders/{order}/cancel"),
        &set(form, "reason", reason),
    )
    .await
}

/// An accountant's browser (`anna`).
pub(crate) async fn accountant(app: &TestApp) -> Browser {
    app.browser_as("anna", Role::Accountant).await
}

/// `(reason, quantity)` of each of a product's ledger rows, newest first.
async fn ledger(app: &TestApp, product: i64) -> Vec<(String, i64)> {
    app.db
        .ledger(product, 1000, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.reason, r.quantity))
        .collect()
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("a decimal string: {v}"))
        .parse()
        .unwrap()
}

/// Assert that the credit note document `cn` negates the invoice document `inv` line by
/// line: the same lines, quantities and prices, every amount negated, the invoice's customer.
fn assert_negates(cn: &Value, inv: &Value) {
    assert_eq!(cn["invoice"], inv["number"], "{cn}");
    assert_eq!(cn["order_id"], inv["order_id"]);
    assert_eq!(cn["currency"], inv["currency"]);
    assert_eq!(
        cn["customer"], inv["customer"],
        "the invoice's customer data"
    );
    let (cl, il) = (
        cn["lines"].as_array().unwrap(),
        inv["lines"].as_array().unwrap(),
    );
    assert_eq!(cl.len(), il.len(), "line by line");
    for (c, i) in cl.iter().zip(il) {
        for k in [
            "line_no",
            "sku",
            "name",
            "quantity",
            "unit_price",
            "tax_rate",
        ] {
            assert_eq!(c[k], i[k], "{k} of {c}");
        }
        for k in ["net", "tax", "gross"] {
            assert_eq!(dec(&c[k]), -dec(&i[k]), "{k} of {c}");
        }
    }
    for k in ["net", "tax", "gross"] {
        assert_eq!(dec(&cn[k]), -dec(&inv[k]), "total {k}");
        assert!(dec(&cn[k]) < Decimal::ZERO, "a credit is negative: {k}");
    }
    let (cb, ib) = (
        cn["tax_breakdown"].as_array().unwrap(),
        inv["tax_breakdown"].as_array().unwrap(),
    );
    assert_eq!(cb.len(), ib.len());
    for (c, i) in cb.iter().zip(ib) {
        assert_eq!(c["rate"], i["rate"]);
        assert_eq!(dec(&c["net"]), -dec(&i["net"]));
        assert_eq!(dec(&c["tax"]), -dec(&i["tax"]));
    }
}

/// The data rows of the invoice CSV export, split into fields (the tests' names carry no
/// commas or quotes).
fn csv_rows(body: &str) -> Vec<Vec<String>> {
    let body = body.strip_prefix('\u{feff}').expect("a byte order mark");
    let mut lines = body.split("\r\n").filter(|l| !l.is_empty());
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with(
            "number,issued_at_utc,order,document,cancels,customer_code,customer_name,customer_vat_id,currency,net,tax,gross,"
        ),
        "{header}"
    );
    lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// Confirm `order` through the API; its invoice number.
async fn api_confirm(api: &ApiClient, order: i64) -> String {
    let key = format!("confirm-{order}");
    let res = api
        .post(
            &format!("/api/v1/orders/{order}/confirm"),
            Some(&key),
            &json!({}),
        )
        .await;
    res.expect_json(201)["number"].as_str().unwrap().to_string()
}

/// Customer C-1 (Acme); A-1 at 19.99 (20%, 50 on hand), B-1 at 0.05 (10%, 5 on hand: its tax
/// of 0.005 rounds to a cent), C-1 at 12.34 (7%, 10 on hand).
async fn catalogue(app: &TestApp) -> (i64, [i64; 3]) {
    let c = app.customer("C-1", "Acme").await;
    let a = app.product("A-1", 1999, 2000, 50).await;
    let b = app.product("B-1", 5, 1000, 5).await;
    let p = app.product("C-1", 1234, 700, 10).await;
    (c, [a, b, p])
}

db_test!(
    a_clerk_cancels_a_draft_and_a_reason_is_required,
    |app: TestApp| async move {
        let (c, [a, b, _]) = catalogue(&app).await;
        let order = app.draft(c, &[(a, 3), (b, 1)]).await;
        let confirm = app.confirm_form(order).await;
        let form = cancel_form(&app.browser, order).await;

        // No reason, or only blanks: refused beside the field, nothing changed.
        for reason in ["", "   "] {
            let page = cancel(&app.browser, order, &form, reason).await;
            assert_eq!(
                page.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{}",
                page.body
            );
            let error = page.text("#reason-error").unwrap_or_default();
            assert!(!error.is_empty(), "the error sits beside the field");
            assert_eq!(page.count("details.cancel-panel[open] form#cancel"), 1);
            assert_eq!(page.count("#reason[aria-invalid=true]"), 1);
            assert_eq!(app.order_status(order).await, "draft");
        }
        let long = "x".repeat(201);
        let page = cancel(&app.browser, order, &form, &long).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.order_status(order).await, "draft");

        // The corrected form from the error page (the same token: nothing was recorded).
        let page = cancel(&app.browser, order, &form, "").await;
        let again = page.form("form#cancel");
        let done = cancel(&app.browser, order, &again, "Customer withdrew the order").await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let shown = format!("/orders/{order}");
        assert_eq!(done.location(), Some(shown.as_str()));
        assert!(!done.replayed());

        assert_eq!(app.order_status(order).await, "cancelled");
        assert!(app.invoice_numbers().await.is_empty(), "no invoice");
        assert!(credit_notes(&app).await.is_empty(), "no credit note");
        assert_eq!(app.stock("A-1").await, 50, "no stock movement");
        assert_eq!(app.stock("B-1").await, 5);
        assert_eq!(app.ledger_rows(a).await, 1);
        assert_eq!(app.ledger_rows(b).await, 1);

        let page = app.browser.get(&shown).await;
        let note = page.text("#cancellation").unwrap();
        assert!(note.contains("Customer withdrew the order"), "{note}");
        assert_eq!(page.count("form#cancel"), 0, "nothing left to cancel");
        assert_eq!(page.count("form#confirm"), 0, "nor to confirm");
        let history = rows(&page, "#history tbody tr");
        assert!(
            history.iter().any(|r| r[1] == "clerk"
                && r[2] == "cancel"
                && r[3].contains("Customer withdrew the order")),
            "{history:?}"
        );

        // The same submit again: the same answer, nothing twice.
        let replay = cancel(&app.browser, order, &again, "Customer withdrew the order").await;
        assert_eq!(replay.status, StatusCode::SEE_OTHER);
        assert_eq!(replay.location(), Some(shown.as_str()));
        assert!(replay.replayed());

        // The Confirm form the clerk still has open: a clear 409, nothing confirmed.
        let refused = app.confirm(order, &confirm).await;
        assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
        assert!(refused.body.contains("cancelled"), "{}", refused.body);
        assert_eq!(app.order_status(order).await, "cancelled");
        assert!(app.invoice_numbers().await.is_empty());
        assert_eq!(app.stock("A-1").await, 50);
        app.assert_invariants().await;
    }
);

db_test!(
    an_accountant_cancels_a_confirmed_order_with_a_credit_note_that_negates_its_invoice,
    |app: TestApp| async move {
        let (c, [a, b, p]) = catalogue(&app).await;
        // A-1 on two lines: one ledger row for it, with both lines' quantities.
        let order = app.draft(c, &[(a, 3), (b, 1), (a, 2), (p, 4)]).await;
        let other = app.draft(c, &[(p, 1)]).await;
        let number = confirm_by_form(&app, order).await;
        assert_eq!(number, inv(1));
        let other_number = confirm_by_form(&app, other).await;
        assert_eq!(
            (
                app.stock("A-1").await,
                app.stock("B-1").await,
                app.stock("C-1").await
            ),
            (45, 4, 5)
        );
        let invoice_page = app.browser.get(&format!("/invoices/{number}")).await;
        assert_eq!(invoice_page.text("#gross").unwrap(), "€172.82");
        let invoice_lines = rows(&invoice_page, "table.invoice-lines tbody tr");
        assert_eq!(invoice_lines.len(), 4);

        // Between confirmation and cancellation the catalogue changes: the credit note
        // copies the invoice, not today's products and customer.
        let admin = app.browser_as("root", Role::Admin).await;
        let edit = admin.get("/products/A-1/edit").await.form("form#product");
        let edit = set(&set(&edit, "unit_price", "25.00"), "name", "Renamed widget");
        let saved = admin.post("/products/A-1/edit", &edit).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let edit = admin.get("/customers/C-1/edit").await.form("form#customer");
        let edit = set(&set(&edit, "name", "Acme Renamed"), "address", "9 New Road");
        let saved = admin.post("/customers/C-1/edit", &edit).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

        let anna = accountant(&app).await;
        let page = anna.get(&format!("/orders/{order}")).await;
        assert_eq!(
            page.text("form#cancel button[type=submit]").unwrap(),
            "Cancel and issue credit note"
        );
        let form = page.form("form#cancel");
        // No reason: refused beside the field, nothing credited.
        let refused = cancel(&anna, order, &form, "").await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert!(!refused.text("#reason-error").unwrap_or_default().is_empty());
        assert_eq!(
            refused.text("form#cancel button[type=submit]").unwrap(),
            "Cancel and issue credit note"
        );
        assert_eq!(app.order_status(order).await, "confirmed");
        assert!(credit_notes(&app).await.is_empty());
        assert_eq!(app.stock("A-1").await, 45);
        let reason = "Customer returned the whole delivery";
        let done = cancel(&anna, order, &form, reason).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let credit_note = cn(1);
        let shown = format!("/credit-notes/{credit_note}");
        assert_eq!(done.location(), Some(shown.as_str()));
        assert_eq!(credit_notes(&app).await, vec![credit_note.clone()]);
        assert_eq!(app.order_status(order).await, "cancelled");
        assert_eq!(app.order_status(other).await, "confirmed");

        // The documents through the API: line by line, amounts negated, the invoice's data.
        let (api, _) = client_as(&app, "anna", Role::Accountant).await;
        let inv_doc = api
            .get(&format!("/api/v1/invoices/{number}"))
            .await
            .expect_json(200);
        let cn_doc = api
            .get(&format!("/api/v1/credit-notes/{credit_note}"))
            .await
            .expect_json(200);
        assert_negates(&cn_doc, &inv_doc);
        assert_eq!(cn_doc["number"], credit_note.as_str());
        assert_eq!(cn_doc["reason"], reason);
        assert_eq!(cn_doc["issued_by"], "anna");
        assert_eq!(cn_doc["customer"]["name"], "Acme");
        assert_eq!(cn_doc["lines"][0]["name"], "Product A-1");
        assert_eq!(cn_doc["lines"][0]["unit_price"], "19.99");
        assert_eq!(
            cn_doc["lines"][1]["tax"], "-0.01",
            "the rounded cent, negated"
        );
        assert_eq!(
            (&cn_doc["net"], &cn_doc["tax"], &cn_doc["gross"]),
            (&json!("-149.36"), &json!("-23.46"), &json!("-172.82"))
        );

        // The printable credit note mirrors the printable invoice.
        let cn_page = anna.get(&shown).await;
        assert_eq!(cn_page.status, StatusCode::OK);
        assert_eq!(cn_page.text("#number").unwrap(), credit_note);
        assert_eq!(cn_page.text("#cancels a").unwrap(), number);
        assert_eq!(cn_page.text("#gross").unwrap(), "-€172.82");
        assert!(cn_page.text("#reason").unwrap().contains(reason));
        assert!(cn_page.text(".bill-to").unwrap().contains("Acme"));
        assert!(!cn_page.text(".bill-to").unwrap().contains("Renamed"));
        let cn_lines = rows(&cn_page, "table.invoice-lines tbody tr");
        assert_eq!(cn_lines.len(), invoice_lines.len());
        for (c, i) in cn_lines.iter().zip(&invoice_lines) {
            // #, SKU, description, quantity, unit price, net, rate, tax, amount.
            assert_eq!(c[..5], i[..5], "{c:?}");
            assert_eq!(c[6], i[6]);
            for k in [5, 7, 8] {
                assert_eq!(c[k], format!("-{}", i[k]), "{c:?}");
            }
        }

        // Stock exactly back, one `return` row per product.
        assert_eq!(
            (
                app.stock("A-1").await,
                app.stock("B-1").await,
                app.stock("C-1").await
            ),
            (50, 5, 9),
            "C-1 keeps the other order's unit"
        );
        assert_eq!(
            ledger(&app, a).await,
            vec![
                ("return".to_string(), 5),
                ("sale".into(), -5),
                ("opening".into(), 50)
            ]
        );
        assert_eq!(
            ledger(&app, b).await,
            vec![
                ("return".to_string(), 1),
                ("sale".into(), -1),
                ("opening".into(), 5)
            ]
        );
        assert_eq!(ledger(&app, p).await[0], ("return".to_string(), 4));
        assert_eq!(app.ledger_rows(p).await, 4);
        let stock_page = anna.get("/stock/A-1").await;
        assert_eq!(stock_page.text("#on-hand").unwrap(), "50");
        let ledger_rows = rows(&stock_page, "#ledger tbody tr");
        assert_eq!(ledger_rows.len(), 3);
        assert_eq!(ledger_rows[0][1], "return");
        assert_eq!(ledger_rows[0][3], "50", "balance after the return");
        // The return links its credit note, the sale its invoice.
        assert_eq!(
            href(
                &stock_page,
                "#ledger tbody tr:nth-child(1) a[href^='/credit-notes/']"
            ),
            Some(shown.clone())
        );
        assert!(
            href(
                &stock_page,
                "#ledger tbody tr:nth-child(2) a[href^='/invoices/']"
            )
            .is_some(),
            "{:?}",
            ledger_rows[1]
        );

        // The order page: cancelled, its credit note, and who did it and why in its history.
        let page = anna.get(&format!("/orders/{order}")).await;
        assert_eq!(href(&page, "#cancellation a"), Some(shown.clone()));
        assert_eq!(page.count("form#cancel"), 0);
        let history = rows(&page, "#history tbody tr");
        let cancels: Vec<_> = history.iter().filter(|r| r[2] == "cancel").collect();
        assert_eq!(cancels.len(), 1, "{history:?}");
        assert_eq!(cancels[0][1], "anna");
        assert!(cancels[0][3].contains(reason), "{:?}", cancels[0]);

        // The invoice never changed; it says it is cancelled and links the credit note.
        let page = anna.get(&format!("/invoices/{number}")).await;
        assert_eq!(page.text("#gross").unwrap(), "€172.82");
        assert_eq!(rows(&page, "table.invoice-lines tbody tr"), invoice_lines);
        assert_eq!(page.text("#cancelled a").unwrap(), credit_note);
        assert_eq!(href(&page, "#cancelled a"), Some(shown.clone()));
        assert_eq!(page.count("h1 .badge-cancelled"), 1);
        assert!(page.text("h1").unwrap().contains("cancelled"));

        // The list shows both kinds; the CSV sums to the invoices minus the credit notes.
        let list = anna.get("/invoices").await;
        assert_eq!(list.count("#invoices tbody tr"), 3);
        assert_eq!(list.count("#invoices tbody tr.credit-note"), 1);
        assert_eq!(
            href(&list, "#invoices tbody tr.credit-note a"),
            Some(shown.clone())
        );
        let csv = anna.get("/invoices.csv").await;
        assert_eq!(csv.status, StatusCode::OK);
        let data = csv_rows(&csv.body);
        assert_eq!(data.len(), 3, "{}", csv.body);
        let cn_row = data.iter().find(|r| r[0] == credit_note).unwrap();
        assert_eq!(cn_row[3], "credit note");
        assert_eq!(cn_row[4], number);
        assert_eq!(cn_row[6], "Acme");
        assert_eq!(
            (&*cn_row[9], &*cn_row[10], &*cn_row[11]),
            ("-149.36", "-23.46", "-172.82")
        );
        let gross: Decimal = data.iter().map(|r| r[11].parse::<Decimal>().unwrap()).sum();
        let other_gross = data.iter().find(|r| r[0] == other_number).unwrap()[11].clone();
        assert_eq!(other_gross, "13.20");
        assert_eq!(gross, "13.20".parse::<Decimal>().unwrap());

        // A reload of the form's answer: the same credit note, nothing twice.
        let replay = cancel(&anna, order, &form, reason).await;
        assert_eq!(replay.status, StatusCode::SEE_OTHER);
        assert_eq!(replay.location(), Some(shown.as_str()));
        assert!(replay.replayed());
        assert_eq!(credit_notes(&app).await.len(), 1);
        assert_eq!(app.stock("A-1").await, 50);
        app.assert_invariants().await;
    }
);

db_test!(
    twenty_concurrent_submits_of_one_cancel_form_issue_one_credit_note,
    |app: TestApp| async move {
        let (c, [a, b, _]) = catalogue(&app).await;
        let order = app.draft(c, &[(a, 4), (b, 2)]).await;
        confirm_by_form(&app, order).await;
        let anna = accountant(&app).await;
        let form = set(&cancel_form(&anna, order).await, "reason", "Wrong address");
        app.db.faults().set_action_delay(Duration::from_millis(200));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (b, form) = (anna.clone(), form.clone());
            tasks.push(tokio::spawn(async move {
                b.post(&format!("/orders/{order}/cancel"), &form).await
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        app.db.faults().set_action_delay(Duration::ZERO);
        let shown = format!("/credit-notes/{}", cn(1));
        for p in &answers {
            assert!(!p.status.is_server_error(), "{} {}", p.status, p.body);
            match p.status {
                StatusCode::SEE_OTHER => assert_eq!(p.location(), Some(shown.as_str())),
                StatusCode::ACCEPTED => assert!(p.headers.get("refresh").is_some()),
                other => panic!("unexpected {other}: {}", p.body),
            }
        }
        let fresh = answers
            .iter()
            .filter(|p| p.status == StatusCode::SEE_OTHER && !p.replayed())
            .count();
        assert_eq!(fresh, 1, "exactly one request did the work");
        assert_eq!(credit_notes(&app).await, vec![cn(1)]);
        assert_eq!((app.stock("A-1").await, app.stock("B-1").await), (50, 5));
        assert_eq!(app.ledger_rows(a).await, 3);
        assert_eq!(app.ledger_rows(b).await, 3);
        app.assert_invariants().await;
    }
);

db_test!(
    two_tabs_cancelling_one_order_show_the_one_credit_note,
    |app: TestApp| async move {
        let (c, [a, _, _]) = catalogue(&app).await;
        let anna = accountant(&app).await;

        // One tab after the other.
        let first = app.draft(c, &[(a, 2)]).await;
        confirm_by_form(&app, first).await;
        let tab1 = cancel_form(&anna, first).await;
        let tab2 = cancel_form(&anna, first).await;
        assert_ne!(tab1, tab2, "each render has its own token");
        let one = cancel(&anna, first, &tab1, "Duplicate order").await;
        let two = cancel(&anna, first, &tab2, "Customer changed their mind").await;
        let shown = format!("/credit-notes/{}", cn(1));
        for p in [&one, &two] {
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
            assert_eq!(p.location(), Some(shown.as_str()));
        }
        assert_eq!(credit_notes(&app).await, vec![cn(1)]);
        let note = app.db.find_credit_note(&cn(1)).await.unwrap().unwrap();
        assert_eq!(
            note.reason, "Duplicate order",
            "the first cancellation stands"
        );
        assert_eq!(app.stock("A-1").await, 50);

        // Both tabs at once.
        let second = app.draft(c, &[(a, 3)]).await;
        confirm_by_form(&app, second).await;
        let tab1 = cancel_form(&anna, second).await;
        let tab2 = cancel_form(&anna, second).await;
        app.db.faults().set_action_delay(Duration::from_millis(150));
        let (b1, b2) = (anna.clone(), anna.clone());
        let t1 = tokio::spawn(async move { cancel(&b1, second, &tab1, "Tab one").await });
        let t2 = tokio::spawn(async move { cancel(&b2, second, &tab2, "Tab two").await });
        let (one, two) = (t1.await.unwrap(), t2.await.unwrap());
        app.db.faults().set_action_delay(Duration::ZERO);
        let shown = format!("/credit-notes/{}", cn(2));
        for p in [&one, &two] {
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
            assert_eq!(p.location(), Some(shown.as_str()));
        }
        assert_eq!(credit_notes(&app).await, vec![cn(1), cn(2)]);
        assert_eq!(app.stock("A-1").await, 50);
        assert_eq!(
            ledger(&app, a)
                .await
                .iter()
                .filter(|(r, _)| r == "return")
                .count(),
            2,
            "one return per cancelled order"
        );
        app.assert_invariants().await;
    }
);

db_test!(
    a_clerk_may_not_credit_an_invoice_and_a_cancelled_order_is_never_confirmed_again,
    |app: TestApp| async move {
        let (c, [a, _, _]) = catalogue(&app).await;
        let order = app.draft(c, &[(a, 5)]).await;
        // The clerk opens the draft in two tabs (and its cancel form), then confirms in one.
        let clerk_cancel = cancel_form(&app.browser, order).await;
        let second_tab = app.confirm_form(order).await;
        let first_tab = app.confirm_form(order).await;
        let confirmed = app.confirm(order, &first_tab).await;
        assert_eq!(confirmed.status, StatusCode::SEE_OTHER);

        // A clerk sees no cancel form on a confirmed order, and the draft's form is refused.
        let page = app.browser.get(&format!("/orders/{order}")).await;
        assert_eq!(page.count("form#cancel"), 0);
        let refused = cancel(&app.browser, order, &clerk_cancel, "Not wanted").await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        let api = clerk_client(&app).await;
        api.post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some("clerk-cancel"),
            &json!({"reason": "Not wanted"}),
        )
        .await
        .expect_problem(403, "forbidden");
        assert_eq!(app.order_status(order).await, "confirmed");
        assert!(credit_notes(&app).await.is_empty());
        assert_eq!(app.stock("A-1").await, 45);

        // The accountant cancels it.
        let anna = accountant(&app).await;
        let form = cancel_form(&anna, order).await;
        let done = cancel(&anna, order, &form, "Ordered twice").await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(app.stock("A-1").await, 50);

        // The second tab's Confirm: a clear 409, nothing confirmed again.
        let again = app.confirm(order, &second_tab).await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
        assert!(
            again.body.contains("cancelled and cannot be confirmed"),
            "{}",
            again.body
        );
        // The first tab's Confirm again: its original answer, replayed.
        let replay = app.confirm(order, &first_tab).await;
        assert_eq!(replay.status, StatusCode::SEE_OTHER);
        assert!(replay.replayed());
        // The API's confirm with a new key: 409.
        api.post(
            &format!("/api/v1/orders/{order}/confirm"),
            Some("confirm-after-cancel"),
            &json!({}),
        )
        .await
        .expect_problem(409, "order-cancelled");

        assert_eq!(app.order_status(order).await, "cancelled");
        assert_eq!(app.invoice_numbers().await, vec![inv(1)]);
        assert_eq!(credit_notes(&app).await, vec![cn(1)]);
        assert_eq!(app.stock("A-1").await, 50);
        assert_eq!(app.ledger_rows(a).await, 3);
        app.assert_invariants().await;
    }
);

db_test!(
    a_hundred_concurrent_cancellations_number_credit_notes_gaplessly,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let p1 = app.product("P-1", 1234, 2000, 100_000).await;
        let p2 = app.product("P-2", 99, 700, 100_000).await;
        let mut orders = Vec::new();
        for i in 0..100 {
            let order = app.draft(c, &[(p1, 1 + i % 3), (p2, 2)]).await;
            confirm_by_form(&app, order).await;
            orders.push(order);
        }
        let anna = accountant(&app).await;
        let mut forms = Vec::new();
        for order in &orders {
            forms.push((*order, cancel_form(&anna, *order).await));
        }
        let mut tasks = Vec::new();
        for (order, form) in forms {
            let b = anna.clone();
            tasks.push(tokio::spawn(async move {
                (order, cancel(&b, order, &form, "Season cancelled").await)
            }));
        }
        for t in tasks {
            let (order, p) = t.await.unwrap();
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
            let note = app.db.find_credit_note_for_order(order).await.unwrap();
            let expected = format!("/credit-notes/{}", note.unwrap().number);
            assert_eq!(p.location(), Some(expected.as_str()));
        }
        let numbers = credit_notes(&app).await;
        let expected: Vec<String> = (1..=100).map(cn).collect();
        assert_eq!(numbers, expected, "unique and gapless");
        assert_eq!(app.stock("P-1").await, 100_000);
        assert_eq!(app.stock("P-2").await, 100_000);
        app.assert_invariants().await;
    }
);

db_test!(
    the_api_cancels_with_a_credit_note_document_and_replays_it,
    |app: TestApp| async move {
        let (c, [a, b, _]) = catalogue(&app).await;
        let clerk = clerk_client(&app).await;
        let (anna, _) = client_as(&app, "anna", Role::Accountant).await;
        let path = |order: i64| format!("/api/v1/orders/{order}/cancel");
        let order = app.draft(c, &[(a, 2), (b, 1)]).await;
        let number = api_confirm(&clerk, order).await;

        let body = json!({"reason": "Duplicate of an earlier order"});
        let first = anna.post(&path(order), Some("cancel-1"), &body).await;
        let doc = first.expect_json(201);
        let credit_note = cn(1);
        assert_eq!(doc["number"], credit_note.as_str());
        assert_eq!(doc["invoice"], number.as_str());
        assert_eq!(doc["reason"], "Duplicate of an earlier order");
        assert_eq!(
            first.location(),
            Some(format!("/api/v1/credit-notes/{credit_note}").as_str())
        );
        assert!(!first.replayed());
        for line in doc["lines"].as_array().unwrap() {
            assert!(dec(&line["gross"]) < Decimal::ZERO, "{line}");
            assert!(
                line["quantity"].as_i64().unwrap() > 0,
                "quantities as invoiced"
            );
        }
        let invoice = anna
            .get(&format!("/api/v1/invoices/{number}"))
            .await
            .expect_json(200);
        assert_negates(&doc, &invoice);

        // The same key again: the same status and body, marked as a replay.
        let replay = anna.post(&path(order), Some("cancel-1"), &body).await;
        assert_eq!(replay.status, first.status);
        assert_eq!(replay.bytes, first.bytes);
        assert_eq!(replay.location(), first.location());
        assert!(replay.replayed());
        // Another key: the cancellation stands, its credit note is shown (200: nothing new).
        let later = anna
            .post(&path(order), Some("cancel-2"), &json!({"reason": "Again"}))
            .await;
        assert_eq!(later.expect_json(200)["number"], credit_note.as_str());
        // Reading it: the same document.
        let read = anna
            .get(&format!("/api/v1/credit-notes/{credit_note}"))
            .await
            .expect_json(200);
        assert_eq!(read, doc);
        assert_eq!(credit_notes(&app).await, vec![credit_note.clone()]);
        assert_eq!((app.stock("A-1").await, app.stock("B-1").await), (50, 5));

        // A clerk's token on a confirmed order; a missing or empty reason: nothing changes.
        let second = app.draft(c, &[(a, 1)]).await;
        api_confirm(&clerk, second).await;
        clerk
            .post(&path(second), Some("clerk-1"), &body)
            .await
            .expect_problem(403, "forbidden");
        let missing = anna
            .post(&path(second), Some("no-reason"), &json!({}))
            .await;
        assert!(
            [400, 422].contains(&missing.status.as_u16()),
            "{}",
            missing.body
        );
        assert_eq!(
            missing.content_type(),
            Some(crate::api_client::PROBLEM_JSON)
        );
        let p = anna
            .post(
                &path(second),
                Some("blank-reason"),
                &json!({"reason": "  "}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "reason", "{p}");
        assert_eq!(app.order_status(second).await, "confirmed");
        assert_eq!(credit_notes(&app).await.len(), 1);
        assert_eq!(app.stock("A-1").await, 49);

        // A draft: cancelled, the body is the order.
        let draft = app.draft(c, &[(a, 1)]).await;
        let res = clerk
            .post(
                &path(draft),
                Some("draft-1"),
                &json!({"reason": "Not needed"}),
            )
            .await;
        let order_doc = res.expect_json(200);
        assert_eq!(order_doc["id"], draft);
        assert_eq!(order_doc["status"], "cancelled");
        assert_eq!(app.order_status(draft).await, "cancelled");
        assert_eq!(credit_notes(&app).await.len(), 1);
        app.assert_invariants().await;
    }
);

db_test!(
    the_demo_cancels_order_13_and_check_covers_credit_notes_and_returns,
    |app: TestApp| async move {
        orderdesk::demo::load(&app.db).await.unwrap();
        assert_eq!(app.order_status(13).await, "cancelled");
        let note = app
            .db
            .find_credit_note_for_order(13)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(note.number, cn(1));
        assert_eq!(credit_notes(&app).await, vec![cn(1)]);
        app.assert_invariants().await;

        // A credit-note number burnt behind the application's back: the counter no longer
        // matches the highest number.
        let bump = "UPDATE number_series SET last_number = last_number + 1 WHERE series = 'CN'";
        assert_eq!(raw_sql(&app, bump).await.unwrap(), 1);
        let v = app.db.check_invariants().await.unwrap();
        assert!(
            v.iter().any(|v| v.0.contains("credit note counter")),
            "{v:?}"
        );
        let back = "UPDATE number_series SET last_number = last_number - 1 WHERE series = 'CN'";
        assert_eq!(raw_sql(&app, back).await.unwrap(), 1);
        app.assert_invariants().await;

        // A return the order never had, with the stock to match its ledger: only the check
        // of returns against the order's sales can see it.
        let pen = app
            .db
            .find_product_by_sku("PEN-BLUE-10")
            .await
            .unwrap()
            .unwrap();
        let balance = pen.stock_on_hand + 1;
        let bump = format!(
            "UPDATE products SET stock_on_hand = {balance} WHERE id = {}",
            pen.id
        );
        assert_eq!(raw_sql(&app, &bump).await.unwrap(), 1);
        let extra = format!(
            "INSERT INTO stock_ledger (product_id, quantity, balance_after, reason, order_id, actor, created_at) \
             VALUES ({}, 1, {balance}, 'return', 13, 'tamper', '2026-01-01T00:00:00Z')",
            pen.id
        );
        assert_eq!(raw_sql(&app, &extra).await.unwrap(), 1);
        let v = app.db.check_invariants().await.unwrap();
        assert_eq!(
            v.len(),
            1,
            "stock equals its ledger; only the return is wrong: {v:?}"
        );
        assert!(v[0].0.contains("order 13"), "{v:?}");
    }
);
