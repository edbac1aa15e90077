//! Accounts, roles and the hardened web surface.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use orderdesk::domain::Role;

use crate::helpers::{TestApp, db_test, password_of, set};

/// Every route the application declares, read from the routers' source, so that a new route
/// cannot be forgotten by this walk. Path parameters get plausible values.
fn declared_routes() -> Vec<(String, Vec<&'static str>)> {
    let mut out = Vec::new();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // The pages' routers; the JSON API (`http/api/`) answers 401, not a sign-in page,
        // and is walked by the API tests.
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(\"") {
            rest = &rest[i + 8..];
            let end = rest.find('"').unwrap();
            let path = rest[..end]
                .replace("{id}", "1")
                .replace("{line}", "1")
                .replace("{sku}", "PAPER-A4-500")
                .replace("{number}", "INV-2026-000001");
            let call_end = rest.find(")\n").unwrap_or(rest.len());
            let call = &rest[..call_end];
            let mut methods = Vec::new();
            if call.contains("get(") {
                methods.push("GET");
            }
            if call.contains("post(") {
                methods.push("POST");
            }
            out.push((path, methods));
        }
    }
    out.sort();
    assert!(out.len() >= 15, "found only {} routes: {out:?}", out.len());
    out
}

db_test!(
    anonymous_requests_to_every_protected_route_go_to_sign_in,
    |app: TestApp| async move {
        orderdesk::demo::load(&app.db).await.unwrap();
        let invoices_before = app.invoice_numbers().await;
        let anonymous = app.new_browser();
        let public = [
            "/login",
            "/healthz",
            "/readyz",
            "/static/app.css",
            "/static/app.js",
        ];
        for (path, methods) in declared_routes() {
            for method in methods {
                let req = Request::builder()
                    .method(method)
                    .uri(&path)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("idempotency_token=x"))
                    .unwrap();
                let res = anonymous.request(req).await;
                if public.contains(&path.as_str()) {
                    assert_ne!(
                        res.status,
                        StatusCode::SEE_OTHER,
                        "{method} {path} is public"
                    );
                    continue;
                }
                assert_eq!(
                    res.status,
                    StatusCode::SEE_OTHER,
                    "{method} {path} must require sign-in"
                );
                let loc = res.location().unwrap();
                assert!(loc.starts_with("/login?next="), "{method} {path} -> {loc}");
                // Signing in to land on "Sign out?" is nobody's aim: /logout goes home.
                if method == "GET" && path == "/logout" {
                    assert_eq!(loc, "/login?next=%2F");
                } else if method == "GET" {
                    assert!(
                        loc.contains(&path.replace('/', "%2F")),
                        "{path} comes back after sign-in: {loc}"
                    );
                }
            }
        }
        // Nothing changed for any of those.
        assert_eq!(app.invoice_numbers().await, invoices_before);
        app.assert_invariants().await;
    }
);

db_test!(
    sign_in_returns_to_the_page_and_sign_out_ends_the_session,
    |app: TestApp| async move {
        let b = app.new_browser();
        let res = b.get("/stock?q=x").await;
        let loc = res.location().unwrap().to_string();
        assert_eq!(loc, "/login?next=%2Fstock%3Fq%3Dx");
        let login = b.get(&loc).await;
        assert_eq!(login.status, StatusCode::OK);
        let form = set(
            &set(&login.form("form#login"), "username", "CLERK"),
            "password",
            &password_of("clerk"),
        );
        let signed = b.post("/login", &form).await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER);
        assert_eq!(signed.location(), Some("/stock?q=x"));
        let cookie = signed
            .headers
            .get(header::SET_COOKIE)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert_eq!(b.get("/stock").await.status, StatusCode::OK);

        // An off-site `next` is ignored.
        let other_tab = app.new_browser();
        let off_site = set(&form, "next", "//evil.example/");
        let evil = other_tab.post("/login", &off_site).await;
        assert_eq!(evil.location(), Some("/"));

        // Sign-out ends the session in the database: a copy of the cookie no longer works anywhere.
        let copy = b.cookie();
        let out = b.post("/logout", &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let replayed = Request::get("/stock")
            .header(header::COOKIE, copy)
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app.new_browser().request(replayed).await.status,
            StatusCode::SEE_OTHER
        );
    }
);

