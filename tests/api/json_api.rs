//! The JSON API (`/api/v1`, SPEC section 12): the same guarantees the form tests prove for
//! new orders, lines and confirmations (section 3), through bearer tokens, `Idempotency-Key`
//! and problem documents.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use orderdesk::domain::{Actor, Quantity, Role, Sku};
use serde_json::{Value, json};

use crate::api_client::{ApiClient, ApiResponse, PROBLEM_JSON, clerk_client, client_as};
use crate::helpers::{TestApp, db_test};

const ORDERS: &str = "/api/v1/orders";

fn lines_path(order: i64) -> String {
    format!("{ORDERS}/{order}/lines")
}

fn confirm_path(order: i64) -> String {
    format!("{ORDERS}/{order}/confirm")
}

/// Customer C-1; A-1 (19.99 at 20%, 10 on hand) and B-1 (0.05 at 10%, 5 on hand).
async fn master_data(app: &TestApp) -> (i64, i64, i64) {
    let c = app.customer("C-1", "Acme").await;
    let a = app.product("A-1", 1999, 2000, 10).await;
    let b = app.product("B-1", 5, 1000, 5).await;
    (c, a, b)
}

/// A new order's body: 2 of A-1 and 1 of B-1.
fn order_body() -> Value {
    json!({
        "customer": "C-1",
        "reference": "PO 4711",
        "lines": [{"sku": "A-1", "quantity": 2}, {"sku": "B-1", "quantity": 1}]
    })
}

/// Create an order through the API; returns its id.
async fn create(api: &ApiClient, key: &str, body: &Value) -> i64 {
    let res = api.post(ORDERS, Some(key), body).await;
    res.expect_json(201)["id"].as_i64().expect("an order id")
}

/// What the tests mean by "nothing changed": every order's status, revision and lines, the
/// invoices, and the stock of the products.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    orders: Vec<(i64, String, i64, usize)>,
    invoices: Vec<String>,
    stock: Vec<(String, i64)>,
}

async fn snapshot(app: &TestApp, skus: &[&str]) -> Snapshot {
    let (rows, _) = app
        .db
        .list_orders(
            &Default::default(),
            1000,
            orderdesk::db::orders::Cursor::First,
        )
        .await
        .unwrap();
    let mut orders = Vec::new();
    for r in rows {
        let o = app.db.find_order(r.id).await.unwrap().unwrap();
        let lines = app.db.order_lines(r.id).await.unwrap().len();
        orders.push((o.id, o.status.to_string(), o.revision, lines));
    }
    let mut stock = Vec::new();
    for sku in skus {
        stock.push((sku.to_string(), app.stock(sku).await));
    }
    Snapshot {
        orders,
        invoices: app.invoice_numbers().await,
        stock,
    }
}

/// Assert `second` is `first` replayed: same status, byte-identical body, same `Location`.
#[track_caller]
fn assert_replay_of(second: &ApiResponse, first: &ApiResponse) {
    assert!(!first.replayed(), "the first response is not a replay");
    assert_eq!(second.status, first.status, "{}", second.body);
    assert_eq!(second.bytes, first.bytes, "byte-identical body");
    assert_eq!(second.location(), first.location());
    assert_eq!(second.content_type(), first.content_type());
    assert_eq!(
        second.header("idempotent-replayed"),
        Some("true"),
        "a replay says so"
    );
}

db_test!(
    api_sequential_replay_of_create_add_line_and_confirm,
    |app: TestApp| async move {
        let (_, a, b) = master_data(&app).await;
        let api = clerk_client(&app).await;

        // New order.
        let first = api.post(ORDERS, Some("create-1"), &order_body()).await;
        let doc = first.expect_json(201);
        let order = doc["id"].as_i64().unwrap();
        assert_eq!(doc["status"], "draft");
        assert_eq!(doc["lines"].as_array().unwrap().len(), 2);
        assert_eq!(first.location(), Some(format!("{ORDERS}/{order}").as_str()));
        let second = api.post(ORDERS, Some("create-1"), &order_body()).await;
        assert_replay_of(&second, &first);
        assert_eq!(app.order_count().await, 1, "one order exists");
        // A replay never repeats the first request's id; a client's own id is kept.
        assert!(first.header("x-request-id").is_some());
        assert_ne!(second.header("x-request-id"), first.header("x-request-id"));
        let body = serde_json::to_vec(&order_body()).unwrap();
        let third = api
            .post_raw(
                ORDERS,
                &[
                    ("content-type", b"application/json"),
                    ("idempotency-key", b"create-1"),
                    ("x-request-id", b"client-chosen-42"),
                ],
                body,
            )
            .await;
        assert_replay_of(&third, &first);
        assert_eq!(third.header("x-request-id"), Some("client-chosen-42"));

        // Add a line. B-1 is on the order already: its line grows (1 + 2), once.
        let line = json!({"sku": "B-1", "quantity": 2});
        let first = api.post(&lines_path(order), Some("line-1"), &line).await;
        let doc = first.expect_json(201);
        assert_eq!(doc["lines"].as_array().unwrap().len(), 2);
        assert_eq!(first.location(), Some(format!("{ORDERS}/{order}").as_str()));
        let second = api.post(&lines_path(order), Some("line-1"), &line).await;
        assert_replay_of(&second, &first);
        let lines = app.db.order_lines(order).await.unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[1].sku.as_str(), lines[1].quantity), ("B-1", 3));

        // Confirm.
        let first = api
            .post(&confirm_path(order), Some("confirm-1"), &json!({}))
            .await;
        let invoice = first.expect_json(201);
        let number = invoice["number"].as_str().unwrap().to_string();
        assert!(
            number.starts_with("INV-") && number.ends_with("-000001"),
            "{number}"
        );
        assert_eq!(invoice["order_id"], order);
        assert_eq!(
            first.location(),
            Some(format!("/api/v1/invoices/{number}").as_str())
        );
        let second = api
            .post(&confirm_path(order), Some("confirm-1"), &json!({}))
            .await;
        assert_replay_of(&second, &first);
        assert!(
            second.header("set-cookie").is_none(),
            "a replay never sets cookies"
        );

        assert_eq!(app.invoice_numbers().await, vec![number]);
        assert_eq!(app.stock("A-1").await, 8);
        assert_eq!(
            app.stock("B-1").await,
            2,
            "1 + 2 of B-1 counted once, summed"
        );
        assert_eq!(app.ledger_rows(a).await, 2, "opening + one sale row");
        assert_eq!(app.ledger_rows(b).await, 2);
        assert_eq!(app.order_count().await, 1);
        app.assert_invariants().await;
    }
);

