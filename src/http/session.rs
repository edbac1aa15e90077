//! Signing in: the session cookie, the signed-in user, and the gate in front of every page.
//!
//! Sessions live in the database (any server serves any request; a restart signs nobody out).
//! The cookie is HttpOnly and SameSite=Lax (and Secure when configured); only the SHA-256 of
//! its token is stored. Every path but the public ones requires a live session.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::error::PageError;
use super::state::{AppState, SessionConfig};
use super::templates::{Me, qs};
use crate::auth::session_hash;
use crate::domain::{Actor, Permission, Role};

pub const COOKIE: &str = "orderdesk_session";

/// The signed-in user of the request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub(crate) session_hash: String,
    /// The flash message this request carries (set by the feedback layer).
    pub(crate) flash: Option<String>,
    /// A form kept across an expired session, for this page (set by the feedback layer).
    pub(crate) restored: Option<super::feedback::Restored>,
    /// The idempotency record of the submitted form's key, read with the session.
    pub(crate) known_key: Option<std::sync::Arc<KnownKey>>,
}

/// A submitted form's idempotency key and its record (None: not used yet), read with the
/// session in one statement so that a resubmitted form costs one read. The token is not
/// verified when it is read: [`super::state::AppState::claim_form`] verifies it first and uses
/// the record only for the same user and key.
#[derive(Debug)]
pub(crate) struct KnownKey {
    pub key: String,
    pub record: Option<crate::db::idempotency::IdempotencyRecord>,
}

impl CurrentUser {
    /// Who does it, for the core: the audit trail, the ledger and the receipt name them.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            username: self.username.clone(),
            role: self.role,
        }
    }

    /// Refuse with a 403 page unless the user's role allows `p`.
    pub fn require(&self, p: Permission) -> Result<(), PageError> {
        if self.role.can(p) {
            Ok(())
        } else {
            Err(PageError::Forbidden(format!(
                "Your role ({}) does not allow this. Nothing was changed; ask an admin if you need it.",
                self.role
            )))
        }
    }

    pub fn me(&self) -> Option<Me> {
        Some(Me {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role.as_str(),
            is_admin: self.role == Role::Admin,
            can: super::templates::Nav::of(self.role),
            flash: self.flash.clone(),
            restored: self.restored.clone(),
        })
    }
}

/// The value of the request's cookie `name`, if it sends one.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// The session token in the request's cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

