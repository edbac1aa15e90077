//! Golden documents: the exact invoice, credit note, stock ledger, audit trail and problem
//! documents one order produces, worked out by hand from the rules of SPEC sections 2, 4, 11 and
//! 12. One expectation serves both backends and both faces (the API and the clerk's form), so a
//! confirmation written differently per backend cannot drift from the other unnoticed.
//!
//! Only what varies from run to run is normalised: a timestamp becomes the name of the moment it
//! must be (`@confirmed`, `@cancelled`, or `@earlier` for the set-up before them), and a ledger
//! row's id, handed out by a sequence, becomes `@id` once the rows are checked to be newest first.

use axum::http::StatusCode;
use orderdesk::db::customers::{self, NewCustomer};
use orderdesk::db::products::{self, NewProduct};
use orderdesk::domain::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::api_client::{ApiClient, ApiResponse, PROBLEM_JSON, clerk_client, client_as};
use crate::credit_notes::{cn, inv, rows};
use crate::helpers::{Page, TestApp, db_test};

/// The golden catalogue as (SKU, name, unit price in cents, tax rate in basis points), in
/// creation order, which is ascending product id: the order stock is locked and short products
/// are listed in. The names carry characters a page must escape and a document must keep.
const PRODUCTS: [(&str, &str, i64, i64); 6] = [
    ("HALF-10", "Washer, half-cent tax", 5, 1000),
    ("BULK-20", "Sheet by the million", 1_234_567, 2000),
    ("ODD-77", "Bolt M8 – 7.7 % <rate>", 250, 770),
    ("ZERO-0", "Export press (0 %)", 999_999, 0),
    ("EVEN-10", "Nut & bolt set", 25, 1000),
    ("UNDER-77", "Spring, just under half", 487, 770),
];

/// Opening stock for the confirmed order: exactly enough of BULK-20, ODD-77 and UNDER-77.
const STOCK: [i64; 6] = [10, 1_000_000, 2, 7, 8, 1];

/// The golden order's lines in entry order: HALF-10 stands on lines 1 and 5.
const LINES: [(&str, i64); 7] = [
    ("HALF-10", 1),
    ("BULK-20", 1_000_000),
    ("ODD-77", 2),
    ("ZERO-0", 3),
    ("HALF-10", 3),
    ("EVEN-10", 5),
    ("UNDER-77", 1),
];

const REFERENCE: &str = "PO 77/Ü";
const CANCEL_REASON: &str = "Customer returned the whole delivery";

/// The customer, with an address of two lines and a VAT id.
async fn customer(app: &TestApp) {
    let mut tx = app.db.begin().await.unwrap();
    let c = NewCustomer {
        code: "GOLD-1",
        name: "Müller & Söhne GmbH",
        address: "Hauptstraße 5\n80331 München",
        vat_id: "DE123456789",
    };
    customers::insert(&mut tx, &c).await.unwrap();
    tx.commit().await.unwrap();
}