db_test!(
    api_a_retry_with_reordered_members_and_whitespace_replays,
    |app: TestApp| async move {
        master_data(&app).await;
        let api = clerk_client(&app).await;
        let json_ct: (&str, &[u8]) = ("content-type", b"application/json");
        let key: (&str, &[u8]) = ("idempotency-key", b"canon-1");
        let compact =
            r#"{"customer":"C-1","reference":"PO 9","lines":[{"sku":"A-1","quantity":2}]}"#;
        let first = api.post_raw(ORDERS, &[json_ct, key], compact).await;
        let order = first.expect_json(201)["id"].as_i64().unwrap();
        let reordered = "{ \"lines\" : [ { \"quantity\" : 2.0 ,\n \"sku\" : \"A-1\" } ] ,\n\t\
             \"reference\": \"PO 9\",   \"customer\" :\"C-1\" }\n";
        let second = api.post_raw(ORDERS, &[json_ct, key], reordered).await;
        assert_replay_of(&second, &first);
        assert_eq!(app.order_count().await, 1);

        // The same for a confirmation.
        let ckey: (&str, &[u8]) = ("idempotency-key", b"canon-2");
        let revision = first.json()["revision"].as_i64().unwrap();
        let compact = format!("{{\"revision\":{revision}}}");
        let spaced = format!("  {{\n  \"revision\" :   {revision}.00 }}  ");
        let first = api
            .post_raw(&confirm_path(order), &[json_ct, ckey], compact)
            .await;
        first.expect_json(201);
        let second = api
            .post_raw(&confirm_path(order), &[json_ct, ckey], spaced)
            .await;
        assert_replay_of(&second, &first);
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 8);
        app.assert_invariants().await;
    }
);

db_test!(
    api_fifty_concurrent_confirms_with_one_key_confirm_once,
    |app: TestApp| async move {
        let (c, a, _) = master_data(&app).await;
        let order = app.draft(c, &[(a, 3)]).await;
        let api = clerk_client(&app).await;
        app.db.faults().set_action_delay(Duration::from_millis(200));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let api = api.clone();
            tasks.push(tokio::spawn(async move {
                api.post(&confirm_path(order), Some("storm-1"), &json!({}))
                    .await
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.unwrap());
        }
        app.db.faults().set_action_delay(Duration::ZERO);

        for r in &answers {
            assert!(
                !r.status.is_server_error(),
                "no 5xx: {} {}",
                r.status,
                r.body
            );
        }
        let originals: Vec<&ApiResponse> = answers
            .iter()
            .filter(|r| r.status == StatusCode::CREATED && !r.replayed())
            .collect();
        assert_eq!(originals.len(), 1, "exactly one request did the work");
        let original = originals[0];
        assert!(
            original
                .location()
                .unwrap()
                .starts_with("/api/v1/invoices/"),
            "{:?}",
            original.location()
        );
        for r in &answers {
            match r.status {
                StatusCode::CREATED => {
                    assert_eq!(r.bytes, original.bytes, "the original body");
                    assert_eq!(r.location(), original.location());
                }
                StatusCode::CONFLICT => {
                    r.expect_problem(409, "idempotency-key-in-flight");
                    assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
                }
                other => panic!("unexpected {other}: {}", r.body),
            }
        }
        // The key now replays the original to everyone.
        let later = api
            .post(&confirm_path(order), Some("storm-1"), &json!({}))
            .await;
        assert_replay_of(&later, original);

        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 7);
        assert_eq!(app.ledger_rows(a).await, 2);
        app.assert_invariants().await;
    }
);

db_test!(
    api_two_keys_for_one_draft_confirm_once,
    |app: TestApp| async move {
        let (c, a, b) = master_data(&app).await;
        let order = app.draft(c, &[(a, 3), (b, 1)]).await;
        let api = clerk_client(&app).await;
        let first = api
            .post(&confirm_path(order), Some("k-1"), &json!({}))
            .await;
        let number = first.expect_json(201)["number"].clone();
        let second = api
            .post(&confirm_path(order), Some("k-2"), &json!({}))
            .await;
        let doc = second.expect_json(200);
        assert!(!second.replayed(), "a new key is no replay");
        assert_eq!(doc["number"], number, "the existing invoice");
        assert_eq!(second.location(), first.location());
        // The second key recorded its own answer.
        let again = api
            .post(&confirm_path(order), Some("k-2"), &json!({}))
            .await;
        assert_replay_of(&again, &second);

        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 7);
        assert_eq!(app.stock("B-1").await, 4);
        assert_eq!(app.ledger_rows(a).await, 2);
        app.assert_invariants().await;
    }
);

db_test!(
    api_key_reused_for_another_body_or_path_is_422,
    |app: TestApp| async move {
        let (c, a, _) = master_data(&app).await;
        let api = clerk_client(&app).await;
        let order = create(&api, "reuse-1", &order_body()).await;
        let other = app.draft(c, &[(a, 1)]).await;
        let before = snapshot(&app, &["A-1", "B-1"]).await;

        let mut changed = order_body();
        changed["reference"] = json!("PO 4712");
        api.post(ORDERS, Some("reuse-1"), &changed)
            .await
            .expect_problem(422, "idempotency-key-reused");
        // The same key on other paths.
        api.post(
            &lines_path(order),
            Some("reuse-1"),
            &json!({"sku": "A-1", "quantity": 1}),
        )
        .await
        .expect_problem(422, "idempotency-key-reused");
        api.post(&confirm_path(order), Some("reuse-1"), &json!({}))
            .await
            .expect_problem(422, "idempotency-key-reused");
        // A confirmation key offered to another order.
        api.post(&confirm_path(order), Some("reuse-2"), &json!({}))
            .await
            .expect_json(201);
        let mid = snapshot(&app, &["A-1", "B-1"]).await;
        api.post(&confirm_path(other), Some("reuse-2"), &json!({}))
            .await
            .expect_problem(422, "idempotency-key-reused");
        assert_eq!(snapshot(&app, &["A-1", "B-1"]).await, mid);
        assert_eq!(app.order_status(other).await, "draft");
        assert_eq!(mid.invoices.len(), 1);
        assert_eq!(
            mid.orders.len(),
            before.orders.len(),
            "no order was created"
        );
        assert_eq!(
            before.stock,
            vec![("A-1".to_string(), 10), ("B-1".to_string(), 5)]
        );
        app.assert_invariants().await;
    }
);

