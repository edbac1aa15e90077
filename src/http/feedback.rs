//! What a person is told between pages: one-time flash messages after a successful form, the
//! form kept across an expired session, error pages that keep the header and link back to the
//! record, GETs of form addresses sent to their page, and `Cache-Control: no-store` on every
//! page, so Back after signing out shows the sign-in page, not the data.
//!
//! Everything here lives in the browser's cookies, signed with the server secret, never in a
//! server's memory: any server of several reads what another one set.
//!
//! - **Flash**: `orderdesk_flash` holds the message and a MAC bound to the session it was set
//!   for (the session hash; signing out binds it to "no session"), so it never shows to
//!   another user of the same browser. The next HTML page shows it and clears it. A replayed
//!   form (a double-click's second request) sets none: a replay repeats no `Set-Cookie`.
//! - **Expired session**: a form posted without a live session is not acted on. Its fields
//!   (never its token nor any password) go into `orderdesk_restore`, signed, for 30 minutes,
//!   with the page the form was on; the browser signs in and lands on that page. Sign-in keeps
//!   the cookie only when the person signing in owned the expired session. The page then
//!   shows the typed values in its form (app.js fills them in, and the notice lists them for a
//!   browser without script), and the person sends it again with the page's fresh token: the
//!   old token is never replayed, since the page may have changed in between (the order was
//!   confirmed by a colleague, the stock moved) and sending unseen data is not what they chose.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::Submitted;
use super::session::{CurrentUser, cookie};
use super::state::AppState;
use super::templates::{BackLink, ErrorPage, PendingPage, render_status};

pub const FLASH_COOKIE: &str = "orderdesk_flash";
pub const RESTORE_COOKIE: &str = "orderdesk_restore";

/// How long a kept form waits for its owner to sign in again.
const RESTORE_SECONDS: i64 = 30 * 60;
/// A form larger than this is not kept (a cookie holds about 4 KiB).
const RESTORE_MAX: usize = 3000;

impl Submitted {
    /// The answer to a successful form with a one-time `message` for the next page. A replay
    /// (the second click of a double-click, a resubmit) answers as recorded, without one.
    pub fn flash(self, st: &AppState, user: &CurrentUser, message: impl AsRef<str>) -> Response {
        let mut res = self.response;
        if !self.replayed {
            add_flash(st, &mut res, &user.session_hash, message.as_ref());
        }
        res
    }
}

/// Add a flash `message` for the session `binding` (its hash; "" for no session) to `res`.
pub fn add_flash(st: &AppState, res: &mut Response, binding: &str, message: &str) {
    let encoded = super::templates::qs(message);
    let mac = st.idem.sign(&["flash", binding, &encoded]);
    let value = format!(
        "{FLASH_COOKIE}={mac}.{encoded}; Path=/; HttpOnly; SameSite=Lax; Max-Age=300{}",
        secure(st)
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The flash message the request carries for `binding`, if it is genuine.
pub fn read_flash(st: &AppState, headers: &HeaderMap, binding: &str) -> Option<String> {
    let (mac, encoded) = cookie(headers, FLASH_COOKIE)?.split_once('.')?;
    if !st.idem.verify(&["flash", binding, encoded], mac) {
        return None;
    }
    decode(encoded)
}

fn decode(encoded: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("m={encoded}"))
        .ok()?
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn secure(st: &AppState) -> &'static str {
    if st.sessions.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

fn clear_cookie(st: &AppState, name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        secure(st)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("orderdesk_flash=; Max-Age=0"))
}

/// A form kept across an expired session: where it was, where it was going, what was typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The page the form was on (path and query).
    pub page: String,
    /// The form's `action`, so the page's script fills the right form.
    pub action: String,
    /// The typed fields, in the order they were sent.
    pub fields: Vec<(String, String)>,
}

/// Fields never kept: the form's token (a fresh form gets a fresh one) and passwords.
fn kept_field(name: &str) -> bool {
    name != crate::idempotency::TOKEN_FIELD
        && name != "next"
        && !name.to_ascii_lowercase().contains("password")
}

