//! Signing in and out, with throttling of failed attempts per account and per address.

use std::net::SocketAddr;

use askama::Template;
use axum::Extension;
use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use super::error::{PageError, PageResult};
use super::extract::Query;
use super::feedback;
use super::session::{CurrentUser, cookie_token, safe_next, set_cookie};
use super::state::AppState;
use super::templates::{render, render_status};
use crate::auth::{new_session_token, session_hash, verify_password};
use crate::domain::Username;

/// Failed sign-ins counted over this window.
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
/// Failures of one account within the window before it is refused for a while.
pub const THROTTLE_PER_ACCOUNT: i64 = 5;
/// Failures from one address within the window before it is refused for a while.
pub const THROTTLE_PER_ADDRESS: i64 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(show_login).post(sign_in))
        .route("/logout", get(show_sign_out).post(sign_out))
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub me: Option<super::templates::Me>,
    pub next: String,
    pub username: String,
    pub error: Option<String>,
    /// A one-time message ("Signed out.").
    pub flash: Option<String>,
    /// A form typed before the session expired waits for this sign-in.
    pub kept: bool,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

fn next_or_home(next: &str) -> String {
    if safe_next(next) {
        next.to_string()
    } else {
        "/".into()
    }
}

async fn show_login(
    State(st): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if user.is_some() {
        return Redirect::to(&next_or_home(&q.next)).into_response();
    }
    render(&LoginPage {
        me: None,
        next: next_or_home(&q.next),
        username: String::new(),
        error: None,
        flash: feedback::read_flash(&st, &headers, ""),
        kept: feedback::read_restore(&st, &headers).is_some(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Who is knocking: the peer address (a proxy in front should be the only peer).
fn address(connect: Option<Extension<ConnectInfo<SocketAddr>>>) -> String {
    connect
        .map(|Extension(ConnectInfo(a))| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

async fn sign_in(
    State(st): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    let Form(form) =
        form.map_err(|_| PageError::BadRequest("The sign-in form could not be read.".into()))?;
    let addr = address(connect);
    let next = next_or_home(&form.next);
    let name = form.username.trim().to_ascii_lowercase();
    let refuse = |status: StatusCode, msg: &str| {
        render_status(
            status,
            &LoginPage {
                me: None,
                next: next.clone(),
                username: form.username.trim().to_string(),
                error: Some(msg.to_string()),
                flash: None,
                kept: feedback::read_restore(&st, &headers).is_some(),
            },
        )
    };

    let since = crate::db::now() - time::Duration::minutes(THROTTLE_WINDOW_MINUTES);
    let (by_account, by_address) = st.db.login_failures(&name, &addr, since).await?;
    if by_account >= THROTTLE_PER_ACCOUNT || by_address >= THROTTLE_PER_ADDRESS {
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many failed sign-ins. Wait {THROTTLE_WINDOW_MINUTES} minutes and try again, or ask an admin to reset your password."
            ),
        ));
    }

    let user = match Username::parse(&name) {
        Ok(u) => st.db.find_user(u.as_str()).await?,
        Err(_) => None,
    };
    let active = user.filter(|u| u.disabled_at.is_none());
    let ok = verify_password(
        form.password.clone(),
        active.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    let Some(user) = active.filter(|_| ok) else {
        st.db.record_login_failure(&name, &addr).await?;
        // One message for unknown, disabled and wrong: nothing tells which names exist.
        return Ok(refuse(
            StatusCode::UNAUTHORIZED,
            "Unknown user name or wrong password.",
        ));
    };

    // A form kept from an expired session goes back only to the user who typed it.
    let mut keeps_form = false;
    if feedback::read_restore(&st, &headers).is_some()
        && let Some(old) = cookie_token(&headers)
    {
        keeps_form = st.db.session_owner(&session_hash(&old)).await? == Some(user.id);
    }
    // A fresh session id at every sign-in; the browser's previous session, if any, ends.
    if let Some(old) = cookie_token(&headers) {
        st.db.delete_session(&session_hash(&old)).await?;
    }
    let (token, hash) = new_session_token();
    st.db
        .create_session(&hash, user.id, &user.username, st.sessions.lifetimes)
        .await?;
    tracing::info!(user = %user.username, "signed in");
    let mut res = Redirect::to(&next).into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&st.sessions, Some(&token)));
    if !keeps_form && feedback::read_restore(&st, &headers).is_some() {
        res.headers_mut()
            .append(header::SET_COOKIE, feedback::forget_form(&st));
    }
    Ok(res)
}

/// "Sign out?": what a link or a typed `/logout` shows. A GET changes nothing (a link on
/// another site must not sign anyone out); the page's buttons post.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct SignOutPage {
    pub me: Option<super::templates::Me>,
}

async fn show_sign_out(user: CurrentUser) -> Response {
    render(&SignOutPage { me: user.me() })
}

#[derive(Deserialize, Default)]
pub struct SignOutForm {
    /// Any value: end every session of this user, on every device, not only this browser's.
    #[serde(default)]
    everywhere: Option<String>,
}

/// Sign out: the session ends in the database, so on every server at once; with `everywhere`,
/// every session of the user ends (other browsers and devices too).
async fn sign_out(
    State(st): State<AppState>,
    user: Option<CurrentUser>,
    form: Result<Form<SignOutForm>, axum::extract::rejection::FormRejection>,
) -> PageResult<Response> {
    // The header's button sends no fields at all: a plain sign-out.
    let everywhere = form.is_ok_and(|Form(f)| f.everywhere.is_some());
    if let Some(u) = user {
        st.db
            .sign_out(&u.session_hash, u.id, &u.username, everywhere)
            .await?;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&st.sessions, None));
    // Bound to "no session": the sign-in page shows it to whoever is at this browser now.
    let message = if everywhere {
        "Signed out everywhere: on this browser and every other one."
    } else {
        "Signed out."
    };
    feedback::add_flash(&st, &mut res, "", message);
    Ok(res)
}