/// The customer and the products of [`PRODUCTS`] with `stock` on hand (an opening ledger row
/// each, unless none).
async fn catalogue(app: &TestApp, stock: [i64; 6]) {
    customer(app).await;
    for ((sku, name, price, rate), opening) in PRODUCTS.into_iter().zip(stock) {
        let mut tx = app.db.begin().await.unwrap();
        let p = NewProduct {
            sku,
            name,
            unit_price_cents: price,
            tax_rate_bp: rate,
            opening_stock: opening,
            reorder_level: 0,
        };
        products::insert(&mut tx, &p, "test").await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// Create a draft with `lines` through the API (two lines of one product stay two lines).
async fn place_order(api: &ApiClient, lines: &[(&str, i64)]) -> i64 {
    let lines: Vec<Value> = lines
        .iter()
        .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
        .collect();
    let body = json!({"customer": "GOLD-1", "reference": REFERENCE, "lines": lines});
    let res = api
        .post("/api/v1/orders", Some("golden-order"), &body)
        .await;
    res.expect_json(201)["id"].as_i64().unwrap()
}

fn confirm_path(order: i64) -> String {
    format!("/api/v1/orders/{order}/confirm")
}

fn name_of(sku: &str) -> &'static str {
    PRODUCTS.iter().find(|p| p.0 == sku).unwrap().1
}

/// The invoice of the golden order, worked out by hand. SPEC section 4: line net = quantity x
/// unit price; line tax = round(line net x rate), half away from zero, to the cent; gross = net
/// + tax; totals are sums of the rounded lines, broken down per rate (ascending).
///
/// | # | SKU      |       qty | price     | net               | net x rate                    | tax              |
/// |---|----------|-----------|-----------|-------------------|-------------------------------|------------------|
/// | 1 | HALF-10  |         1 | 0.05      | 0.05              | x 10%  = 0.005      half, up  | 0.01 (even: 0.00)|
/// | 2 | BULK-20  | 1,000,000 | 12,345.67 | 12,345,670,000.00 | x 20%  = 2,469,134,000.00     | 2,469,134,000.00 |
/// | 3 | ODD-77   |         2 | 2.50      | 5.00              | x 7.7% = 0.385      half, up  | 0.39 (even: 0.38)|
/// | 4 | ZERO-0   |         3 | 9,999.99  | 29,999.97         | x 0%   = 0                    | 0.00             |
/// | 5 | HALF-10  |         3 | 0.05      | 0.15              | x 10%  = 0.015      half, up  | 0.02 (a binary float holds 0.01499..: 0.01) |
/// | 6 | EVEN-10  |         5 | 0.25      | 1.25              | x 10%  = 0.125      half, up  | 0.13 (even or truncated: 0.12) |
/// | 7 | UNDER-77 |         1 | 4.87      | 4.87              | x 7.7% = 0.37499    below     | 0.37             |
///
/// Grosses: 0.06, 14,814,804,000.00, 5.39, 29,999.97, 0.17, 1.38, 5.24.
/// Net   = 0.05 + 12,345,670,000.00 + 5.00 + 29,999.97 + 0.15 + 1.25 + 4.87 = 12,345,700,011.29
/// Tax   = 0.01 + 2,469,134,000.00 + 0.39 + 0.00 + 0.02 + 0.13 + 0.37      =  2,469,134,000.92
/// Gross = 12,345,700,011.29 + 2,469,134,000.92 = 14,814,834,012.21 (= the sum of the grosses).
/// Per rate: 0%: 29,999.97 / 0.00; 7.7%: 5.00 + 4.87 = 9.87 / 0.39 + 0.37 = 0.76;
/// 10%: 0.05 + 0.15 + 1.25 = 1.45 / 0.01 + 0.02 + 0.13 = 0.16 (rounding the rate's sum, 0.145,
/// would give 0.15; HALF-10 summed over its two lines, 0.20 x 10%, would give 0.02, not 0.03);
/// 20%: 12,345,670,000.00 / 2,469,134,000.00.
fn golden_invoice(order: i64) -> Value {
    json!({
        "number": inv(1),
        "order_id": order,
        "issued_at": "@confirmed",
        "issued_by": "clerk",
        "currency": "EUR",
        "customer": {
            "code": "GOLD-1",
            "name": "Müller & Söhne GmbH",
            "address": "Hauptstraße 5\n80331 München",
            "vat_id": "DE123456789",
            "reference": REFERENCE
        },
        "lines": [
            {"line_no": 1, "sku": "HALF-10", "name": "Washer, half-cent tax", "quantity": 1,
             "unit_price": "0.05", "tax_rate": "10.00", "net": "0.05", "tax": "0.01", "gross": "0.06"},
            {"line_no": 2, "sku": "BULK-20", "name": "Sheet by the million", "quantity": 1_000_000,
             "unit_price": "12345.67", "tax_rate": "20.00", "net": "12345670000.00",
             "tax": "2469134000.00", "gross": "14814804000.00"},
            {"line_no": 3, "sku": "ODD-77", "name": "Bolt M8 – 7.7 % <rate>", "quantity": 2,
             "unit_price": "2.50", "tax_rate": "7.70", "net": "5.00", "tax": "0.39", "gross": "5.39"},
            {"line_no": 4, "sku": "ZERO-0", "name": "Export press (0 %)", "quantity": 3,
             "unit_price": "9999.99", "tax_rate": "0.00", "net": "29999.97", "tax": "0.00",
             "gross": "29999.97"},
            {"line_no": 5, "sku": "HALF-10", "name": "Washer, half-cent tax", "quantity": 3,
             "unit_price": "0.05", "tax_rate": "10.00", "net": "0.15", "tax": "0.02", "gross": "0.17"},
            {"line_no": 6, "sku": "EVEN-10", "name": "Nut & bolt set", "quantity": 5,
             "unit_price": "0.25", "tax_rate": "10.00", "net": "1.25", "tax": "0.13", "gross": "1.38"},
            {"line_no": 7, "sku": "UNDER-77", "name": "Spring, just under half", "quantity": 1,
             "unit_price": "4.87", "tax_rate": "7.70", "net": "4.87", "tax": "0.37", "gross": "5.24"}
        ],
        "net": "12345700011.29",
        "tax": "2469134000.92",
        "gross": "14814834012.21",
        "tax_breakdown": [
            {"rate": "0.00", "net": "29999.97", "tax": "0.00"},
            {"rate": "7.70", "net": "9.87", "tax": "0.76"},
            {"rate": "10.00", "net": "1.45", "tax": "0.16"},
            {"rate": "20.00", "net": "12345670000.00", "tax": "2469134000.00"}
        ]
    })
}

/// The credit note that cancels [`golden_invoice`]: its lines as invoiced (quantities and
/// prices positive), every amount negated, the invoice's customer; totals the sums of the
/// negated lines (SPEC section 11: it negates the invoice line by line).
fn golden_credit_note(order: i64) -> Value {
    json!({
        "number": cn(1),
        "invoice": inv(1),
        "order_id": order,
        "reason": CANCEL_REASON,
        "issued_at": "@cancelled",
        "issued_by": "anna",
        "currency": "EUR",
        "customer": {
            "code": "GOLD-1",
            "name": "Müller & Söhne GmbH",
            "address": "Hauptstraße 5\n80331 München",
            "vat_id": "DE123456789",
            "reference": REFERENCE
        },
        "lines": [
            {"line_no": 1, "sku": "HALF-10", "name": "Washer, half-cent tax", "quantity": 1,
             "unit_price": "0.05", "tax_rate": "10.00", "net": "-0.05", "tax": "-0.01",
             "gross": "-0.06"},
            {"line_no": 2, "sku": "BULK-20", "name": "Sheet by the million", "quantity": 1_000_000,
             "unit_price": "12345.67", "tax_rate": "20.00", "net": "-12345670000.00",
             "tax": "-2469134000.00", "gross": "-14814804000.00"},
            {"line_no": 3, "sku": "ODD-77", "name": "Bolt M8 – 7.7 % <rate>", "quantity": 2,
             "unit_price": "2.50", "tax_rate": "7.70", "net": "-5.00", "tax": "-0.39",
             "gross": "-5.39"},
            {"line_no": 4, "sku": "ZERO-0", "name": "Export press (0 %)", "quantity": 3,
             "unit_price": "9999.99", "tax_rate": "0.00", "net": "-29999.97", "tax": "0.00",
             "gross": "-29999.97"},
            {"line_no": 5, "sku": "HALF-10", "name": "Washer, half-cent tax", "quantity": 3,
             "unit_price": "0.05", "tax_rate": "10.00", "net": "-0.15", "tax": "-0.02",
             "gross": "-0.17"},
            {"line_no": 6, "sku": "EVEN-10", "name": "Nut & bolt set", "quantity": 5,
             "unit_price": "0.25", "tax_rate": "10.00", "net": "-1.25", "tax": "-0.13",
             "gross": "-1.38"},
            {"line_no": 7, "sku": "UNDER-77", "name": "Spring, just under half", "quantity": 1,
             "unit_price": "4.87", "tax_rate": "7.70", "net": "-4.87", "tax": "-0.37",
             "gross": "-5.24"}
        ],
        "net": "-12345700011.29",
        "tax": "-2469134000.92",
        "gross": "-14814834012.21",
        "tax_breakdown": [
            {"rate": "0.00", "net": "-29999.97", "tax": "0.00"},
            {"rate": "7.70", "net": "-9.87", "tax": "-0.76"},
            {"rate": "10.00", "net": "-1.45", "tax": "-0.16"},
            {"rate": "20.00", "net": "-12345670000.00", "tax": "-2469134000.00"}
        ]
    })
}

/// A product's stock document (`GET /api/v1/stock/{sku}`): `low` is on hand at or below the
/// reorder level, 0 for every golden product; the ledger newest first.
fn stock(sku: &str, on_hand: i64, ledger: &[Value]) -> Value {
    json!({
        "sku": sku,
        "name": name_of(sku),
        "on_hand": on_hand,
        "reorder_level": 0,
        "low": on_hand == 0,
        "active": true,
        "ledger": ledger
    })
}

fn opening(quantity: i64) -> Value {
    json!({"id": "@id", "at": "@earlier", "quantity": quantity, "balance_after": quantity,
           "reason": "opening", "order_id": null, "invoice": null, "credit_note": null,
           "actor": "test"})
}

fn sale(order: i64, quantity: i64, balance_after: i64) -> Value {
    json!({"id": "@id", "at": "@confirmed", "quantity": quantity, "balance_after": balance_after,
           "reason": "sale", "order_id": order, "invoice": inv(1), "credit_note": null,
           "actor": "clerk"})
}

fn giving_back(order: i64, quantity: i64, balance_after: i64) -> Value {
    json!({"id": "@id", "at": "@cancelled", "quantity": quantity, "balance_after": balance_after,
           "reason": "return", "order_id": order, "invoice": inv(1), "credit_note": cn(1),
           "actor": "anna"})
}

/// Stock after the golden order was confirmed: one `sale` row per product (HALF-10's two lines,
/// 1 + 3, in one row of -4), never below zero, the balance the stock on hand.
fn golden_stock_after_confirmation(order: i64) -> Vec<Value> {
    vec![
        stock("HALF-10", 6, &[sale(order, -4, 6), opening(10)]),
        stock(
            "BULK-20",
            0,
            &[sale(order, -1_000_000, 0), opening(1_000_000)],
        ),
        stock("ODD-77", 0, &[sale(order, -2, 0), opening(2)]),
        stock("ZERO-0", 4, &[sale(order, -3, 4), opening(7)]),
        stock("EVEN-10", 3, &[sale(order, -5, 3), opening(8)]),
        stock("UNDER-77", 0, &[sale(order, -1, 0), opening(1)]),
    ]
}

/// The order's audit history once confirmed: its creation through the API, the confirmation.
fn golden_history_after_confirmation() -> Vec<Value> {
    vec![
        json!({"at": "@earlier", "actor": "clerk", "action": "create",
               "detail": "customer GOLD-1, 7 lines"}),
        json!({"at": "@confirmed", "actor": "clerk", "action": "confirm",
               "detail": "7 lines, gross 14,814,834,012.21 EUR"}),
    ]
}

/// The golden totals in cents as the invoice's header stores them: what the printed invoice,
/// the invoice list and the CSV export show, kept apart from the lines.
const INVOICE_CENTS: (i64, i64, i64) = (1_234_570_001_129, 246_913_400_092, 1_481_483_401_221);

/// The stored invoice header: its number, the golden totals, the order's reference copied.
async fn assert_stored_invoice(app: &TestApp, order: i64) {
    let h = app
        .db
        .find_invoice_for_order(order)
        .await
        .unwrap()
        .expect("an invoice");
    assert_eq!(
        (
            h.number,
            (h.net_cents, h.tax_cents, h.gross_cents),
            h.customer_reference
        ),
        (inv(1), INVOICE_CENTS, REFERENCE.to_string())
    );
}

/// The moments a test's documents may name. A time that is one of them becomes its name; a
/// time before all of them is set-up and becomes `@earlier`; any other time fails the test.
#[derive(Debug, Clone)]
struct Moments(Vec<(&'static str, OffsetDateTime)>);

impl Moments {
    fn and(mut self, name: &'static str, at: OffsetDateTime) -> Self {
        self.0.push((name, at));
        self
    }

    fn name_of(&self, t: OffsetDateTime) -> &'static str {
        if let Some((name, _)) = self.0.iter().find(|(_, m)| *m == t) {
            return name;
        }
        assert!(
            self.0.iter().all(|(_, m)| t < *m),
            "{t} is none of the moments {self:?}, nor before them"
        );
        "@earlier"
    }

    /// Every `issued_at` and `at` member of `doc`, named.
    fn name_times(&self, doc: &mut Value) {
        match doc {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match (k.as_str(), v.as_str()) {
                        ("issued_at" | "at", Some(raw)) => *v = json!(self.name_of(utc(raw))),
                        _ => self.name_times(v),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.name_times(v)),
            _ => {}
        }
    }

    fn named(&self, mut doc: Value) -> Value {
        self.name_times(&mut doc);
        doc
    }
}

/// An RFC 3339 time in UTC, as the API writes every time.
#[track_caller]
fn utc(raw: &str) -> OffsetDateTime {
    assert!(raw.ends_with('Z'), "a time in UTC: {raw}");
    OffsetDateTime::parse(raw, &Rfc3339).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

/// The moment an invoice or credit note document was issued, checked to lie within
/// `[before, after]`, the span of the request that issued it.
#[track_caller]
fn issued(doc: &Value, before: OffsetDateTime, after: OffsetDateTime) -> OffsetDateTime {
    let t = utc(doc["issued_at"].as_str().expect("issued_at"));
    assert!(before <= t && t <= after, "{t} outside [{before}, {after}]");
    t
}

/// Every golden product's stock document, ledger ids checked newest first and then blanked,
/// times named.
async fn stock_docs(api: &ApiClient, moments: &Moments) -> Vec<Value> {
    let mut docs = Vec::new();
    for (sku, ..) in PRODUCTS {
        let mut doc = api
            .get(&format!("/api/v1/stock/{sku}"))
            .await
            .expect_json(200);
        let ledger = doc["ledger"].as_array_mut().unwrap();
        let ids: Vec<i64> = ledger.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
        ledger.iter_mut().for_each(|r| r["id"] = json!("@id"));
        docs.push(moments.named(doc));
    }
    docs
}

/// The order's audit history, oldest first, times named.
async fn history(app: &TestApp, order: i64, moments: &Moments) -> Vec<Value> {
    app.db
        .audit_events("order", &order.to_string())
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            json!({"at": moments.name_of(e.at), "actor": e.actor, "action": e.action,
                   "detail": e.detail})
        })
        .collect()
}

/// Assert `actual` is the golden `expected`, naming each member that differs: a whole
/// document printed twice hides the one cent that moved.
#[track_caller]
fn assert_golden(actual: impl Into<Value>, expected: impl Into<Value>) {
    let (actual, expected) = (actual.into(), expected.into());
    let mut diffs = Vec::new();
    differences("", &actual, &expected, &mut diffs);
    assert!(
        diffs.is_empty(),
        "differs from the golden document at:\n{}\nthe whole document:\n{actual:#}",
        diffs.join("\n")
    );
}

/// The JSON pointers at which `a` differs from `e`, with both values.
fn differences(path: &str, a: &Value, e: &Value, out: &mut Vec<String>) {
    match (a, e) {
        (Value::Object(a), Value::Object(e)) => {
            for k in a.keys().chain(e.keys().filter(|k| !a.contains_key(*k))) {
                match (a.get(k), e.get(k)) {
                    (Some(x), Some(y)) => differences(&format!("{path}/{k}"), x, y, out),
                    (x, y) => out.push(format!("{path}/{k}: {x:?}, golden {y:?}")),
                }
            }
        }
        (Value::Array(a), Value::Array(e)) if a.len() == e.len() => {
            for (i, (x, y)) in a.iter().zip(e).enumerate() {
                differences(&format!("{path}/{i}"), x, y, out);
            }
        }
        _ if a != e => out.push(format!("{path}: {a}, golden {e}")),
        _ => {}
    }
}

/// `second` is `first` replayed: same status, `Location` and byte-identical body, and says so.
#[track_caller]
fn assert_replay_of(second: &ApiResponse, first: &ApiResponse) {
    assert!(!first.replayed());
    assert_eq!(second.status, first.status, "{}", second.body);
    assert_eq!(second.location(), first.location());
    assert_eq!(second.content_type(), first.content_type());
    assert_eq!(second.bytes, first.bytes, "byte-identical body");
    assert!(second.replayed(), "a replay says so");
}

/// The text pieces (text nodes, trimmed, blanks dropped) of the first element matching `css`.
fn texts(page: &Page, css: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(css).unwrap();
    let doc = page.html();
    let el = doc
        .select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no {css}"));
    el.text()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

db_test!(
    golden_invoice_confirmed_through_the_api,
    |app: TestApp| async move {
        catalogue(&app, STOCK).await;
        let api = clerk_client(&app).await;
        let order = place_order(&api, &LINES).await;

        let before = orderdesk::db::now();
        let first = api
            .post(&confirm_path(order), Some("golden-confirm"), &json!({}))
            .await;
        let after = orderdesk::db::now();
        let doc = first.expect_json(201);
        let invoice_url = format!("/api/v1/invoices/{}", inv(1));
        assert_eq!(first.location(), Some(invoice_url.as_str()));
        let moments = Moments(vec![("@confirmed", issued(&doc, before, after))]);
        assert_golden(moments.named(doc), golden_invoice(order));

        // The same key: the first answer, byte for byte.
        let replay = api
            .post(&confirm_path(order), Some("golden-confirm"), &json!({}))
            .await;
        assert_replay_of(&replay, &first);
        // Another key: the same invoice, 200, nothing done again.
        let again = api
            .post(&confirm_path(order), Some("golden-again"), &json!({}))
            .await;
        assert!(!again.replayed());
        assert_eq!(again.location(), Some(invoice_url.as_str()));
        assert_golden(moments.named(again.expect_json(200)), golden_invoice(order));
        let read = api.get(&invoice_url).await.expect_json(200);
        assert_golden(moments.named(read), golden_invoice(order));

        assert_golden(
            stock_docs(&api, &moments).await,
            golden_stock_after_confirmation(order),
        );
        assert_golden(
            history(&app, order, &moments).await,
            golden_history_after_confirmation(),
        );
        assert_eq!(app.invoice_numbers().await, vec![inv(1)]);
        assert_stored_invoice(&app, order).await;
        app.assert_invariants().await;
    }
);

db_test!(
    golden_invoice_confirmed_through_the_clerks_form,
    |app: TestApp| async move {
        catalogue(&app, STOCK).await;
        let api = clerk_client(&app).await;
        let order = place_order(&api, &LINES).await;

        let form = app.confirm_form(order).await;
        let before = orderdesk::db::now();
        let page = app.confirm(order, &form).await;
        let after = orderdesk::db::now();
        let receipt = format!("/orders/{order}/confirmation");
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), Some(receipt.as_str()));
        let resubmit = app.confirm(order, &form).await;
        assert_eq!(resubmit.status, StatusCode::SEE_OTHER);
        assert_eq!(resubmit.location(), Some(receipt.as_str()));
        assert!(resubmit.replayed());

        // The document the API reads is the one the API's own confirmation gives.
        let doc = api
            .get(&format!("/api/v1/invoices/{}", inv(1)))
            .await
            .expect_json(200);
        let moments = Moments(vec![("@confirmed", issued(&doc, before, after))]);
        assert_golden(moments.named(doc), golden_invoice(order));
        assert_golden(
            stock_docs(&api, &moments).await,
            golden_stock_after_confirmation(order),
        );
        assert_golden(
            history(&app, order, &moments).await,
            golden_history_after_confirmation(),
        );

        assert_stored_invoice(&app, order).await;

        // The printable invoice: the same figures, as a reader sees them.
        let printed = app.browser.get(&format!("/invoices/{}", inv(1))).await;
        assert_eq!(printed.status, StatusCode::OK, "{}", printed.body);
        assert_eq!(printed.text("#number"), Some(inv(1)));
        assert_eq!(printed.text("#reference").as_deref(), Some(REFERENCE));
        assert_eq!(
            texts(&printed, "section.bill-to"),
            [
                "Bill to",
                "Müller & Söhne GmbH",
                "Hauptstraße 5",
                "80331 München",
                "VAT ID DE123456789",
                "Customer GOLD-1"
            ]
        );
        let lines: &[&[&str]] = &[
            &[
                "1",
                "HALF-10",
                "Washer, half-cent tax",
                "1",
                "€0.05",
                "€0.05",
                "10%",
                "€0.01",
                "€0.06",
            ],
            &[
                "2",
                "BULK-20",
                "Sheet by the million",
                "1,000,000",
                "€12,345.67",
                "€12,345,670,000.00",
                "20%",
                "€2,469,134,000.00",
                "€14,814,804,000.00",
            ],
            &[
                "3",
                "ODD-77",
                "Bolt M8 – 7.7 % <rate>",
                "2",
                "€2.50",
                "€5.00",
                "7.7%",
                "€0.39",
                "€5.39",
            ],
            &[
                "4",
                "ZERO-0",
                "Export press (0 %)",
                "3",
                "€9,999.99",
                "€29,999.97",
                "0%",
                "€0.00",
                "€29,999.97",
            ],
            &[
                "5",
                "HALF-10",
                "Washer, half-cent tax",
                "3",
                "€0.05",
                "€0.15",
                "10%",
                "€0.02",
                "€0.17",
            ],
            &[
                "6",
                "EVEN-10",
                "Nut & bolt set",
                "5",
                "€0.25",
                "€1.25",
                "10%",
                "€0.13",
                "€1.38",
            ],
            &[
                "7",
                "UNDER-77",
                "Spring, just under half",
                "1",
                "€4.87",
                "€4.87",
                "7.7%",
                "€0.37",
                "€5.24",
            ],
        ];
        assert_eq!(
            rows(&printed, "table.invoice-lines tbody tr"),
            strings(lines)
        );
        let totals: &[&[&str]] = &[
            &["Net", "€12,345,700,011.29"],
            &["Tax 0% on €29,999.97", "€0.00"],
            &["Tax 7.7% on €9.87", "€0.76"],
            &["Tax 10% on €1.45", "€0.16"],
            &["Tax 20% on €12,345,670,000.00", "€2,469,134,000.00"],
            &["Tax", "€2,469,134,000.92"],
        ];
        let due = [["Total due", "€14,814,834,012.21"].as_slice()];
        assert_eq!(
            rows(&printed, "table.totals tr"),
            strings(&[totals, &due].concat())
        );

        // The receipt the clerk lands on: the same lines (without tax and gross) and totals.
        let shown = app.browser.get(&receipt).await;
        assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
        assert_eq!(shown.text("#invoice-number"), Some(inv(1)));
        assert_eq!(shown.text("#confirmed-by").as_deref(), Some("clerk"));
        let receipt_lines: Vec<Vec<String>> = strings(lines)
            .into_iter()
            .map(|l| [0, 1, 2, 3, 4, 6, 5].map(|i| l[i].clone()).to_vec())
            .collect();
        assert_eq!(rows(&shown, "#receipt table.grid tbody tr"), receipt_lines);
        let total = [["Total", "€14,814,834,012.21"].as_slice()];
        assert_eq!(
            rows(&shown, "#receipt table.totals tr"),
            strings(&[totals, &total].concat())
        );
        app.assert_invariants().await;
    }
);

