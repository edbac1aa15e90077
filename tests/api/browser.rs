//! Proof in a real browser: headless Chromium driven through chromedriver double-clicks, goes
//! Back, reloads and opens two tabs against orderdesk served on loopback, and each scenario ends
//! with a look at the database and at what the clerk sees.
//!
//! Without chromedriver the tests skip with a loud message; under CI (`CI` set) they fail instead.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::{Client, ClientBuilder, Locator};

use orderdesk::domain::Role;

use crate::helpers::{Backend, TestApp, password_of};

const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
];

/// One request a server saw: "METHOD /path", and its answer (status and `Location`) once it
/// was given (never, when the request was cut off before it answered).
#[derive(Debug, Clone)]
struct Hit {
    what: String,
    answer: Option<(u16, Option<String>)>,
}

/// Requests the servers saw, in arrival order.
type Seen = Arc<Mutex<Vec<Hit>>>;

/// One orderdesk server on a loopback port, counting the requests it sees and their answers.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    seen: Seen,
}

pub(crate) async fn serve(router: Router) -> Server {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let router = router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let log = log.clone();
            async move {
                let i = {
                    let mut hits = log.lock().unwrap();
                    hits.push(Hit {
                        what: format!("{} {}", req.method(), req.uri().path()),
                        answer: None,
                    });
                    hits.len() - 1
                };
                let res = next.run(req).await;
                let location = res
                    .headers()
                    .get(axum::http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                log.lock().unwrap()[i].answer = Some((res.status().as_u16(), location));
                res
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = router.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, app).await;
    });
    Server { addr, seen }
}

/// A round-robin TCP balancer over `backends`: each new connection goes to the next server,
/// like a load balancer in front of several orderdesk servers.
async fn balancer(backends: Vec<SocketAddr>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut next = 0;
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = backends[next % backends.len()];
            next += 1;
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

fn count(seen: &Seen, what: &str) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|h| h.what == what)
        .count()
}

/// chromedriver and one Chromium session; both end when this is dropped.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    _profile: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Browser {
    /// chromedriver runs in a process group of its own with the Chromium it started: end the
    /// whole group, so no browser outlives its test.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg("--")
            .arg(format!("-{}", self.driver.id()))
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn chromedriver() -> Option<String> {
    let candidates = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];
    candidates
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
}

/// Start a browser, or `None` (with a loud message) when chromedriver is missing outside CI.
pub(crate) async fn browser(javascript: bool) -> Option<Browser> {
    let Some(driver_bin) = chromedriver() else {
        assert!(
            std::env::var("CI").is_err(),
            "chromedriver is missing: CI must install chromium and chromium-driver (.ci/run does)"
        );
        eprintln!(
            "\n*** SKIPPED: browser test: no chromedriver (apt-get install chromium chromium-driver) ***\n"
        );
        return None;
    };
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let driver = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = TempDir(
        std::env::temp_dir().join(format!("od_chromium_{}", uuid::Uuid::new_v4().simple())),
    );
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.0.display()));
    if !javascript {
        args.push("--blink-settings=scriptEnabled=false".into());
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last_err = String::new();
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver,
                    _profile: profile,
                });
            }
            Err(e) => {
                last_err = e.to_string();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("could not start a Chromium session: {last_err}");
}

impl Browser {
    /// Type into the element `css`.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    /// Click the element `css` once.
    pub(crate) async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Wait (at most 15 s) until the element `css` is on the page.
    pub(crate) async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
    }

    /// Sign in as the clerk, open the scene's order and press Confirm once; the receipt's number.
    pub(crate) async fn sign_in_and_confirm(&self, s: &Scene) -> String {
        self.sign_in(&s.base, "clerk").await;
        self.client
            .goto(&format!("{}/orders/{}", s.base, s.order))
            .await
            .unwrap();
        self.click("#confirm button[type=submit]").await;
        self.receipt_number().await
    }

    pub(crate) async fn sign_in(&self, base: &str, name: &str) {
        self.client.goto(&format!("{base}/login")).await.unwrap();
        self.fill("#username", name).await;
        self.fill("#password", &password_of(name)).await;
        self.click("#login button[type=submit]").await;
        self.wait_for(".who-name").await;
    }

    /// Click the element `clicks` times, `gap` apart, as a person's mouse would.
    async fn click_times(&self, css: &str, clicks: usize, gap: Duration) {
        let button = self.client.find(Locator::Css(css)).await.unwrap();
        let mut mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
            element: button,
            duration: None,
            x: 0.0,
            y: 0.0,
        });
        for i in 0..clicks {
            if i > 0 {
                mouse = mouse.then(PointerAction::Pause { duration: gap });
            }
            mouse = mouse
                .then(PointerAction::Down {
                    button: MOUSE_BUTTON_LEFT,
                })
                .then(PointerAction::Up {
                    button: MOUSE_BUTTON_LEFT,
                });
        }
        self.client.perform_actions(mouse).await.unwrap();
        let _ = self.client.release_actions().await;
    }

    /// Wait for the receipt and return its invoice number.
    pub(crate) async fn receipt_number(&self) -> String {
        let el = self
            .client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css("#invoice-number"))
            .await
            .unwrap();
        el.text().await.unwrap()
    }

    pub(crate) async fn screenshot(&self, name: &str) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        path.display().to_string()
    }
}

