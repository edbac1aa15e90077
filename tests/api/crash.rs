//! A server killed with SIGKILL in the middle of concurrent confirmations (issue 11), on both
//! backends: restarted on the same database, every token that was sent is retried, answered or
//! not, and each has exactly one effect.

use std::collections::BTreeMap;

use crate::helpers::TestApp;
use crate::load::{Load, assert_check_passes, confirm_path, drafts, invoices, receipt_number};
use crate::served::{Remote, Served};

/// Kill -9 while clerks confirm, restart on the same database, and retry every token that
/// was sent, answered or not: each confirms its order exactly once, an answered one replays
/// the receipt it answered with, and the self-check passes.
async fn kill_nine_mid_load_then_every_retry_has_exactly_one_effect(app: TestApp) {
    let (sku, orders) = drafts(&app, 40).await;
    let stock_before = app.stock(sku).await;
    let mut server = Served::start(&app.url, &[]);
    let clerk = Remote::new(&server.addr);
    clerk.sign_in("clerk").await;
    let load = Load::start(&clerk, &orders, 6);
    // In the middle: some confirmations answered, others on the wire.
    load.wait_until(|answered, posting| answered >= 10 && posting >= 2)
        .await;
    server.kill();
    let sent = load.finish().await;
    let unanswered = sent.iter().filter(|s| s.answer.is_none()).count();
    eprintln!(
        "killed with {} confirmations sent, {unanswered} of them unanswered",
        sent.len()
    );

    let server = Served::start(&app.url, &[]);
    let clerk = clerk.at(&server.addr);
    let mut receipts = BTreeMap::new();
    for s in &sent {
        let retry = clerk.post(&confirm_path(s.order), &s.form).await.unwrap();
        assert_eq!(retry.status, 303, "order {}: {}", s.order, retry.body);
        let number = receipt_number(&clerk, &retry).await;
        if let Some(first) = &s.answer {
            assert_eq!(first.status, 303, "order {}: {}", s.order, first.body);
            assert!(
                retry.replayed(),
                "order {}: an answered token replays",
                s.order
            );
            assert_eq!(retry.location(), first.location());
        }
        if let Some(seen) = &s.receipt {
            assert_eq!(
                &number, seen,
                "order {}: the same invoice on retry",
                s.order
            );
        }
        receipts.insert(s.order, number);
    }
    // Exactly one effect per token: the database holds exactly the invoices the receipts
    // show (one per order sent, none for an order never sent), and stock went down once each.
    assert_eq!(invoices(&app.url).await, receipts);
    assert_eq!(app.stock(sku).await, stock_before - sent.len() as i64);
    assert_check_passes(&app.url);
}

crate::helpers::db_test!(
    kill_nine_mid_load,
    kill_nine_mid_load_then_every_retry_has_exactly_one_effect
);