db_test!(
    wrong_password_unknown_and_disabled_users_get_the_same_answer_and_throttling_engages,
    |app: TestApp| async move {
        app.user("gone", Role::Clerk).await;
        let admin = app.browser_as("boss", Role::Admin).await;
        // Disable "gone" through the admin page.
        let page = admin.get("/admin/users").await;
        let gone_id = app.db.find_user("gone").await.unwrap().unwrap().id;
        let form = page.form(&format!("form[action=\"/admin/users/{gone_id}/disable\"]"));
        assert_eq!(
            admin
                .post(&format!("/admin/users/{gone_id}/disable"), &form)
                .await
                .status,
            StatusCode::SEE_OTHER
        );

        let b = app.new_browser();
        let wrong = b.try_sign_in("clerk", "not the password").await;
        let unknown = b.try_sign_in("nobody", "not the password").await;
        let disabled = b.try_sign_in("gone", &password_of("gone")).await;
        for p in [&wrong, &unknown, &disabled] {
            assert_eq!(p.status, StatusCode::UNAUTHORIZED);
            assert_eq!(
                p.text("#login-error").unwrap(),
                "Unknown user name or wrong password."
            );
            assert!(p.headers.get(header::SET_COOKIE).is_none());
        }
        // Five failures for one account within the window: refused, even with the right password.
        for _ in 0..4 {
            b.try_sign_in("clerk", "still wrong").await;
        }
        let throttled = b.try_sign_in("clerk", &password_of("clerk")).await;
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(
            throttled
                .text("#login-error")
                .unwrap()
                .contains("Too many failed sign-ins")
        );
        // Another account is not affected by this one's failures.
        assert_eq!(
            b.try_sign_in("gone2", "x").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
);

db_test!(
    each_role_does_exactly_what_it_should,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 100).await;
        orderdesk::demo::load(&app.db).await.unwrap();
        // (role, edits lines, confirms, opens the new-order form, manages users, sees invoices)
        let table = [
            (Role::Clerk, true, true, true, false, true),
            (Role::Warehouse, false, false, false, false, false),
            (Role::Accountant, false, false, false, false, true),
            (Role::Admin, true, true, true, true, true),
        ];
        for (role, edit, confirm_allowed, new_allowed, users, invoices) in table {
            assert_eq!(edit, new_allowed);
            let name = format!("r-{role}");
            let b = app.browser_as(&name, role).await;
            let order = app.draft(c, &[(a, 1)]).await;
            let status = |ok: bool| {
                if ok {
                    StatusCode::OK
                } else {
                    StatusCode::FORBIDDEN
                }
            };
            assert_eq!(
                b.get("/orders").await.status,
                StatusCode::OK,
                "{role} views orders"
            );
            assert_eq!(
                b.get("/stock").await.status,
                StatusCode::OK,
                "{role} views stock"
            );
            assert_eq!(
                b.get("/orders/new").await.status,
                status(new_allowed),
                "{role} new order"
            );
            assert_eq!(
                b.get("/invoices").await.status,
                status(invoices),
                "{role} invoices"
            );
            assert_eq!(
                b.get("/admin/users").await.status,
                status(users),
                "{role} users"
            );
            let page = b.get(&format!("/orders/{order}")).await;
            assert_eq!(
                page.count("form#add-line"),
                usize::from(edit),
                "{role} sees add-line"
            );
            assert_eq!(
                page.count("form#confirm"),
                usize::from(confirm_allowed),
                "{role} sees confirm"
            );
            // Even with a valid clerk's form, the server checks the role of whoever posts it.
            let clerk_form = app.confirm_form(order).await;
            let res = b
                .post(&format!("/orders/{order}/confirm"), &clerk_form)
                .await;
            if confirm_allowed {
                // Allowed, but the token was issued to the clerk: refused as someone else's.
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{role}");
            } else {
                assert_eq!(res.status, StatusCode::FORBIDDEN, "{role} cannot confirm");
                assert!(res.body.contains("does not allow"), "{role}: {}", res.body);
            }
            if confirm_allowed {
                let own = page.form("form#confirm");
                assert_eq!(
                    b.post(&format!("/orders/{order}/confirm"), &own)
                        .await
                        .status,
                    StatusCode::SEE_OTHER
                );
                assert_eq!(app.order_status(order).await, "confirmed");
            } else {
                assert_eq!(app.order_status(order).await, "draft");
            }
        }
        app.assert_invariants().await;
    }
);

