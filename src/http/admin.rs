//! User administration: the users, adding and disabling one, and the API tokens that act as a
//! user (create one, shown once; revoke one). Admins only.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::error::PageResult;
use super::extract::{Id, TokenForm};
use super::forms::{Refusal, Submission};
use super::paths;
use super::session::{CurrentUser, cookie};
use super::state::AppState;
use super::templates::Me;
use super::templates::{datetime, render, render_status, sentence};
use crate::auth::{hash_password, new_api_token};
use crate::domain::{NewPassword, Role, Username};
use crate::error::{Conflict, Error, Field};
use crate::idempotency::Action;
use crate::ops::api_tokens::MAX_LABEL;
use crate::ops::users::MAX_DISPLAY_NAME;
use crate::ops::{AddUser, CreateApiToken, DisableUser, RevokeApiToken};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users).post(add_user))
        .route("/admin/users/{id}/disable", post(disable_user))
        .route("/admin/api-tokens", post(create_api_token))
        .route("/admin/api-tokens/{id}/revoke", post(revoke_api_token))
}

/// The cookie that carries a new API token from its form to the page that shows it, once.
const NEW_TOKEN_COOKIE: &str = "orderdesk_new_api_token";

pub struct UserItem {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub created: String,
    pub disabled: Option<String>,
    pub is_me: bool,
    pub disable_token: String,
}

/// What the add-user form shows again after a refused submit.
#[derive(Default)]
pub struct AddUserForm {
    pub token: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub username_error: Option<String>,
    pub display_name_error: Option<String>,
    pub role_error: Option<String>,
    pub password_error: Option<String>,
}

pub struct RoleOption {
    pub value: &'static str,
    pub selected: bool,
}

pub struct ApiTokenItem {
    pub id: i64,
    pub username: String,
    pub label: String,
    pub hint: String,
    pub created: String,
    pub last_used: String,
    pub revoked: Option<String>,
    pub revoke_token: String,
}

/// What the create-token form shows again after a refused submit.
#[derive(Default)]
pub struct NewTokenForm {
    pub token: String,
    pub username: String,
    pub label: String,
    pub username_error: Option<String>,
    pub label_error: Option<String>,
}

/// A token just created, shown this once.
pub struct NewToken {
    pub username: String,
    pub secret: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub me: Option<Me>,
    pub users: Vec<UserItem>,
    pub add: AddUserForm,
    pub roles: Vec<RoleOption>,
    pub tokens: Vec<ApiTokenItem>,
    pub new_token_form: NewTokenForm,
    pub active_users: Vec<String>,
    pub new_token: Option<NewToken>,
}

async fn users_page(
    st: &AppState,
    user: &CurrentUser,
    mut add: AddUserForm,
    mut new_token_form: NewTokenForm,
) -> PageResult<UsersPage> {
    if add.token.is_empty() {
        add.token = st.idem.issue(user.id, &AddUser::scope_for());
    }
    if new_token_form.token.is_empty() {
        new_token_form.token = st.idem.issue(user.id, &CreateApiToken::scope_for());
    }
    let rows = st.db.list_users().await?;
    let active_users = rows
        .iter()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| u.username.clone())
        .collect();
    let users = rows
        .into_iter()
        .map(|u| UserItem {
            disable_token: if u.disabled_at.is_none() && u.id != user.id {
                st.idem.issue(user.id, &DisableUser::scope_for(u.id))
            } else {
                String::new()
            },
            is_me: u.id == user.id,
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role.to_string(),
            created: datetime(u.created_at),
            disabled: u.disabled_at.map(datetime),
        })
        .collect();
    let tokens = st
        .db
        .list_api_tokens()
        .await?
        .into_iter()
        .map(|t| ApiTokenItem {
            revoke_token: if t.revoked_at.is_none() {
                st.idem.issue(user.id, &RevokeApiToken::scope_for(t.id))
            } else {
                String::new()
            },
            id: t.id,
            username: t.username,
            label: t.label,
            hint: t.hint,
            created: datetime(t.created_at),
            last_used: t
                .last_used_at
                .map(datetime)
                .unwrap_or_else(|| "never".into()),
            revoked: t.revoked_at.map(datetime),
        })
        .collect();
    let roles = Role::ALL
        .iter()
        .map(|r| RoleOption {
            value: r.as_str(),
            selected: add.role == r.as_str(),
        })
        .collect();
    Ok(UsersPage {
        me: user.me(),
        users,
        add,
        roles,
        tokens,
        new_token_form,
        active_users,
        new_token: None,
    })
}

