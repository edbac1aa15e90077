//! In Chromium: Back after signing out shows the sign-in page, not the invoice it came from,
//! and the sign-in page says "Signed out." once; a line typed when the session had expired
//! is back in the form after signing in again.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{browser, scene, serve};
use crate::helpers::{Backend, TestApp, password_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_back_after_sign_out_shows_the_sign_in_page() {
    let Some(s) = scene(Backend::Sqlite, 1).await else {
        return;
    };
    let Some(b) = browser(true).await else { return };
    let number = b.sign_in_and_confirm(&s).await;
    b.client
        .goto(&format!("{}/invoices/{number}", s.base))
        .await
        .unwrap();
    b.wait_for(".who-name").await;
    let invoice = b.client.source().await.unwrap();
    assert!(invoice.contains(&number));

    b.click("form.logout button[type=submit]").await;
    let flash = b.wait_for(".flash-region .flash").await;
    assert_eq!(flash.text().await.unwrap(), "Signed out.");
    b.wait_for("#login").await;

    b.client.back().await.unwrap();
    let login = b
        .client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css("#login"))
        .await;
    let html = b.client.source().await.unwrap();
    assert!(login.is_ok(), "Back shows the sign-in page, not: {html}");
    // (The sign-in page names the invoice only as where to go after signing in.)
    assert!(
        !html.contains("Brightwater"),
        "the invoice is not shown again: {html}"
    );
    assert!(!html.contains("who-name"));
    // The message was shown once: the sign-in page after Back does not repeat it.
    assert!(!html.contains("Signed out."), "{html}");
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/login"),
        "at the sign-in page"
    );
    s.app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browser_a_line_typed_after_the_session_expired_is_back_after_sign_in() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let c = app.customer("C-1001", "Brightwater Cafés Ltd").await;
    app.product("PAPER-A4", 549, 2000, 100).await;
    let order = app.draft(c, &[]).await;
    // Sessions on this server end after three seconds without a sign-in.
    let mut cfg = TestApp::config();
    cfg.session_idle = Duration::from_secs(3);
    let server = serve(app.second_server(&cfg).await).await;
    let base = format!("http://{}", server.addr);
    let Some(b) = browser(true).await else { return };
    b.sign_in(&base, "clerk").await;
    b.client
        .goto(&format!("{base}/orders/{order}"))
        .await
        .unwrap();
    b.fill("#sku", "PAPER-A4").await;
    b.fill("#quantity", "3").await;
    tokio::time::sleep(Duration::from_millis(3300)).await;
    b.click("#add-line button[type=submit]").await;

    let notice = b.wait_for("p.notice").await;
    assert!(notice.text().await.unwrap().contains("session has expired"));
    assert!(
        app.db.order_lines(order).await.unwrap().is_empty(),
        "nothing was sent"
    );
    b.fill("#username", "clerk").await;
    b.fill("#password", &password_of("clerk")).await;
    b.click("#login button[type=submit]").await;

    b.wait_for("#kept-form").await;
    assert_eq!(
        b.client.current_url().await.unwrap().path(),
        format!("/orders/{order}")
    );
    let value = |css: &'static str| {
        let client = b.client.clone();
        async move {
            client
                .find(Locator::Css(css))
                .await
                .unwrap()
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default()
        }
    };
    assert_eq!(value("#add-line #sku").await, "PAPER-A4");
    assert_eq!(value("#add-line #quantity").await, "3");
    assert!(
        app.db.order_lines(order).await.unwrap().is_empty(),
        "not sent by itself"
    );
}
