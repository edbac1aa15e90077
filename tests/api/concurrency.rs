//! Concurrent duplicates, competing confirmations, and clients that go away.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{Page, TestApp, db_test};

db_test!(
    fifty_concurrent_submits_of_one_form_confirm_once,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 100).await;
        let order = app.draft(c, &[(a, 3)]).await;
        let form = app.confirm_form(order).await;
        // Hold the first confirmation open so the duplicates really overlap it.
        app.db.faults().set_action_delay(Duration::from_millis(200));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (browser, form) = (app.browser.clone(), form.clone());
            tasks.push(tokio::spawn(async move {
                browser
                    .post(&format!("/orders/{order}/confirm"), &form)
                    .await
            }));
        }
        let mut answers: Vec<Page> = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        app.db.faults().set_action_delay(Duration::ZERO);
        let receipt = format!("/orders/{order}/confirmation");
        let fresh = answers
            .iter()
            .filter(|p| p.status == StatusCode::SEE_OTHER && !p.replayed())
            .count();
        assert_eq!(fresh, 1, "exactly one request did the work");
        for p in &answers {
            assert!(
                !p.status.is_server_error(),
                "no 5xx: {} {}",
                p.status,
                p.body
            );
            match p.status {
                StatusCode::SEE_OTHER => assert_eq!(p.location(), Some(receipt.as_str())),
                // The documented in-flight answer: a page that refreshes itself to the receipt.
                StatusCode::ACCEPTED => assert!(p.headers.get("refresh").is_some()),
                other => panic!("unexpected {other}: {}", p.body),
            }
        }
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 97);
        assert_eq!(app.ledger_rows(a).await, 2);
        app.assert_invariants().await;
        // The pool is healthy afterwards.
        for _ in 0..100 {
            assert_eq!(app.browser.get(&receipt).await.status, StatusCode::OK);
        }
    }
);

db_test!(
    client_disconnecting_mid_confirmation_leaves_all_or_nothing,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 100).await;
        let order = app.draft(c, &[(a, 3)]).await;
        let form = app.confirm_form(order).await;
        app.db.faults().set_action_delay(Duration::from_millis(300));
        let browser = app.browser.clone();
        let req = browser.post_request(&format!("/orders/{order}/confirm"), &form);
        let inflight = tokio::spawn(async move { browser.request(req).await });
        tokio::time::sleep(Duration::from_millis(80)).await;
        // The browser goes away: the handler's future is dropped mid-transaction.
        inflight.abort();
        assert!(inflight.await.is_err());
        app.db.faults().set_action_delay(Duration::ZERO);
        // Whatever happened is whole: poll until the confirmation settles.
        let mut confirmed = false;
        for _ in 0..50 {
            if app.order_status(order).await == "confirmed" {
                confirmed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        app.assert_invariants().await;
        if confirmed {
            assert_eq!(app.invoice_numbers().await.len(), 1);
            assert_eq!(app.stock("A-1").await, 97);
        } else {
            assert!(app.invoice_numbers().await.is_empty());
            assert_eq!(app.stock("A-1").await, 100);
        }
        // The clerk's retry of the same form shows the one confirmation.
        let retry = app.confirm(order, &form).await;
        assert_eq!(retry.status, StatusCode::SEE_OTHER, "{}", retry.body);
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 97);
        // And the pool is healthy: the next 100 requests succeed.
        for _ in 0..100 {
            assert_eq!(
                app.browser
                    .get(&format!("/orders/{order}/confirmation"))
                    .await
                    .status,
                StatusCode::OK
            );
        }
        // Writes work too: the aborted transaction's connection was not left holding the write
        // lock or an open transaction.
        let second = app.draft(c, &[(a, 1)]).await;
        let form = app.confirm_form(second).await;
        assert_eq!(
            app.confirm(second, &form).await.status,
            StatusCode::SEE_OTHER
        );
        // No connection leaked: once every request is done, every connection is back and idle.
        let mut settled = false;
        for _ in 0..50 {
            let (size, idle) = app.db.pool_status();
            if size > 0 && idle as u32 == size {
                settled = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            settled,
            "connections still checked out: {:?}",
            app.db.pool_status()
        );
    }
);

db_test!(
    sixty_four_orders_compete_for_the_last_units,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let scarce = app.product("SCARCE", 250, 2000, 10).await;
        let plenty = app.product("PLENTY", 100, 2000, 10_000).await;
        let mut forms = Vec::new();
        for _ in 0..64 {
            let order = app.draft(c, &[(plenty, 1), (scarce, 1)]).await;
            let form = app.confirm_form(order).await;
            forms.push((order, form));
        }
        let mut tasks = Vec::new();
        for (order, form) in forms {
            let browser = app.browser.clone();
            tasks.push(tokio::spawn(async move {
                browser
                    .post(&format!("/orders/{order}/confirm"), &form)
                    .await
            }));
        }
        let (mut ok, mut short) = (0, 0);
        for t in tasks {
            let p = t.await.unwrap();
            match p.status {
                StatusCode::SEE_OTHER => ok += 1,
                StatusCode::CONFLICT => {
                    assert_eq!(p.count("#shortages tr.short-line"), 1, "{}", p.body);
                    short += 1;
                }
                other => panic!("unexpected {other}: {}", p.body),
            }
        }
        assert_eq!(ok, 10, "exactly what stock allows");
        assert_eq!(short, 54);
        assert_eq!(app.stock("SCARCE").await, 0);
        assert_eq!(app.stock("PLENTY").await, 10_000 - 10);
        assert_eq!(app.invoice_numbers().await.len(), 10);
        app.assert_invariants().await;
    }
);

