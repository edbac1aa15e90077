//! The company page and what invoices print from it: the seller, bank details, payment terms
//! and due date, the customer's reference; a document keeps the company version in force when
//! it was issued, and versions never change (the database refuses). The CSV export: a byte
//! order mark, times to the second, and a net and a tax column per rate.

use axum::http::StatusCode;
use orderdesk::domain::Role;
use time::Duration;

use crate::credit_notes::{
    Fields, accountant, cancel, cancel_form, confirm_by_form, raw_i64, raw_sql,
};
use crate::helpers::{Browser, Page, TestApp, db_test, set};

const DE_IBAN: &str = "DE89 3704 0044 0532 0130 00";

async fn admin(app: &TestApp) -> Browser {
    app.browser_as("root", Role::Admin).await
}

/// The company form as an admin sees it, filled in.
async fn company_form(b: &Browser, name: &str, iban: &str, terms: &str) -> Fields {
    let page = b.get("/admin/company").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    [
        ("name", name),
        ("address", "1 Quay Street\nDublin 2"),
        ("vat_id", "IE1234567T"),
        ("iban", iban),
        ("bic", "deutdeff"),
        ("payment_terms_days", terms),
        ("footer", &format!("{name}, registered in Ireland")),
    ]
    .into_iter()
    .fold(page.form("form#company"), |f, (k, v)| set(&f, k, v))
}

async fn save(b: &Browser, form: &Fields) -> Page {
    b.post("/admin/company", form).await
}

async fn versions(app: &TestApp) -> i64 {
    raw_i64(app, "SELECT COUNT(*) FROM company_profiles").await
}

/// The value attribute of the input `css`.
fn value(page: &Page, css: &str) -> String {
    let sel = scraper::Selector::parse(css).unwrap();
    page.html()
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_string))
        .unwrap_or_else(|| panic!("no {css} with a value"))
}

/// The day an invoice was issued (UTC) plus `days`, as printed.
async fn issued_plus(app: &TestApp, number: &str, days: i64) -> String {
    let inv = app.db.find_invoice(number).await.unwrap().unwrap();
    (inv.issued_at.date() + Duration::days(days)).to_string()
}

db_test!(
    the_company_form_saves_versions_once_and_keeps_refused_input,
    |app: TestApp| async move {
        // Only admins open it.
        assert_eq!(
            app.browser.get("/admin/company").await.status,
            StatusCode::FORBIDDEN
        );
        let anna = accountant(&app).await;
        assert_eq!(
            anna.get("/admin/company").await.status,
            StatusCode::FORBIDDEN
        );
        let root = admin(&app).await;
        let first = root.get("/admin/company").await;
        assert!(first.count("#not-set") == 1, "{}", first.body);

        // A mistyped IBAN: the message beside the field, what was typed kept, nothing saved.
        let bad = company_form(&root, "Alpha Ltd", "DE89 3704 0044 0532 0130 01", "14").await;
        let refused = save(&root, &bad).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused
                .text("#iban-error")
                .unwrap_or_default()
                .contains("check digits"),
            "{}",
            refused.body
        );
        assert_eq!(value(&refused, "#name"), "Alpha Ltd");
        assert_eq!(value(&refused, "#iban"), "DE89 3704 0044 0532 0130 01");
        let terms = save(&root, &set(&bad, "iban", DE_IBAN)).await.status;
        assert_eq!(terms, StatusCode::SEE_OTHER, "the same token, corrected");
        assert_eq!(versions(&app).await, 1);
        let again = company_form(&root, "Alpha Ltd", DE_IBAN, "thirty").await;
        let refused = save(&root, &again).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.text("#terms-error").is_some(), "{}", refused.body);
        assert_eq!(versions(&app).await, 1);

        // A double submit of one form: one version, the second answer a replay.
        let form = company_form(&root, "Beta Ltd", DE_IBAN, "30").await;
        let one = save(&root, &form).await;
        let two = save(&root, &form).await;
        assert_eq!(one.status, StatusCode::SEE_OTHER);
        assert_eq!(one.location(), Some("/admin/company"));
        assert_eq!(two.location(), one.location());
        assert!(two.replayed());
        assert_eq!(versions(&app).await, 2);
        // Saving what is in force already adds no version.
        let same = company_form(&root, "Beta Ltd", DE_IBAN, "30").await;
        assert_eq!(save(&root, &same).await.status, StatusCode::SEE_OTHER);
        assert_eq!(versions(&app).await, 2);

        // The page shows the version in force, the IBAN in groups.
        let shown = root.get("/admin/company").await;
        assert_eq!(value(&shown, "#name"), "Beta Ltd");
        assert_eq!(value(&shown, "#iban"), DE_IBAN);
        assert_eq!(value(&shown, "#bic"), "DEUTDEFF");
        assert!(shown.text("#saved").unwrap().contains("root"));
        // The clerk's invoice pages are not the place to change it: no link for them.
        assert_eq!(
            app.browser.get("/").await.count("a[href='/admin/company']"),
            0
        );
        assert_eq!(shown.count("a[href='/admin/company']"), 1);
    }
);