/// A fresh orderdesk with one draft (3 of A, 2 of B), its id, and the served base URL.
pub(crate) struct Scene {
    pub(crate) app: TestApp,
    pub(crate) order: i64,
    customer: i64,
    products: (i64, i64),
    servers: Vec<Server>,
    pub(crate) base: String,
}

pub(crate) async fn scene(backend: Backend, servers: usize) -> Option<Scene> {
    let app = TestApp::spawn(backend).await?;
    let c = app.customer("C-1001", "Brightwater Cafés Ltd").await;
    let a = app.product("PAPER-A4", 549, 2000, 100).await;
    let b = app.product("COFFEE-1K", 1890, 700, 40).await;
    let order = app.draft(c, &[(a, 3), (b, 2)]).await;
    let mut list = Vec::new();
    for _ in 0..servers {
        list.push(serve(app.second_server(&TestApp::config()).await).await);
    }
    let base = if servers == 1 {
        format!("http://{}", list[0].addr)
    } else {
        format!(
            "http://{}",
            balancer(list.iter().map(|s| s.addr).collect()).await
        )
    };
    Some(Scene {
        app,
        order,
        customer: c,
        products: (a, b),
        servers: list,
        base,
    })
}

/// How often a click scenario is tried on a fresh draft before it counts as never happening.
const TRIES: usize = 8;

impl Scene {
    /// Another draft like the first one, for another try.
    async fn another_draft(&self) -> i64 {
        let (a, b) = self.products;
        self.app.draft(self.customer, &[(a, 3), (b, 2)]).await
    }

    /// The confirm POSTs of `order` each server saw.
    fn confirm_posts(&self, order: i64) -> Vec<usize> {
        let what = format!("POST /orders/{order}/confirm");
        self.servers.iter().map(|s| count(&s.seen, &what)).collect()
    }

    /// Every confirm POST of `order` that was answered was answered with the 303 to its one
    /// receipt: the first did the work, every other one replayed it.
    fn assert_every_answer_is_the_receipt(&self, order: i64) {
        let what = format!("POST /orders/{order}/confirm");
        let receipt = format!("/orders/{order}/confirmation");
        for server in &self.servers {
            for hit in server.seen.lock().unwrap().iter() {
                if hit.what != what {
                    continue;
                }
                if let Some((status, location)) = &hit.answer {
                    assert_eq!(
                        (*status, location.as_deref()),
                        (303, Some(receipt.as_str())),
                        "every answer leads to the original receipt"
                    );
                }
            }
        }
    }