db_test!(
    two_hundred_concurrent_confirmations_number_invoices_gaplessly,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let p1 = app.product("P-1", 1234, 2000, 100_000).await;
        let p2 = app.product("P-2", 99, 700, 100_000).await;
        let mut forms = Vec::new();
        for i in 0..200 {
            let order = app.draft(c, &[(p1, 1 + i % 3), (p2, 2)]).await;
            let form = app.confirm_form(order).await;
            forms.push((order, form));
        }
        let mut tasks = Vec::new();
        for (order, form) in forms {
            let browser = app.browser.clone();
            tasks.push(tokio::spawn(async move {
                browser
                    .post(&format!("/orders/{order}/confirm"), &form)
                    .await
            }));
        }
        for t in tasks {
            let p = t.await.unwrap();
            assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        }
        let numbers = app.invoice_numbers().await;
        assert_eq!(numbers.len(), 200);
        for (i, n) in numbers.iter().enumerate() {
            assert!(n.ends_with(&format!("-{:06}", i + 1)), "gap at {i}: {n}");
        }
        app.assert_invariants().await;
    }
);

db_test!(
    a_duplicate_past_the_wait_bound_is_told_still_processing_and_then_sees_the_original,
    |app: TestApp| async move {
        use orderdesk::db::{Db, DbOptions};
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 100).await;
        let order = app.draft(c, &[(a, 3)]).await;
        let form = app.confirm_form(order).await;
        // A second server on the same database whose lock waits give up after 200 ms.
        let impatient = Db::connect(&DbOptions {
            url: app.url.clone(),
            max_connections: 4,
            lock_wait: Duration::from_millis(200),
        })
        .await
        .unwrap();
        let other = orderdesk::http::router(
            orderdesk::server::state(impatient.clone(), &TestApp::config())
                .await
                .unwrap(),
        );
        // The original holds its transaction for a second.
        app.db
            .faults()
            .set_action_delay(Duration::from_millis(1000));
        let browser = app.browser.clone();
        let original_form = form.clone();
        let original = tokio::spawn(async move {
            browser
                .post(&format!("/orders/{order}/confirm"), &original_form)
                .await
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        let dup = {
            use tower::ServiceExt;
            let req = app
                .browser
                .post_request(&format!("/orders/{order}/confirm"), &form);
            let mut req = req;
            req.headers_mut()
                .insert("cookie", app.browser.cookie().parse().unwrap());
            other.oneshot(req).await.unwrap()
        };
        assert_eq!(
            dup.status(),
            StatusCode::ACCEPTED,
            "past the bound: still processing, not an error"
        );
        let refresh = dup
            .headers()
            .get("refresh")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            refresh.ends_with(&format!("/orders/{order}/confirmation")),
            "{refresh}"
        );
        assert!(dup.headers().get("retry-after").is_some());
        // A page like every other: the site header with the signed-in clerk and the menu.
        let body = axum::body::to_bytes(dup.into_body(), usize::MAX)
            .await
            .unwrap();
        let page = crate::helpers::Page {
            status: StatusCode::ACCEPTED,
            headers: Default::default(),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        assert_eq!(
            page.text("h1").as_deref(),
            Some("Still processing your first submit")
        );
        assert!(
            page.text(".who-name").is_some_and(|n| n.contains("clerk")),
            "the header names who is signed in: {}",
            page.body
        );
        assert!(page.count("nav[aria-label=Main] a") > 0, "the menu");
        let original = original.await.unwrap();
        app.db.faults().set_action_delay(Duration::ZERO);
        assert_eq!(original.status, StatusCode::SEE_OTHER);
        // Where the still-processing page leads, and the same duplicate now: the one confirmation.
        assert_eq!(
            app.browser
                .get(&format!("/orders/{order}/confirmation"))
                .await
                .status,
            StatusCode::OK
        );
        let again = app.confirm(order, &form).await;
        assert!(again.replayed());
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 97);
        app.assert_invariants().await;
        impatient.close().await;
    }
);

