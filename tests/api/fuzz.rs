//! Fuzz-style: malformed requests of every kind at every form endpoint. None may get a 5xx, and
//! the database stays consistent.

use axum::body::Body;
use axum::http::{Request, header};
use orderdesk::domain::Role;

use crate::helpers::{TestApp, db_test};

/// A small deterministic generator (xorshift): reproducible failures, no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

const FIELDS: &[&str] = &[
    "idempotency_token",
    "customer_id",
    "reference",
    "sku",
    "quantity",
    "revision",
    "username",
    "display_name",
    "role",
    "password",
    "next",
    "note",
    "page",
    "",
];

fn values(token: &str) -> Vec<String> {
    vec![
        String::new(),
        "1".into(),
        "-1".into(),
        "0".into(),
        "2.5".into(),
        "1e99".into(),
        "99999999999999999999999999".into(),
        "NaN".into(),
        "abc".into(),
        "A-1".into(),
        "clerk".into(),
        "%".into(),
        "%00".into(),
        "\u{0}".into(),
        "'; DROP TABLE orders;--".into(),
        "<script>alert(1)</script>".into(),
        "Ω北京مرحبا".into(),
        "x".repeat(5000),
        "//evil.example".into(),
        token.to_string(),
        format!("{token}x"),
        token.chars().rev().collect(),
    ]
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

db_test!(
    no_malformed_request_gets_a_server_error,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 50).await;
        let order = app.draft(c, &[(a, 1), (a, 2)]).await;
        let line = app.db.order_lines(order).await.unwrap()[0].id;
        let admin = app.browser_as("boss", Role::Admin).await;
        let token = app
            .confirm_form(order)
            .await
            .into_iter()
            .find(|(k, _)| k == "idempotency_token")
            .unwrap()
            .1;
        let paths = [
            "/orders".to_string(),
            format!("/orders/{order}/lines"),
            format!("/orders/{order}/lines/{line}/delete"),
            format!("/orders/{order}/confirm"),
            "/orders/999999/confirm".into(),
            "/admin/users".into(),
            "/admin/users/1/disable".into(),
            "/admin/users/999/disable".into(),
            "/receipts".into(),
            "/logout".into(),
            "/login".into(),
        ];
        let content_types = [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=utf-8",
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
            "",
        ];
        let vals = values(&token);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut logins = 0;
        for i in 0..400 {
            let path = rng.pick(&paths).clone();
            if path == "/login" {
                // Each sign-in attempt hashes: keep them few.
                logins += 1;
                if logins > 12 {
                    continue;
                }
            }
            let body = match rng.next() % 6 {
                // raw garbage bytes
                0 => (0..(rng.next() % 300))
                    .map(|_| (rng.next() % 256) as u8)
                    .collect::<Vec<u8>>(),
                // a well-formed form with random fields, some missing, some duplicated
                _ => {
                    let n = rng.next() % 6;
                    let mut parts = Vec::new();
                    for _ in 0..n {
                        let k = *rng.pick(FIELDS);
                        let v = rng.pick(&vals).clone();
                        parts.push(format!("{}={}", encode(k), encode(&v)));
                    }
                    if rng.next().is_multiple_of(4) {
                        parts.push("%ZZ=%G1&&=&==".into());
                    }
                    parts.join("&").into_bytes()
                }
            };
            let ct = *rng.pick(&content_types);
            let mut req = Request::post(&path);
            if !ct.is_empty() {
                req = req.header(header::CONTENT_TYPE, ct);
            }
            let req = req.body(Body::from(body)).unwrap();
            let browser = if i % 2 == 0 { &app.browser } else { &admin };
            let res = browser.request(req).await;
            assert!(
                !res.status.is_server_error(),
                "request {i}: POST {path} ({ct}) -> {}: {}",
                res.status,
                res.body
            );
            // The default browser may have signed out or in as someone else: sign back in.
            if path == "/logout" || path == "/login" {
                app.browser
                    .sign_in("clerk", &crate::helpers::password_of("clerk"))
                    .await;
                admin
                    .sign_in("boss", &crate::helpers::password_of("boss"))
                    .await;
            }
        }
        for path in [
            "/orders?page=%FF",
            "/invoices.csv?from=%FF&to=x",
            "/receipts/new?sku=%3Cscript%3E",
            "/metrics?x=%00",
            "/orders?before=%FF",
            "/orders?after=99999999999999999999",
            "/orders?status=%00",
            "/stock?page=1e9",
            "/invoices?from=2026-13-45",
            "/stock/%2E%2E",
            "/invoices/INV-0000-000000",
            "/orders/1%00",
            // Search texts with control characters (a NUL ended an FTS5 query: a 500).
            "/orders?q=%C3%B4y%00%0D%3D",
            "/orders?q=.%C2%BE%C3%88%00",
            "/orders/new?q=ab%00cd",
            "/customers?q=%00%00%00",
            "/products?q=pa%00per",
            "/orders/product-search?q=pap%00er",
            "/orders/customer-search?q=%07bright",
            "/api/v1/orders?q=%C3%B4y%00%0D%3D&status=draft",
        ] {
            let res = app.browser.get(path).await;
            assert!(
                !res.status.is_server_error(),
                "GET {path} -> {}",
                res.status
            );
        }
        app.assert_invariants().await;
    }
);