    /// Each of `orders` is confirmed with exactly one invoice, their stock was taken once each,
    /// and no other invoice exists; invariants hold.
    async fn assert_each_confirmed_once(&self, orders: &[i64]) {
        assert_eq!(
            self.app.invoice_numbers().await.len(),
            orders.len(),
            "exactly one invoice per confirmed draft"
        );
        for order in orders {
            assert_eq!(self.app.order_status(*order).await, "confirmed");
            assert!(
                self.app
                    .db
                    .find_invoice_for_order(*order)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        let n = i64::try_from(orders.len()).unwrap();
        assert_eq!(
            self.app.stock("PAPER-A4").await,
            100 - 3 * n,
            "stock decremented once per draft"
        );
        assert_eq!(self.app.stock("COFFEE-1K").await, 40 - 2 * n);
        self.app.assert_invariants().await;
    }

    /// Exactly one invoice, stock decremented once, invariants hold.
    async fn assert_confirmed_once(&self) {
        self.assert_each_confirmed_once(&[self.order]).await;
    }

    /// The receipt `shown` is the invoice of `order`.
    async fn assert_receipt_of(&self, order: i64, shown: &str) {
        let invoice = self.app.db.find_invoice_for_order(order).await.unwrap();
        assert_eq!(
            Some(shown),
            invoice.as_ref().map(|i| i.number.as_str()),
            "the receipt shows the order's one invoice"
        );
    }

    fn report(&self, scenario: &str, order: i64) {
        eprintln!(
            "BROWSER {scenario} [{:?}]: confirm POSTs seen per server: {:?}",
            self.app.backend,
            self.confirm_posts(order)
        );
    }
}

/// Clicks on Confirm, `gap` apart, while the server holds each confirmation open for `hold`.
#[derive(Clone, Copy)]
struct Clicks {
    clicks: usize,
    gap: Duration,
    hold: Duration,
}

/// Click Confirm on the scene's draft as `clicks` says until the POSTs that reached the servers
/// are what the scenario is about (`wanted`, per server), on a fresh draft each try, at most
/// [`TRIES`] times. Whether a browser sends a later click's POST depends on timing (it does
/// when the click lands before the first answer replaced the page), so a run that sent fewer
/// proves nothing and is tried again, as a person's double-click over a slow line would be.
/// Every try must end on its order's one receipt. Returns the drafts confirmed, the last one
/// the run that counts, and its POSTs per server.
async fn click_confirm_until(
    s: &Scene,
    b: &Browser,
    clicks: Clicks,
    wanted: impl Fn(&[usize]) -> bool,
) -> (Vec<i64>, Vec<usize>) {
    let mut confirmed = Vec::new();
    let mut order = s.order;
    loop {
        b.client
            .goto(&format!("{}/orders/{order}", s.base))
            .await
            .unwrap();
        s.app.db.faults().set_action_delay(clicks.hold);
        b.click_times("#confirm button[type=submit]", clicks.clicks, clicks.gap)
            .await;
        let number = b.receipt_number().await;
        s.app.db.faults().set_action_delay(Duration::ZERO);
        // Give a POST still on its way the time to arrive and be answered.
        tokio::time::sleep(clicks.hold + Duration::from_millis(200)).await;
        confirmed.push(order);
        s.assert_receipt_of(order, &number).await;
        s.assert_every_answer_is_the_receipt(order);
        let posts = s.confirm_posts(order);
        if wanted(&posts) {
            return (confirmed, posts);
        }
        assert!(
            confirmed.len() < TRIES,
            "in {TRIES} tries the clicks never gave the POSTs the scenario is about; last: {posts:?}"
        );
        eprintln!(
            "BROWSER try {}: POSTs {posts:?}, trying again",
            confirmed.len()
        );
        order = s.another_draft().await;
    }
}

async fn double_click(backend: Backend, servers: usize, javascript: bool) {
    let Some(s) = scene(backend, servers).await else {
        return;
    };
    let Some(b) = browser(javascript).await else {
        return;
    };
    b.sign_in(&s.base, "clerk").await;
    let keep_pictures = javascript && servers == 1 && backend == Backend::Sqlite;
    if keep_pictures {
        b.client
            .goto(&format!("{}/orders/{}", s.base, s.order))
            .await
            .unwrap();
        b.screenshot("order").await;
    }
    // The server holds each confirmation open, so the two clicks really overlap.
    let clicks = Clicks {
        clicks: 2,
        gap: Duration::from_millis(90),
        hold: Duration::from_millis(300),
    };
    let (confirmed, posts) = click_confirm_until(&s, &b, clicks, |posts| {
        if javascript {
            true
        } else {
            // Both clicks reached a server; across two servers, one each.
            posts.iter().sum::<usize>() == 2 && posts.iter().all(|n| *n >= 1)
        }
    })
    .await;
    s.assert_each_confirmed_once(&confirmed).await;
    let order = *confirmed.last().unwrap();
    if javascript {
        assert_eq!(
            confirmed.len(),
            1,
            "with the script every try counts: nothing to retry"
        );
        assert_eq!(
            posts.iter().sum::<usize>(),
            1,
            "the script disables the button after the first click"
        );
    } else {
        assert_eq!(posts.iter().sum::<usize>(), 2, "both clicks were sent");
    }
    s.report(&format!("double-click js={javascript}"), order);
    if keep_pictures {
        b.screenshot("receipt").await;
        let number = s.app.invoice_numbers().await.remove(0);
        b.client
            .goto(&format!("{}/invoices/{number}", s.base))
            .await
            .unwrap();
        b.screenshot("invoice").await;
    }
}

async fn triple_click_on_a_slow_server(backend: Backend, servers: usize) {
    let Some(s) = scene(backend, servers).await else {
        return;
    };
    let Some(b) = browser(false).await else {
        return;
    };
    b.sign_in(&s.base, "clerk").await;
    let clicks = Clicks {
        clicks: 3,
        gap: Duration::from_millis(120),
        hold: Duration::from_millis(800),
    };
    // The clicks overlap: more than one POST, and across two servers both take part.
    let (confirmed, posts) = click_confirm_until(&s, &b, clicks, |posts| {
        posts.iter().sum::<usize>() >= 2 && posts.iter().all(|n| *n >= 1)
    })
    .await;
    s.assert_each_confirmed_once(&confirmed).await;
    let sent: usize = posts.iter().sum();
    assert!((2..=3).contains(&sent), "the clicks overlapped: {posts:?}");
    s.report("triple-click, slow server", *confirmed.last().unwrap());
}

async fn two_tabs(backend: Backend, servers: usize) {
    let Some(s) = scene(backend, servers).await else {
        return;
    };
    let Some(b) = browser(true).await else { return };
    // Each tab talks to its own server when there are two.
    let base_of = |i: usize| format!("http://{}", s.servers[i % s.servers.len()].addr);
    b.sign_in(&base_of(0), "clerk").await;
    let first = b.client.window().await.unwrap();
    b.client
        .goto(&format!("{}/orders/{}", base_of(0), s.order))
        .await
        .unwrap();
    let second = b.client.new_window(true).await.unwrap().handle;
    b.client.switch_to_window(second.clone()).await.unwrap();
    b.client
        .goto(&format!("{}/orders/{}", base_of(1), s.order))
        .await
        .unwrap();
    b.click("#confirm button[type=submit]").await;
    let n2 = b.receipt_number().await;
    b.client.switch_to_window(first).await.unwrap();
    b.click("#confirm button[type=submit]").await;
    let n1 = b.receipt_number().await;
    assert_eq!(n1, n2, "both tabs show the one confirmation");
    s.assert_receipt_of(s.order, &n1).await;
    s.assert_confirmed_once().await;
    s.assert_every_answer_is_the_receipt(s.order);
    // One POST per tab, each to its tab's server.
    let expected = if servers == 1 { vec![2] } else { vec![1, 1] };
    assert_eq!(s.confirm_posts(s.order), expected, "each tab sent its form");
    s.report("two tabs", s.order);
}

/// One test per backend: `db_browser_test!(name, |backend| async move { ... })`.
macro_rules! db_browser_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                ($body)(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                ($body)(Backend::Postgres).await;
            }
        }
    };
}

