//! Every page renders; the schema is what the binary expects; health endpoints answer.

use axum::http::{StatusCode, header};

use orderdesk::domain::Role;

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
    // The newest draft of the demo (the demo also confirms and cancels one order).
    let drafts = orderdesk::db::orders::OrderFilter {
        status: Some(orderdesk::domain::OrderStatus::Draft),
        q: String::new(),
    };
    let order = app
        .db
        .list_orders(&drafts, 1, orderdesk::db::orders::Cursor::First)
        .await
        .unwrap()
        .0[0]
        .id;
    let form = app.confirm_form(order).await;
    let confirmed = app.confirm(order, &form).await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    let number = app
        .browser
        .get(&format!("/orders/{order}/confirmation"))
        .await
        .text("#invoice-number")
        .unwrap();
    let credit_note = app
        .db
        .find_credit_note_for_order(13)
        .await
        .unwrap()
        .unwrap();
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
        format!("/invoices/{}", credit_note.invoice_number),
        format!("/credit-notes/{}", credit_note.number),
        "/orders/13".into(),
        "/orders/13/confirmation".into(),
        "/invoices.csv".into(),
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
    // Two invoices (the demo's cancelled one, this one) and the demo's credit note.
    let list = app.browser.get("/invoices").await;
    assert_eq!(list.count("#invoices tbody tr"), 3);
    assert_eq!(list.count("#invoices tbody tr.credit-note"), 1);
    // Opening stock, the demo's sale and return, and this confirmation's sale.
    let stock = app.browser.get("/stock/PAPER-A4-500").await;
    assert_eq!(stock.count("#ledger tbody tr"), 4);
    // The pages of master data and the audit log, for the roles that may open them.
    let admin = app.browser_as("boss", orderdesk::domain::Role::Admin).await;
    for path in [
        "/customers/new",
        "/customers/C-1001/edit",
        "/products/new",
        "/products/PAPER-A4-500/edit",
        "/audit",
        "/admin/users",
        "/admin/company",
    ] {
        let p = admin.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
    }
    let accountant = app
        .browser_as("anna", orderdesk::domain::Role::Accountant)
        .await;
    for path in ["/audit", "/invoices", "/orders/13"] {
        let p = accountant.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
    }
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

db_test!(
    the_order_list_pages_by_keyset_and_searches,
    |app: TestApp| async move {
        let acme = app.customer("C-1", "Acme Trading").await;
        let other = app.customer("C-2", "Zenith Ltd").await;
        let mut ids = Vec::new();
        for i in 0..120 {
            ids.push(app.draft(if i % 4 == 0 { other } else { acme }, &[]).await);
        }
        // Walk older pages with the pager's links, then back.
        let first = app.browser.get("/orders").await;
        assert_eq!(first.count("#orders tbody tr[data-order]"), 50);
        assert!(
            first
                .html()
                .select(&scraper::Selector::parse("a[rel=prev]").unwrap())
                .next()
                .is_none()
        );
        let next = |p: &crate::helpers::Page, rel: &str| {
            let sel = scraper::Selector::parse(&format!("a[rel={rel}]")).unwrap();
            p.html()
                .select(&sel)
                .next()
                .map(|a| a.value().attr("href").unwrap().to_string())
        };
        let second = app.browser.get(&next(&first, "next").unwrap()).await;
        assert_eq!(second.count("#orders tbody tr[data-order]"), 50);
        let third = app.browser.get(&next(&second, "next").unwrap()).await;
        assert_eq!(third.count("#orders tbody tr[data-order]"), 20);
        assert!(
            next(&third, "next").is_none(),
            "the oldest page has no next link"
        );
        let back = app.browser.get(&next(&third, "prev").unwrap()).await;
        assert_eq!(
            back.text("#orders tbody tr[data-order] td"),
            second.text("#orders tbody tr[data-order] td")
        );
        let newest = ids.last().unwrap();
        assert_eq!(
            first.text("#orders tbody tr[data-order] td").unwrap(),
            format!("#{newest}")
        );

        // Search: customer name, order number; with a status filter.
        let zen = app.browser.get("/orders?q=zenith").await;
        assert_eq!(zen.count("#orders tbody tr[data-order]"), 30);
        let by_id = app.browser.get(&format!("/orders?q=%23{}", ids[7])).await;
        assert_eq!(by_id.count("#orders tbody tr[data-order]"), 1);
        let none = app.browser.get("/orders?q=zenith&status=confirmed").await;
        assert_eq!(none.count("#orders tbody tr[data-order]"), 0);
    }
);