/// `Set-Cookie` for a new session, or (with `None`) one that removes it.
pub fn set_cookie(cfg: &SessionConfig, token: Option<&str>) -> HeaderValue {
    let secure = if cfg.secure_cookies { "; Secure" } else { "" };
    let value = match token {
        Some(t) => format!(
            "{COOKIE}={t}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            cfg.lifetimes.absolute.whole_seconds()
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("orderdesk_session=; Max-Age=0"))
}

/// Whether the request carries the configured metrics bearer token.
pub fn metrics_bearer_ok(st: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = st.metrics_token.as_deref() else {
        return false;
    };
    bearer(headers).is_some_and(|given| {
        crate::auth::session_hash(given) == crate::auth::session_hash(expected)
    })
}

/// The bearer token a request sends, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    crate::auth::bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// Paths anyone may open.
pub fn is_public(path: &str) -> bool {
    matches!(path, "/login" | "/healthz" | "/readyz") || path.starts_with("/static/")
}

/// Middleware: find the signed-in user, or send the browser to sign in.
pub async fn require_sign_in(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    // Health checks and static files never need the user: no session query for them. The
    // JSON API checks its own bearer tokens and never answers with a sign-in redirect.
    let path = req.uri().path();
    if (is_public(path) && path != "/login") || super::paths::is_api(path) {
        return next.run(req).await;
    }
    if let Some(token) = cookie_token(req.headers()) {
        let hash = session_hash(&token);
        let (rebuilt, form_key) = match form_key(req, st.request_timeout).await {
            Ok(read) => read,
            Err(refused) => return refused.into_response(),
        };
        req = rebuilt;
        let found = match &form_key {
            Some(key) => st
                .db
                .find_session_and_key(&hash, st.sessions.lifetimes, key)
                .await
                .map(|found| {
                    found.map(|(row, record)| {
                        let known = KnownKey {
                            key: key.clone(),
                            record,
                        };
                        (row, Some(std::sync::Arc::new(known)))
                    })
                }),
            None => st
                .db
                .find_session(&hash, st.sessions.lifetimes)
                .await
                .map(|found| found.map(|row| (row, None))),
        };
        match found {
            Ok(Some((row, known_key))) => {
                if crate::db::now() - row.last_seen_at > time::Duration::minutes(1)
                    && let Err(e) = st.db.touch_session(&hash).await
                {
                    tracing::warn!(error = %e, "could not record session activity");
                }
                req.extensions_mut().insert(CurrentUser {
                    id: row.user_id,
                    username: row.username,
                    display_name: row.display_name,
                    role: row.role,
                    session_hash: hash,
                    flash: None,
                    restored: None,
                    known_key,
                });
            }
            Ok(None) => {}
            Err(e) => return PageError::from(e).into_response(),
        }
    }
    let scraper = req.uri().path() == "/metrics" && metrics_bearer_ok(&st, req.headers());
    if req.extensions().get::<CurrentUser>().is_some() || is_public(req.uri().path()) || scraper {
        return next.run(req).await;
    }
    // Back to where the clerk was going after signing in: the page itself for a GET, the
    // page the form was on for a POST, whose typed fields are kept for that page (see
    // `feedback`: never acted on, shown again in the form).
    let mut kept = None;
    let target = if matches!(*req.method(), Method::GET | Method::HEAD) {
        req.uri().path_and_query().map(|p| p.as_str().to_string())
    } else {
        let page = same_origin_referer_path(req.headers()).filter(|p| safe_next(p));
        if let Some(page) = &page
            && is_form(req.headers())
        {
            let action = req.uri().path().to_string();
            let body = axum::body::to_bytes(req.into_body(), 16 * 1024)
                .await
                .unwrap_or_default();
            kept = super::feedback::keep_form(&st, page, &action, &body);
        }
        page
    };
    let next_path = target
        .filter(|p| safe_next(p))
        .unwrap_or_else(|| "/".into());
    let mut res = Redirect::to(&format!("/login?next={}", qs(&next_path))).into_response();
    if let Some(cookie) = kept {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
}

/// The idempotency key named by the token of a submitted form, read from its body (which is
/// put back for the handler); None for anything but a form POST of a declared length within
/// the form limit. A body that cannot be read is refused here as the form extractor would
/// refuse it, and one that takes longer than the request time limit as a timeout.
async fn form_key(
    req: Request,
    time_limit: std::time::Duration,
) -> Result<(Request, Option<String>), PageError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let small_form = *req.method() == Method::POST
        && is_form(req.headers())
        && declared.is_some_and(|n| n <= super::extract::FORM_LIMIT);
    if !small_form {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    // Read here, before the request's own time limit starts: bounded by the same limit.
    let read = tokio::time::timeout(
        time_limit,
        axum::body::to_bytes(body, super::extract::FORM_LIMIT),
    )
    .await
    .map_err(|_| PageError::TimedOut {
        seconds: time_limit.as_secs().max(1),
    })?;
    let bytes =
        read.map_err(|_| PageError::BadRequest("The form could not be read completely.".into()))?;
    let key = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            let mut tokens = pairs
                .into_iter()
                .filter(|(k, _)| k == crate::idempotency::TOKEN_FIELD);
            match (tokens.next(), tokens.next()) {
                (Some((_, t)), None) => crate::idempotency::FormToken::unverified_key(&t),
                _ => None,
            }
        });
    Ok((
        Request::from_parts(parts, axum::body::Body::from(bytes)),
        key,
    ))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
}

fn same_origin_referer_path(headers: &HeaderMap) -> Option<String> {
    let referer = headers.get(header::REFERER)?.to_str().ok()?;
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let rest = referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?;
    let path = rest.strip_prefix(host)?;
    path.starts_with('/').then(|| path.to_string())
}

/// A post-sign-in target must be a path on this site: no scheme, no `//host`, no backslash.
pub fn safe_next(p: &str) -> bool {
    // Never back to sign-in or sign-out: signing in to land on "Sign out?" is nobody's aim.
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.starts_with("/login")
        && !p.starts_with("/logout")
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| PageError::Forbidden("Sign in first.".into()))
    }
}

impl<S: Send + Sync> axum::extract::OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<CurrentUser>().cloned())
    }
}

/// Middleware: refuse state-changing requests sent by another site (the signed form token
/// refuses them too; this answers them earlier and more clearly). The JSON API authenticates
/// with bearer tokens, never with the cookie, so it carries no ambient credential a foreign
/// page could borrow: the check does not apply to it, nor to any bearer request.
pub async fn refuse_cross_site(req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !super::paths::is_api(req.uri().path())
        && bearer(req.headers()).is_none()
        && is_cross_site(req.headers())
    {
        return PageError::Forbidden(
            "This form was sent from another web site. Nothing was changed. Use the form on orderdesk's own page."
                .into(),
        )
        .into_response();
    }
    next.run(req).await
}

fn is_cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
            !origin_host.eq_ignore_ascii_case(host)
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_detection() {
        assert!(!is_cross_site(&headers(&[])));
        assert!(!is_cross_site(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!is_cross_site(&headers(&[
            ("origin", "http://a.example:8080"),
            ("host", "a.example:8080")
        ])));
        assert!(is_cross_site(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "a.example")
        ])));
        assert!(is_cross_site(&headers(&[
            ("origin", "null"),
            ("host", "a.example")
        ])));
    }

    #[test]
    fn next_targets_stay_on_site() {
        assert!(safe_next("/orders/5"));
        assert!(!safe_next("//evil.example/"));
        assert!(!safe_next("https://evil.example/"));
        assert!(!safe_next("/\\evil"));
        assert!(!safe_next("/login?next=/"));
    }
}
