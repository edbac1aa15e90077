//! A small HTTP client that behaves like a clerk's browser: signs in, keeps its session cookie,
//! reads pages, posts forms, follows redirects. Requests go round-robin over the servers given.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The servers and a shared connection pool.
pub struct Http {
    client: Client<HttpConnector, Full<Bytes>>,
    servers: Vec<String>,
    next: AtomicUsize,
}

/// One answer, read whole.
pub struct Resp {
    pub status: u16,
    pub location: Option<String>,
    pub replayed: bool,
    pub cookie: Option<String>,
    pub body: String,
}

impl Http {
    pub fn new(servers: Vec<String>) -> Arc<Http> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(256)
            .build(connector);
        Arc::new(Http {
            client,
            servers,
            next: AtomicUsize::new(0),
        })
    }

    pub fn servers(&self) -> usize {
        self.servers.len()
    }

    /// Send one request to the next server (or to server `pin`).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        form: Option<String>,
        pin: Option<usize>,
    ) -> Result<Resp, String> {
        let i =
            pin.unwrap_or_else(|| self.next.fetch_add(1, Ordering::Relaxed)) % self.servers.len();
        let uri = format!("{}{path}", self.servers[i]);
        let mut req = Request::builder().method(method).uri(&uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let body = match form {
            Some(f) => {
                req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Full::new(Bytes::from(f))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body).map_err(|e| e.to_string())?;
        let res = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("{uri}: {e}"))?;
        let status = res.status().as_u16();
        let header_text = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header_text("location");
        let replayed = res.headers().contains_key("idempotent-replayed");
        let cookie =
            header_text("set-cookie").and_then(|c| c.split(';').next().map(str::to_string));
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Resp {
            status,
            location,
            replayed,
            cookie,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

/// A signed-in clerk.
#[derive(Clone)]
pub struct Clerk {
    pub http: Arc<Http>,
    cookie: String,
}

impl Clerk {
    pub async fn sign_in(http: Arc<Http>, user: &str, password: &str) -> Result<Clerk, String> {
        let form = serde_urlencoded::to_string([
            ("username", user),
            ("password", password),
            ("next", "/"),
        ])
        .map_err(|e| e.to_string())?;
        let res = http
            .send(Method::POST, "/login", None, Some(form), Some(0))
            .await?;
        match (res.status, res.cookie) {
            (303, Some(cookie)) => Ok(Clerk { http, cookie }),
            (status, _) => Err(format!("sign-in as {user} failed with {status}")),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Resp, String> {
        self.http
            .send(Method::GET, path, Some(&self.cookie), None, None)
            .await
    }

    pub async fn post(
        &self,
        path: &str,
        fields: &[(String, String)],
        pin: Option<usize>,
    ) -> Result<Resp, String> {
        let form = serde_urlencoded::to_string(fields).map_err(|e| e.to_string())?;
        self.http
            .send(Method::POST, path, Some(&self.cookie), Some(form), pin)
            .await
    }
}

/// The hidden fields of the form with `id="{form_id}"` in `html`, as a browser would send them.
pub fn form_fields(html: &str, form_id: &str) -> Option<Vec<(String, String)>> {
    let start = html.find(&format!("id=\"{form_id}\""))?;
    let end = start + html[start..].find("</form>")?;
    let form = &html[start..end];
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[i + 27..];
        let name_end = rest.find('"')?;
        let name = rest[..name_end].to_string();
        let v = rest.find("value=\"")? + 7;
        let v_end = v + rest[v..].find('"')?;
        fields.push((name, rest[v..v_end].to_string()));
        rest = &rest[v_end..];
    }
    (!fields.is_empty()).then_some(fields)
}
