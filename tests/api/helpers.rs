//! The test harness: a fresh database per test on the backend under test, the application
//! router driven in-process, and small helpers to read forms out of pages.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use orderdesk::db::customers::{self, NewCustomer};
use orderdesk::db::products::{self, NewProduct};
use orderdesk::db::{Db, DbOptions, orders};
use orderdesk::domain::{NewPassword, Role, Username};
use orderdesk::http::{AppState, router};
use orderdesk::server::{ServerConfig, state};
use scraper::{Html, Selector};
use sqlx::Connection;
use tower::ServiceExt;

pub const PG_ENV: &str = "ORDERDESK_TEST_POSTGRES_URL";

/// Every test user's password.
pub fn password_of(name: &str) -> String {
    format!("password of {name}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Removes a test's database (or scratch directory) when the test ends, passed or failed.
pub enum Cleanup {
    SqliteFile(std::path::PathBuf),
    PostgresDb { admin_url: String, name: String },
    Dir(std::path::PathBuf),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::PostgresDb { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime: use a thread with its own.
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .ok()?;
                    rt.block_on(drop_pg_database(&admin_url, &name));
                    Some(())
                })
                .join();
            }
            Cleanup::Dir(path) => {
                let _ = std::fs::remove_dir_all(path);
            }
        }
    }
}

/// A running orderdesk on a fresh database.
pub struct TestApp {
    pub router: Router,
    pub db: Db,
    #[allow(dead_code)]
    pub state: AppState,
    #[allow(dead_code)]
    pub backend: Backend,
    /// The default browser, with its own session cookie.
    pub browser: Browser,
    /// The test database's URL, for a second connection with other settings.
    pub url: String,
    cleanup: Arc<Cleanup>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    format!(
        "od_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        uuid::Uuid::new_v4()
            .simple()
            .to_string()
            .get(..8)
            .unwrap_or("x")
    )
}

/// The URL of database `name` on the server of `admin_url`.
fn with_database(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// Create database `name` on the server of `admin_url`; returns its URL.
pub async fn create_pg_database(admin_url: &str, name: &str) -> String {
    let mut c = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("connect to the PostgreSQL test server");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut c)
        .await
        .expect("create the test database");
    with_database(admin_url, name)
}

/// Drop database `name`, closing any connection still open to it.
pub async fn drop_pg_database(admin_url: &str, name: &str) {
    if let Ok(mut c) = sqlx::PgConnection::connect(admin_url).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut c)
            .await;
    }
}

