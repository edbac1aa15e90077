//! Order entry at a clerk's speed: a partial SKU or name on the add-line form, the choice list,
//! quantity edits, merging a product already on the order, the shortage shown before Confirm,
//! and case- and accent-insensitive searches, on both backends.

use axum::http::StatusCode;
use orderdesk::db::products::{self, NewProduct};
use serde_json::Value;

use crate::helpers::{Page, TestApp, db_test, set};

/// A product named `name` with `stock` units, returning its id.
async fn named(app: &TestApp, sku: &str, name: &str, stock: i64) -> i64 {
    let mut tx = app.db.begin().await.unwrap();
    let id = products::insert(
        &mut tx,
        &NewProduct {
            sku,
            name,
            unit_price_cents: 250,
            tax_rate_bp: 2000,
            opening_stock: stock,
            reorder_level: 0,
        },
        "test",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

/// A new draft order for a fresh customer, returning its id.
async fn order(app: &TestApp) -> i64 {
    let c = app.customer("ACME", "Acme Ltd").await;
    app.draft(c, &[]).await
}

/// The add-line form of the order page, filled in.
async fn add_form(app: &TestApp, order: i64, sku: &str, qty: &str) -> Vec<(String, String)> {
    let page = app.browser.get(&format!("/orders/{order}")).await;
    let form = page.form("form#add-line");
    set(&set(&form, "sku", sku), "quantity", qty)
}

async fn add(app: &TestApp, order: i64, sku: &str, qty: &str) -> Page {
    let form = add_form(app, order, sku, qty).await;
    app.browser
        .post(&format!("/orders/{order}/lines"), &form)
        .await
}

/// The order's lines as (SKU, quantity).
async fn lines(app: &TestApp, order: i64) -> Vec<(String, i64)> {
    app.db
        .order_lines(order)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.sku, l.quantity))
        .collect()
}

/// The value of the attribute `attr` of the first element matching `css`.
fn attr(page: &Page, css: &str, attr: &str) -> Option<String> {
    let sel = scraper::Selector::parse(css).unwrap();
    page.html()
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr).map(str::to_string))
}