db_test!(
    a_line_added_while_a_confirmation_waits_for_the_order_is_invoiced,
    |app: TestApp| async move {
        // The confirmation reads the order's lines in the statement that moves the order (on
        // PostgreSQL one statement, whose snapshot is taken before it waits for the order's
        // row). A line committed by another transaction during that wait must still be on the
        // invoice and taken from stock: the confirmation reads the lines again when the
        // revision it updated is not the one its snapshot saw.
        use sqlx::Connection;
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 10).await;
        let b = app.product("B-1", 500, 0, 10).await;
        let order = app.draft(c, &[(a, 1)]).await;
        let api = crate::api_client::clerk_client(&app).await;

        let add_line = [
            "UPDATE orders SET revision = revision + 1 WHERE id = $1",
            "INSERT INTO order_lines (order_id, product_id, quantity) VALUES ($1, $2, 2)",
        ];
        enum Held {
            Pg(sqlx::PgConnection),
            Sqlite(sqlx::SqliteConnection),
        }
        let mut held = match app.backend {
            crate::helpers::Backend::Postgres => {
                let mut c = sqlx::PgConnection::connect(&app.url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut c).await.unwrap();
                for sql in add_line {
                    sqlx::query(sql)
                        .bind(order)
                        .bind(b)
                        .execute(&mut c)
                        .await
                        .unwrap();
                }
                Held::Pg(c)
            }
            crate::helpers::Backend::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&app.url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut c)
                    .await
                    .unwrap();
                for sql in add_line {
                    sqlx::query(sql)
                        .bind(order)
                        .bind(b)
                        .execute(&mut c)
                        .await
                        .unwrap();
                }
                Held::Sqlite(c)
            }
        };
        let confirming = tokio::spawn(async move {
            api.post(
                &format!("/api/v1/orders/{order}/confirm"),
                Some("wait-for-the-order"),
                &serde_json::json!({}),
            )
            .await
        });
        // Let the confirmation start and wait (PostgreSQL: for the order's row lock; SQLite:
        // for the write lock), then commit the added line.
        match &mut held {
            Held::Pg(_) => {
                let mut watcher = sqlx::PgConnection::connect(&app.url).await.unwrap();
                let mut waited = false;
                // Up to 10 s: the confirmation may be slow to start on a busy machine.
                for _ in 0..1000 {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM pg_stat_activity \
                         WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    )
                    .fetch_one(&mut watcher)
                    .await
                    .unwrap();
                    if n > 0 {
                        waited = true;
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                assert!(waited, "the confirmation never waited for the order's row");
            }
            Held::Sqlite(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
        match held {
            Held::Pg(mut c) => sqlx::query("COMMIT").execute(&mut c).await.map(|_| ()),
            Held::Sqlite(mut c) => sqlx::query("COMMIT").execute(&mut c).await.map(|_| ()),
        }
        .unwrap();

        let invoice = confirming.await.unwrap().expect_json(201);
        let lines = invoice["lines"].as_array().unwrap();
        let skus: Vec<&str> = lines.iter().map(|l| l["sku"].as_str().unwrap()).collect();
        assert_eq!(skus, ["A-1", "B-1"], "both lines invoiced: {invoice}");
        assert_eq!(app.stock("A-1").await, 9);
        assert_eq!(app.stock("B-1").await, 8);
        app.assert_invariants().await;
    }
);

db_test!(
    a_key_taken_in_flight_leaves_the_other_order_it_was_offered_to_a_draft,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 1000, 2000, 100).await;
        let orders = [app.draft(c, &[(a, 3)]).await, app.draft(c, &[(a, 5)]).await];
        let api = crate::api_client::clerk_client(&app).await;
        // One Idempotency-Key offered to two orders at once. The first confirmation is held
        // open after its claim, so the second request's look-up finds the key unused and goes
        // on into a transaction of its own, whose first statement then finds the key taken.
        // That statement has already moved its order on SQLite (a batch runs in full): only
        // the rollback keeps it a draft.
        app.db.faults().set_action_delay(Duration::from_millis(300));
        let path = |order: i64| format!("/api/v1/orders/{order}/confirm");
        let early = {
            let (api, path) = (api.clone(), path(orders[0]));
            tokio::spawn(async move { api.post(&path, Some("shared"), &json!({})).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let late = api.post(&path(orders[1]), Some("shared"), &json!({})).await;
        let early = early.await.unwrap();
        app.db.faults().set_action_delay(Duration::ZERO);
        // Whichever ran first (a busy machine may start the second request first) confirmed
        // its order; the other was refused and changed nothing.
        let (done, refused) = if early.status == StatusCode::CREATED {
            ((early, orders[0]), (late, orders[1]))
        } else {
            ((late, orders[1]), (early, orders[0]))
        };
        done.0.expect_json(201);
        refused.0.expect_problem(422, "idempotency-key-reused");
        assert_eq!(app.order_status(done.1).await, "confirmed");
        assert_eq!(app.order_status(refused.1).await, "draft");
        let taken = if done.1 == orders[0] { 3 } else { 5 };
        assert_eq!(app.stock("A-1").await, 100 - taken);
        assert_eq!(app.invoice_numbers().await.len(), 1);
        app.assert_invariants().await;
    }
);
