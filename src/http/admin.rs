//! User administration: the list of users, adding one, disabling one. Admins only.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::extract::{Id, TokenForm};
use super::session::{CurrentUser, Me};
use super::templates::{datetime, render, render_status, sentence};
use crate::auth::hash_password;
use crate::domain::{NewPassword, Permission, Role, Username};
use crate::error::{AppError, AppResult};
use crate::idempotency::Scope;
use crate::ops::{AddUser, DisableUser};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users", get(list_users).post(add_user))
        .route("/admin/users/{id}/disable", post(disable_user))
}

fn add_scope() -> Scope {
    Scope {
        purpose: "add-user",
        target: "users".into(),
    }
}

fn disable_scope(user_id: i64) -> Scope {
    Scope {
        purpose: "disable-user",
        target: format!("user:{user_id}"),
    }
}

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

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub me: Option<Me>,
    pub users: Vec<UserItem>,
    pub add: AddUserForm,
    pub roles: Vec<RoleOption>,
}

async fn users_page(
    st: &AppState,
    user: &CurrentUser,
    mut add: AddUserForm,
) -> AppResult<UsersPage> {
    let subject = user.subject();
    if add.token.is_empty() {
        add.token = st.idem.issue(&subject, &add_scope());
    }
    let users = st
        .db
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserItem {
            disable_token: if u.disabled_at.is_none() && u.id != user.id {
                st.idem.issue(&subject, &disable_scope(u.id))
            } else {
                String::new()
            },
            is_me: u.id == user.id,
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            created: datetime(u.created_at),
            disabled: u.disabled_at.map(datetime),
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
    })
}

async fn list_users(State(st): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    user.require(Permission::ManageUsers)?;
    Ok(render(
        &users_page(&st, &user, AddUserForm::default()).await?,
    ))
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
) -> AppResult<Response> {
    user.require(Permission::ManageUsers)?;
    let claim = st.claim(&user, add_scope(), &form).await?;
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
        n if n > 80 => Some("At most 80 characters.".to_string()),
        _ => None,
    };
    let role_error = role.is_none().then(|| "Choose a role.".to_string());
    let password_error = password.as_ref().err().map(|e| sentence(&e.to_string()));
    match (username, role, password) {
        (Ok(username), Some(role), Ok(password))
            if username_error.is_none() && display_name_error.is_none() =>
        {
            let action = AddUser {
                username,
                display_name,
                role,
                password_hash: hash_password(password).await?,
                actor: user.actor(),
            };
            Ok(st
                .idem
                .execute(&st.db, claim, action)
                .await?
                .into_response())
        }
        _ => {
            let add = AddUserForm {
                token: form.token.clone(),
                username: f.username.clone(),
                display_name: f.display_name.clone(),
                role: f.role.clone(),
                username_error,
                display_name_error,
                role_error,
                password_error,
            };
            let page = users_page(&st, &user, add).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Deserialize)]
pub struct DisableForm {}

async fn disable_user(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(target): Id,
    form: TokenForm<DisableForm>,
) -> AppResult<Response> {
    user.require(Permission::ManageUsers)?;
    let claim = st.claim(&user, disable_scope(target), &form).await?;
    if target == user.id {
        return Err(AppError::Conflict(
            "You cannot disable your own account.".into(),
        ));
    }
    let action = DisableUser {
        user_id: target,
        actor: user.actor(),
    };
    Ok(st
        .idem
        .execute(&st.db, claim, action)
        .await?
        .into_response())
}