/// The SKUs the picker offers for `q`.
async fn picker(app: &TestApp, q: &str) -> Vec<String> {
    let page = app
        .browser
        .get(&format!(
            "/orders/product-search?q={}",
            &serde_urlencoded::to_string([("", q)]).unwrap()[1..]
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let items: Value = serde_json::from_str(&page.body).unwrap();
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sku"].as_str().unwrap().to_string())
        .collect()
}

db_test!(
    a_unique_part_of_a_sku_or_name_is_added,
    |app: TestApp| async move {
        named(&app, "PAPER-A4", "Copy paper A4, 500 sheets", 100).await;
        named(&app, "PEN-BLUE", "Ballpoint pen, blue", 100).await;
        let order = order(&app).await;
        let res = add(&app, order, "paper", "2").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        // Back to the order with the focus on the SKU field for the next line.
        let location = res.location().unwrap().to_string();
        assert_eq!(location, format!("/orders/{order}?focus=sku"));
        let page = app.browser.get(&location).await;
        assert!(attr(&page, "input#sku", "autofocus").is_some());
        let res = add(&app, order, "ballpoint", "1").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(
            lines(&app, order).await,
            vec![("PAPER-A4".to_string(), 2), ("PEN-BLUE".to_string(), 1)]
        );
    }
);

db_test!(
    an_exact_sku_wins_over_longer_ones,
    |app: TestApp| async move {
        named(&app, "A4", "Paper A4", 10).await;
        named(&app, "A4-BOX", "Paper A4, box of five", 10).await;
        let order = order(&app).await;
        let res = add(&app, order, "a4", "1").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(lines(&app, order).await, vec![("A4".to_string(), 1)]);
    }
);

db_test!(
    several_matches_offer_a_choice_with_the_quantity_kept,
    |app: TestApp| async move {
        named(&app, "PEN-BLUE", "Ballpoint pen, blue", 100).await;
        named(&app, "PEN-RED", "Ballpoint pen, red", 100).await;
        let order = order(&app).await;
        let form = add_form(&app, order, "ballpoint", "3").await;
        let res = app
            .browser
            .post(&format!("/orders/{order}/lines"), &form)
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(res.count("#choices button[name=pick]"), 2);
        assert!(res.text("#sku-error").unwrap().contains("Several products"));
        assert_eq!(attr(&res, "input#quantity", "value").unwrap(), "3");
        assert_eq!(attr(&res, "input#sku", "value").unwrap(), "ballpoint");
        // The first choice takes the focus; the Add button stays the form's default (first) one.
        assert!(attr(&res, "#choices button", "autofocus").is_some());
        assert!(res.body.find("Add line").unwrap() < res.body.find("id=\"choices\"").unwrap());
        assert!(lines(&app, order).await.is_empty());
        // Choosing one adds it with the kept quantity, under the same token.
        let kept = res.form("form#add-line");
        let chosen = set(&kept, "pick", "PEN-RED");
        let res = app
            .browser
            .post(&format!("/orders/{order}/lines"), &chosen)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(lines(&app, order).await, vec![("PEN-RED".to_string(), 3)]);
    }
);

db_test!(
    nothing_matching_is_a_field_error_with_input_kept,
    |app: TestApp| async move {
        named(&app, "PEN-BLUE", "Ballpoint pen, blue", 100).await;
        let order = order(&app).await;
        let res = add(&app, order, "zebra stripes", "4").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert!(
            res.text("#sku-error")
                .unwrap()
                .contains("No active product"),
            "{}",
            res.body
        );
        assert_eq!(attr(&res, "input#sku", "value").unwrap(), "zebra stripes");
        assert_eq!(attr(&res, "input#quantity", "value").unwrap(), "4");
        assert!(attr(&res, "input#sku", "autofocus").is_some());
        // A well-formed SKU that does not exist keeps its precise message.
        let res = add(&app, order, "NOPE-1", "4").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.text("#sku-error")
                .unwrap()
                .contains("no product with SKU NOPE-1")
        );
        // A bad quantity takes the focus when the SKU is fine.
        let res = add(&app, order, "PEN-BLUE", "x").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(attr(&res, "input#quantity", "autofocus").is_some());
        assert!(lines(&app, order).await.is_empty());
    }
);

db_test!(
    inactive_products_are_never_offered,
    |app: TestApp| async move {
        named(&app, "PEN-BLUE", "Ballpoint pen, blue", 100).await;
        let old = named(&app, "PEN-OLD", "Ballpoint pen, discontinued", 100).await;
        let mut tx = app.db.begin().await.unwrap();
        products::set_active(&mut tx, old, false).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(picker(&app, "ballpoint").await, vec!["PEN-BLUE"]);
        assert_eq!(picker(&app, "pen").await, vec!["PEN-BLUE"]);
        // So "ballpoint" is unique, and the inactive one is no choice.
        let order = order(&app).await;
        let res = add(&app, order, "ballpoint", "1").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(lines(&app, order).await, vec![("PEN-BLUE".to_string(), 1)]);
        let res = add(&app, order, "discontinued", "1").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
);

db_test!(
    products_whose_sku_starts_with_the_text_come_first,
    |app: TestApp| async move {
        // Created in an order unlike the ranking, so that id order cannot pass for it.
        named(&app, "XPAPER-1", "Recycled paper", 100).await;
        named(&app, "PAPER_A4", "Copy paper A4", 100).await;
        named(&app, "ENV-C5", "Envelope for paper C5", 100).await;
        named(&app, "PAPER-A3", "Copy paper A3", 100).await;
        named(&app, "PAPERCLIP", "Clips", 100).await;
        // SKU prefix matches by SKU ('-' < 'C' < '_'), then the other matches by SKU.
        assert_eq!(
            picker(&app, "paper").await,
            ["PAPER-A3", "PAPERCLIP", "PAPER_A4", "ENV-C5", "XPAPER-1"]
        );
        // '_' starts a SKU like any character (the substring search drops it, as LIKE's
        // wildcard, and finds every "paper").
        assert_eq!(picker(&app, "paper_").await[0], "PAPER_A4");
        assert_eq!(picker(&app, "per-a").await, ["PAPER-A3"]);
        // Several words match as one text, in their order, whichever word the index is asked.
        named(&app, "NOTE-1", "Paper copy book", 100).await;
        assert_eq!(picker(&app, "copy paper").await, ["PAPER-A3", "PAPER_A4"]);
        assert_eq!(picker(&app, "paper copy").await, ["NOTE-1"]);
        assert_eq!(picker(&app, "cöpy päper a3").await, ["PAPER-A3"]);
    }
);

db_test!(
    a_text_every_product_has_shows_ten_true_matches_and_says_there_are_more,
    |app: TestApp| async move {
        for i in 1..=120 {
            named(
                &app,
                &format!("REAM-{i:03}"),
                &format!("Paper ream {i}"),
                100,
            )
            .await;
        }
        let shown = picker(&app, "ream").await;
        // The SKU prefix matches, walked in SKU order, are the first ten by SKU.
        let first: Vec<String> = (1..=10).map(|i| format!("REAM-{i:03}")).collect();
        assert_eq!(shown, first);
        // From the name alone (no SKU starts with "paper"): ten true matches, by SKU.
        let shown = picker(&app, "paper re").await;
        assert_eq!(shown.len(), 10, "{shown:?}");
        assert!(shown.iter().all(|s| s.starts_with("REAM-")), "{shown:?}");
        assert!(shown.windows(2).all(|w| w[0] < w[1]), "{shown:?}");
        // Adding by such a text offers a choice and says that more match.
        let order = order(&app).await;
        let res = add(&app, order, "paper re", "1").await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.body.contains("more match"), "{}", res.body);
        assert_eq!(res.count("button[name=pick]"), 10, "{}", res.body);
        assert!(lines(&app, order).await.is_empty());
    }
);

db_test!(
    a_quantity_is_changed_in_place_once,
    |app: TestApp| async move {
        let p = named(&app, "PAPER-A4", "Copy paper A4", 100).await;
        let c = app.customer("ACME", "Acme Ltd").await;
        let order = app.draft(c, &[(p, 2)]).await;
        let line = app.db.order_lines(order).await.unwrap()[0].id;
        let page = app.browser.get(&format!("/orders/{order}")).await;
        let action = format!("/orders/{order}/lines/{line}/quantity");
        let form = set(
            &page.form(&format!("form[action=\"{action}\"]")),
            "quantity",
            "5",
        );
        let first = app.browser.post(&action, &form).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
        assert_eq!(
            first.location().unwrap(),
            format!("/orders/{order}?focus=line-{line}")
        );
        // The same form again (a double-click, a resubmit): the recorded answer, nothing more.
        let again = app.browser.post(&action, &form).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER);
        assert!(again.replayed());
        assert_eq!(lines(&app, order).await, vec![("PAPER-A4".to_string(), 5)]);
        let changes = app
            .db
            .audit_events("order", &order.to_string())
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "change-line")
            .count();
        assert_eq!(changes, 1);
        let shown = app.browser.get(first.location().unwrap()).await;
        assert!(attr(&shown, &format!("input#line-{line}"), "autofocus").is_some());
        // Zero is refused beside the line, not taken as a removal.
        let page = app.browser.get(&format!("/orders/{order}")).await;
        let zero = set(
            &page.form(&format!("form[action=\"{action}\"]")),
            "quantity",
            "0",
        );
        let res = app.browser.post(&action, &zero).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert!(
            res.text(&format!("#line-{line}-error"))
                .unwrap()
                .contains("Remove")
        );
        assert_eq!(
            attr(&res, &format!("input#line-{line}"), "value").unwrap(),
            "0"
        );
        assert_eq!(lines(&app, order).await, vec![("PAPER-A4".to_string(), 5)]);
    }
);