async fn list_users(
    State(st): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> PageResult<Response> {
    user.require(AddUser::PERMISSION)?;
    let mut page = users_page(&st, &user, AddUserForm::default(), NewTokenForm::default()).await?;
    // A token created a moment ago arrives in a short-lived cookie: shown now, then gone.
    let flash = new_token_cookie(&headers);
    page.new_token = flash.map(|(username, secret)| NewToken { username, secret });
    let shown = page.new_token.is_some();
    let mut res = render(&page);
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if shown {
        h.insert(header::SET_COOKIE, token_cookie(&st, None));
    }
    Ok(res)
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn add_user(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<AddForm>,
) -> PageResult<Response> {
    user.require(AddUser::PERMISSION)?;
    let claim = match st.claim_form(&user, AddUser::scope_for(), &form).await? {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let f = &form.data;
    let username = Username::parse(&f.username);
    let display_name = f.display_name.trim().to_string();
    let role = Role::parse(&f.role);
    let password = NewPassword::parse(&f.password);
    let mut username_error = username.as_ref().err().map(|e| sentence(&e.to_string()));
    if let Ok(u) = &username
        && st.db.find_user(u.as_str()).await?.is_some()
    {
        username_error = Some(format!("A user named {u} exists already."));
    }
    let display_name_error = match display_name.chars().count() {
        0 => Some("Enter the person's name.".to_string()),
        n if n > MAX_DISPLAY_NAME => Some(format!("At most {MAX_DISPLAY_NAME} characters.")),
        _ => None,
    };
    let role_error = role.is_none().then(|| "Choose a role.".to_string());
    let password_error = password.as_ref().err().map(|e| sentence(&e.to_string()));
    let mut again = AddUserForm {
        token: form.token.clone(),
        username: f.username.clone(),
        display_name: f.display_name.clone(),
        role: f.role.clone(),
        username_error,
        display_name_error,
        role_error,
        password_error,
    };
    if let (Ok(username), Some(role), Ok(password)) = (username, role, password)
        && again.username_error.is_none()
        && again.display_name_error.is_none()
    {
        let added = format!("User {username} added.");
        let action = AddUser {
            actor: user.actor(),
            username,
            display_name,
            role,
            password_hash: hash_password(password).await?,
        };
        match st.submit(claim, action, paths::USERS.into()).await {
            Ok(done) => return Ok(done.flash(&st, &user, added)),
            // Someone took the name between the check above and the insert.
            Err(Refusal {
                error: Error::Conflict(c @ Conflict::UserExists(_)),
                ..
            }) => again.username_error = Some(sentence(&c.to_string())),
            Err(refused) => return Err(refused.into()),
        }
    }
    let page = users_page(&st, &user, again, NewTokenForm::default()).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Deserialize)]
pub struct EmptyForm {}

async fn disable_user(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(target): Id,
    form: TokenForm<EmptyForm>,
) -> PageResult<Response> {
    user.require(DisableUser::PERMISSION)?;
    let claim = match st
        .claim_form(&user, DisableUser::scope_for(target), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let action = DisableUser {
        actor: user.actor(),
        user_id: target,
    };
    Ok(st.submit(claim, action, paths::USERS.into()).await?.flash(
        &st,
        &user,
        "User disabled; their sessions and API tokens have ended.",
    ))
}

#[derive(Deserialize)]
pub struct CreateTokenForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    label: String,
}

async fn create_api_token(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<CreateTokenForm>,
) -> PageResult<Response> {
    user.require(CreateApiToken::PERMISSION)?;
    let claim = match st
        .claim_form(&user, CreateApiToken::scope_for(), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let f = &form.data;
    let mut again = NewTokenForm {
        token: form.token.clone(),
        username: f.username.clone(),
        label: f.label.clone(),
        username_error: None,
        label_error: (f.label.trim().chars().count() > MAX_LABEL)
            .then(|| format!("At most {MAX_LABEL} characters.")),
    };
    match Username::parse(&f.username) {
        Err(_) => again.username_error = Some("Choose the user the token acts as.".into()),
        Ok(username) if again.label_error.is_none() => {
            let (secret, token_hash, hint) = new_api_token();
            let action = CreateApiToken {
                actor: user.actor(),
                username: username.clone(),
                label: f.label.clone(),
                token_hash,
                hint,
            };
            match st.submit(claim, action, paths::USERS.into()).await {
                // Only this, the request that made the token, carries it to the page: a replay
                // never repeats a Set-Cookie, so a token is shown exactly once.
                Ok(done) if !done.replayed => {
                    let mut res = done.flash(&st, &user, "API token created.");
                    let value = format!("{username}.{secret}");
                    res.headers_mut()
                        .insert(header::SET_COOKIE, token_cookie(&st, Some(&value)));
                    return Ok(res);
                }
                Ok(done) => return Ok(done.into_response()),
                Err(Refusal {
                    error: Error::NotFound(m),
                    ..
                }) => again.username_error = Some(sentence(&m.to_string())),
                Err(Refusal {
                    error: Error::Invalid(i),
                    ..
                }) if i.field == Field::Label => again.label_error = Some(sentence(&i.message)),
                Err(refused) => return Err(refused.into()),
            }
        }
        Ok(_) => {}
    }
    let page = users_page(&st, &user, AddUserForm::default(), again).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn revoke_api_token(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(token_id): Id,
    form: TokenForm<EmptyForm>,
) -> PageResult<Response> {
    user.require(RevokeApiToken::PERMISSION)?;
    let claim = match st
        .claim_form(&user, RevokeApiToken::scope_for(token_id), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let action = RevokeApiToken {
        actor: user.actor(),
        token_id,
    };
    Ok(st.submit(claim, action, paths::USERS.into()).await?.flash(
        &st,
        &user,
        format!("API token {token_id} revoked."),
    ))
}

/// `Set-Cookie` carrying a new token to the users page for a minute, or (with `None`) removing
/// it. HttpOnly, SameSite=Strict and limited to the users page.
fn token_cookie(st: &AppState, value: Option<&str>) -> HeaderValue {
    let secure = if st.sessions.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let (value, age) = value.map_or(("", 0), |v| (v, 60));
    HeaderValue::from_str(&format!(
        "{NEW_TOKEN_COOKIE}={value}; Path={}; HttpOnly; SameSite=Strict; Max-Age={age}{secure}",
        paths::USERS
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("orderdesk_new_api_token=; Max-Age=0"))
}

/// The (user name, token) a token cookie carries, when it is one.
fn new_token_cookie(headers: &HeaderMap) -> Option<(String, String)> {
    cookie(headers, NEW_TOKEN_COOKIE)
        .and_then(|v| v.split_once('.'))
        .filter(|(user, secret)| {
            Username::parse(user).is_ok()
                && secret.starts_with(crate::auth::API_TOKEN_PREFIX)
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .map(|(user, secret)| (user.to_string(), secret.to_string()))
}