db_test!(
    metrics_count_confirmations_for_admins_and_scrapers,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 10).await;
        let order = app.draft(c, &[(a, 1)]).await;
        let form = app.confirm_form(order).await;
        app.confirm(order, &form).await;
        app.confirm(order, &form).await;
        let admin = app.browser_as("boss", orderdesk::domain::Role::Admin).await;
        let m = admin.get("/metrics").await;
        assert_eq!(m.status, StatusCode::OK);
        assert!(
            m.body
                .contains("orderdesk_confirmations_total{outcome=\"confirmed\"} 1"),
            "{}",
            m.body
        );
        assert!(
            m.body
                .contains("orderdesk_confirmations_total{outcome=\"replayed\"} 1")
        );
        assert!(
            m.body
                .contains("orderdesk_confirmation_duration_seconds_count 2")
        );
        // The committed confirmation's phases, one histogram each; the replay has none, and
        // the draft's own writes are not confirmations.
        for phase in [
            "connection",
            "claim",
            "lock",
            "write",
            "number",
            "render",
            "commit",
        ] {
            let count =
                format!("orderdesk_confirmation_phase_seconds_count{{phase=\"{phase}\"}} 1");
            assert!(m.body.contains(&count), "{count}: {}", m.body);
        }
        // A clerk may not read them; an anonymous scraper needs the token.
        assert_eq!(
            app.browser.get("/metrics").await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.new_browser().get("/metrics").await.status,
            StatusCode::SEE_OTHER
        );
        let mut cfg = TestApp::config();
        cfg.metrics_token = Some("scrape-secret".into());
        let server = app.second_server(&cfg).await;
        let scraper = crate::helpers::Browser::new(server);
        let mut req = scraper.get_request("/metrics");
        req.headers_mut()
            .insert("authorization", "Bearer scrape-secret".parse().unwrap());
        let ok = scraper.request(req).await;
        assert_eq!(ok.status, StatusCode::OK);
        assert!(ok.body.contains("orderdesk_http_responses_total"));
        let mut req = scraper.get_request("/metrics");
        req.headers_mut()
            .insert("authorization", "Bearer wrong".parse().unwrap());
        assert_eq!(scraper.request(req).await.status, StatusCode::SEE_OTHER);
    }
);

