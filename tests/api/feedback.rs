//! What a person is told between pages: the display time zone, flash messages, error pages
//! with the header, GETs of form addresses, a form kept across an expired session, and
//! `Cache-Control: no-store`.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use orderdesk::domain::{Role, Zone};
use orderdesk::server::state;

use crate::helpers::{Browser, Page, TestApp, db_test, password_of, set};

/// The value a response sets for cookie `name` (`Some("")` when it clears it).
fn set_cookie(page: &Page, name: &str) -> Option<String> {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
}

/// Send `req` from `browser` with `extra` cookies beside its session cookie.
async fn with_cookies(browser: &Browser, mut req: Request<Body>, extra: &[(&str, &str)]) -> Page {
    let mut cookies: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let own = browser.cookie();
    if !own.is_empty() {
        cookies.push(own);
    }
    if !cookies.is_empty() {
        req.headers_mut()
            .insert(header::COOKIE, cookies.join("; ").parse().unwrap());
    }
    browser.request(req).await
}

/// A server on the test's database that shows times in `zone`.
async fn server_in(app: &TestApp, zone: &str) -> Router {
    let mut cfg = TestApp::config();
    cfg.timezone = zone.into();
    app.second_server(&cfg).await
}

db_test!(
    pages_show_times_in_the_configured_zone,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let p = app.product("PAPER", 500, 2000, 10).await;
        let order = app.draft(c, &[(p, 1)]).await;
        let created = app.db.find_order(order).await.unwrap().unwrap().created_at;
        let vienna = Zone::named("Europe/Vienna").unwrap();

        let b = Browser::new(server_in(&app, "Europe/Vienna").await);
        b.sign_in("clerk", &password_of("clerk")).await;
        let page = b.get(&format!("/orders/{order}")).await;
        assert_eq!(page.status, StatusCode::OK);
        let local = vienna.datetime(created);
        assert!(
            local.ends_with(" CET") || local.ends_with(" CEST"),
            "{local}"
        );
        assert!(page.body.contains(&local), "{local} not in {}", page.body);
        let utc = Zone::utc().datetime(created);
        assert!(!page.body.contains(&utc), "a UTC time is shown: {utc}");

        // The default server still shows UTC, and the JSON API keeps RFC 3339 UTC whatever the zone.
        let page = app.browser.get(&format!("/orders/{order}")).await;
        assert!(page.body.contains(&utc), "{}", page.body);
    }
);

db_test!(
    today_on_the_dashboard_is_today_in_the_zone,
    |app: TestApp| async move {
        // UTC+14 and UTC-12 are never on the same calendar day.
        let east = Zone::named("Pacific/Kiritimati").unwrap();
        let west = Zone::named("Etc/GMT+12").unwrap();
        for (name, zone) in [("Pacific/Kiritimati", &east), ("Etc/GMT+12", &west)] {
            let b = Browser::new(server_in(&app, name).await);
            b.sign_in("clerk", &password_of("clerk")).await;
            let page = b.get("/").await;
            assert_eq!(page.status, StatusCode::OK);
            let today = format!("Confirmed today ({})", zone.today());
            assert!(page.body.contains(&today), "{today} not in {}", page.body);
        }
        assert_ne!(east.today(), west.today());
        // A confirmation made now counts as today in either zone.
        let c = app.customer("C-1", "Acme").await;
        let p = app.product("PAPER", 500, 2000, 10).await;
        let order = app.draft(c, &[(p, 1)]).await;
        let form = app.confirm_form(order).await;
        assert_eq!(
            app.confirm(order, &form).await.status,
            StatusCode::SEE_OTHER
        );
        for name in ["Pacific/Kiritimati", "Etc/GMT+12"] {
            let b = Browser::new(server_in(&app, name).await);
            b.sign_in("clerk", &password_of("clerk")).await;
            let page = b.get("/").await;
            assert_eq!(page.text(".card .big").as_deref(), Some("1"), "{name}");
        }
    }
);

db_test!(
    an_unknown_time_zone_stops_the_server,
    |app: TestApp| async move {
        let mut cfg = TestApp::config();
        cfg.timezone = "Europe/Vienn".into();
        let err = state(app.db.clone(), &cfg).await.err().expect("refused");
        assert!(err.to_string().contains("\"Europe/Vienn\""), "{err}");
    }
);