db_test!(
    cross_site_posts_are_refused_and_change_nothing,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 10).await;
        let order = app.draft(c, &[(a, 1)]).await;
        let form = app.confirm_form(order).await;
        for (name, value) in [
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
            ("origin", "null"),
        ] {
            let mut req = app
                .browser
                .post_request(&format!("/orders/{order}/confirm"), &form);
            req.headers_mut().insert(name, value.parse().unwrap());
            req.headers_mut()
                .insert(header::HOST, "orderdesk.example".parse().unwrap());
            let res = app.browser.request(req).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{name}: {value}");
            assert!(res.body.contains("another web site"));
        }
        assert_eq!(app.order_status(order).await, "draft");
        assert_eq!(app.stock("A-1").await, 10);
        // The same form from the site itself works.
        let mut req = app
            .browser
            .post_request(&format!("/orders/{order}/confirm"), &form);
        req.headers_mut()
            .insert("origin", "http://orderdesk.example".parse().unwrap());
        req.headers_mut()
            .insert(header::HOST, "orderdesk.example".parse().unwrap());
        req.headers_mut()
            .insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert_eq!(app.browser.request(req).await.status, StatusCode::SEE_OTHER);
    }
);

db_test!(
    hostile_names_are_stored_and_shown_escaped,
    |app: TestApp| async move {
        let nasty = [
            "<script>alert(1)</script>",
            "\"'><img src=x onerror=alert(1)>",
            "Robert'); DROP TABLE orders;--",
            &"Ω≈ç√∫ 北京 مرحبا ".repeat(500),
            &"x".repeat(10_000),
        ];
        let mut tx = app.db.begin().await.unwrap();
        let mut ids = Vec::new();
        for (i, name) in nasty.iter().enumerate() {
            let customer = orderdesk::db::customers::NewCustomer {
                code: &format!("H-{i}"),
                name,
                address: name,
                vat_id: name,
            };
            ids.push(
                orderdesk::db::customers::insert(&mut tx, &customer)
                    .await
                    .unwrap(),
            );
            let product = orderdesk::db::products::NewProduct {
                sku: &format!("HOSTILE-{i}"),
                name,
                unit_price_cents: 100,
                tax_rate_bp: 2000,
                opening_stock: 10,
                reorder_level: 20,
            };
            orderdesk::db::products::insert(&mut tx, &product, "test")
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let p0 = app
            .db
            .find_product_by_sku("HOSTILE-0")
            .await
            .unwrap()
            .unwrap()
            .id;
        let order = app.draft(ids[0], &[(p0, 1)]).await;
        let form = app.confirm_form(order).await;
        assert_eq!(
            app.confirm(order, &form).await.status,
            StatusCode::SEE_OTHER
        );
        let number = app.invoice_numbers().await[0].clone();
        for path in [
            "/customers".to_string(),
            "/products".into(),
            "/stock".into(),
            "/".into(),
            "/orders".into(),
            "/orders/new".into(),
            format!("/orders/{order}"),
            format!("/orders/{order}/confirmation"),
            format!("/invoices/{number}"),
            "/invoices".into(),
        ] {
            let p = app.browser.get(&path).await;
            assert_eq!(p.status, StatusCode::OK, "{path}");
            assert!(!p.body.contains("<script>alert(1)"), "{path} must escape");
            assert!(!p.body.contains("<img src=x"), "{path} must escape");
            assert_eq!(p.count("script:not([src])"), 0, "{path}");
        }
        let p = app.browser.get("/customers?q=%3Cscript%3E").await;
        assert_eq!(p.count("#customers tbody tr"), 1);
        // Shown as text: the parsed page's text is exactly the stored name.
        assert_eq!(
            p.text("#customers tbody td:nth-child(2)").unwrap(),
            nasty[0]
        );
        // Stored exactly as given.
        let c = app.db.find_customer(ids[1]).await.unwrap().unwrap();
        assert_eq!(c.name, nasty[1]);
        let long = app.db.find_customer(ids[4]).await.unwrap().unwrap();
        assert_eq!(long.name.len(), 10_000);
    }
);

db_test!(
    a_session_survives_a_restart_and_sign_out_ends_it_on_every_server,
    |app: TestApp| async move {
        // A second server on the same database (or the first one restarted).
        let other = app.second_server(&TestApp::config()).await;
        let cookie = app.browser.cookie();
        let on_other = |cookie: String| {
            let other = other.clone();
            async move {
                use tower::ServiceExt;
                let req = Request::get("/orders")
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap();
                other.oneshot(req).await.unwrap().status()
            }
        };
        assert_eq!(
            on_other(cookie.clone()).await,
            StatusCode::OK,
            "the other server knows the session"
        );
        // A form rendered by one server is accepted by the other (tokens are signed with the
        // shared secret and claimed in the shared database).
        let c = app.customer("C-1", "Acme").await;
        let a = app.product("A-1", 100, 2000, 10).await;
        let order = app.draft(c, &[(a, 1)]).await;
        let form = app.confirm_form(order).await;
        {
            use tower::ServiceExt;
            let mut req = app
                .browser
                .post_request(&format!("/orders/{order}/confirm"), &form);
            req.headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
            let res = other.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
        }
        let replay = app.confirm(order, &form).await;
        assert!(
            replay.replayed(),
            "the first server replays what the second recorded"
        );
        assert_eq!(app.invoice_numbers().await.len(), 1);

        app.browser.post("/logout", &[]).await;
        assert_eq!(
            on_other(cookie).await,
            StatusCode::SEE_OTHER,
            "signed out everywhere"
        );
    }
);

db_test!(
    admin_adds_users_once_and_bad_input_is_explained,
    |app: TestApp| async move {
        let admin = app.browser_as("boss", Role::Admin).await;
        let page = admin.get("/admin/users").await;
        let form = page.form("form#add-user");
        let bad = set(
            &set(&set(&form, "username", "no spaces please"), "role", "root"),
            "password",
            "short",
        );
        let res = admin.post("/admin/users", &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text("#username-error").is_some());
        assert!(res.text("#role-error").is_some());
        assert!(res.text("#password-error").is_some());
        assert!(res.text("#display_name-error").is_some());
        let good = set(
            &set(
                &set(
                    &set(&form, "username", "Dora"),
                    "display_name",
                    "Dora <b>Clerk</b>",
                ),
                "role",
                "clerk",
            ),
            "password",
            "a long enough password",
        );
        let r1 = admin.post("/admin/users", &good).await;
        let r2 = admin.post("/admin/users", &good).await;
        assert_eq!(r1.status, StatusCode::SEE_OTHER, "{}", r1.body);
        assert!(r2.replayed());
        assert_eq!(
            app.db
                .list_users()
                .await
                .unwrap()
                .iter()
                .filter(|u| u.username == "dora")
                .count(),
            1
        );
        let dora = app.new_browser();
        dora.sign_in("dora", "a long enough password").await;
        assert_eq!(dora.get("/orders").await.status, StatusCode::OK);
        // A second add of the same name with a fresh form: a clear field error.
        let again = set(
            &admin.get("/admin/users").await.form("form#add-user"),
            "username",
            "dora",
        );
        let again = set(
            &set(&set(&again, "display_name", "D"), "role", "clerk"),
            "password",
            "another long password",
        );
        let res = admin.post("/admin/users", &again).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text("#username-error").unwrap().contains("exists"));
        // A clerk cannot manage users, even with an admin's form.
        let clerk_try = app.browser.post("/admin/users", &good).await;
        assert_eq!(clerk_try.status, StatusCode::FORBIDDEN);
    }
);