/// The `Set-Cookie` that keeps the form `body` posted to `action` from `page`; `None` when
/// there is nothing worth keeping or it is too large for a cookie.
pub fn keep_form(st: &AppState, page: &str, action: &str, body: &[u8]) -> Option<HeaderValue> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    let fields: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| kept_field(k)).collect();
    if fields.iter().all(|(_, v)| v.trim().is_empty()) {
        return None;
    }
    let expires = (crate::db::now().unix_timestamp() + RESTORE_SECONDS).to_string();
    let mut pairs: Vec<(String, String)> = vec![
        ("exp".into(), expires),
        ("page".into(), page.to_string()),
        ("action".into(), action.to_string()),
    ];
    pairs.extend(fields.into_iter().map(|(k, v)| (format!("f.{k}"), v)));
    let payload = serde_urlencoded::to_string(&pairs).ok()?;
    if payload.len() > RESTORE_MAX {
        return None;
    }
    let mac = st.idem.sign(&["restore", &payload]);
    HeaderValue::from_str(&format!(
        "{RESTORE_COOKIE}={mac}.{payload}; Path=/; HttpOnly; SameSite=Lax; Max-Age={RESTORE_SECONDS}{}",
        secure(st)
    ))
    .ok()
}

/// The kept form the request carries, if genuine and not expired.
pub fn read_restore(st: &AppState, headers: &HeaderMap) -> Option<Restored> {
    let (mac, payload) = cookie(headers, RESTORE_COOKIE)?.split_once('.')?;
    if !st.idem.verify(&["restore", payload], mac) {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(payload).ok()?;
    let mut r = Restored {
        page: String::new(),
        action: String::new(),
        fields: Vec::new(),
    };
    let mut expires = 0i64;
    for (k, v) in pairs {
        match k.as_str() {
            "exp" => expires = v.parse().unwrap_or(0),
            "page" => r.page = v,
            "action" => r.action = v,
            _ => {
                if let Some(name) = k.strip_prefix("f.") {
                    r.fields.push((name.to_string(), v));
                }
            }
        }
    }
    (expires > crate::db::now().unix_timestamp()).then_some(r)
}

/// A `Set-Cookie` that drops the kept form (sign-in as someone else than its owner).
pub fn forget_form(st: &AppState) -> HeaderValue {
    clear_cookie(st, RESTORE_COOKIE)
}

/// The page a form address belongs to, and how a link to it reads: the record's own page for
/// `/orders/7/lines` or `/products/X/active`, the form's page for `/receipts`. `None` where
/// there is no better place than the dashboard.
pub fn page_of(path: &str) -> Option<BackLink> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let link = |label: String, href: String| Some(BackLink { label, href });
    match segs.as_slice() {
        ["orders", id, ..] if id.parse::<i64>().is_ok() => {
            link(format!("Back to order {id}"), format!("/orders/{id}"))
        }
        ["products", sku, ..] if *sku != "new" => link(
            format!("Back to product {}", decode_path(sku)),
            format!("/products/{sku}/edit"),
        ),
        ["customers", code, ..] if *code != "new" => link(
            format!("Back to customer {}", decode_path(code)),
            format!("/customers/{code}/edit"),
        ),
        ["stock", sku] => link(
            format!("Back to the stock of {}", decode_path(sku)),
            format!("/stock/{sku}"),
        ),
        ["invoices", n] => link(format!("Back to invoice {n}"), format!("/invoices/{n}")),
        ["credit-notes", n] => link(
            format!("Back to credit note {n}"),
            format!("/credit-notes/{n}"),
        ),
        ["receipts", ..] => link("Back to goods in".into(), "/receipts/new".into()),
        ["admin", ..] => link("Back to users".into(), "/admin/users".into()),
        ["orders"] => link("Back to orders".into(), "/orders".into()),
        ["customers"] => link("Back to customers".into(), "/customers".into()),
        ["products"] => link("Back to products".into(), "/products".into()),
        _ => None,
    }
}