db_test!(
    api_injected_failure_changes_nothing_and_the_retry_confirms_once,
    |app: TestApp| async move {
        let (c, a, b) = master_data(&app).await;
        let order = app.draft(c, &[(a, 1), (b, 2), (a, 2)]).await;
        let api = clerk_client(&app).await;
        let before = snapshot(&app, &["A-1", "B-1"]).await;
        app.db.faults().fail_next_confirmation_after_stock_update();
        let failed = api
            .post(&confirm_path(order), Some("fault-1"), &json!({}))
            .await;
        let problem = failed.expect_problem(500, "internal");
        assert!(
            !failed.body.to_lowercase().contains("injected"),
            "a 500 has a generic detail: {}",
            failed.body
        );
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("Idempotency-Key")
        );
        assert!(!failed.replayed());
        assert_eq!(snapshot(&app, &["A-1", "B-1"]).await, before);
        assert_eq!(app.ledger_rows(a).await, 1);
        app.assert_invariants().await;

        // The same key again: nothing was recorded, so it is evaluated afresh, exactly once.
        let retry = api
            .post(&confirm_path(order), Some("fault-1"), &json!({}))
            .await;
        retry.expect_json(201);
        assert!(!retry.replayed());
        let dup = api
            .post(&confirm_path(order), Some("fault-1"), &json!({}))
            .await;
        assert_replay_of(&dup, &retry);
        let numbers = app.invoice_numbers().await;
        assert_eq!(numbers.len(), 1);
        assert!(
            numbers[0].ends_with("-000001"),
            "the failed attempt burned no number: {numbers:?}"
        );
        assert_eq!(app.stock("A-1").await, 7);
        assert_eq!(app.stock("B-1").await, 3);
        app.assert_invariants().await;
    }
);

db_test!(api_keys_belong_to_their_user, |app: TestApp| async move {
    master_data(&app).await;
    let alice = clerk_client(&app).await;
    let (bob, _) = client_as(&app, "bob", Role::Clerk).await;
    let ra = alice.post(ORDERS, Some("shared-key"), &order_body()).await;
    let rb = bob.post(ORDERS, Some("shared-key"), &order_body()).await;
    let da = ra.expect_json(201);
    let db = rb.expect_json(201);
    assert!(!ra.replayed() && !rb.replayed(), "two users never collide");
    assert_ne!(da["id"], db["id"]);
    assert_eq!(da["created_by"], "clerk");
    assert_eq!(db["created_by"], "bob");
    assert_eq!(app.order_count().await, 2);
    // Each user's key replays their own order.
    let again = bob.post(ORDERS, Some("shared-key"), &order_body()).await;
    assert_replay_of(&again, &rb);
    assert_eq!(app.order_count().await, 2);
});

db_test!(
    api_bad_credentials_are_401_and_roles_are_403,
    |app: TestApp| async move {
        let (c, a, _) = master_data(&app).await;
        let order = app.draft(c, &[(a, 1)]).await;
        let before = snapshot(&app, &["A-1", "B-1"]).await;

        // A token that works, then is revoked.
        let (revoked, revoked_id) = client_as(&app, "carol", Role::Clerk).await;
        revoked.get("/api/v1/products").await.expect_json(200);
        let gone = orderdesk::ops::run_once(
            &app.db,
            orderdesk::ops::RevokeApiToken {
                actor: Actor::command_line(),
                token_id: revoked_id,
            },
        )
        .await
        .unwrap();
        assert!(gone);
        // A token whose user is then disabled.
        let (disabled, _) = client_as(&app, "dave", Role::Clerk).await;
        disabled.get("/api/v1/products").await.expect_json(200);
        let dave = app.db.find_user("dave").await.unwrap().unwrap();
        orderdesk::ops::run_once(
            &app.db,
            orderdesk::ops::DisableUser {
                actor: Actor::command_line(),
                user_id: dave.id,
            },
        )
        .await
        .unwrap();

        let anonymous = ApiClient::anonymous(app.router.clone());
        let unknown = ApiClient::new(app.router.clone(), Some(format!("odk_{}", "0".repeat(64))));
        // (what, client, an explicit Authorization header)
        let mut cases: Vec<(&str, ApiClient, Option<&str>)> = vec![
            ("no token", anonymous.clone(), None),
            ("unknown token", unknown, None),
            ("revoked token", revoked, None),
            ("disabled user", disabled, None),
        ];
        for malformed in [
            "Basic Y2xlcms6cGFzc3dvcmQ=",
            "Bearer",
            "Bearer    ",
            "odk_0000",
            "Token odk_0000",
        ] {
            cases.push((
                "malformed Authorization",
                anonymous.clone(),
                Some(malformed),
            ));
        }
        for (what, client, authorization) in &cases {
            let auth: Vec<(&str, &[u8])> = authorization
                .map(|a| vec![("authorization", a.as_bytes())])
                .unwrap_or_default();
            let get = client
                .request(
                    Method::GET,
                    "/api/v1/orders",
                    &auth,
                    axum::body::Body::empty(),
                )
                .await;
            get.expect_problem(401, "unauthorized");
            assert!(
                get.header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "{what}: {:?}",
                get.headers
            );
            let mut headers = auth.clone();
            headers.push(("content-type", b"application/json"));
            headers.push(("idempotency-key", b"auth-1"));
            let body = serde_json::to_vec(&order_body()).unwrap();
            let post = client.post_raw(ORDERS, &headers, body).await;
            post.expect_problem(401, "unauthorized");
            assert!(post.header("www-authenticate").is_some(), "{what}");
            let confirm = client.post_raw(&confirm_path(order), &headers, "{}").await;
            confirm.expect_problem(401, "unauthorized");
            assert!(confirm.header("www-authenticate").is_some(), "{what}");
        }

        // Roles: the warehouse creates no order, the accountant confirms none.
        let (warehouse, _) = client_as(&app, "wanda", Role::Warehouse).await;
        warehouse
            .post(ORDERS, Some("role-1"), &order_body())
            .await
            .expect_problem(403, "forbidden");
        warehouse
            .post(
                &lines_path(order),
                Some("role-2"),
                &json!({"sku": "A-1", "quantity": 1}),
            )
            .await
            .expect_problem(403, "forbidden");
        let (accountant, _) = client_as(&app, "abby", Role::Accountant).await;
        accountant
            .post(&confirm_path(order), Some("role-3"), &json!({}))
            .await
            .expect_problem(403, "forbidden");
        // They may read.
        warehouse.get(ORDERS).await.expect_json(200);
        accountant
            .get(&format!("{ORDERS}/{order}"))
            .await
            .expect_json(200);

        assert_eq!(snapshot(&app, &["A-1", "B-1"]).await, before);
        app.assert_invariants().await;
    }
);

