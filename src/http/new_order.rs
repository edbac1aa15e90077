//! The new-order form and creating an order (idempotent like every form).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use super::extract::{Query, TokenForm};
use super::session::{CurrentUser, Me};
use super::templates::{render, render_status};
use crate::domain::Permission;
use crate::error::AppResult;
use crate::idempotency::Scope;
use crate::ops::CreateOrder;

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    q: String,
}

pub struct CustomerChoice {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "orders/new.html")]
pub struct NewOrderPage {
    pub me: Option<Me>,
    pub q: String,
    pub customers: Vec<CustomerChoice>,
    pub reference: String,
    pub token: String,
    pub customer_error: Option<String>,
    pub reference_error: Option<String>,
}

/// Customers offered in the picker; the search narrows it on the server.
const PICKER_SIZE: i64 = 200;

pub async fn new_order(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> AppResult<Response> {
    user.require(Permission::EditOrders)?;
    let page = new_order_page(&st, &user, &query.q, None, String::new(), None, None).await?;
    Ok(render(&page))
}

async fn new_order_page(
    st: &AppState,
    user: &CurrentUser,
    q: &str,
    selected: Option<i64>,
    reference: String,
    customer_error: Option<String>,
    reference_error: Option<String>,
) -> AppResult<NewOrderPage> {
    let rows = st.db.search_customers(q, PICKER_SIZE, 0).await?;
    Ok(NewOrderPage {
        me: user.me(),
        q: q.to_string(),
        customers: rows
            .into_iter()
            .map(|c| CustomerChoice {
                id: c.id,
                label: format!("{} ({})", c.name, c.code),
                selected: Some(c.id) == selected,
            })
            .collect(),
        reference,
        token: st.idem.issue(&user.subject(), &create_scope()),
        customer_error,
        reference_error,
    })
}

fn create_scope() -> Scope {
    Scope {
        purpose: "create-order",
        target: "orders".into(),
    }
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    reference: String,
}

pub async fn create_order(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<CreateForm>,
) -> AppResult<Response> {
    user.require(Permission::EditOrders)?;
    let claim = st.claim(&user, create_scope(), &form).await?;
    let customer_id = form
        .data
        .customer_id
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0);
    let reference = form.data.reference.trim().to_string();
    let customer_error = match customer_id {
        None => Some("Choose a customer.".to_string()),
        Some(id) if st.db.find_customer(id).await?.is_none() => {
            Some("That customer does not exist.".to_string())
        }
        Some(_) => None,
    };
    let reference_error =
        (reference.chars().count() > 80).then(|| "At most 80 characters.".to_string());
    if customer_error.is_some() || reference_error.is_some() {
        let mut page = new_order_page(
            &st,
            &user,
            "",
            customer_id,
            reference,
            customer_error,
            reference_error,
        )
        .await?;
        // Keep the submitted token: nothing was recorded under it, and a corrected resubmit
        // stays protected against double-clicks.
        page.token = form.token;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let action = CreateOrder {
        customer_id: customer_id.unwrap_or_default(),
        reference,
        actor: user.actor(),
    };
    Ok(st
        .idem
        .execute(&st.db, claim, action)
        .await?
        .into_response())
}
