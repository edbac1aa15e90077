//! A small client for the JSON API (`/api/v1`), driven in-process over the router like
//! [`Browser`](crate::helpers::Browser), and the harness pieces it needs: API tokens for test
//! users and checks of problem documents.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use orderdesk::domain::{Actor, Role, Username};
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::TestApp;

/// The media type of every API error.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A client of the API: the router and, unless anonymous, a bearer token.
#[derive(Clone)]
pub struct ApiClient {
    pub router: Router,
    pub token: Option<String>,
}

/// An API response, read whole.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
    pub body: String,
}

impl ApiResponse {
    /// The body as JSON; panics (with the body) when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {:?} {}",
                self.status,
                self.content_type(),
                self.body
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the response is a replay (`Idempotent-Replayed: true`).
    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == Some("true")
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// Assert a status, with the body in the message.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "expected {status}, got {}: {}",
            self.status,
            self.body
        );
        self
    }

    /// Assert a JSON document (not a problem) with `status`; returns it.
    #[track_caller]
    pub fn expect_json(&self, status: u16) -> Value {
        self.expect(status);
        assert_eq!(
            self.content_type(),
            Some("application/json"),
            "{}",
            self.body
        );
        self.json()
    }

    /// Assert an RFC 9457 problem: `status`, `Content-Type: application/problem+json`, `type`
    /// `urn:orderdesk:problem:{kind}` and the status repeated in the document. Returns it.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, kind: &str) -> Value {
        self.expect(status);
        assert_eq!(
            self.content_type(),
            Some(PROBLEM_JSON),
            "a problem document: {}",
            self.body
        );
        let doc = self.json();
        assert_eq!(
            doc["type"],
            format!("urn:orderdesk:problem:{kind}"),
            "{}",
            self.body
        );
        assert_eq!(doc["status"], status, "{}", self.body);
        assert!(doc["title"].is_string(), "{}", self.body);
        assert!(doc["detail"].is_string(), "{}", self.body);
        doc
    }
}

impl ApiClient {
    pub fn new(router: Router, token: Option<String>) -> Self {
        ApiClient { router, token }
    }

    /// A client with no token.
    pub fn anonymous(router: Router) -> Self {
        ApiClient::new(router, None)
    }

    /// The same token on another server (router).
    pub fn on(&self, router: Router) -> Self {
        ApiClient::new(router, self.token.clone())
    }

    /// Send a request as it is, adding the bearer token unless it has an `Authorization`.
    pub async fn send(&self, mut req: Request<Body>) -> ApiResponse {
        if let Some(token) = &self.token
            && !req.headers().contains_key(header::AUTHORIZATION)
        {
            req.headers_mut().insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible router");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        ApiResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    /// Any method, path, headers and body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &[u8])],
        body: impl Into<Body>,
    ) -> ApiResponse {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .body(body.into())
            .unwrap();
        for (name, value) in headers {
            req.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> ApiResponse {
        self.request(Method::GET, path, &[], Body::empty()).await
    }

    /// A JSON POST, with `Idempotency-Key: key` when given.
    pub async fn post(&self, path: &str, key: Option<&str>, json: &Value) -> ApiResponse {
        let body = serde_json::to_vec(json).unwrap();
        let mut headers: Vec<(&str, &[u8])> = vec![("content-type", b"application/json")];
        if let Some(k) = key {
            headers.push(("idempotency-key", k.as_bytes()));
        }
        self.post_raw(path, &headers, body).await
    }

    /// A POST with exactly these headers (plus the token) and body bytes.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, &[u8])],
        body: impl Into<Vec<u8>>,
    ) -> ApiResponse {
        self.request(Method::POST, path, headers, Body::from(body.into()))
            .await
    }
}

/// Store a new API token for the existing user `username` (as the operator would with
/// `orderdesk api-token add`); returns the token and its id.
pub async fn create_token(app: &TestApp, username: &str) -> (String, i64) {
    let (token, token_hash, hint) = orderdesk::auth::new_api_token();
    let created = orderdesk::ops::run_once(
        &app.db,
        orderdesk::ops::CreateApiToken {
            actor: Actor::command_line(),
            username: Username::parse(username).unwrap(),
            label: format!("test token of {username}"),
            token_hash,
            hint,
        },
    )
    .await
    .expect("create an API token");
    (token, created.id)
}

/// A client acting as `username` with `role` (the user is created if needed), with a new
/// token; returns the client and the token's id.
pub async fn client_as(app: &TestApp, username: &str, role: Role) -> (ApiClient, i64) {
    app.user(username, role).await;
    let (token, id) = create_token(app, username).await;
    (ApiClient::new(app.router.clone(), Some(token)), id)
}

/// A client acting as the harness's clerk (`clerk`).
pub async fn clerk_client(app: &TestApp) -> ApiClient {
    client_as(app, "clerk", Role::Clerk).await.0
}