db_test!(api_never_answers_with_html, |app: TestApp| async move {
    let (c, a, _) = master_data(&app).await;
    let order = app.draft(c, &[(a, 1)]).await;
    let anonymous = ApiClient::anonymous(app.router.clone());
    let doc = anonymous.get("/api/v1/openapi.json").await.expect_json(200);
    let paths = doc["paths"].as_object().expect("paths");
    assert!(!paths.is_empty());
    let mut seen = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &order.to_string())
            .replace("{number}", "INV-2026-000001")
            .replace("{sku}", "A-1");
        for method in item.as_object().unwrap().keys() {
            let method = match method.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let res = anonymous
                .request(
                    method.clone(),
                    &concrete,
                    &[
                        ("content-type", b"application/json"),
                        ("idempotency-key", b"html-1"),
                        ("accept", b"text/html"),
                    ],
                    "{}",
                )
                .await;
            res.expect_problem(401, "unauthorized");
            assert!(
                res.header("www-authenticate").is_some(),
                "{method} {concrete}"
            );
            seen += 1;
        }
    }
    assert!(seen >= 9, "only {seen} operations in the document");

    let api = clerk_client(&app).await;
    for path in [
        "/api/v1/nope",
        "/api/v1/orders/1/nope",
        "/api/v1/orders/not-a-number",
        "/api/v1/orders/999999",
        "/api/v1/invoices/INV-1999-000042",
        "/api/v1/invoices/garbage",
        "/api/v1/stock/NOPE",
    ] {
        let res = api.get(path).await;
        res.expect_problem(404, "not-found");
    }
    api.post(&confirm_path(999_999), Some("nf-1"), &json!({}))
        .await
        .expect_problem(404, "not-found");
    for (method, path) in [
        (Method::DELETE, ORDERS.to_string()),
        (Method::PUT, format!("{ORDERS}/{order}")),
        (Method::GET, confirm_path(order)),
        (Method::POST, "/api/v1/products".to_string()),
    ] {
        let res = api
            .request(
                method.clone(),
                &path,
                &[("idempotency-key", b"m-1")],
                axum::body::Body::empty(),
            )
            .await;
        res.expect_problem(405, "method-not-allowed");
        assert_eq!(res.content_type(), Some(PROBLEM_JSON), "{method} {path}");
        assert!(res.header("allow").is_some(), "405 names what is allowed");
    }

    // A cross-site-looking POST with a bearer token is not refused by the pages' check.
    let body = serde_json::to_vec(&order_body()).unwrap();
    let res = api
        .post_raw(
            ORDERS,
            &[
                ("content-type", b"application/json"),
                ("idempotency-key", b"xsite-1"),
                ("sec-fetch-site", b"cross-site"),
                ("origin", b"https://elsewhere.example"),
            ],
            body,
        )
        .await;
    res.expect_json(201);
    assert_eq!(app.order_count().await, 2);
    assert!(app.invoice_numbers().await.is_empty());
});

db_test!(
    api_idempotency_key_is_required_and_checked,
    |app: TestApp| async move {
        master_data(&app).await;
        let api = clerk_client(&app).await;
        let body = serde_json::to_vec(&order_body()).unwrap();
        let json_ct: (&str, &[u8]) = ("content-type", b"application/json");

        api.post(ORDERS, None, &order_body())
            .await
            .expect_problem(400, "idempotency-key-invalid");
        let long = "k".repeat(256);
        let bad: Vec<&[u8]> = vec![
            b"",
            b"   ",
            long.as_bytes(),
            "naïve-key".as_bytes(),
            b"tab\tinside",
        ];
        for key in bad {
            let res = api
                .post_raw(ORDERS, &[json_ct, ("idempotency-key", key)], body.clone())
                .await;
            assert_eq!(
                res.status,
                StatusCode::BAD_REQUEST,
                "Idempotency-Key {:?}: {}",
                String::from_utf8_lossy(key),
                res.body
            );
            res.expect_problem(400, "idempotency-key-invalid");
        }
        // Two keys at once.
        api.post_raw(
            ORDERS,
            &[
                json_ct,
                ("idempotency-key", b"one"),
                ("idempotency-key", b"two"),
            ],
            body.clone(),
        )
        .await
        .expect_problem(400, "idempotency-key-invalid");
        // Every POST needs one, not only new orders.
        api.post(&confirm_path(1), None, &json!({}))
            .await
            .expect_problem(400, "idempotency-key-invalid");
        assert_eq!(app.order_count().await, 0, "nothing was created");

        // 255 characters is a key.
        let max = "k".repeat(255);
        let first = api.post(ORDERS, Some(&max), &order_body()).await;
        first.expect_json(201);
        let second = api.post(ORDERS, Some(&max), &order_body()).await;
        assert_replay_of(&second, &first);
        // Quotes are not part of the key's length.
        let quoted_max = format!("\"{}\"", "q".repeat(255));
        api.post(ORDERS, Some(&quoted_max), &order_body())
            .await
            .expect_json(201);
        let quoted_long = format!("\"{}\"", "q".repeat(256));
        api.post(ORDERS, Some(&quoted_long), &order_body())
            .await
            .expect_problem(400, "idempotency-key-invalid");
        // A quoted key and the bare one are the same key.
        let quoted = api.post(ORDERS, Some("\"abc\""), &order_body()).await;
        quoted.expect_json(201);
        let bare = api.post(ORDERS, Some("abc"), &order_body()).await;
        assert_replay_of(&bare, &quoted);
        assert_eq!(app.order_count().await, 3);
    }
);

