//! Order entry with the keyboard only, in headless Chromium: a new order, a product picked by
//! typing part of its name, a quantity, Add, a quantity edited in place, the shortage shown
//! before Confirm, and the confirmation; once with JavaScript (the picker) and once without
//! (the server's choice list). No mouse event is sent after signing in.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{Browser, browser, serve};
use crate::helpers::{Backend, TestApp, password_of};

const ENTER: &str = "\u{e007}";
const TAB: &str = "\u{e004}";
const SHIFT_TAB: &str = "\u{e008}\u{e004}\u{e000}";
const ARROW_DOWN: &str = "\u{e015}";
const SELECT_ALL: &str = "\u{e009}a\u{e000}";

impl Browser {
    /// Type `keys` into whatever has the focus.
    async fn press(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// The id of the element that has the focus.
    async fn focused(&self) -> String {
        let el = self.client.active_element().await.unwrap();
        el.attr("id").await.unwrap().unwrap_or_default()
    }

    /// Wait (at most 10 s) until the element with id `id` has the focus.
    async fn wait_focus(&self, id: &str) {
        for _ in 0..100 {
            if self.focused().await == id {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the focus never reached #{id} (it is on #{})",
            self.focused().await
        );
    }

    /// Press `key` until the element with id `id` has the focus (at most 30 times).
    async fn tab_to(&self, key: &str, id: &str) {
        for _ in 0..30 {
            if self.focused().await == id {
                return;
            }
            self.press(key).await;
        }
        panic!("#{id} is not reachable with the keyboard");
    }

    /// Wait (at most 10 s) until nothing matches `css`.
    async fn wait_gone(&self, css: &str) {
        for _ in 0..100 {
            if self.client.find(Locator::Css(css)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} is still on the page");
    }

    /// Sign in with the keyboard: the username, the password and Enter.
    async fn sign_in_by_keys(&self, base: &str, name: &str) {
        self.client.goto(&format!("{base}/login")).await.unwrap();
        self.fill("#username", name).await;
        self.fill("#password", &format!("{}{ENTER}", password_of(name)))
            .await;
        self.wait_for(".who-name").await;
    }
}

async fn keyboard_entry(backend: Backend, javascript: bool) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.customer("C-1001", "Brightwater Cafés Ltd").await;
    app.customer("C-2002", "Acme Office Supplies").await;
    for (sku, name, stock) in [
        ("PAPER-A3", "Copy paper A3, 500 sheets", 100),
        ("PAPER-A4", "Copy paper A4, 500 sheets", 100),
        ("TONER-K", "Toner cartridge, black", 3),
    ] {
        let mut tx = app.db.begin().await.unwrap();
        orderdesk::db::products::insert(
            &mut tx,
            &orderdesk::db::products::NewProduct {
                sku,
                name,
                unit_price_cents: 1250,
                tax_rate_bp: 2000,
                opening_stock: stock,
                reorder_level: 0,
            },
            "test",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let server = serve(app.second_server(&TestApp::config()).await).await;
    let base = format!("http://{}", server.addr);
    let Some(b) = browser(javascript).await else {
        return;
    };
    b.sign_in_by_keys(&base, "clerk").await;

    // A new order: find the customer, keep the reference, create.
    b.client.goto(&format!("{base}/orders/new")).await.unwrap();
    b.wait_focus("q").await;
    b.press("bright").await;
    b.press(ENTER).await;
    if javascript {
        // The list follows the typing; Enter moves to it with the one match chosen.
        b.wait_focus("customer_id").await;
        b.press(TAB).await;
    }
    b.wait_focus("reference").await;
    b.press(&format!("PO-77{ENTER}")).await;
    b.wait_for("form#add-line").await;
    b.wait_focus("sku").await;
    let url = b.client.current_url().await.unwrap();
    let order: i64 = url
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("not an order page: {url}"));
    let row = app.db.find_order(order).await.unwrap().unwrap();
    assert_eq!(row.customer_code, "C-1001");
    assert_eq!(row.reference, "PO-77");

    // Part of a name matching two products: choose the second, add 2.
    b.press("paper").await;
    if javascript {
        b.wait_for("#sku-listbox-1").await;
        let open = b.client.find(Locator::Css("#sku")).await.unwrap();
        assert_eq!(
            open.attr("aria-expanded").await.unwrap().as_deref(),
            Some("true")
        );
        b.screenshot("picker").await;
        b.press(ARROW_DOWN).await;
        b.press(ENTER).await;
        b.wait_focus("quantity").await;
        b.press(&format!("2{ENTER}")).await;
    } else {
        b.press(TAB).await;
        b.wait_focus("quantity").await;
        b.press(&format!("2{ENTER}")).await;
        // The server offers the two; the first has the focus, the second is one Tab on.
        b.wait_for("#choices").await;
        b.press(TAB).await;
        b.press(ENTER).await;
    }
    b.wait_for("tr.line").await;
    b.wait_focus("sku").await;
    let lines = app.db.order_lines(order).await.unwrap();
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        vec![("PAPER-A4", 2)]
    );

    // A unique part: 5 toner cartridges, with 3 in stock.
    b.press("toner").await;
    if javascript {
        b.wait_for("#sku-listbox-0").await;
        b.press(ENTER).await;
        b.wait_focus("quantity").await;
    } else {
        b.press(TAB).await;
    }
    b.press(&format!("5{ENTER}")).await;
    let warning = b.wait_for("#short-now").await;
    assert_eq!(
        warning
            .find(Locator::Css("h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "Short by 2 on these lines"
    );
    b.wait_focus("sku").await;
    let name = if javascript {
        "shortage"
    } else {
        "shortage-nojs"
    };
    b.screenshot(name).await;
    let toner = app.db.order_lines(order).await.unwrap()[1].clone();
    assert_eq!((toner.sku.as_str(), toner.quantity), ("TONER-K", 5));

    // Edit the toner line down to what is in stock, in place.
    let field = format!("line-{}", toner.id);
    b.tab_to(SHIFT_TAB, &field).await;
    b.press(&format!("{SELECT_ALL}3{ENTER}")).await;
    b.wait_gone("#short-now").await;
    b.wait_focus(&field).await;
    assert_eq!(app.db.order_lines(order).await.unwrap()[1].quantity, 3);

    // On to Confirm with Tab, and Enter.
    for _ in 0..40 {
        let el = b.client.active_element().await.unwrap();
        if el.text().await.unwrap_or_default().trim() == "Confirm order" {
            break;
        }
        b.press(TAB).await;
    }
    b.press(ENTER).await;
    let number = b.receipt_number().await;
    assert!(number.starts_with("INV-"), "{number}");
    assert_eq!(app.invoice_numbers().await.len(), 1);
    assert_eq!(app.stock("TONER-K").await, 0);
    assert_eq!(app.stock("PAPER-A4").await, 98);
    assert_eq!(app.order_status(order).await, "confirmed");
    app.assert_invariants().await;
}

macro_rules! keyboard_test {
    ($name:ident, $js:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                keyboard_entry(Backend::Sqlite, $js).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                keyboard_entry(Backend::Postgres, $js).await;
            }
        }
    };
}

keyboard_test!(browser_keyboard_entry_with_the_picker, true);
keyboard_test!(browser_keyboard_entry_without_javascript, false);