db_test!(
    adding_a_product_on_the_order_merges_into_its_line_once,
    |app: TestApp| async move {
        named(&app, "PAPER-A4", "Copy paper A4", 100).await;
        let order = order(&app).await;
        assert_eq!(
            add(&app, order, "PAPER-A4", "2").await.status,
            StatusCode::SEE_OTHER
        );
        let form = add_form(&app, order, "paper", "3").await;
        let path = format!("/orders/{order}/lines");
        let first = app.browser.post(&path, &form).await;
        let second = app.browser.post(&path, &form).await;
        assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
        assert_eq!(second.status, StatusCode::SEE_OTHER);
        assert!(second.replayed());
        assert_eq!(lines(&app, order).await, vec![("PAPER-A4".to_string(), 5)]);
        app.assert_invariants().await;
    }
);

db_test!(
    a_shortage_shows_per_line_before_confirm,
    |app: TestApp| async move {
        let short = named(&app, "TONER-K", "Toner black", 3).await;
        let plenty = named(&app, "PAPER-A4", "Copy paper A4", 100).await;
        let c = app.customer("ACME", "Acme Ltd").await;
        let order = app.draft(c, &[(short, 5), (plenty, 2)]).await;
        let page = app.browser.get(&format!("/orders/{order}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.text("#short-now h2").unwrap(),
            "Short by 2 on these lines"
        );
        assert!(page.text("#short-now li").unwrap().contains("TONER-K"));
        assert_eq!(page.count("#short-now li"), 1);
        assert_eq!(page.count("#lines .stock-short"), 1);
        assert_eq!(page.text("#lines .stock-short").unwrap(), "short by 2");
        assert_eq!(page.count("#lines .stock-ok"), 1);
        // Covered now: no summary.
        let line = app.db.order_lines(order).await.unwrap()[0].id;
        let action = format!("/orders/{order}/lines/{line}/quantity");
        let form = set(
            &page.form(&format!("form[action=\"{action}\"]")),
            "quantity",
            "3",
        );
        assert_eq!(
            app.browser.post(&action, &form).await.status,
            StatusCode::SEE_OTHER
        );
        let page = app.browser.get(&format!("/orders/{order}")).await;
        assert_eq!(page.count("#short-now"), 0);
        assert_eq!(page.count("#lines .stock-ok"), 2);
    }
);

db_test!(
    product_search_ignores_case_and_accents,
    |app: TestApp| async move {
        named(&app, "KAF-1", "Müller Kaffee, 1 kg", 10).await;
        named(&app, "TEE-1", "Früchtetee", 10).await;
        assert_eq!(picker(&app, "muller").await, vec!["KAF-1"]);
        assert_eq!(picker(&app, "MÜLLER").await, vec!["KAF-1"]);
        assert_eq!(picker(&app, "kaf").await, vec!["KAF-1"]);
        assert_eq!(picker(&app, "fruchte").await, vec!["TEE-1"]);
        // The picker starts at three characters (fewer would walk the whole catalogue).
        assert!(picker(&app, "te").await.is_empty());
        assert_eq!(picker(&app, "tee").await, vec!["TEE-1"]);
        assert!(picker(&app, "%%%").await.is_empty());
        let order = order(&app).await;
        let res = add(&app, order, "muller", "1").await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(lines(&app, order).await, vec![("KAF-1".to_string(), 1)]);
    }
);

db_test!(
    order_search_finds_customers_and_references_by_part,
    |app: TestApp| async move {
        let muller = app.customer("MUL", "Müller GmbH").await;
        let other = app.customer("SCH", "Schmidt AG").await;
        let a = app.draft(muller, &[]).await;
        let b = app.draft(other, &[]).await;
        let mut tx = app.db.begin().await.unwrap();
        let c = orderdesk::db::orders::insert(
            &mut tx,
            other,
            "Bestellung Zürich-7",
            "test",
            orderdesk::db::now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let ids = |page: Page| -> Vec<String> {
            let sel = scraper::Selector::parse("table tbody tr td:first-child a").unwrap();
            page.html()
                .select(&sel)
                .map(|e| e.text().collect::<String>().trim().to_string())
                .collect()
        };
        let found = ids(app.browser.get("/orders?q=muller").await);
        assert_eq!(found, vec![format!("#{a}")]);
        let found = ids(app.browser.get("/orders?q=M%C3%9CLL").await);
        assert_eq!(found, vec![format!("#{a}")]);
        let found = ids(app.browser.get("/orders?q=zurich").await);
        assert_eq!(found, vec![format!("#{c}")]);
        let found = ids(app.browser.get("/orders?q=llung+z").await);
        assert_eq!(found, vec![format!("#{c}")]);
        let found = ids(app.browser.get("/orders?q=schmidt").await);
        assert_eq!(found, vec![format!("#{c}"), format!("#{b}")]);
    }
);

db_test!(
    new_order_search_keeps_the_reference_and_preselects_one,
    |app: TestApp| async move {
        let muller = app.customer("MUL", "Müller GmbH").await;
        app.customer("SCH", "Schmidt AG").await;
        let page = app.browser.get("/orders/new").await;
        let token = page.form("form#new-order");
        let search = set(
            &set(&set(&token, "q", "muller"), "reference", "PO-4711"),
            "find",
            "1",
        );
        let res = app.browser.post("/orders", &search).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        assert_eq!(attr(&res, "input#reference", "value").unwrap(), "PO-4711");
        assert_eq!(res.count("#customer_id option"), 1);
        assert_eq!(
            attr(&res, "#customer_id option[selected]", "value").unwrap(),
            muller.to_string()
        );
        assert_eq!(app.order_count().await, 0);
        // The same form submitted as it stands (Enter in the reference) creates the order.
        let create = set(
            &res.form("form#new-order"),
            "customer_id",
            &muller.to_string(),
        );
        let created = app.browser.post("/orders", &create).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert_eq!(app.order_count().await, 1);
        let id: i64 = created
            .location()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let order = app.db.find_order(id).await.unwrap().unwrap();
        assert_eq!(order.customer_id, muller);
        assert_eq!(order.reference, "PO-4711");
        // The script's list follows the same search.
        let found: Value = serde_json::from_str(
            &app.browser
                .get("/orders/customer-search?q=MULLER")
                .await
                .body,
        )
        .unwrap();
        assert_eq!(found.as_array().unwrap().len(), 1);
    }
);