db_test!(
    api_bad_bodies_change_nothing_and_record_nothing,
    |app: TestApp| async move {
        master_data(&app).await;
        let api = clerk_client(&app).await;
        let key: (&str, &[u8]) = ("idempotency-key", b"body-1");
        let json_ct: (&str, &[u8]) = ("content-type", b"application/json");
        let good = serde_json::to_vec(&order_body()).unwrap();
        let before = snapshot(&app, &["A-1", "B-1"]).await;

        api.post_raw(
            ORDERS,
            &[("content-type", b"text/plain"), key],
            good.clone(),
        )
        .await
        .expect_problem(415, "unsupported-media-type");
        api.post_raw(ORDERS, &[key], good.clone())
            .await
            .expect_problem(415, "unsupported-media-type");
        api.post_raw(ORDERS, &[json_ct, key], "{\"customer\": ")
            .await
            .expect_problem(400, "bad-request");
        api.post_raw(ORDERS, &[json_ct, key], "[1, 2, 3]")
            .await
            .expect_problem(400, "bad-request");
        api.post_raw(ORDERS, &[json_ct, key], vec![0xff, 0xfe, b'{'])
            .await
            .expect_problem(400, "bad-request");
        api.post(
            ORDERS,
            Some("body-1"),
            &json!({"customer": "C-1", "lines": [], "colour": "red"}),
        )
        .await
        .expect_problem(400, "bad-request");
        api.post(
            ORDERS,
            Some("body-1"),
            &json!({"customer": "C-1", "lines": [{"sku": "A-1", "quantity": "two"}]}),
        )
        .await
        .expect_problem(400, "bad-request");
        let huge = json!({"customer": "C-1", "reference": "x".repeat(300 * 1024)});
        api.post(ORDERS, Some("body-1"), &huge)
            .await
            .expect_problem(413, "too-large");

        let p = api
            .post(
                ORDERS,
                Some("body-1"),
                &json!({"customer": "C-1", "lines": [{"sku": "NOPE-1", "quantity": 1}]}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "lines[0].sku", "{p}");
        let p = api
            .post(
                ORDERS,
                Some("body-1"),
                &json!({"customer": "C-1", "lines": [{"sku": "A-1", "quantity": 0}]}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "lines[0].quantity", "{p}");
        let p = api
            .post(
                ORDERS,
                Some("body-1"),
                &json!({"customer": "C-1", "lines": [{"sku": "A-1", "quantity": 1_000_001}]}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "lines[0].quantity", "{p}");
        let p = api
            .post(
                ORDERS,
                Some("body-1"),
                &json!({"customer": "C-404", "lines": [{"sku": "A-1", "quantity": 1}]}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "customer", "{p}");
        assert_eq!(snapshot(&app, &["A-1", "B-1"]).await, before);
        assert_eq!(app.order_count().await, 0, "nothing was created");

        // The corrected request with the same key: the failed attempts recorded nothing.
        let json_utf8: (&str, &[u8]) = ("content-type", b"application/json; charset=utf-8");
        let ok = api.post_raw(ORDERS, &[json_utf8, key], good.clone()).await;
        let order = ok.expect_json(201)["id"].as_i64().unwrap();
        assert!(!ok.replayed());
        let again = api.post_raw(ORDERS, &[json_ct, key], good).await;
        assert_replay_of(&again, &ok);
        assert_eq!(app.order_count().await, 1);

        // The same for a line.
        let before = snapshot(&app, &["A-1", "B-1"]).await;
        let p = api
            .post(
                &lines_path(order),
                Some("line-body-1"),
                &json!({"sku": "NOPE-1", "quantity": 1}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "sku", "{p}");
        let p = api
            .post(
                &lines_path(order),
                Some("line-body-1"),
                &json!({"sku": "A-1", "quantity": 0}),
            )
            .await
            .expect_problem(422, "invalid");
        assert_eq!(p["errors"][0]["field"], "quantity", "{p}");
        api.post(
            &lines_path(order),
            Some("line-body-1"),
            &json!({"sku": "A-1", "quantity": 1, "price": "0.01"}),
        )
        .await
        .expect_problem(400, "bad-request");
        assert_eq!(snapshot(&app, &["A-1", "B-1"]).await, before);
        api.post(
            &lines_path(order),
            Some("line-body-1"),
            &json!({"sku": "A-1", "quantity": 1}),
        )
        .await
        .expect_json(201);
        // A-1 was on the order already: its line grew, no third line.
        assert_eq!(app.db.order_lines(order).await.unwrap().len(), 2);
        app.assert_invariants().await;
    }
);

db_test!(
    api_short_stock_lists_every_short_line_and_a_retry_is_evaluated_afresh,
    |app: TestApp| async move {
        app.customer("C-1", "Acme").await;
        app.product("S-1", 100, 2000, 2).await;
        app.product("S-2", 100, 2000, 0).await;
        app.product("OK-1", 100, 2000, 50).await;
        let api = clerk_client(&app).await;
        let order = create(
            &api,
            "short-order",
            &json!({"customer": "C-1", "lines": [
                {"sku": "S-1", "quantity": 2},
                {"sku": "S-2", "quantity": 4},
                {"sku": "OK-1", "quantity": 5},
                {"sku": "S-1", "quantity": 1}
            ]}),
        )
        .await;
        let skus = ["S-1", "S-2", "OK-1"];
        let before = snapshot(&app, &skus).await;
        let res = api
            .post(&confirm_path(order), Some("short-1"), &json!({}))
            .await;
        let p = res.expect_problem(409, "short-stock");
        let mut lines: Vec<(String, i64, i64)> = p["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| {
                (
                    l["sku"].as_str().unwrap().to_string(),
                    l["requested"].as_i64().unwrap(),
                    l["available"].as_i64().unwrap(),
                )
            })
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            vec![("S-1".to_string(), 3, 2), ("S-2".to_string(), 4, 0)],
            "{p}"
        );
        assert_eq!(snapshot(&app, &skus).await, before);

        // The same key again is evaluated afresh: still short, not a replay.
        let again = api
            .post(&confirm_path(order), Some("short-1"), &json!({}))
            .await;
        again.expect_problem(409, "short-stock");
        assert!(!again.replayed());
        assert_eq!(snapshot(&app, &skus).await, before);

        // Goods arrive; the same key now confirms, once.
        for (sku, qty) in [("S-1", 1), ("S-2", 4)] {
            orderdesk::ops::run_once(
                &app.db,
                orderdesk::ops::ReceiveGoods {
                    actor: Actor::command_line(),
                    sku: Sku::parse(sku).unwrap(),
                    quantity: Quantity::new(qty).unwrap(),
                    note: String::new(),
                },
            )
            .await
            .unwrap();
        }
        let done = api
            .post(&confirm_path(order), Some("short-1"), &json!({}))
            .await;
        done.expect_json(201);
        assert!(!done.replayed());
        assert_eq!(app.stock("S-1").await, 0);
        assert_eq!(app.stock("S-2").await, 0);
        assert_eq!(app.stock("OK-1").await, 45);
        assert_eq!(app.invoice_numbers().await.len(), 1);
        app.assert_invariants().await;
    }
);

db_test!(
    api_confirm_checks_the_revision_and_refuses_an_empty_order,
    |app: TestApp| async move {
        let (c, _, _) = master_data(&app).await;
        let api = clerk_client(&app).await;
        let order = create(
            &api,
            "rev-order",
            &json!({"customer": "C-1", "lines": [{"sku": "A-1", "quantity": 1}]}),
        )
        .await;
        let read = api.get(&format!("{ORDERS}/{order}")).await.expect_json(200);
        let seen = read["revision"].as_i64().expect("a revision");
        let changed = api
            .post(
                &lines_path(order),
                Some("rev-line"),
                &json!({"sku": "B-1", "quantity": 1}),
            )
            .await
            .expect_json(201);
        let now = changed["revision"].as_i64().unwrap();
        assert!(now > seen, "a change of lines raises the revision");
        let skus = ["A-1", "B-1"];
        let before = snapshot(&app, &skus).await;
        api.post(
            &confirm_path(order),
            Some("rev-confirm-1"),
            &json!({"revision": seen}),
        )
        .await
        .expect_problem(409, "order-changed");
        assert_eq!(snapshot(&app, &skus).await, before);
        let done = api
            .post(
                &confirm_path(order),
                Some("rev-confirm-2"),
                &json!({"revision": now}),
            )
            .await
            .expect_json(201);
        assert_eq!(done["lines"].as_array().unwrap().len(), 2);
        // A negative revision is not a revision: refused even where it could not matter (the
        // order is confirmed already), never answered with the invoice.
        let after = snapshot(&app, &skus).await;
        let refused = api
            .post(
                &confirm_path(order),
                Some("rev-confirm-negative"),
                &json!({"revision": -3}),
            )
            .await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("negative"), "{}", refused.body);
        assert_eq!(snapshot(&app, &skus).await, after);
        // A confirmed order takes no more lines.
        api.post(
            &lines_path(order),
            Some("rev-line-2"),
            &json!({"sku": "B-1", "quantity": 1}),
        )
        .await
        .expect_problem(409, "order-not-draft");

        let empty = app.draft(c, &[]).await;
        let before = snapshot(&app, &skus).await;
        api.post(&confirm_path(empty), Some("empty-1"), &json!({}))
            .await
            .expect_problem(409, "order-has-no-lines");
        assert_eq!(snapshot(&app, &skus).await, before);
        assert_eq!(app.order_status(empty).await, "draft");
        assert_eq!(app.invoice_numbers().await.len(), 1);
        app.assert_invariants().await;
    }
);

db_test!(
    api_documents_carry_decimal_strings_and_agree,
    |app: TestApp| async move {
        app.customer("C-1", "Acme").await;
        // 0.05 at 10% -> tax 0.005 -> 0.01 per line; 0.04 at 10% -> 0.00;
        // 3 x 3.33 = 9.99 at 7.7% -> 0.76923 -> 0.77. Gross 10.98.
        app.product("HALF", 5, 1000, 100).await;
        app.product("UNDER", 4, 1000, 100).await;
        let odd = app.product("ODD", 333, 770, 100).await;
        app.product("STD", 1999, 2000, 10).await;
        let api = clerk_client(&app).await;
        let created = api
            .post(
                ORDERS,
                Some("docs-1"),
                &json!({"customer": "C-1", "reference": "PO 1", "lines": [
                    {"sku": "HALF", "quantity": 1},
                    {"sku": "HALF", "quantity": 1},
                    {"sku": "HALF", "quantity": 1},
                    {"sku": "UNDER", "quantity": 1},
                    {"sku": "ODD", "quantity": 3}
                ]}),
            )
            .await
            .expect_json(201);
        let order = created["id"].as_i64().unwrap();
        assert_eq!(created["currency"], "EUR");
        assert_eq!(created["lines"][0]["unit_price"], "0.05");
        assert_eq!(created["lines"][0]["tax_rate"], "10.00");
        assert_eq!(created["lines"][4]["quantity"], 3);
        assert_eq!(created["lines"][4]["tax_rate"], "7.70");
        assert_eq!(created["gross"], "10.98");
        assert!(created["invoice"].is_null());

        let res = api
            .post(&confirm_path(order), Some("docs-2"), &json!({}))
            .await;
        let invoice = res.expect_json(201);
        let number = invoice["number"].as_str().unwrap().to_string();
        assert_eq!(invoice["net"], "10.18");
        assert_eq!(invoice["tax"], "0.80");
        assert_eq!(invoice["gross"], "10.98");
        assert_eq!(invoice["currency"], "EUR");
        assert_eq!(invoice["customer"]["code"], "C-1");
        let taxes: Vec<&str> = invoice["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["tax"].as_str().unwrap())
            .collect();
        assert_eq!(taxes, vec!["0.01", "0.01", "0.01", "0.00", "0.77"]);
        assert_eq!(invoice["lines"][4]["quantity"], 3);
        assert_eq!(invoice["lines"][4]["unit_price"], "3.33");
        assert_eq!(invoice["lines"][4]["net"], "9.99");
        assert_eq!(invoice["lines"][4]["gross"], "10.76");
        assert_eq!(
            invoice["tax_breakdown"],
            json!([
                {"rate": "7.70", "net": "9.99", "tax": "0.77"},
                {"rate": "10.00", "net": "0.19", "tax": "0.03"}
            ])
        );

        let shown = api.get(&format!("{ORDERS}/{order}")).await.expect_json(200);
        assert_eq!(shown["status"], "confirmed");
        assert_eq!(shown["invoice"], number.as_str());
        assert_eq!(shown["confirmed_by"], "clerk");
        assert_eq!(shown["gross"], "10.98");
        let fetched = api
            .get(&format!("/api/v1/invoices/{number}"))
            .await
            .expect_json(200);
        assert_eq!(
            fetched, invoice,
            "the invoice reads as the confirmation answered"
        );

        let stock = api.get("/api/v1/stock/ODD").await.expect_json(200);
        assert_eq!(stock["sku"], "ODD");
        assert_eq!(stock["on_hand"], 97);
        let ledger = stock["ledger"].as_array().unwrap();
        let sale = ledger
            .iter()
            .find(|r| r["reason"] == "sale")
            .unwrap_or_else(|| panic!("a sale row: {stock}"));
        assert_eq!(sale["quantity"], -3);
        assert_eq!(sale["balance_after"], 97);
        assert_eq!(sale["order_id"], order);
        assert!(ledger.iter().any(|r| r["reason"] == "opening"), "{stock}");
        assert_eq!(app.ledger_rows(odd).await, 2);

        let products = api.get("/api/v1/products").await.expect_json(200);
        let std = products["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sku"] == "STD")
            .unwrap()
            .clone();
        assert_eq!(
            std,
            json!({"sku": "STD", "name": "Product STD", "unit_price": "19.99",
                   "tax_rate": "20.00", "on_hand": 10, "active": true})
        );
        app.assert_invariants().await;
    }
);

/// Follow a list's `next` cursors from `first`; returns the pages' items.
async fn all_pages(api: &ApiClient, path: &str, limit: i64) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let url = format!("{path}?{}", serde_urlencoded::to_string(&query).unwrap());
        let page = api.get(&url).await.expect_json(200);
        let items = page["items"].as_array().expect("items").clone();
        pages.push(items);
        assert!(pages.len() <= 20, "the cursor never ends");
        match &page["next"] {
            Value::Null => break,
            Value::String(s) => cursor = Some(s.clone()),
            other => panic!("next is a string or null, not {other}"),
        }
    }
    pages
}