db_test!(
    an_invoice_prints_the_company_in_force_at_issue_and_never_changes,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 100).await;
        let b = app.product("B-1", 500, 700, 100).await;
        let root = admin(&app).await;

        // Before any company details: the invoice says so, and has no due date.
        let early = app.draft(c, &[(a, 1)]).await;
        let early_number = confirm_by_form(&app, early).await;
        let page = root.get(&format!("/invoices/{early_number}")).await;
        assert_eq!(page.count("#no-seller"), 1, "{}", page.body);
        assert_eq!(page.count("#due"), 0);

        let form = company_form(&root, "Alpha Trading Ltd", DE_IBAN, "14").await;
        assert_eq!(save(&root, &form).await.status, StatusCode::SEE_OTHER);
        let order = app.draft(c, &[(a, 2), (b, 3)]).await;
        raw_sql(
            &app,
            &format!("UPDATE orders SET reference = 'PO-4711' WHERE id = {order}"),
        )
        .await
        .unwrap();
        let number = confirm_by_form(&app, order).await;
        let path = format!("/invoices/{number}");
        let first = app.browser.get(&path).await;
        assert_eq!(first.status, StatusCode::OK);
        let seller = first.text("#seller").unwrap();
        assert!(seller.contains("Alpha Trading Ltd"), "{seller}");
        assert!(seller.contains("1 Quay Street") && seller.contains("IE1234567T"));
        assert_eq!(first.text("#reference").as_deref(), Some("PO-4711"));
        assert_eq!(
            first.text("#due"),
            Some(issued_plus(&app, &number, 14).await)
        );
        let payment = first.text("#payment").unwrap();
        assert!(
            payment.contains("14 days net") && payment.contains(DE_IBAN),
            "{payment}"
        );
        assert!(payment.contains("DEUTDEFF") && payment.contains(&number));
        assert!(
            first
                .text("#seller-footer")
                .unwrap()
                .contains("Alpha Trading Ltd, registered in Ireland")
        );
        // Per-rate breakdown: 20% on 20.00 and 7% on 15.00.
        assert!(first.body.contains("Tax 20% on"), "{}", first.body);
        assert!(first.body.contains("Tax 7% on"));
        let document = first.text("#document").unwrap();

        // New details: the issued invoice prints exactly as before; the next one the new.
        let form = company_form(&root, "Beta Trading Ltd", "", "30").await;
        assert_eq!(save(&root, &form).await.status, StatusCode::SEE_OTHER);
        let later = app.browser.get(&path).await;
        assert_eq!(later.text("#document").unwrap(), document);
        let next = app.draft(c, &[(a, 1)]).await;
        let next_number = confirm_by_form(&app, next).await;
        let page = app.browser.get(&format!("/invoices/{next_number}")).await;
        assert!(page.text("#seller").unwrap().contains("Beta Trading Ltd"));
        assert_eq!(
            page.text("#due"),
            Some(issued_plus(&app, &next_number, 30).await)
        );
        let payment = page.text("#payment").unwrap();
        assert!(!payment.contains("IBAN"), "no IBAN given: {payment}");

        // The credit note: the company in force when it is issued, the invoice's reference,
        // no due date.
        let anna = accountant(&app).await;
        let form = cancel_form(&anna, order).await;
        let done = cancel(&anna, order, &form, "Wrong address").await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let cn = anna.get(done.location().unwrap()).await;
        assert!(cn.text("#seller").unwrap().contains("Beta Trading Ltd"));
        assert_eq!(cn.text("#reference").as_deref(), Some("PO-4711"));
        assert_eq!(cn.count("#due"), 0);
        assert_eq!(cn.count("#payment"), 0);

        // The export: reference and due date of the invoice; the credit note's reference.
        let csv = anna.get("/invoices.csv").await;
        let body = csv
            .body
            .strip_prefix('\u{feff}')
            .expect("a byte order mark");
        let mut lines = body.split("\r\n").filter(|l| !l.is_empty());
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(
            &header[12..],
            [
                "customer_reference",
                "due_date",
                "net 7%",
                "tax 7%",
                "net 20%",
                "tax 20%"
            ]
        );
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let row = |n: &str| rows.iter().find(|r| r[0] == n).unwrap().clone();
        let inv = row(&number);
        assert_eq!(inv[12], "PO-4711");
        assert_eq!(inv[13], issued_plus(&app, &number, 14).await);
        // 3 x 5.00 at 7% = 15.00 + 1.05; 2 x 10.00 at 20% = 20.00 + 4.00.
        assert_eq!(&inv[14..], ["15.00", "1.05", "20.00", "4.00"]);
        let credit = rows.iter().find(|r| r[3] == "credit note").unwrap();
        assert_eq!(credit[4], number);
        assert_eq!((credit[12], credit[13]), ("PO-4711", ""));
        assert_eq!(&credit[14..], ["-15.00", "-1.05", "-20.00", "-4.00"]);
        let early_row = row(&early_number);
        assert_eq!(&early_row[12..], ["", "", "", "", "10.00", "2.00"]);
        app.assert_invariants().await;
    }
);