db_browser_test!(double_click_with_javascript, |backend| double_click(
    backend, 1, true
));
db_browser_test!(double_click_without_javascript, |backend| double_click(
    backend, 1, false
));

/// Two servers behind a round-robin balancer on one PostgreSQL: the two POSTs of a
/// double-click arrive on different servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_double_click_across_two_postgres_servers() {
    double_click(Backend::Postgres, 2, false).await
}
db_browser_test!(
    triple_click_while_the_server_is_slow,
    |backend| async move {
        let servers = if backend == Backend::Postgres { 2 } else { 1 };
        triple_click_on_a_slow_server(backend, servers).await
    }
);
db_browser_test!(the_same_draft_in_two_tabs, |backend| async move {
    let servers = if backend == Backend::Postgres { 2 } else { 1 };
    two_tabs(backend, servers).await
});

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_confirm_back_and_confirm_again() {
    let Some(s) = scene(Backend::Sqlite, 1).await else {
        return;
    };
    let Some(b) = browser(true).await else { return };
    let number = b.sign_in_and_confirm(&s).await;
    b.client.back().await.unwrap();
    // The order page as the browser kept it, with its Confirm form, which the clerk presses.
    b.client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("#confirm button[type=submit]"))
        .await
        .expect("Back shows the kept order page with its form")
        .click()
        .await
        .unwrap();
    assert_eq!(b.receipt_number().await, number);
    assert_eq!(
        s.confirm_posts(s.order),
        vec![2],
        "the second press reached the server"
    );
    s.assert_confirmed_once().await;
    s.assert_every_answer_is_the_receipt(s.order);
    s.report("confirm, Back, confirm again", s.order);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_reload_the_receipt_and_resubmit_from_history() {
    let Some(s) = scene(Backend::Sqlite, 1).await else {
        return;
    };
    let Some(b) = browser(true).await else { return };
    let number = b.sign_in_and_confirm(&s).await;
    b.client.refresh().await.unwrap();
    assert_eq!(
        b.receipt_number().await,
        number,
        "a reload shows the same receipt"
    );
    // Back to the kept order page, and send its form again without the script's guard
    // (`form.submit()` skips submit handlers): the very same POST a second time.
    b.client.back().await.unwrap();
    b.client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("form#confirm"))
        .await
        .expect("Back shows the kept order page with its form");
    b.client
        .execute("document.querySelector('form#confirm').submit()", vec![])
        .await
        .unwrap();
    assert_eq!(
        b.receipt_number().await,
        number,
        "the resubmitted POST shows the original"
    );
    assert_eq!(
        s.confirm_posts(s.order),
        vec![2],
        "the same POST reached the server twice"
    );
    s.assert_confirmed_once().await;
    s.assert_every_answer_is_the_receipt(s.order);
    s.report("reload and resubmit", s.order);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_short_stock_then_goods_receipt_then_one_confirmation() {
    let Some(s) = scene(Backend::Sqlite, 1).await else {
        return;
    };
    let Some(b) = browser(true).await else { return };
    // Too little coffee: 2 ordered, 1 left.
    let coffee = s
        .app
        .db
        .find_product_by_sku("COFFEE-1K")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut tx = s.app.db.begin().await.unwrap();
    orderdesk::db::stock::adjust(&mut tx, coffee, -39, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    b.sign_in(&s.base, "clerk").await;
    b.client
        .goto(&format!("{}/orders/{}", s.base, s.order))
        .await
        .unwrap();
    b.click("#confirm button[type=submit]").await;
    let short = b
        .client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("#shortages"))
        .await
        .unwrap();
    let text = short.text().await.unwrap();
    assert!(
        text.contains("COFFEE-1K") && !text.contains("PAPER-A4"),
        "{text}"
    );
    b.screenshot("short-stock").await;
    assert_eq!(s.app.order_status(s.order).await, "draft");
    assert_eq!(s.app.stock("PAPER-A4").await, 100);
    // Goods arrive; the page's Confirm button now confirms, once.
    let mut tx = s.app.db.begin().await.unwrap();
    orderdesk::db::stock::adjust(&mut tx, coffee, 39, "test")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A double-click while the server takes its time: both clicks land on this page.
    s.app
        .db
        .faults()
        .set_action_delay(Duration::from_millis(300));
    b.click_times("#confirm button[type=submit]", 2, Duration::from_millis(80))
        .await;
    b.receipt_number().await;
    s.app.db.faults().set_action_delay(Duration::ZERO);
    s.assert_confirmed_once().await;
    s.report("short stock, receipt, confirm", s.order);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_double_clicks_on_add_line_and_new_order_do_it_once() {
    let Some(s) = scene(Backend::Sqlite, 1).await else {
        return;
    };
    let Some(b) = browser(false).await else {
        return;
    };
    b.sign_in(&s.base, "clerk").await;
    // Both clicks of each double-click land before the first answer.
    s.app
        .db
        .faults()
        .set_action_delay(Duration::from_millis(300));
    b.client
        .goto(&format!("{}/orders/{}", s.base, s.order))
        .await
        .unwrap();
    b.fill("#sku", "PAPER-A4").await;
    b.fill("#quantity", "5").await;
    b.click_times(
        "#add-line button[type=submit]",
        2,
        Duration::from_millis(60),
    )
    .await;
    b.wait_for("#add-line").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // PAPER-A4 is on the order already (3): the add merges into its line, once.
    let lines = s.app.db.order_lines(s.order).await.unwrap();
    assert_eq!(lines.len(), 2, "no second line of the same product");
    assert_eq!(
        (lines[0].sku.as_str(), lines[0].quantity),
        ("PAPER-A4", 8),
        "5 added once"
    );

    b.client
        .goto(&format!("{}/orders/new", s.base))
        .await
        .unwrap();
    b.click("#customer_id option").await;
    let before = s.app.order_count().await;
    b.click_times(
        "form[action='/orders'] button[type=submit]",
        2,
        Duration::from_millis(60),
    )
    .await;
    b.wait_for("#add-line").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = s.app.order_count().await;
    assert_eq!(after, before + 1, "one order created");
    let lines = count(
        &s.servers[0].seen,
        &format!("POST /orders/{}/lines", s.order),
    );
    let orders = count(&s.servers[0].seen, "POST /orders");
    eprintln!(
        "BROWSER add-line double-click: {lines} POST(s); new-order double-click: {orders} POST(s)"
    );
}

/// An accountant opens a confirmed order, fills the reason, and double-clicks "Cancel and issue
/// credit note" while the server takes its time: she lands on the original credit note, and
/// exactly one exists. Then the pictures: the credit note, a product form with a field error,
/// and the audit log.
async fn cancel_with_a_double_click(backend: Backend) {
    let Some(s) = scene(backend, 1).await else {
        return;
    };
    let Some(b) = browser(false).await else {
        return;
    };
    let form = s.app.confirm_form(s.order).await;
    let confirmed = s.app.confirm(s.order, &form).await;
    assert_eq!(
        confirmed.status,
        StatusCode::SEE_OTHER,
        "{}",
        confirmed.body
    );
    s.app.user("anna", Role::Accountant).await;
    s.app.user("root", Role::Admin).await;
    let keep_pictures = backend == Backend::Sqlite;

    b.sign_in(&s.base, "anna").await;
    b.client
        .goto(&format!("{}/orders/{}", s.base, s.order))
        .await
        .unwrap();
    b.click(".cancel-panel summary").await;
    b.fill("#reason", "Customer returned the whole delivery")
        .await;
    let button = b.wait_for("#cancel button[type=submit]").await;
    assert_eq!(button.text().await.unwrap(), "Cancel and issue credit note");
    s.app
        .db
        .faults()
        .set_action_delay(Duration::from_millis(300));
    b.click_times("#cancel button[type=submit]", 2, Duration::from_millis(90))
        .await;
    let number = b
        .wait_for("#document.credit-note #number")
        .await
        .text()
        .await
        .unwrap();
    s.app.db.faults().set_action_delay(Duration::ZERO);

    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(
        number,
        format!("CN-{year}-000001"),
        "the original credit note"
    );
    let documents = s
        .app
        .db
        .list_billing_documents(&Default::default(), 100, 0)
        .await
        .unwrap();
    let credit_notes: Vec<_> = documents
        .iter()
        .filter(|d| d.kind == "credit-note")
        .map(|d| d.number.clone())
        .collect();
    assert_eq!(
        credit_notes,
        vec![number.clone()],
        "exactly one credit note"
    );
    assert_eq!(s.app.order_status(s.order).await, "cancelled");
    assert_eq!(s.app.stock("PAPER-A4").await, 100, "stock back once");
    assert_eq!(s.app.stock("COFFEE-1K").await, 40);
    s.app.assert_invariants().await;
    let posts = count(
        &s.servers[0].seen,
        &format!("POST /orders/{}/cancel", s.order),
    );
    assert!(posts >= 1, "{posts}");
    eprintln!(
        "BROWSER cancel double-click [{backend:?}]: {posts} cancel POST(s), credit note {number}"
    );
    if keep_pictures {
        b.screenshot("credit-note").await;
    }

    // The admin: a product typed with a decimal comma, refused beside the field.
    b.click("form.logout button[type=submit]").await;
    b.wait_for("#login").await;
    b.sign_in(&s.base, "root").await;
    b.client
        .goto(&format!("{}/products/new", s.base))
        .await
        .unwrap();
    b.fill("#sku", "LAMP-1").await;
    b.fill("#name", "Desk lamp, dimmable").await;
    b.fill("#unit_price", "12,50").await;
    b.fill("#tax_rate", "20").await;
    b.click("#product button[type=submit]").await;
    let error = b.wait_for("#unit_price-error").await.text().await.unwrap();
    assert!(error.contains("point"), "{error}");
    assert!(
        s.app
            .db
            .find_product_by_sku("LAMP-1")
            .await
            .unwrap()
            .is_none()
    );
    if keep_pictures {
        b.screenshot("product-form-error").await;
    }
    b.client.goto(&format!("{}/audit", s.base)).await.unwrap();
    b.wait_for("main").await;
    if keep_pictures {
        b.screenshot("audit-log").await;
    }
}

db_browser_test!(
    an_accountant_double_clicks_cancel_and_sees_the_original_credit_note,
    cancel_with_a_double_click
);