db_test!(
    api_cursor_pages_yield_everything_once,
    |app: TestApp| async move {
        let mut customers = Vec::new();
        for i in 1..=4 {
            let code = format!("C-{i}");
            app.customer(&code, &format!("Customer {i}")).await;
            customers.push(code);
        }
        let mut skus = Vec::new();
        for i in 1..=5 {
            let sku = format!("P-{i}");
            app.product(&sku, 100 * i, 2000, 10).await;
            skus.push(sku);
        }
        let api = clerk_client(&app).await;

        // Products: 2 + 2 + 1.
        let pages = all_pages(&api, "/api/v1/products", 2).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        let got: Vec<String> = pages
            .iter()
            .flatten()
            .map(|p| p["sku"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, skus, "every product once, in order");

        // Customers: 4 in two full pages, the second without a next.
        let pages = all_pages(&api, "/api/v1/customers", 2).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2], "no empty trailing page");
        let got: Vec<String> = pages
            .iter()
            .flatten()
            .map(|c| c["code"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, customers);

        // Orders, newest first.
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(create(&api, &format!("page-{i}"), &json!({"customer": "C-1"})).await);
        }
        ids.reverse();
        let pages = all_pages(&api, ORDERS, 2).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        let got: Vec<i64> = pages
            .iter()
            .flatten()
            .map(|o| o["id"].as_i64().unwrap())
            .collect();
        assert_eq!(got, ids, "every order once, newest first");
        let one = all_pages(&api, ORDERS, 200).await;
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].len(), 5);

        for list in ["/api/v1/products", "/api/v1/customers", ORDERS] {
            for query in [
                "limit=0",
                "limit=201",
                "limit=-1",
                "limit=two",
                "cursor=garbage",
                "cursor=-5",
                "limit=2&cursor=%27%3B--",
            ] {
                let res = api.get(&format!("{list}?{query}")).await;
                res.expect_problem(400, "bad-request");
            }
        }
    }
);