db_test!(
    golden_credit_note_of_the_cancelled_order,
    |app: TestApp| async move {
        catalogue(&app, STOCK).await;
        let clerk = clerk_client(&app).await;
        let (anna, _) = client_as(&app, "anna", Role::Accountant).await;
        let order = place_order(&clerk, &LINES).await;
        let confirmed = clerk
            .post(&confirm_path(order), Some("golden-confirm"), &json!({}))
            .await;
        let invoice = confirmed.expect_json(201);
        let confirmed_at = utc(invoice["issued_at"].as_str().unwrap());

        let path = format!("/api/v1/orders/{order}/cancel");
        let body = json!({"reason": CANCEL_REASON});
        let before = orderdesk::db::now();
        let first = anna.post(&path, Some("golden-cancel"), &body).await;
        let after = orderdesk::db::now();
        let doc = first.expect_json(201);
        let note_url = format!("/api/v1/credit-notes/{}", cn(1));
        assert_eq!(first.location(), Some(note_url.as_str()));
        let moments = Moments(vec![("@confirmed", confirmed_at)])
            .and("@cancelled", issued(&doc, before, after));
        assert_golden(moments.named(doc), golden_credit_note(order));

        let replay = anna.post(&path, Some("golden-cancel"), &body).await;
        assert_replay_of(&replay, &first);
        let read = anna.get(&note_url).await.expect_json(200);
        assert_golden(moments.named(read), golden_credit_note(order));
        // The invoice itself never changes; its confirmation's key still replays its answer.
        let invoice = anna
            .get(&format!("/api/v1/invoices/{}", inv(1)))
            .await
            .expect_json(200);
        assert_golden(moments.named(invoice), golden_invoice(order));
        let replay = clerk
            .post(&confirm_path(order), Some("golden-confirm"), &json!({}))
            .await;
        assert_replay_of(&replay, &confirmed);

        // The stock comes back: one `return` row per product, the opening balances again.
        assert_golden(
            stock_docs(&clerk, &moments).await,
            vec![
                stock(
                    "HALF-10",
                    10,
                    &[giving_back(order, 4, 10), sale(order, -4, 6), opening(10)],
                ),
                stock(
                    "BULK-20",
                    1_000_000,
                    &[
                        giving_back(order, 1_000_000, 1_000_000),
                        sale(order, -1_000_000, 0),
                        opening(1_000_000),
                    ],
                ),
                stock(
                    "ODD-77",
                    2,
                    &[giving_back(order, 2, 2), sale(order, -2, 0), opening(2)],
                ),
                stock(
                    "ZERO-0",
                    7,
                    &[giving_back(order, 3, 7), sale(order, -3, 4), opening(7)],
                ),
                stock(
                    "EVEN-10",
                    8,
                    &[giving_back(order, 5, 8), sale(order, -5, 3), opening(8)],
                ),
                stock(
                    "UNDER-77",
                    1,
                    &[giving_back(order, 1, 1), sale(order, -1, 0), opening(1)],
                ),
            ],
        );
        let mut expected = golden_history_after_confirmation();
        expected.push(
            json!({"at": "@cancelled", "actor": "anna", "action": "cancel",
                             "detail": format!("credit note issued: {CANCEL_REASON}")}),
        );
        assert_golden(history(&app, order, &moments).await, expected);
        assert_eq!(app.order_status(order).await, "cancelled");
        let note = app
            .db
            .find_credit_note(&cn(1))
            .await
            .unwrap()
            .expect("a credit note");
        let (net, tax, gross) = INVOICE_CENTS;
        assert_eq!(
            (
                note.invoice_number,
                (note.net_cents, note.tax_cents, note.gross_cents)
            ),
            (inv(1), (-net, -tax, -gross))
        );
        assert_stored_invoice(&app, order).await;
        app.assert_invariants().await;
    }
);

