//! After a scripted day at the desk, done through the pages as people do it, the audit log
//! lists every kind of event SPEC and the issue name, each with who did it.

use axum::http::StatusCode;
use orderdesk::domain::Role;

use crate::helpers::{Browser, Page, TestApp, db_test, password_of, set};

/// Post `form` (the fields of `css` on the page at `page_path`, with `changes`) to `action`;
/// the answer must be a redirect.
async fn submit(
    b: &Browser,
    page_path: &str,
    css: &str,
    action: &str,
    changes: &[(&str, &str)],
) -> Page {
    let mut form = b.get(page_path).await.form(css);
    for (name, value) in changes {
        form = set(&form, name, value);
    }
    let res = b.post(action, &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{action}: {}", res.body);
    res
}

db_test!(
    the_audit_log_lists_every_kind_of_event_after_a_scripted_session,
    |app: TestApp| async move {
        let admin = app.browser_as("boss", Role::Admin).await;
        let accountant = app.browser_as("anna", Role::Accountant).await;
        let warehouse = app.browser_as("walter", Role::Warehouse).await;
        let clerk = &app.browser;

        // A failed sign-in, and a sign-out.
        let stranger = app.new_browser();
        let refused = stranger.try_sign_in("boss", "not the password").await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let leaving = app.new_browser();
        leaving.sign_in("anna", &password_of("anna")).await;
        let bye = leaving.post("/logout", &[]).await;
        assert_eq!(bye.status, StatusCode::SEE_OTHER);

        // Users and API tokens.
        let users = "/admin/users";
        submit(
            &admin,
            users,
            "form#add-user",
            users,
            &[
                ("username", "newbie"),
                ("display_name", "New Clerk"),
                ("role", "clerk"),
                ("password", "a long enough password"),
            ],
        )
        .await;
        submit(
            &admin,
            users,
            "form#add-token",
            "/admin/api-tokens",
            &[("username", "newbie"), ("label", "script")],
        )
        .await;
        let token = app.db.list_api_tokens().await.unwrap()[0].id;
        let revoke = format!("tr[data-token=\"{token}\"] form");
        submit(
            &admin,
            users,
            &revoke,
            &format!("/admin/api-tokens/{token}/revoke"),
            &[],
        )
        .await;
        let newbie = app.db.find_user("newbie").await.unwrap().unwrap().id;
        let disable = format!("/admin/users/{newbie}/disable");
        let row = "tr[data-user=\"newbie\"] form";
        submit(&admin, users, row, &disable, &[]).await;

        // Master data: a customer and a product, edited, deactivated and reactivated.
        submit(
            &admin,
            "/customers/new",
            "form#customer",
            "/customers",
            &[
                ("code", "C-77"),
                ("name", "Zeta GmbH"),
                ("address", "1 Road"),
            ],
        )
        .await;
        submit(
            &admin,
            "/customers/C-77/edit",
            "form#customer",
            "/customers/C-77/edit",
            &[("address", "2 Road")],
        )
        .await;
        submit(
            &admin,
            "/products/new",
            "form#product",
            "/products",
            &[
                ("sku", "GLUE-1"),
                ("name", "Glue"),
                ("unit_price", "2.50"),
                ("tax_rate", "20"),
                ("reorder_level", "5"),
            ],
        )
        .await;
        submit(
            &admin,
            "/products/GLUE-1/edit",
            "form#product",
            "/products/GLUE-1/edit",
            &[("unit_price", "2.75")],
        )
        .await;
        for (path, css) in [
            ("/products/GLUE-1", "form#product-active"),
            ("/products/GLUE-1", "form#product-active"),
            ("/customers/C-77", "form#customer-active"),
            ("/customers/C-77", "form#customer-active"),
        ] {
            let edit = format!("{path}/edit");
            submit(&admin, &edit, css, &format!("{path}/active"), &[]).await;
        }

        // Goods in, an order with a line added and one removed, confirmed, then cancelled.
        submit(
            &warehouse,
            "/receipts/new",
            "form#receipt",
            "/receipts",
            &[("sku", "GLUE-1"), ("quantity", "40"), ("note", "opening")],
        )
        .await;
        let customer = app
            .db
            .find_customer_by_code("C-77")
            .await
            .unwrap()
            .unwrap()
            .id;
        let created = submit(
            clerk,
            "/orders/new",
            "form[action=\"/orders\"]",
            "/orders",
            &[
                ("customer_id", &customer.to_string()),
                ("reference", "PO 9"),
            ],
        )
        .await;
        let order_path = created.location().unwrap().to_string();
        let lines = format!("{order_path}/lines");
        for qty in ["3", "1"] {
            submit(
                clerk,
                &order_path,
                "form#add-line",
                &lines,
                &[("sku", "GLUE-1"), ("quantity", qty)],
            )
            .await;
        }
        let order: i64 = order_path.rsplit('/').next().unwrap().parse().unwrap();
        // The second add of the same product merged into the first line; remove that line
        // and add the product once more, so the order still has a line to confirm.
        let line = app.db.order_lines(order).await.unwrap()[0].id;
        let remove = format!("tr[data-line=\"{line}\"] form");
        let remove_action = format!("{order_path}/lines/{line}/delete");
        submit(clerk, &order_path, &remove, &remove_action, &[]).await;
        submit(
            clerk,
            &order_path,
            "form#add-line",
            &lines,
            &[("sku", "GLUE-1"), ("quantity", "1")],
        )
        .await;
        let form = app.confirm_form(order).await;
        assert_eq!(
            app.confirm(order, &form).await.status,
            StatusCode::SEE_OTHER
        );
        let cancel = format!("{order_path}/cancel");
        submit(
            &accountant,
            &order_path,
            "form#cancel",
            &cancel,
            &[("reason", "Customer withdrew")],
        )
        .await;

        // Every kind of event, with who did it, as the admin reads the log.
        for (action, actor) in [
            ("sign-in", "boss"),
            ("sign-out", "anna"),
            ("sign-in-failed", "boss"),
            ("add-user", "boss"),
            ("disable-user", "boss"),
            ("create-api-token", "boss"),
            ("revoke-api-token", "boss"),
            ("create-customer", "boss"),
            ("update-customer", "boss"),
            ("deactivate-customer", "boss"),
            ("reactivate-customer", "boss"),
            ("create-product", "boss"),
            ("update-product", "boss"),
            ("deactivate-product", "boss"),
            ("reactivate-product", "boss"),
            ("receive", "walter"),
            ("create", "clerk"),
            ("add-line", "clerk"),
            ("remove-line", "clerk"),
            ("confirm", "clerk"),
            ("cancel", "anna"),
        ] {
            let page = admin
                .get(&format!("/audit?action={action}&actor={actor}"))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{action}: {}", page.body);
            assert!(
                page.count("#audit tbody tr[data-event]") >= 1,
                "the log lists a {action} event by {actor}: {}",
                page.body
            );
        }
        // Master-data changes carry their old and new values.
        let changed = admin.get("/audit?action=update-product").await;
        let detail = changed
            .text("#audit tbody tr[data-event] td:last-child")
            .unwrap();
        assert!(
            detail.contains("2.50") && detail.contains("2.75"),
            "old and new price: {detail}"
        );
        let cancelled = admin.get("/audit?action=cancel").await;
        assert!(cancelled.body.contains("Customer withdrew"));
        app.assert_invariants().await;
    }
);