db_test!(
    api_rate_limit_answers_429_with_retry_after,
    |app: TestApp| async move {
        let api = clerk_client(&app).await;
        let mut cfg = TestApp::config();
        cfg.api_rate = 1;
        let limited = api.on(app.second_server(&cfg).await);
        limited.get("/api/v1/products").await.expect_json(200);
        limited.get("/api/v1/products").await.expect_json(200);
        let third = limited.get("/api/v1/products").await;
        let p = third.expect_problem(429, "rate-limited");
        let retry: u32 = third
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("seconds");
        assert!(retry >= 1);
        assert_eq!(p["retry_after"], retry);
        // POSTs are counted too, and change nothing when refused.
        app.customer("C-1", "Acme").await;
        limited
            .post(ORDERS, Some("rl-1"), &json!({"customer": "C-1"}))
            .await
            .expect_problem(429, "rate-limited");
        assert_eq!(app.order_count().await, 0);
        // The budget is per server: the first server (no limit) still serves the token.
        api.get("/api/v1/products").await.expect_json(200);
        // Another token has its own budget.
        let (other, _) = client_as(&app, "erin", Role::Clerk).await;
        other
            .on(app.second_server(&cfg).await)
            .get("/api/v1/products")
            .await
            .expect_json(200);
    }
);

/// The routes `src/http/api/mod.rs` declares, as (path under `/api/v1`, methods).
fn declared_api_routes() -> BTreeSet<(String, Vec<&'static str>)> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/api/mod.rs");
    let text = std::fs::read_to_string(file).unwrap();
    let start = text.find("pub fn router()").expect("the router function");
    let end = start + text[start..].find(".fallback(").expect("the router's end");
    let body = &text[start..end];
    let mut out = BTreeSet::new();
    for chunk in body.split(".route(").skip(1) {
        let rest = chunk.trim_start();
        let rest = rest.strip_prefix('"').expect("a route's path literal");
        let close = rest.find('"').unwrap();
        let path = &rest[..close];
        let handlers = &rest[close..];
        let mut methods = Vec::new();
        for (name, method) in [
            ("get(", "get"),
            ("post(", "post"),
            ("put(", "put"),
            ("patch(", "patch"),
            ("delete(", "delete"),
        ] {
            if handlers.contains(name) {
                methods.push(method);
            }
        }
        if path != "/openapi.json" {
            out.insert((format!("/api/v1{path}"), methods));
        }
    }
    assert!(out.len() >= 8, "found only {} routes: {out:?}", out.len());
    out
}