impl TestApp {
    /// A fresh app on `backend`; `None` when PostgreSQL is not configured (outside CI).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        let name = unique_name();
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                (
                    format!("sqlite:{}", path.display()),
                    Cleanup::SqliteFile(path),
                )
            }
            Backend::Postgres => {
                let admin_url = match std::env::var(PG_ENV) {
                    Ok(u) if !u.is_empty() => u,
                    _ => {
                        assert!(
                            std::env::var("CI").is_err(),
                            "{PG_ENV} must be set under CI: PostgreSQL tests may not be skipped"
                        );
                        eprintln!("SKIPPED: PostgreSQL test ({PG_ENV} is not set)");
                        return None;
                    }
                };
                let url = create_pg_database(&admin_url, &name).await;
                (url, Cleanup::PostgresDb { admin_url, name })
            }
        };
        let db = Db::connect(&DbOptions {
            url: url.clone(),
            max_connections: 10,
            lock_wait: Duration::from_secs(5),
        })
        .await
        .expect("connect to the test database");
        db.migrate().await.expect("migrate the test database");
        let cfg = TestApp::config();
        let state = state(db.clone(), &cfg).await.expect("application state");
        let router = router(state.clone());
        let browser = Browser::new(router.clone());
        let app = TestApp {
            router,
            db,
            state,
            backend,
            browser,
            url,
            cleanup: Arc::new(cleanup),
        };
        app.user("clerk", Role::Clerk).await;
        app.browser.sign_in("clerk", &password_of("clerk")).await;
        Some(app)
    }

    /// Create a user (password: [`password_of`]) unless it exists.
    pub async fn user(&self, name: &str, role: Role) {
        if self.db.find_user(name).await.unwrap().is_none() {
            let username = Username::parse(name).unwrap();
            let password = NewPassword::parse(&password_of(name)).unwrap();
            let by = orderdesk::domain::Actor {
                username: "test".into(),
                ..orderdesk::domain::Actor::command_line()
            };
            orderdesk::ops::add_user(
                &self.db,
                &by,
                username,
                &format!("Test {name}"),
                role,
                password,
            )
            .await
            .unwrap();
        }
    }

    /// A new browser signed in as `name` with `role` (the user is created if needed).
    pub async fn browser_as(&self, name: &str, role: Role) -> Browser {
        self.user(name, role).await;
        let b = self.new_browser();
        b.sign_in(name, &password_of(name)).await;
        b
    }

    /// Keeps the database alive until dropped. A test body's `async move` block captures only
    /// the fields it uses, so the harness holds this guard for the whole test.
    pub fn guard(&self) -> Arc<impl Sized + use<>> {
        Arc::clone(&self.cleanup)
    }

    /// The configuration the harness serves with, for a second server in a test.
    pub fn config() -> ServerConfig {
        ServerConfig {
            bind: "127.0.0.1:0".into(),
            currency: "EUR".into(),
            timezone: "UTC".into(),
            secret: Some("test secret".into()),
            key_retention: Duration::from_secs(7 * 86_400),
            session_idle: Duration::from_secs(3600),
            session_absolute: Duration::from_secs(8 * 3600),
            secure_cookies: false,
            metrics_token: None,
            api_rate: 0,
            request_timeout: Duration::from_secs(30),
        }
    }

    /// Another server on this test's database, with `cfg`.
    pub async fn second_server(&self, cfg: &ServerConfig) -> Router {
        router(
            state(self.db.clone(), cfg)
                .await
                .expect("application state"),
        )
    }

    /// Another browser, not signed in.
    pub fn new_browser(&self) -> Browser {
        Browser::new(self.router.clone())
    }

    /// A customer, returning its id.
    pub async fn customer(&self, code: &str, name: &str) -> i64 {
        let mut tx = self.db.begin().await.unwrap();
        let id = customers::insert(
            &mut tx,
            &NewCustomer {
                code,
                name,
                address: "1 Main St\nTown",
                vat_id: "",
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A product with `stock` units on hand, returning its id.
    pub async fn product(&self, sku: &str, price_cents: i64, rate_bp: i64, stock: i64) -> i64 {
        let mut tx = self.db.begin().await.unwrap();
        let p = NewProduct {
            sku,
            name: &format!("Product {sku}"),
            unit_price_cents: price_cents,
            tax_rate_bp: rate_bp,
            opening_stock: stock,
            reorder_level: 0,
        };
        let id = products::insert(&mut tx, &p, "test").await.unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A draft order with `lines` of (product id, quantity), returning its id.
    pub async fn draft(&self, customer_id: i64, lines: &[(i64, i64)]) -> i64 {
        let mut tx = self.db.begin().await.unwrap();
        let id = orders::insert(&mut tx, customer_id, "", "test", orderdesk::db::now())
            .await
            .unwrap();
        for (product, qty) in lines {
            orders::insert_line(&mut tx, id, *product, *qty)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        id
    }

    /// The Confirm form of an order page, as the default browser sees it.
    pub async fn confirm_form(&self, order: i64) -> Vec<(String, String)> {
        self.browser
            .get(&format!("/orders/{order}"))
            .await
            .form("form#confirm")
    }

    /// Submit a Confirm form with the default browser.
    pub async fn confirm(&self, order: i64, form: &[(String, String)]) -> Page {
        self.browser
            .post(&format!("/orders/{order}/confirm"), form)
            .await
    }

    pub async fn stock(&self, sku: &str) -> i64 {
        self.db
            .find_product_by_sku(sku)
            .await
            .unwrap()
            .unwrap()
            .stock_on_hand
    }

    pub async fn invoice_numbers(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .db
            .list_invoices(&Default::default(), 100_000, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.number)
            .collect();
        v.sort();
        v
    }

    /// How many orders there are (up to 100).
    pub async fn order_count(&self) -> usize {
        self.db
            .list_orders(
                &Default::default(),
                100,
                orderdesk::db::orders::Cursor::First,
            )
            .await
            .unwrap()
            .0
            .len()
    }

    pub async fn order_status(&self, id: i64) -> String {
        self.db
            .find_order(id)
            .await
            .unwrap()
            .unwrap()
            .status
            .to_string()
    }

    /// Sale and opening movements of a product.
    pub async fn ledger_rows(&self, product_id: i64) -> i64 {
        self.db.ledger_len(product_id).await.unwrap()
    }

    pub async fn assert_invariants(&self) {
        let v = self.db.check_invariants().await.unwrap();
        assert!(v.is_empty(), "invariants violated: {v:?}");
    }
}

/// A browser: the router and a cookie jar holding the session cookie. Clones share the jar,
/// like tabs of one browser.
#[derive(Clone)]
pub struct Browser {
    router: Router,
    session: Arc<Mutex<Option<String>>>,
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn replayed(&self) -> bool {
        self.headers.get("idempotent-replayed").is_some()
    }

    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    /// Text of the first element matching `css`.
    pub fn text(&self, css: &str) -> Option<String> {
        let sel = Selector::parse(css).unwrap();
        self.html()
            .select(&sel)
            .next()
            .map(|e| e.text().collect::<String>().trim().to_string())
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        let sel = Selector::parse(css).unwrap();
        self.html().select(&sel).count()
    }

    /// The fields of the form matching `css` (hidden token included), as a browser would send.
    pub fn form(&self, css: &str) -> Vec<(String, String)> {
        let doc = self.html();
        let form_sel = Selector::parse(css).unwrap();
        let input_sel = Selector::parse("input[name]").unwrap();
        let form = doc
            .select(&form_sel)
            .next()
            .unwrap_or_else(|| panic!("no form {css} in page:\n{}", self.body));
        form.select(&input_sel)
            .map(|i| {
                (
                    i.value().attr("name").unwrap_or_default().to_string(),
                    i.value().attr("value").unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

impl Browser {
    pub fn new(router: Router) -> Self {
        Browser {
            router,
            session: Arc::new(Mutex::new(None)),
        }
    }

    /// The `Cookie` header this browser sends.
    pub fn cookie(&self) -> String {
        match &*self.session.lock().unwrap() {
            Some(token) => format!("orderdesk_session={token}"),
            None => String::new(),
        }
    }

    /// Sign in through the sign-in form; panics unless it works.
    pub async fn sign_in(&self, username: &str, password: &str) {
        let page = self.try_sign_in(username, password).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in as {username}: {}",
            page.body
        );
    }

    pub async fn try_sign_in(&self, username: &str, password: &str) -> Page {
        let fields = [
            ("username".to_string(), username.to_string()),
            ("password".to_string(), password.to_string()),
            ("next".to_string(), "/".to_string()),
        ];
        self.post("/login", &fields).await
    }

    /// Send `req` with this browser's cookie (unless it carries its own) and keep any session
    /// cookie the answer sets.
    pub async fn request(&self, mut req: Request<Body>) -> Page {
        let cookie = self.cookie();
        if !cookie.is_empty() && !req.headers().contains_key(header::COOKIE) {
            req.headers_mut()
                .insert(header::COOKIE, cookie.parse().unwrap());
        }
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible router");
        let status = res.status();
        let headers = res.headers().clone();
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap_or_default();
            if let Some(rest) = v.strip_prefix("orderdesk_session=") {
                let token = rest.split(';').next().unwrap_or_default();
                *self.session.lock().unwrap() = (!token.is_empty()).then(|| token.to_string());
            }
        }
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn get_request(&self, path: &str) -> Request<Body> {
        Request::get(path).body(Body::empty()).unwrap()
    }

    pub fn post_request(&self, path: &str, fields: &[(String, String)]) -> Request<Body> {
        let body = serde_urlencoded::to_string(fields).unwrap();
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Page {
        self.request(self.get_request(path)).await
    }

    pub async fn post(&self, path: &str, fields: &[(String, String)]) -> Page {
        self.request(self.post_request(path, fields)).await
    }
}

/// Replace (or add) a field's value.
pub fn set(fields: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        fields.iter().filter(|(k, _)| k != name).cloned().collect();
    out.push((name.to_string(), value.to_string()));
    out
}

/// One test per backend: `db_test!(name, |app| async move { ... })`.
macro_rules! db_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite)
                    .await
                    .unwrap();
                let _guard = app.guard();
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(app) =
                    $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await
                {
                    let _guard = app.guard();
                    ($body)(app).await;
                }
            }
        }
    };
}
pub(crate) use db_test;
