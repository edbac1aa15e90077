//! API tokens: made on the command line or on the admin's users page, shown once, stored
//! hashed, acting as their user, and ended on every server by a revoke.

use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use orderdesk::db::{Db, DbOptions};
use orderdesk::domain::Role;
use tower::ServiceExt;

use crate::helpers::{TestApp, db_test};

/// Run `orderdesk` on `db`; (success, standard output, standard error).
fn orderdesk(db: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_orderdesk"))
        .arg("--database-url")
        .arg(db)
        .args(args)
        .output()
        .expect("run orderdesk");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `GET path` on `router` with `Authorization: Bearer token`: the status.
async fn api_get(router: &axum::Router, path: &str, token: &str) -> StatusCode {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    router.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_adds_lists_and_revokes_tokens() {
    let path = std::env::temp_dir().join(format!("od_tok_{}.db", uuid::Uuid::new_v4().simple()));
    let db = format!("sqlite:{}", path.display());
    let (ok, _, err) = orderdesk(&db, &["demo"]);
    assert!(ok, "{err}");

    let (ok, out, err) = orderdesk(&db, &["api-token", "add", "clerk", "--label", "web shop"]);
    assert!(ok, "{out}{err}");
    let token = out.lines().last().unwrap_or_default().to_string();
    assert!(
        token.starts_with("odk_") && token.len() == 68 && !token.contains(' '),
        "the token alone on the last line: {out:?}"
    );

    // Listed by id, hint, user and label; never the secret.
    let (ok, list, _) = orderdesk(&db, &["api-token", "list"]);
    assert!(ok);
    let row = list.lines().find(|l| l.contains("web shop")).unwrap();
    assert!(row.contains("clerk") && row.contains("active"), "{list}");
    assert!(!list.contains(&token), "the secret is never shown again");
    assert!(
        list.contains(&token[..10]),
        "its first characters identify it"
    );
    let id = row.split_whitespace().next().unwrap().to_string();

    // The token acts as the clerk on a server over the same database.
    let handle = Db::connect(&DbOptions {
        url: db.clone(),
        max_connections: 2,
        lock_wait: std::time::Duration::from_secs(5),
    })
    .await
    .unwrap();
    let router = orderdesk::http::router(
        orderdesk::server::state(handle.clone(), &TestApp::config())
            .await
            .unwrap(),
    );
    assert_eq!(
        api_get(&router, "/api/v1/products", &token).await,
        StatusCode::OK
    );

    let (ok, out, err) = orderdesk(&db, &["api-token", "revoke", &id]);
    assert!(ok && out.contains("revoked"), "{out}{err}");
    assert_eq!(
        api_get(&router, "/api/v1/products", &token).await,
        StatusCode::UNAUTHORIZED,
        "a revoked token stops working at once"
    );
    let (ok, out, _) = orderdesk(&db, &["api-token", "revoke", &id]);
    assert!(
        ok && out.contains("already"),
        "revoking twice changes nothing: {out}"
    );
    let (ok, list, _) = orderdesk(&db, &["api-token", "list"]);
    assert!(ok && list.contains("revoked"), "{list}");

    // Refusals say why and store nothing.
    let (ok, _, err) = orderdesk(&db, &["api-token", "add", "nobody"]);
    assert!(!ok && err.contains("no user named nobody"), "{err}");
    let long = "x".repeat(81);
    let (ok, _, err) = orderdesk(&db, &["api-token", "add", "clerk", "--label", &long]);
    assert!(!ok && err.contains("at most 80"), "{err}");
    let (ok, _, err) = orderdesk(&db, &["api-token", "revoke", "999"]);
    assert!(!ok && err.contains("no API token 999"), "{err}");
    assert_eq!(handle.list_api_tokens().await.unwrap().len(), 1);

    // A disabled user's tokens end with the user.
    let (_, out, _) = orderdesk(&db, &["api-token", "add", "warehouse"]);
    let warehouse = out.lines().last().unwrap_or_default().to_string();
    assert_eq!(
        api_get(&router, "/api/v1/products", &warehouse).await,
        StatusCode::OK
    );
    let (ok, _, err) = orderdesk(&db, &["user", "disable", "warehouse"]);
    assert!(ok, "{err}");
    assert_eq!(
        api_get(&router, "/api/v1/products", &warehouse).await,
        StatusCode::UNAUTHORIZED
    );

    handle.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// The value a `Set-Cookie` header of `page` gives cookie `name` (empty when it removes it).
fn set_cookie(page: &crate::helpers::Page, name: &str) -> Option<String> {
    page.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
}

db_test!(
    an_admin_makes_a_token_on_the_users_page_and_sees_it_once,
    |app: TestApp| async move {
        let admin = app.browser_as("boss", Role::Admin).await;
        let form = admin.get("/admin/users").await.form("form#add-token");
        let form = crate::helpers::set(&form, "username", "clerk");
        let form = crate::helpers::set(&form, "label", "EDI gateway");
        let created = admin.post("/admin/api-tokens", &form).await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert_eq!(created.location(), Some("/admin/users"));
        let flash =
            set_cookie(&created, "orderdesk_new_api_token").expect("the token travels once");

        // The page it leads to shows the token, and says to copy it now.
        let req = Request::get("/admin/users")
            .header(
                header::COOKIE,
                format!("{}; orderdesk_new_api_token={flash}", admin.cookie()),
            )
            .body(Body::empty())
            .unwrap();
        let shown = admin.request(req).await;
        assert_eq!(shown.status, StatusCode::OK);
        let secret = shown
            .text("#new-token code")
            .expect("the new token is shown");
        assert!(secret.starts_with("odk_"), "{secret}");
        assert_eq!(
            set_cookie(&shown, "orderdesk_new_api_token").as_deref(),
            Some(""),
            "and the cookie that carried it is removed"
        );
        assert_eq!(
            shown.headers.get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        let again = admin.get("/admin/users").await;
        assert_eq!(again.count("#new-token"), 0, "shown only once");
        assert!(!again.body.contains(&secret));
        assert_eq!(again.count("#tokens tbody tr"), 1);

        // A double-click on Create makes one token, and the replay carries no secret.
        let dup = admin.post("/admin/api-tokens", &form).await;
        assert_eq!(dup.status, StatusCode::SEE_OTHER);
        assert!(dup.replayed());
        assert!(set_cookie(&dup, "orderdesk_new_api_token").is_none());
        assert_eq!(app.db.list_api_tokens().await.unwrap().len(), 1);

        // The token acts as the clerk; the row says who and what for.
        assert_eq!(
            api_get(&app.router, "/api/v1/orders", &secret).await,
            StatusCode::OK
        );
        let row = app.db.list_api_tokens().await.unwrap().remove(0);
        assert_eq!(
            (row.username.as_str(), row.label.as_str()),
            ("clerk", "EDI gateway")
        );

        // Revoked on the page: it stops working at once.
        let revoke = admin
            .get("/admin/users")
            .await
            .form(&format!("tr[data-token=\"{}\"] form", row.id));
        let res = admin
            .post(&format!("/admin/api-tokens/{}/revoke", row.id), &revoke)
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
        assert_eq!(
            api_get(&app.router, "/api/v1/orders", &secret).await,
            StatusCode::UNAUTHORIZED
        );

        // Errors beside the field, nothing stored; a clerk may not make tokens.
        let bad = admin.get("/admin/users").await.form("form#add-token");
        let bad = crate::helpers::set(&bad, "username", "");
        let res = admin.post("/admin/api-tokens", &bad).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text("#token-user-error").is_some());
        let clerk_form = crate::helpers::set(&form, "label", "mine");
        let res = app.browser.post("/admin/api-tokens", &clerk_form).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN);
        assert_eq!(app.db.list_api_tokens().await.unwrap().len(), 1);
    }
);