db_test!(
    api_openapi_document_covers_every_route,
    |app: TestApp| async move {
        let anonymous = ApiClient::anonymous(app.router.clone());
        let doc = anonymous.get("/api/v1/openapi.json").await.expect_json(200);
        assert!(
            doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        let documented: BTreeSet<(String, Vec<&'static str>)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(path, item)| {
                let item = item.as_object().unwrap();
                let methods = ["get", "post", "put", "patch", "delete"]
                    .into_iter()
                    .filter(|m| item.contains_key(*m))
                    .collect();
                (path.clone(), methods)
            })
            .collect();
        assert_eq!(documented, declared_api_routes());
        // Every POST documents its Idempotency-Key and its problems.
        for (path, item) in doc["paths"].as_object().unwrap() {
            if let Some(post) = item.get("post") {
                let params = post["parameters"].as_array().expect("parameters");
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                    "{path}"
                );
                assert!(post["responses"].get("422").is_some(), "{path}");
                assert!(post["responses"].get("401").is_some(), "{path}");
            }
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
);

db_test!(api_and_forms_share_one_engine, |app: TestApp| async move {
    let (c, a, _) = master_data(&app).await;
    let api = clerk_client(&app).await;

    // The API confirms; the clerk's Confirm form (rendered before) shows that receipt.
    let order = app.draft(c, &[(a, 2)]).await;
    let form = app.confirm_form(order).await;
    let res = api
        .post(&confirm_path(order), Some("share-1"), &json!({}))
        .await;
    let number = res.expect_json(201)["number"].as_str().unwrap().to_string();
    let page = app.confirm(order, &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let receipt = format!("/orders/{order}/confirmation");
    assert_eq!(page.location(), Some(receipt.as_str()));
    let shown = app.browser.get(&receipt).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(
        shown.text("#invoice-number").as_deref(),
        Some(number.as_str())
    );
    assert_eq!(app.invoice_numbers().await.len(), 1);
    assert_eq!(app.stock("A-1").await, 8);

    // The form confirms; the API then answers with that invoice, changing nothing.
    let order2 = app.draft(c, &[(a, 1)]).await;
    let form2 = app.confirm_form(order2).await;
    let page = app.confirm(order2, &form2).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let res = api
        .post(&confirm_path(order2), Some("share-2"), &json!({}))
        .await;
    let doc = res.expect_json(200);
    let shown = app
        .browser
        .get(&format!("/orders/{order2}/confirmation"))
        .await;
    assert_eq!(
        shown.text("#invoice-number").as_deref(),
        doc["number"].as_str()
    );
    assert_eq!(app.invoice_numbers().await.len(), 2);
    assert_eq!(app.stock("A-1").await, 7);
    app.assert_invariants().await;
});

/// The value of a Prometheus sample line `name` (with its labels) in `text`.
fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
}

db_test!(
    api_responses_are_counted_in_metrics,
    |app: TestApp| async move {
        master_data(&app).await;
        let api = clerk_client(&app).await;
        api.get("/api/v1/products").await.expect_json(200);
        api.post(ORDERS, Some("m-1"), &order_body())
            .await
            .expect_json(201);
        ApiClient::anonymous(app.router.clone())
            .get(ORDERS)
            .await
            .expect_problem(401, "unauthorized");
        let admin = app.browser_as("boss", Role::Admin).await;
        let page = admin.get("/metrics").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let ok = sample(&page.body, "orderdesk_api_responses_total{class=\"2xx\"}")
            .unwrap_or_else(|| panic!("no 2xx count:\n{}", page.body));
        assert!(ok >= 2, "2xx counted: {ok}");
        let errors = sample(&page.body, "orderdesk_api_responses_total{class=\"4xx\"}")
            .unwrap_or_else(|| panic!("no 4xx count:\n{}", page.body));
        assert!(errors >= 1, "4xx counted: {errors}");
    }
);

db_test!(
    api_prefix_with_a_trailing_slash_is_a_problem_not_html,
    |app: TestApp| async move {
        let api = clerk_client(&app).await;
        let anonymous = ApiClient::anonymous(app.router.clone());
        for client in [&api, &anonymous] {
            for path in ["/api/v1", "/api/v1/"] {
                let res = client.get(path).await;
                assert_eq!(
                    res.content_type(),
                    Some(PROBLEM_JSON),
                    "GET {path} answers {} with {:?}",
                    res.status,
                    res.content_type()
                );
                res.expect_problem(404, "not-found");
            }
        }
    }
);

db_test!(
    api_a_duplicate_past_the_wait_bound_gets_409_then_the_original,
    |app: TestApp| async move {
        use orderdesk::db::{Db, DbOptions};
        let (c, a, _) = master_data(&app).await;
        let order = app.draft(c, &[(a, 3)]).await;
        let api = clerk_client(&app).await;
        // A second server on the same database whose lock waits give up after 200 ms.
        let impatient = Db::connect(&DbOptions {
            url: app.url.clone(),
            max_connections: 4,
            lock_wait: Duration::from_millis(200),
        })
        .await
        .unwrap();
        let other = api.on(orderdesk::http::router(
            orderdesk::server::state(impatient.clone(), &TestApp::config())
                .await
                .unwrap(),
        ));
        app.db
            .faults()
            .set_action_delay(Duration::from_millis(1000));
        let first = api.clone();
        let original = tokio::spawn(async move {
            first
                .post(&confirm_path(order), Some("slow-1"), &json!({}))
                .await
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        let dup = other
            .post(&confirm_path(order), Some("slow-1"), &json!({}))
            .await;
        let original = original.await.unwrap();
        app.db.faults().set_action_delay(Duration::ZERO);
        let p = dup.expect_problem(409, "idempotency-key-in-flight");
        let retry: u32 = dup
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(retry >= 1);
        assert_eq!(p["retry_after"], retry);
        original.expect_json(201);
        // The client retries as told, on either server: the original, replayed.
        let again = other
            .post(&confirm_path(order), Some("slow-1"), &json!({}))
            .await;
        assert_replay_of(&again, &original);
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 7);
        app.assert_invariants().await;
        impatient.close().await;
    }
);

db_test!(
    api_concurrent_creates_with_one_key_and_confirms_with_many_keys,
    |app: TestApp| async move {
        let (c, a, _) = master_data(&app).await;
        let api = clerk_client(&app).await;
        app.db.faults().set_action_delay(Duration::from_millis(100));
        // Twenty creates with one key: one order.
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let api = api.clone();
            tasks.push(tokio::spawn(async move {
                api.post(ORDERS, Some("burst-create"), &order_body()).await
            }));
        }
        let mut created = Vec::new();
        for t in tasks {
            created.push(t.await.unwrap());
        }
        // Twenty confirmations of one draft, each with its own key: one invoice.
        let order = app.draft(c, &[(a, 4)]).await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let api = api.clone();
            tasks.push(tokio::spawn(async move {
                api.post(
                    &confirm_path(order),
                    Some(&format!("burst-{i}")),
                    &json!({}),
                )
                .await
            }));
        }
        let mut confirmed = Vec::new();
        for t in tasks {
            confirmed.push(t.await.unwrap());
        }
        app.db.faults().set_action_delay(Duration::ZERO);

        let fresh: Vec<&ApiResponse> = created
            .iter()
            .filter(|r| r.status == StatusCode::CREATED && !r.replayed())
            .collect();
        assert_eq!(fresh.len(), 1, "one create did the work");
        for r in &created {
            match r.status {
                StatusCode::CREATED => assert_eq!(r.bytes, fresh[0].bytes),
                StatusCode::CONFLICT => {
                    r.expect_problem(409, "idempotency-key-in-flight");
                }
                other => panic!("unexpected {other}: {}", r.body),
            }
        }
        assert_eq!(
            app.order_count().await,
            2,
            "the burst's order and the draft"
        );

        let mut numbers = BTreeSet::new();
        let mut first = 0;
        for r in &confirmed {
            match r.status {
                StatusCode::CREATED => first += 1,
                StatusCode::OK => {}
                other => panic!("unexpected {other}: {}", r.body),
            }
            assert!(!r.replayed(), "every key is new");
            numbers.insert(r.json()["number"].as_str().unwrap().to_string());
        }
        assert_eq!(first, 1, "one confirmation did the work");
        assert_eq!(numbers.len(), 1, "everyone sees the one invoice");
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 6);
        assert_eq!(app.ledger_rows(a).await, 2);
        app.assert_invariants().await;
    }
);

db_test!(
    api_after_keys_are_purged_a_confirmation_still_has_one_effect,
    |app: TestApp| async move {
        let (c, a, _) = master_data(&app).await;
        let order = app.draft(c, &[(a, 3)]).await;
        let api = clerk_client(&app).await;
        let first = api
            .post(&confirm_path(order), Some("purge-1"), &json!({}))
            .await;
        let number = first.expect_json(201)["number"].clone();
        let future = orderdesk::db::now() + time::Duration::days(1);
        let purged = app.db.purge_idempotency(future, 1).await.unwrap();
        assert!(purged >= 1);
        let again = api
            .post(&confirm_path(order), Some("purge-1"), &json!({}))
            .await;
        let doc = again.expect_json(200);
        assert!(!again.replayed(), "the key was forgotten: evaluated afresh");
        assert_eq!(doc["number"], number);
        assert_eq!(again.location(), first.location());
        assert_eq!(app.invoice_numbers().await.len(), 1);
        assert_eq!(app.stock("A-1").await, 7);
        app.assert_invariants().await;
    }
);