db_test!(
    sessions_end_when_idle_and_at_their_absolute_limit,
    |app: TestApp| async move {
        use std::time::Duration;
        for (idle, absolute) in [(1, 3600), (3600, 1)] {
            let mut cfg = TestApp::config();
            cfg.session_idle = Duration::from_secs(idle);
            cfg.session_absolute = Duration::from_secs(absolute);
            let server = app.second_server(&cfg).await;
            let b = crate::helpers::Browser::new(server);
            b.sign_in("clerk", &password_of("clerk")).await;
            assert_eq!(b.get("/orders").await.status, StatusCode::OK);
            tokio::time::sleep(Duration::from_millis(1300)).await;
            let res = b.get("/orders").await;
            assert_eq!(
                res.status,
                StatusCode::SEE_OTHER,
                "idle {idle}s, absolute {absolute}s"
            );
            assert!(res.location().unwrap().starts_with("/login"));
        }
    }
);

db_test!(
    oversize_bodies_and_odd_request_ids_are_handled,
    |app: TestApp| async move {
        let c = app.customer("C-1", "Acme").await;
        let order = app.draft(c, &[]).await;
        let form = app
            .browser
            .get(&format!("/orders/{order}"))
            .await
            .form("form#add-line");
        let huge = set(&set(&form, "sku", &"A".repeat(300 * 1024)), "quantity", "1");
        let res = app
            .browser
            .post(&format!("/orders/{order}/lines"), &huge)
            .await;
        assert_eq!(
            res.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{}",
            res.text("main").unwrap_or_default()
        );
        assert!(app.db.order_lines(order).await.unwrap().is_empty());

        let mut req = app.browser.get_request("/healthz");
        req.headers_mut()
            .insert("x-request-id", "client-id-42".parse().unwrap());
        assert_eq!(
            app.browser
                .request(req)
                .await
                .headers
                .get("x-request-id")
                .unwrap(),
            "client-id-42"
        );
        let mut req = app.browser.get_request("/healthz");
        req.headers_mut().insert(
            "x-request-id",
            "no spaces <or> markup please".parse().unwrap(),
        );
        let id = app
            .browser
            .request(req)
            .await
            .headers
            .get("x-request-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 36, "a fresh id replaces an odd one: {id}");
    }
);