db_test!(
    the_invoice_list_exports_its_filtered_view_as_csv,
    |app: TestApp| async move {
        let acme = app.customer("C-1", "Acme, Inc.").await;
        let zen = app.customer("C-2", "=Zenith").await;
        let a = app.product("A-1", 1999, 2000, 100).await;
        for customer in [acme, zen, acme] {
            let order = app.draft(customer, &[(a, 1)]).await;
            let form = app.confirm_form(order).await;
            assert_eq!(
                app.confirm(order, &form).await.status,
                StatusCode::SEE_OTHER
            );
        }
        let list = app.browser.get("/invoices?q=acme").await;
        let href = list
            .html()
            .select(&scraper::Selector::parse("a#export").unwrap())
            .next()
            .unwrap()
            .value()
            .attr("href")
            .unwrap()
            .to_string();
        assert_eq!(href, "/invoices.csv?q=acme&from=&to=");
        let csv = app.browser.get(&href).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(
            csv.headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let body = csv
            .body
            .strip_prefix('\u{feff}')
            .expect("a UTF-8 byte order mark, for Excel");
        let lines: Vec<&str> = body.trim_end().split("\r\n").collect();
        assert_eq!(
            lines.len(),
            3,
            "header and the two Acme invoices: {lines:?}"
        );
        assert_eq!(
            lines[0],
            "number,issued_at_utc,order,document,cancels,customer_code,customer_name,\
             customer_vat_id,currency,net,tax,gross,customer_reference,due_date,net 20%,tax 20%"
        );
        // No reference on these orders, no due date without company details; then the
        // one rate's columns.
        assert!(
            lines[1].contains("\"Acme, Inc.\"")
                && lines[1].ends_with(",EUR,19.99,4.00,23.99,,,19.99,4.00"),
            "{}",
            lines[1]
        );
        let issued = lines[1].split(',').nth(1).unwrap();
        assert!(
            time::PrimitiveDateTime::parse(
                issued,
                time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")
            )
            .is_ok(),
            "times to the second, no fraction: {issued}"
        );
        let all = app.browser.get("/invoices.csv").await;
        assert!(
            all.body.contains(",'=Zenith,"),
            "a formula-like name is defused: {}",
            all.body
        );
        assert_eq!(all.body.trim_end().split("\r\n").count(), 4);
        assert_eq!(
            app.browser
                .get("/invoices.csv?from=2026-13-01")
                .await
                .status,
            StatusCode::BAD_REQUEST
        );
        let wh = app
            .browser_as("walter", orderdesk::domain::Role::Warehouse)
            .await;
        assert_eq!(wh.get("/invoices.csv").await.status, StatusCode::FORBIDDEN);
    }
);

// README: "a page hides what a role cannot do". Each role follows every link its pages show
// (from the dashboard, over a draft, a confirmed and a cancelled order with their documents):
// none of them may lead to a refusal.
db_test!(
    no_page_links_a_role_to_what_it_may_not_open,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let p = app.product("PAPER", 500, 2000, 100).await;
        let _draft = app.draft(c, &[(p, 1)]).await;
        let confirmed = app.draft(c, &[(p, 2)]).await;
        let form = app.confirm_form(confirmed).await;
        app.confirm(confirmed, &form).await;
        let cancelled = app.draft(c, &[(p, 3)]).await;
        let form = app.confirm_form(cancelled).await;
        app.confirm(cancelled, &form).await;
        let accountant = app.browser_as("anna", Role::Accountant).await;
        let page = accountant.get(&format!("/orders/{cancelled}")).await;
        let cancel = crate::helpers::set(&page.form("form#cancel"), "reason", "returned");
        let done = accountant
            .post(&format!("/orders/{cancelled}/cancel"), &cancel)
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        for (name, role) in [
            ("clerk2", Role::Clerk),
            ("ware", Role::Warehouse),
            ("anna", Role::Accountant),
            ("root", Role::Admin),
        ] {
            let b = app.browser_as(name, role).await;
            let mut todo = vec!["/".to_string()];
            let mut seen = std::collections::HashSet::new();
            let link = scraper::Selector::parse("a[href]").unwrap();
            while let Some(path) = todo.pop() {
                if !seen.insert(path.clone()) || seen.len() > 400 {
                    continue;
                }
                let page = b.get(&path).await;
                assert!(
                    page.status != StatusCode::FORBIDDEN && page.status != StatusCode::NOT_FOUND,
                    "{role}: a page links to {path}, which answers {}",
                    page.status
                );
                if !page
                    .headers
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|t| t.to_str().unwrap_or("").starts_with("text/html"))
                {
                    continue;
                }
                for a in page.html().select(&link) {
                    let href = a.value().attr("href").unwrap_or_default();
                    let href = href.split('#').next().unwrap_or_default();
                    // Pages of a list (filters, further pages) and exports are the list's.
                    let href = href.split('?').next().unwrap_or_default();
                    if href.starts_with('/')
                        && !href.starts_with("//")
                        && !href.starts_with("/static/")
                        && href != "/logout"
                    {
                        todo.push(href.to_string());
                    }
                }
            }
        }
    }
);