db_test!(
    company_versions_never_change_in_the_database,
    |app: TestApp| async move {
        let root = admin(&app).await;
        let form = company_form(&root, "Alpha Trading Ltd", DE_IBAN, "14").await;
        assert_eq!(save(&root, &form).await.status, StatusCode::SEE_OTHER);
        for sql in [
            "UPDATE company_profiles SET name = 'Forged Ltd'",
            "DELETE FROM company_profiles",
        ] {
            let refused = raw_sql(&app, sql).await;
            assert!(refused.is_err(), "{sql} was allowed");
        }
        assert_eq!(versions(&app).await, 1);
        let name = app.db.current_company().await.unwrap().unwrap().name;
        assert_eq!(name, "Alpha Trading Ltd");
        // The audit log tells who changed what.
        let events = raw_i64(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'save-company' AND actor = 'root'",
        )
        .await;
        assert_eq!(events, 1);
    }
);

db_test!(
    an_issued_document_shows_its_own_currency_whatever_the_server_is_set_to,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 100).await;
        let order = app.draft(c, &[(a, 1)]).await;
        // Issued in EUR by the harness's server.
        let number = confirm_by_form(&app, order).await;
        // A server configured for USD afterwards (a misconfiguration, or a currency change).
        let mut cfg = TestApp::config();
        cfg.currency = "USD".into();
        let usd = Browser::new(app.second_server(&cfg).await);
        usd.sign_in("clerk", &crate::helpers::password_of("clerk"))
            .await;
        for path in [
            format!("/invoices/{number}"),
            format!("/orders/{order}/confirmation"),
            "/invoices".to_string(),
        ] {
            let page = usd.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{path}");
            assert!(page.body.contains("€12.00"), "{path}: {}", page.body);
            assert!(!page.body.contains("$12.00"), "{path}: {}", page.body);
        }
    }
);

db_test!(
    the_export_reads_every_document_once_across_its_batches,
    |app: TestApp| async move {
        // More documents than one batch of the export (1,000), all issued in the same second,
        // so only the number orders them: written straight into the tables.
        let c = app.customer("C-1", "Acme").await;
        let n = 1205;
        let (number, at, overriding) = match app.backend {
            crate::helpers::Backend::Sqlite => {
                ("printf('INV-2026-%06d', n)", "'2026-01-01T00:00:00Z'", "")
            }
            crate::helpers::Backend::Postgres => (
                "'INV-2026-' || lpad(n::text, 6, '0')",
                "TIMESTAMPTZ '2026-01-01T00:00:00Z'",
                "OVERRIDING SYSTEM VALUE",
            ),
        };
        let series = format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n})"
        );
        raw_sql(
            &app,
            &format!(
                "{series} INSERT INTO orders (id, customer_id, status, created_at, created_by, \
                 confirmed_at, confirmed_by) {overriding} SELECT 1000 + n, {c}, 'confirmed', {at}, 'x', {at}, 'x' FROM s"
            ),
        )
        .await
        .unwrap();
        raw_sql(
            &app,
            &format!(
                "{series} INSERT INTO invoices (order_id, number, year, seq, customer_id, \
                 customer_code, customer_name, customer_address, customer_vat_id, currency, \
                 net_cents, tax_cents, gross_cents, issued_at, issued_by) \
                 SELECT 1000 + n, {number}, 2026, n, {c}, 'C-1', 'Acme', '', '', 'EUR', \
                 100, 20, 120, {at}, 'x' FROM s"
            ),
        )
        .await
        .unwrap();
        let csv = app.browser.get("/invoices.csv").await;
        assert_eq!(csv.status, StatusCode::OK);
        let numbers: Vec<&str> = csv
            .body
            .split("\r\n")
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(numbers.len(), n, "every document once");
        let mut sorted = numbers.clone();
        sorted.sort_unstable_by(|a, b| b.cmp(a));
        sorted.dedup();
        assert_eq!(sorted, numbers, "newest first, none twice");
    }
);