#[test]
fn serve_with_an_unknown_time_zone_exits_non_zero_naming_it() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderdesk"))
        .args([
            "--database-url",
            "sqlite::memory:",
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .args(["--timezone", "Mars/Olympus_Mons"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Mars/Olympus_Mons"), "{err}");
}

/// A warehouse browser on the receipt form, and the form with `qty` of `sku` filled in.
async fn receipt_form(app: &TestApp, sku: &str, qty: &str) -> (Browser, Vec<(String, String)>) {
    let b = app.browser_as("wh", Role::Warehouse).await;
    let page = b.get("/receipts/new").await;
    let form = set(&set(&page.form("#receipt"), "sku", sku), "quantity", qty);
    (b, form)
}

db_test!(
    a_successful_form_leaves_a_one_time_message,
    |app: TestApp| async move {
        app.product("PAPER", 500, 2000, 10).await;
        let (b, form) = receipt_form(&app, "PAPER", "10").await;
        let done = b.post("/receipts", &form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let flash = set_cookie(&done, "orderdesk_flash").expect("a flash cookie");
        assert!(!flash.is_empty());

        // The next page shows it in the live region, and clears it.
        let next = done.location().unwrap().to_string();
        let page = with_cookies(&b, b.get_request(&next), &[("orderdesk_flash", &flash)]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.text("[role=status] .flash").as_deref(),
            Some("Goods received: 10 x PAPER")
        );
        assert_eq!(set_cookie(&page, "orderdesk_flash").as_deref(), Some(""));
        // Without it (the browser dropped it), nothing is shown again.
        let again = b.get(&next).await;
        assert_eq!(again.count(".flash"), 0);

        // Never shown to another user, even with the very cookie.
        let other = app.browser_as("wh2", Role::Warehouse).await;
        let page = with_cookies(
            &other,
            other.get_request(&next),
            &[("orderdesk_flash", &flash)],
        )
        .await;
        assert_eq!(page.count(".flash"), 0, "{}", page.body);
        // Nor a forged one.
        let forged = flash.replacen(|c: char| c.is_ascii_hexdigit(), "0", 4);
        let page = with_cookies(&b, b.get_request(&next), &[("orderdesk_flash", &forged)]).await;
        assert_eq!(page.count(".flash"), 0);

        // A replay (the same form again) repeats no Set-Cookie, so no second message.
        let replay = b.post("/receipts", &form).await;
        assert!(replay.replayed());
        assert!(set_cookie(&replay, "orderdesk_flash").is_none());
        assert_eq!(app.stock("PAPER").await, 20);
    }
);

db_test!(
    signing_out_says_so_on_the_sign_in_page,
    |app: TestApp| async move {
        let out = app.browser.post("/logout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let flash = set_cookie(&out, "orderdesk_flash").expect("a flash cookie");
        let page = with_cookies(
            &app.browser,
            app.browser.get_request("/login"),
            &[("orderdesk_flash", &flash)],
        )
        .await;
        assert_eq!(page.text(".flash").as_deref(), Some("Signed out."));
        assert!(page.body.contains("aria-live=\"polite\""));
    }
);

db_test!(
    master_data_forms_say_what_they_did,
    |app: TestApp| async move {
        let admin = app.browser_as("boss", Role::Admin).await;
        let page = admin.get("/customers/new").await;
        let form = set(
            &set(&page.form("form.form"), "code", "C-77"),
            "name",
            "Zed & Co",
        );
        let done = admin.post("/customers", &form).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        let flash = set_cookie(&done, "orderdesk_flash").unwrap();
        let page = with_cookies(
            &admin,
            admin.get_request(done.location().unwrap()),
            &[("orderdesk_flash", &flash)],
        )
        .await;
        assert_eq!(page.text(".flash").as_deref(), Some("Customer C-77 added."));
    }
);

db_test!(
    error_pages_keep_the_header_and_link_back,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let p = app.product("PAPER", 500, 2000, 10).await;
        let order = app.draft(c, &[(p, 1)]).await;

        let page = app.browser.get("/orders/999999").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(page.text(".who-name").unwrap().contains("Test clerk"));
        assert_eq!(page.count("form.logout"), 1);
        assert_eq!(page.count("nav[aria-label=Main] a[href='/orders']"), 1);

        // A refused form links back to its order.
        let form = set(
            &app.confirm_form(order).await,
            "idempotency_token",
            "forged",
        );
        let page = app.confirm(order, &form).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.text(".who-name").is_some(), "{}", page.body);
        assert_eq!(
            page.text(&format!(".error-panel a[href='/orders/{order}']"))
                .as_deref(),
            Some(format!("Back to order {order}").as_str())
        );

        // A role's refusal keeps the menu of that role.
        let wh = app.browser_as("wh", Role::Warehouse).await;
        let page = wh.get("/invoices").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(
            page.count("nav a[href='/receipts/new']"),
            1,
            "{}",
            page.body
        );
        assert_eq!(page.count("nav a[href='/invoices']"), 0);
    }
);

db_test!(
    a_get_of_a_form_address_goes_to_its_page,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let order = app.draft(c, &[]).await;
        for (path, to) in [
            (format!("/orders/{order}/lines"), format!("/orders/{order}")),
            (
                format!("/orders/{order}/confirm"),
                format!("/orders/{order}"),
            ),
            (
                format!("/orders/{order}/lines/1/delete"),
                format!("/orders/{order}"),
            ),
            ("/receipts".to_string(), "/receipts/new".to_string()),
        ] {
            let page = app.browser.get(&path).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
            assert_eq!(page.location(), Some(to.as_str()), "{path}");
        }
        // Other methods get a 405 page with the header (and the `Allow` header); the API its
        // 405 problem.
        for (method, path) in [
            ("PUT", format!("/orders/{order}/lines")),
            ("DELETE", format!("/orders/{order}")),
            ("PATCH", "/customers".to_string()),
        ] {
            let page = app
                .browser
                .request(
                    Request::builder()
                        .method(method)
                        .uri(&path)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            assert_eq!(
                page.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert!(page.headers.get(header::ALLOW).is_some(), "{method} {path}");
            assert_eq!(
                page.text("h1").as_deref(),
                Some("That address does not take this request"),
                "{method} {path}: {}",
                page.body
            );
            assert!(
                page.text(".who-name").is_some(),
                "the header: {}",
                page.body
            );
        }
        let api = crate::api_client::clerk_client(&app).await;
        let res = api
            .send(
                Request::get(format!("/api/v1/orders/{order}/confirm"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        res.expect_problem(405, "method-not-allowed");
    }
);

db_test!(
    signed_in_pages_are_never_stored,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let p = app.product("PAPER", 500, 2000, 10).await;
        let order = app.draft(c, &[(p, 1)]).await;
        let form = app.confirm_form(order).await;
        app.confirm(order, &form).await;
        let number = app.invoice_numbers().await.remove(0);
        for path in [
            "/".to_string(),
            format!("/orders/{order}"),
            format!("/invoices/{number}"),
            "/orders/999999".to_string(),
            "/login".to_string(),
        ] {
            let page = app.browser.get(&path).await;
            assert_eq!(
                page.headers
                    .get(header::CACHE_CONTROL)
                    .map(|v| v.to_str().unwrap()),
                Some("no-store"),
                "{path}"
            );
        }
        let out = app.browser.post("/logout", &[]).await;
        assert_eq!(out.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
        let login = app.browser.get("/login").await;
        assert_eq!(
            login.headers.get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
    }
);

db_test!(
    an_expired_session_keeps_the_typed_form,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        app.product("PAPER", 500, 2000, 10).await;
        let order = app.draft(c, &[]).await;
        // A server whose sessions expire after a second idle.
        let mut cfg = TestApp::config();
        cfg.session_idle = Duration::from_secs(1);
        let server = app.second_server(&cfg).await;
        let b = Browser::new(server.clone());
        b.sign_in("clerk", &password_of("clerk")).await;
        let page = b.get(&format!("/orders/{order}")).await;
        let form = set(
            &set(&page.form("#add-line"), "sku", "paper"),
            "quantity",
            "7",
        );
        tokio::time::sleep(Duration::from_millis(2100)).await;

        let mut req = b.post_request(&format!("/orders/{order}/lines"), &form);
        req.headers_mut()
            .insert(header::HOST, "desk.example".parse().unwrap());
        req.headers_mut().insert(
            header::REFERER,
            format!("http://desk.example/orders/{order}")
                .parse()
                .unwrap(),
        );
        let refused = b.request(req).await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER);
        assert_eq!(
            refused.location(),
            Some(format!("/login?next=%2Forders%2F{order}").as_str())
        );
        assert!(
            app.db.order_lines(order).await.unwrap().is_empty(),
            "nothing sent"
        );
        let kept = set_cookie(&refused, "orderdesk_restore").expect("the form is kept");
        assert!(
            !kept.contains("_token"),
            "the old token is not kept: {kept}"
        );

        // The sign-in page says so.
        let login = with_cookies(
            &b,
            b.get_request(&format!("/login?next=%2Forders%2F{order}")),
            &[("orderdesk_restore", &kept)],
        )
        .await;
        assert!(
            login.body.contains("Your session has expired"),
            "{}",
            login.body
        );

        // Another person signing in at this browser (no session of the form's owner) does not
        // get it: the cookie is dropped.
        app.user("clerk2", Role::Clerk).await;
        let other = Browser::new(server.clone());
        let signed_in = with_cookies(
            &other,
            other.post_request("/login", &login_fields("clerk2", order)),
            &[("orderdesk_restore", &kept)],
        )
        .await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        assert_eq!(
            set_cookie(&signed_in, "orderdesk_restore").as_deref(),
            Some("")
        );

        // Its owner, whose browser still sends the expired session's cookie, signs in again and
        // lands on the order with the form filled in again.
        let signed_in = with_cookies(
            &b,
            b.post_request("/login", &login_fields("clerk", order)),
            &[("orderdesk_restore", &kept)],
        )
        .await;
        assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
        assert_eq!(
            signed_in.location(),
            Some(format!("/orders/{order}").as_str())
        );
        assert!(
            set_cookie(&signed_in, "orderdesk_restore").is_none(),
            "kept for its owner"
        );

        let page = with_cookies(
            &b,
            b.get_request(&format!("/orders/{order}")),
            &[("orderdesk_restore", &kept)],
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(
            page.html()
                .select(&scraper::Selector::parse("#kept-form").unwrap())
                .next()
                .and_then(|e| e.value().attr("data-action").map(str::to_string)),
            Some(format!("/orders/{order}/lines"))
        );
        assert_eq!(
            page.count("#kept-form input[data-name=sku][value=paper]"),
            1
        );
        assert_eq!(
            page.count("#kept-form input[data-name=quantity][value='7']"),
            1
        );
        assert_eq!(
            page.count("#kept-form input[data-name=idempotency_token]"),
            0
        );
        assert_eq!(set_cookie(&page, "orderdesk_restore").as_deref(), Some(""));
        // Nothing was sent on the clerk's behalf: they send it themselves with a fresh form.
        assert!(app.db.order_lines(order).await.unwrap().is_empty());
        let fresh = set(
            &set(&page.form("#add-line"), "sku", "PAPER"),
            "quantity",
            "7",
        );
        let added = b.post(&format!("/orders/{order}/lines"), &fresh).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        assert_eq!(app.db.order_lines(order).await.unwrap().len(), 1);
    }
);

fn login_fields(name: &str, order: i64) -> Vec<(String, String)> {
    vec![
        ("username".into(), name.into()),
        ("password".into(), password_of(name)),
        ("next".into(), format!("/orders/{order}")),
    ]
}

/// The counter of responses of `class` ("4xx") a server reports on `/metrics`.
async fn responses(b: &Browser, scrape: &str, class: &str) -> u64 {
    let page = b
        .request(
            Request::get("/metrics")
                .header(header::AUTHORIZATION, format!("Bearer {scrape}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let metric = |name: &str| {
        let prefix = format!("{name}{{class=\"{class}\"}} ");
        page.body
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {prefix} in {}", page.body))
    };
    metric("orderdesk_http_responses_total") * 1000 + metric("orderdesk_api_responses_total")
}

db_test!(
    a_request_past_the_timeout_gets_a_page_or_a_problem_and_is_counted,
    |app: TestApp| async move {
        let cfg = orderdesk::server::ServerConfig {
            request_timeout: Duration::from_millis(300),
            metrics_token: Some("scrape".into()),
            ..TestApp::config()
        };
        let router = app.second_server(&cfg).await;
        let clerk = Browser::new(router.clone());
        clerk.sign_in("clerk", &password_of("clerk")).await;
        let c = app.customer("C-1", "Acme").await;
        let p = app.product("PAPER", 500, 2000, 10).await;
        let order = app.draft(c, &[(p, 1)]).await;
        let form = clerk
            .get(&format!("/orders/{order}"))
            .await
            .form("form#confirm");
        let before = responses(&clerk, "scrape", "4xx").await;

        // A confirmation that takes a second: the clerk is told, with the header, after 300 ms.
        app.db
            .faults()
            .set_action_delay(Duration::from_millis(1000));
        let slow = clerk.post(&format!("/orders/{order}/confirm"), &form).await;
        assert_eq!(slow.status, StatusCode::REQUEST_TIMEOUT, "{}", slow.body);
        assert_eq!(slow.text("h1").as_deref(), Some("That took too long"));
        assert!(
            slow.text(".who-name").is_some(),
            "the header: {}",
            slow.body
        );
        assert!(
            !slow.body.to_lowercase().contains("nothing was changed"),
            "the outcome is unknown: {}",
            slow.body
        );
        assert_eq!(
            responses(&clerk, "scrape", "4xx").await,
            before + 1000,
            "counted among all responses"
        );

        // The API: a problem, counted among the API's responses too.
        let (api, _) = crate::api_client::client_as(&app, "clerk", Role::Clerk).await;
        let api = api.on(router.clone());
        let order2 = app.draft(c, &[(p, 1)]).await;
        let res = api
            .post(
                &format!("/api/v1/orders/{order2}/confirm"),
                Some("slow-1"),
                &serde_json::json!({}),
            )
            .await;
        res.expect_problem(408, "request-timeout");
        assert_eq!(
            responses(&clerk, "scrape", "4xx").await,
            before + 2001,
            "counted among all and among the API's responses"
        );
        // A 405 is counted like any answer.
        let put = clerk
            .request(
                Request::put(format!("/orders/{order}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(responses(&clerk, "scrape", "4xx").await, before + 3001);

        // The work went on: sending the same form again shows the one confirmation.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        app.db.faults().set_action_delay(Duration::ZERO);
        let again = clerk.post(&format!("/orders/{order}/confirm"), &form).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
        assert_eq!(
            again.location(),
            Some(format!("/orders/{order}/confirmation").as_str())
        );
        let replay = api
            .post(
                &format!("/api/v1/orders/{order2}/confirm"),
                Some("slow-1"),
                &serde_json::json!({}),
            )
            .await;
        replay.expect(201);
        assert_eq!(
            app.invoice_numbers().await.len(),
            2,
            "one invoice per order"
        );
        app.assert_invariants().await;
    }
);

db_test!(
    get_logout_asks_first_and_can_sign_out_everywhere,
    |app: TestApp| async move {
        let other = app.new_browser();
        other.sign_in("clerk", &password_of("clerk")).await;
        let third = app.new_browser();
        third.sign_in("clerk", &password_of("clerk")).await;

        // A GET (a link, a typed address) asks; it signs nobody out.
        let ask = app.browser.get("/logout").await;
        assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
        assert_eq!(ask.text("h1").as_deref(), Some("Sign out?"));
        assert!(ask.text(".who-name").is_some(), "the header");
        assert_eq!(ask.form("form#sign-out").len(), 0, "a plain sign-out");
        assert_eq!(app.browser.get("/").await.status, StatusCode::OK);

        // Its first button signs out this browser only.
        let out = app.browser.post("/logout", &[]).await;
        assert_eq!(out.location(), Some("/login"));
        assert_eq!(app.browser.get("/").await.status, StatusCode::SEE_OTHER);
        assert_eq!(other.get("/").await.status, StatusCode::OK);

        // "Sign out everywhere" ends every session of the user.
        let ask = other.get("/logout").await;
        let everywhere = ask.form("form#sign-out-everywhere");
        let out = other.post("/logout", &everywhere).await;
        assert_eq!(out.location(), Some("/login"));
        for b in [&other, &third] {
            let page = b.get("/").await;
            assert_eq!(page.status, StatusCode::SEE_OTHER);
            assert!(page.location().unwrap().starts_with("/login"));
        }
        // Signed out, `/logout` is no place to come back to after signing in.
        let page = app.browser.get("/logout").await;
        assert_eq!(page.location(), Some("/login?next=%2F"));
    }
);
