//! The browser session: a random id in an HttpOnly, SameSite=Lax cookie, set on the first GET.
//!
//! Form tokens are bound to it (until sign-in binds them to a user), so a token copied into
//! another browser is refused. Only GET and HEAD responses ever set the cookie: a POST, and so a
//! replayed POST, never carries Set-Cookie.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::AppError;

pub const COOKIE: &str = "orderdesk_browser";

/// The browser session of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSession(String);

impl BrowserSession {
    /// What form tokens are bound to.
    pub fn subject(&self) -> String {
        format!("browser:{}", self.0)
    }

    /// Who did it, for the audit trail and the receipt.
    pub fn actor(&self) -> String {
        format!("browser {}", &self.0[..8])
    }
}

fn from_cookie_header(headers: &axum::http::HeaderMap) -> Option<BrowserSession> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|v| BrowserSession(v.to_ascii_lowercase()))
}

/// Middleware: find or start the browser session and make it available to handlers.
pub async fn browser_session(mut req: Request, next: Next) -> Response {
    let existing = from_cookie_header(req.headers());
    let fresh = match (&existing, req.method()) {
        (None, &Method::GET | &Method::HEAD) => {
            Some(BrowserSession(uuid::Uuid::new_v4().simple().to_string()))
        }
        _ => None,
    };
    if let Some(session) = existing.clone().or_else(|| fresh.clone()) {
        req.extensions_mut().insert(session);
    }
    let mut res = next.run(req).await;
    if let Some(session) = fresh {
        let cookie = format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000",
            session.0
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

impl<S: Send + Sync> FromRequestParts<S> for BrowserSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<BrowserSession>()
            .cloned()
            .ok_or_else(|| {
                AppError::Forbidden(
                    "This browser did not send its session cookie, so the form cannot be checked. \
                 Allow cookies for this site. Nothing was changed."
                        .into(),
                )
            })
    }
}
