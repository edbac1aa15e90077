//! Clerks confirming orders over HTTP against real server processes, and what the crash and
//! restore tests read back afterwards: receipts, the invoices of a database, the self-check.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::{Page, TestApp};
use crate::served::Remote;

/// One Confirm form sent: the order, the fields as sent (the token among them), and what came
/// back, if anything did before the server went away.
pub(crate) struct Sent {
    pub order: i64,
    pub form: Vec<(String, String)>,
    pub answer: Option<Page>,
    /// The invoice number the receipt showed, if the clerk got to read it.
    pub receipt: Option<String>,
}

/// Clerks confirming drafts over HTTP, each taking the next order: read the order page, post
/// its Confirm form, read the receipt. A worker stops at its first failed request (the server
/// is gone) or when told to.
pub(crate) struct Load {
    sent: Arc<Mutex<Vec<Sent>>>,
    answered: Arc<AtomicUsize>,
    posting: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    pub fn start(clerk: &Remote, orders: &[i64], workers: usize) -> Load {
        let load = Load {
            sent: Arc::default(),
            answered: Arc::default(),
            posting: Arc::default(),
            stop: Arc::default(),
            workers: Vec::new(),
        };
        let next = Arc::new(AtomicUsize::new(0));
        let orders: Arc<[i64]> = orders.into();
        let workers = (0..workers)
            .map(|_| {
                let (clerk, orders, next) = (clerk.clone(), orders.clone(), next.clone());
                let (sent, answered) = (load.sent.clone(), load.answered.clone());
                let (posting, stop) = (load.posting.clone(), load.stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        let Some(&order) = orders.get(next.fetch_add(1, Ordering::SeqCst)) else {
                            return;
                        };
                        let Ok(page) = clerk.get(&format!("/orders/{order}")).await else {
                            return;
                        };
                        assert_eq!(page.status, 200, "order {order}: {}", page.body);
                        let form = page.form("form#confirm");
                        let i = {
                            let mut sent = sent.lock().unwrap();
                            sent.push(Sent {
                                order,
                                form: form.clone(),
                                answer: None,
                                receipt: None,
                            });
                            sent.len() - 1
                        };
                        posting.fetch_add(1, Ordering::SeqCst);
                        let answer = clerk.post(&confirm_path(order), &form).await;
                        posting.fetch_sub(1, Ordering::SeqCst);
                        let Ok(answer) = answer else { return };
                        let location = answer.location().map(str::to_string);
                        sent.lock().unwrap()[i].answer = Some(answer);
                        answered.fetch_add(1, Ordering::SeqCst);
                        let Some(location) = location else { continue };
                        let Ok(receipt) = clerk.get(&location).await else {
                            return;
                        };
                        sent.lock().unwrap()[i].receipt = receipt.text("#invoice-number");
                    }
                })
            })
            .collect();
        Load { workers, ..load }
    }

    /// Wait (at most 60 s) until `answered` and `posting` counts satisfy `ready`.
    pub async fn wait_until(&self, ready: impl Fn(usize, usize) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready(
            self.answered.load(Ordering::SeqCst),
            self.posting.load(Ordering::SeqCst),
        ) {
            assert!(Instant::now() < deadline, "the load never got there");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// How many confirmations were answered so far.
    pub fn answered(&self) -> usize {
        self.answered.load(Ordering::SeqCst)
    }

    /// Stop the workers (after the request each is making) and return what was sent.
    pub async fn finish(self) -> Vec<Sent> {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            w.await.expect("a load worker failed");
        }
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

pub(crate) fn confirm_path(order: i64) -> String {
    format!("/orders/{order}/confirm")
}

/// `count` drafts of one unit of one product with plenty of stock; returns the SKU and the
/// orders' ids.
pub(crate) async fn drafts(app: &TestApp, count: usize) -> (&'static str, Vec<i64>) {
    let customer = app.customer("C-LOAD", "Load Ltd").await;
    let product = app.product("SKU-LOAD", 1250, 2000, 10_000).await;
    let mut orders = Vec::new();
    for _ in 0..count {
        orders.push(app.draft(customer, &[(product, 1)]).await);
    }
    ("SKU-LOAD", orders)
}

/// Confirm `order` as a clerk does, returning the invoice number of its receipt.
pub(crate) async fn confirm(clerk: &Remote, order: i64) -> String {
    let page = clerk.get(&format!("/orders/{order}")).await.unwrap();
    let posted = clerk
        .post(&confirm_path(order), &page.form("form#confirm"))
        .await
        .unwrap();
    assert_eq!(posted.status, 303, "order {order}: {}", posted.body);
    receipt_number(clerk, &posted).await
}

/// The invoice number on the receipt a `303` leads to.
pub(crate) async fn receipt_number(clerk: &Remote, answer: &Page) -> String {
    let location = answer.location().expect("a 303 names the receipt");
    let receipt = clerk.get(location).await.unwrap();
    assert_eq!(receipt.status, 200, "{location}: {}", receipt.body);
    receipt.text("#invoice-number").expect("an invoice number")
}

/// Every invoice of the database at `url`, by order.
pub(crate) async fn invoices(url: &str) -> BTreeMap<i64, String> {
    let db = orderdesk::db::Db::connect(&orderdesk::db::DbOptions {
        url: url.to_string(),
        max_connections: 2,
        lock_wait: Duration::from_secs(5),
    })
    .await
    .expect("connect");
    let rows = db
        .list_invoices(&Default::default(), 100_000, 0)
        .await
        .unwrap();
    db.close().await;
    rows.into_iter().map(|i| (i.order_id, i.number)).collect()
}

/// The running number of `INV-YYYY-NNNNNN`.
pub(crate) fn sequence(number: &str) -> u64 {
    number
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not an invoice number: {number}"))
}

pub(crate) fn assert_check_passes(url: &str) {
    let (ok, out) = crate::cli::orderdesk(url, &["check"], None);
    assert!(ok && out.contains("all invariants hold"), "{out}");
}
