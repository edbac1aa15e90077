//! In Chromium: Back after signing out shows the sign-in page, not the invoice it came from,
//! and the sign-in page says "Signed out." once.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{browser, scene};
use crate::helpers::Backend;

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