fn decode_path(segment: &str) -> String {
    decode(segment).unwrap_or_else(|| segment.to_string())
}

/// Paths this layer leaves alone: the API answers for itself, static files and health checks
/// are public and cacheable.
fn bypass(path: &str) -> bool {
    super::paths::is_api(path)
        || path.starts_with("/static/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Middleware, inside the sign-in gate (so it knows the user): flash and kept form into the
/// page, error pages with the header, GETs of form addresses redirected, `no-store`.
pub async fn layer(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if bypass(&path) {
        return next.run(req).await;
    }
    let is_get = matches!(*req.method(), Method::GET | Method::HEAD);
    let binding = req
        .extensions()
        .get::<CurrentUser>()
        .map(|u| u.session_hash.clone())
        .unwrap_or_default();
    let had_flash = cookie(req.headers(), FLASH_COOKIE).is_some();
    let flash = read_flash(&st, req.headers(), &binding);
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let restored = read_restore(&st, req.headers()).filter(|r| is_get && r.page == here);
    let user = req.extensions_mut().get_mut::<CurrentUser>().map(|u| {
        u.flash = flash.clone();
        u.restored = restored.clone();
        u.clone()
    });

    let mut res = next.run(req).await;

    // A GET of an address that only takes forms (the address bar after a refused form shows
    // `/orders/7/lines`): go to its page instead of a bare 405.
    if is_get && res.status() == StatusCode::METHOD_NOT_ALLOWED {
        let to = page_of(&path).map_or_else(|| "/".to_string(), |b| b.href);
        res = Redirect::to(&to).into_response();
    }
    // Error pages and the "still processing" page keep the header of the signed-in user; an
    // error page links back to the record.
    if let Some(u) = &user {
        if let Some(mut page) = res.extensions_mut().remove::<ErrorPage>() {
            page.me = u.me();
            page.back = page_of(&path).filter(|b| !is_get || b.href != here);
            render_again(&mut res, &page);
        } else if let Some(mut page) = res.extensions_mut().remove::<PendingPage>() {
            page.me = u.me();
            render_again(&mut res, &page);
        }
    }

    let shown = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    // Shown (or not genuine for whoever is here now): either way it is done with.
    if shown && had_flash {
        res.headers_mut()
            .append(header::SET_COOKIE, clear_cookie(&st, FLASH_COOKIE));
    }
    if shown && restored.is_some() && user.is_some() {
        res.headers_mut()
            .append(header::SET_COOKIE, clear_cookie(&st, RESTORE_COOKIE));
    }
    // Pages carry data for the signed-in: never stored, so Back after sign-out asks the server.
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Replace the body of `res` with `page`, keeping its status and headers.
fn render_again<T: askama::Template>(res: &mut Response, page: &T) {
    let (fresh_parts, body) = render_status(res.status(), page).into_parts();
    let headers = res.headers_mut();
    headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = fresh_parts.headers.get(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    *res.body_mut() = Body::new(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_addresses_belong_to_their_page() {
        assert_eq!(page_of("/orders/7/lines").unwrap().href, "/orders/7");
        assert_eq!(
            page_of("/orders/7/lines/3/delete").unwrap().href,
            "/orders/7"
        );
        assert_eq!(page_of("/orders/7").unwrap().label, "Back to order 7");
        assert_eq!(
            page_of("/products/PAPER-A4/active").unwrap().href,
            "/products/PAPER-A4/edit"
        );
        assert_eq!(page_of("/receipts").unwrap().href, "/receipts/new");
        assert_eq!(
            page_of("/admin/api-tokens/3/revoke").unwrap().href,
            "/admin/users"
        );
        assert!(page_of("/logout").is_none());
        assert!(page_of("/orders/new").is_none());
    }

    #[test]
    fn passwords_and_tokens_are_never_kept() {
        assert!(kept_field("sku"));
        assert!(!kept_field(crate::idempotency::TOKEN_FIELD));
        assert!(!kept_field("new_password"));
        assert!(!kept_field("Password"));
    }
}
