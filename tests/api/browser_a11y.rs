//! Accessibility in a real browser: axe-core runs over every page (signed out for the sign-in
//! page, then as an admin, who sees every other page) at a desk width (1366 px) and a phone
//! width (390 px). No violation of impact
//! serious or critical may remain; a lesser one fails too unless it is listed in [`ACCEPTED`]
//! with its reason. At phone width no page, and no table in it, may scroll sideways.
//!
//! axe-core comes from npm, pinned, into `target/axe` (`.ci/run` installs it when missing):
//! `npm install --prefix target/axe axe-core@4.10.3`. Without it, or without chromedriver, the
//! test skips with a loud message; under CI (`CI` set) it fails instead.

use std::collections::BTreeMap;
use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::Value;

use orderdesk::domain::Role;

use crate::browser::{Browser, browser, scene};
use crate::helpers::{Backend, set};

/// The pinned axe-core release `.ci/run` installs.
const AXE_VERSION: &str = "4.10.3";

/// Violations left on purpose, by rule id, with the reason. Only impacts minor or moderate may
/// be listed here; serious and critical ones always fail.
const ACCEPTED: &[(&str, &str)] = &[];

/// Widths every page is checked at: a desk screen and a phone.
const WIDTHS: &[(u32, u32)] = &[(1366, 900), (390, 844)];

fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            assert!(
                std::env::var("CI").is_err(),
                "axe-core is missing: CI must install it (.ci/run does: npm install --prefix \
                 target/axe axe-core@{AXE_VERSION})"
            );
            eprintln!(
                "\n*** SKIPPED: browser test: no axe-core (npm install --prefix target/axe \
                 axe-core@{AXE_VERSION}) ***\n"
            );
            None
        }
    }
}

/// One violation as reported: rule, impact, and a few of the elements it names.
#[derive(Debug)]
struct Violation {
    page: String,
    width: u32,
    rule: String,
    impact: String,
    help: String,
    nodes: Vec<String>,
}

/// Inject axe-core into the current page and run it; the violations it finds.
async fn run_axe(b: &Browser, axe: &str, page: &str, width: u32) -> Vec<Violation> {
    b.wait_for("main").await;
    let loaded = b
        .client
        .execute(
            &format!("{axe}\n;return typeof window.axe === 'object';"),
            vec![],
        )
        .await
        .expect("inject axe-core");
    assert_eq!(loaded, Value::Bool(true), "axe-core loaded on {page}");
    let result = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => ({
                   id: v.id, impact: v.impact || '', help: v.help,
                   nodes: v.nodes.slice(0, 4).map(n => n.target.join(' '))
               }))))
               .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let found: Vec<Violation> = result
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v| Violation {
            page: page.to_string(),
            width,
            rule: text(v, "id"),
            impact: text(v, "impact"),
            help: text(v, "help"),
            nodes: v["nodes"]
                .as_array()
                .map(|n| {
                    n.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    for v in &found {
        eprintln!(
            "AXE {} @{}px: {} ({}) {} {:?}",
            v.page, v.width, v.rule, v.impact, v.help, v.nodes
        );
    }
    found
}

/// How far the page, or any table in it, reaches past its box sideways, in CSS pixels: a table
/// that scrolls inside itself hides its right-hand columns just as a page that scrolls does.
async fn sideways_overflow(b: &Browser) -> i64 {
    b.client
        .execute(
            "const d = document.documentElement;
             const boxes = [...document.querySelectorAll('table')]
                 .map(t => Math.max(t.scrollWidth - t.clientWidth,
                                    t.getBoundingClientRect().right - d.clientWidth));
             return Math.ceil(Math.max(d.scrollWidth - d.clientWidth, 0, ...boxes));",
            vec![],
        )
        .await
        .expect("measure the page")
        .as_i64()
        .unwrap_or(0)
}

/// Press Tab once, as a keyboard user would.
async fn tab(b: &Browser) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: Key::Tab.into(),
        })
        .then(KeyAction::Up {
            value: Key::Tab.into(),
        });
    b.client.perform_actions(keys).await.unwrap();
    b.client.release_actions().await.unwrap();
}