db_test!(
    golden_short_stock_and_refused_quantity_documents,
    |app: TestApp| async move {
        // One short of the million; none of UNDER-77; HALF-10 covers each of its lines (6 and
        // 5) but not both (11 of 10): the same product on two lines counts once, summed.
        catalogue(&app, [10, 999_999, 2, 7, 8, 0]).await;
        let api = clerk_client(&app).await;
        let order = place_order(
            &api,
            &[
                ("BULK-20", 1_000_000),
                ("HALF-10", 6),
                ("ODD-77", 2),
                ("HALF-10", 5),
                ("UNDER-77", 1),
            ],
        )
        .await;
        // Nothing is confirmed here: every time is set-up, before now.
        let moments = Moments(vec![("@now", orderdesk::db::now())]);
        let unchanged = vec![
            stock("HALF-10", 10, &[opening(10)]),
            stock("BULK-20", 999_999, &[opening(999_999)]),
            stock("ODD-77", 2, &[opening(2)]),
            stock("ZERO-0", 7, &[opening(7)]),
            stock("EVEN-10", 8, &[opening(8)]),
            stock("UNDER-77", 0, &[]),
        ];
        assert_golden(stock_docs(&api, &moments).await, unchanged.clone());

        // Every short product with what was asked for in all and what is on hand, in
        // ascending product id (the order the products are locked in); ODD-77 is exactly
        // covered and not listed.
        let short = json!({
            "type": "urn:orderdesk:problem:short-stock",
            "title": "Not enough stock; nothing was confirmed",
            "status": 409,
            "detail": "Some products are short: `lines` lists each with what is available.",
            "lines": [
                {"sku": "HALF-10", "name": "Washer, half-cent tax", "requested": 11, "available": 10},
                {"sku": "BULK-20", "name": "Sheet by the million", "requested": 1_000_000,
                 "available": 999_999},
                {"sku": "UNDER-77", "name": "Spring, just under half", "requested": 1,
                 "available": 0}
            ]
        });
        let first = api
            .post(&confirm_path(order), Some("golden-short"), &json!({}))
            .await;
        assert_golden(first.json(), short);
        first.expect_problem(409, "short-stock");
        assert_eq!(first.location(), None);
        // Nothing was recorded: the same key is judged afresh, with the same answer.
        let retry = api
            .post(&confirm_path(order), Some("golden-short"), &json!({}))
            .await;
        assert!(!retry.replayed());
        assert_eq!((retry.status, &retry.bytes), (first.status, &first.bytes));

        // The clerk's form: the same products on the order page, 409.
        let form = app.confirm_form(order).await;
        let page = app.confirm(order, &form).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
        assert_eq!(
            rows(&page, "#shortages tr.short-line"),
            strings(&[
                &["HALF-10", "Washer, half-cent tax", "11", "10"],
                &["BULK-20", "Sheet by the million", "1,000,000", "999,999"],
                &["UNDER-77", "Spring, just under half", "1", "0"],
            ])
        );

        // A quantity past the 1,000,000 a line may hold: refused field by field, 422.
        let too_many = json!({"customer": "GOLD-1", "reference": REFERENCE,
                              "lines": [{"sku": "BULK-20", "quantity": 1_000_001}]});
        let refused = api
            .post("/api/v1/orders", Some("golden-too-many"), &too_many)
            .await;
        assert_eq!(refused.content_type(), Some(PROBLEM_JSON));
        assert_golden(
            refused.json(),
            json!({
                "type": "urn:orderdesk:problem:invalid",
                "title": "The request was refused; nothing was changed",
                "status": 422,
                "detail": "lines[0].quantity: the quantity can be at most 1,000,000",
                "errors": [{"field": "lines[0].quantity",
                            "message": "the quantity can be at most 1,000,000"}]
            }),
        );
        refused.expect_problem(422, "invalid");

        // Nothing changed anywhere.
        assert_golden(stock_docs(&api, &moments).await, unchanged);
        assert_eq!(app.order_status(order).await, "draft");
        assert_eq!(app.order_count().await, 1);
        assert!(app.invoice_numbers().await.is_empty());
        let created = json!({"at": "@earlier", "actor": "clerk", "action": "create",
                             "detail": "customer GOLD-1, 5 lines"});
        assert_golden(history(&app, order, &moments).await, vec![created]);
        app.assert_invariants().await;
    }
);