/// The focused element: its tag and text, and whether it shows a focus outline. Chromium keeps
/// a date field's focus in its inner parts (the host does not even match `:focus`), where the
/// page's CSS cannot style it, and shows it by highlighting the part being typed: that counts.
async fn focused(b: &Browser) -> (String, String, bool) {
    let v = b
        .client
        .execute(
            "const e = document.activeElement; const s = getComputedStyle(e);
             return [e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
                       + (e.name ? '[name=' + e.name + ']' : ''),
                     (e.innerText || e.value || '').trim().slice(0, 40)
                       + ' [outline ' + s.outlineStyle + ' ' + s.outlineWidth
                       + ', :focus ' + e.matches(':focus') + ']',
                     (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                       || (e.type === 'date' && !e.matches(':focus'))];",
            vec![],
        )
        .await
        .unwrap();
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().to_string(),
        v[2].as_bool().unwrap_or(false),
    )
}

/// The first Tab lands on "Skip to content", which moves focus to the main content; every
/// control reached by Tab on `path` then shows a visible focus outline.
async fn keyboard_walk(b: &Browser, base: &str, path: &str) {
    b.client.goto(&format!("{base}{path}")).await.unwrap();
    b.wait_for("main").await;
    tab(b).await;
    let (what, text, outlined) = focused(b).await;
    assert_eq!(
        (what.as_str(), text.as_str()),
        (
            "a.skip-link",
            "Skip to content [outline solid 3px, :focus true]"
        ),
        "the first Tab on {path}"
    );
    assert!(outlined, "the skip link shows its focus on {path}");
    for _ in 0..40 {
        tab(b).await;
        let (what, text, outlined) = focused(b).await;
        if what == "body" {
            break;
        }
        assert!(outlined, "{what} \"{text}\" on {path} has no visible focus");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_nothing_serious_on_any_page_at_desk_and_phone_width() {
    let Some(axe) = axe_source() else {
        return;
    };
    let Some(s) = scene(Backend::Sqlite, 1).await else {
        return;
    };
    let Some(b) = browser(true).await else {
        return;
    };
    // Data for every page: the scene's draft, a confirmed order with its invoice, and a
    // cancelled one with its credit note; some stock movement for the ledger and the charts.
    let app = &s.app;
    let customer = app.customer("C-2002", "Nordlicht Bürobedarf GmbH").await;
    let paper = app
        .db
        .find_product_by_sku("PAPER-A4")
        .await
        .unwrap()
        .unwrap()
        .id;
    // The seller on the invoices: company details saved through the admin form first.
    let admin = app.browser_as("root", Role::Admin).await;
    let company = admin.get("/admin/company").await.form("form#company");
    let company = [
        ("name", "Harbour Office Supplies GmbH"),
        ("address", "Hafenstraße 12\n20457 Hamburg\nGermany"),
        ("vat_id", "DE123456789"),
        ("iban", "DE89 3704 0044 0532 0130 00"),
        ("bic", "COBADEFFXXX"),
        ("payment_terms_days", "30"),
        (
            "footer",
            "Registered at Amtsgericht Hamburg, HRB 000000. Thank you for your order.",
        ),
    ]
    .into_iter()
    .fold(company, |f, (k, v)| set(&f, k, v));
    let saved = admin.post("/admin/company", &company).await;
    assert!(saved.location().is_some(), "{}", saved.body);
    let confirmed = app.draft(customer, &[(paper, 5)]).await;
    let cancelled = app.draft(customer, &[(paper, 2)]).await;
    for order in [confirmed, cancelled] {
        let form = app.confirm_form(order).await;
        let page = app.confirm(order, &form).await;
        assert!(page.location().is_some(), "{}", page.body);
    }
    let accountant = app.browser_as("anna", Role::Accountant).await;
    let form = accountant
        .get(&format!("/orders/{cancelled}"))
        .await
        .form("form#cancel");
    let page = accountant
        .post(
            &format!("/orders/{cancelled}/cancel"),
            &set(&form, "reason", "Ordered twice"),
        )
        .await;
    assert!(page.location().is_some(), "{}", page.body);
    let invoice = app.invoice_numbers().await[0].clone();
    let year = time::OffsetDateTime::now_utc().year();
    let credit_note = format!("CN-{year}-000001");

    let order = s.order;
    let signed_in: Vec<(&str, String)> = vec![
        ("dashboard", "/".into()),
        ("orders", "/orders".into()),
        ("new order", "/orders/new".into()),
        ("draft order", format!("/orders/{order}")),
        ("confirmed order", format!("/orders/{confirmed}")),
        ("receipt", format!("/orders/{confirmed}/confirmation")),
        ("invoices", "/invoices".into()),
        ("invoice", format!("/invoices/{invoice}")),
        ("credit note", format!("/credit-notes/{credit_note}")),
        ("customers", "/customers".into()),
        ("customer form", "/customers/C-1001/edit".into()),
        ("new customer", "/customers/new".into()),
        ("products", "/products".into()),
        ("product form", "/products/PAPER-A4/edit".into()),
        ("stock", "/stock".into()),
        ("ledger", "/stock/PAPER-A4".into()),
        ("goods receipt", "/receipts/new".into()),
        ("users and API tokens", "/admin/users".into()),
        ("company details", "/admin/company".into()),
        ("audit log", "/audit".into()),
        ("sign out", "/logout".into()),
        ("error page", "/orders/987654321".into()),
    ];

    // The keyboard: the skip link first, a visible focus on every control after it.
    b.client.set_window_size(1366, 900).await.unwrap();
    b.sign_in(&s.base, "root").await;
    for path in ["/", &format!("/orders/{order}"), "/invoices"] {
        keyboard_walk(&b, &s.base, path).await;
    }
    b.client.goto(&format!("{}/", s.base)).await.unwrap();
    b.click("form.logout button[type=submit]").await;
    b.wait_for("#login").await;

    let mut found = Vec::new();
    let mut overflow = BTreeMap::new();
    for &(width, height) in WIDTHS {
        b.client.set_window_size(width, height).await.unwrap();
        // Signed out: the sign-in page.
        b.client.goto(&format!("{}/login", s.base)).await.unwrap();
        found.extend(run_axe(&b, &axe, "sign-in", width).await);
        b.sign_in(&s.base, "root").await;
        for (name, path) in &signed_in {
            b.client.goto(&format!("{}{path}", s.base)).await.unwrap();
            found.extend(run_axe(&b, &axe, name, width).await);
            if width < 600 {
                overflow.insert(*name, sideways_overflow(&b).await);
            }
            match (*name, width) {
                ("invoice", 1366) => {
                    b.wait_for("#seller").await;
                    b.screenshot("invoice-company").await;
                }
                ("dashboard", 1366) => {
                    b.wait_for("#chart-revenue svg").await;
                    b.screenshot("dashboard").await;
                }
                ("draft order", 390) => {
                    b.screenshot("phone-order").await;
                    // And scrolled to the totals, which stay in view below the line cards.
                    b.client
                        .execute(
                            "document.querySelector('#lines tfoot').scrollIntoView({ block: 'center' });",
                            vec![],
                        )
                        .await
                        .unwrap();
                    b.screenshot("phone-order-totals").await;
                }
                ("orders", 390) => {
                    b.screenshot("phone-orders").await;
                }
                ("ledger", 1366) => {
                    b.screenshot("ledger").await;
                }
                _ => {}
            }
        }
        // The error page may have no Sign out button: sign out from the dashboard.
        b.client.goto(&format!("{}/", s.base)).await.unwrap();
        b.click("form.logout button[type=submit]").await;
        b.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("#login"))
            .await
            .unwrap();
    }

    eprintln!("PHONE sideways overflow per page (px): {overflow:?}");
    let unaccepted: Vec<&Violation> = found
        .iter()
        .filter(|v| {
            matches!(v.impact.as_str(), "serious" | "critical")
                || !ACCEPTED.iter().any(|(rule, _)| *rule == v.rule)
        })
        .collect();
    assert!(
        unaccepted.is_empty(),
        "axe-core violations (serious/critical, or not listed with a reason): {unaccepted:#?}"
    );
    // At phone width nothing scrolls sideways: lists stack into cards, documents wrap.
    let wide: Vec<_> = overflow.iter().filter(|(_, px)| **px > 0).collect();
    assert!(
        wide.is_empty(),
        "pages scrolling sideways at 390 px: {wide:?}"
    );
}
