//! The new-order form and creating an order (idempotent like every form).
//!
//! One form holds the customer search, the customer list and the reference, so a search never
//! loses a typed reference. Without JavaScript the search is submitted with the form: when the
//! search text differs from the one the list was made for (`shown`), the submit is a search
//! (the page again, reference kept, nothing claimed); otherwise it creates the order. With
//! JavaScript the list follows the typing (`/orders/customer-search`). A search that leaves
//! exactly one customer preselects it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::PageResult;
use super::extract::{Query, TokenForm};
use super::forms::{Refusal, Submission};
use super::paths;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::Me;
use super::templates::sentence;
use super::templates::{render, render_status};
use crate::domain::Permission;
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::orders::MAX_REFERENCE;
use crate::ops::{CreateOrder, CustomerRef, OrderCreated};

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
    /// The id of the field that takes the focus: after a search the reference when one
    /// customer is left (preselected), the list when several, the search when none.
    pub focus: &'static str,
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
) -> PageResult<Response> {
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
) -> PageResult<NewOrderPage> {
    let rows = st.db.search_customers(q, true, PICKER_SIZE, 0).await?;
    // One match left by a search is the customer meant.
    let selected = match (selected, rows.as_slice()) {
        (None, [only]) if !q.trim().is_empty() => Some(only.id),
        (selected, _) => selected,
    };
    let focus = match rows.as_slice() {
        [] => "q",
        [_] if selected.is_some() => "reference",
        _ if q.trim().is_empty() => "q",
        _ => "customer_id",
    };
    Ok(NewOrderPage {
        focus,
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
        token: st.idem.issue(user.id, &CreateOrder::scope_for()),
        customer_error,
        reference_error,
    })
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    reference: String,
    /// The customer search as typed, and the search the list on the page was made for.
    #[serde(default)]
    q: String,
    #[serde(default)]
    shown: String,
}

pub async fn create_order(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<CreateForm>,
) -> PageResult<Response> {
    user.require(CreateOrder::PERMISSION)?;
    if form.data.q.trim() != form.data.shown.trim() {
        // A search (Enter in the search field, or the Search button): the page again with the
        // list for it, the reference kept, the token unused.
        let mut page = new_order_page(
            &st,
            &user,
            form.data.q.trim(),
            None,
            form.data.reference.clone(),
            None,
            None,
        )
        .await?;
        page.token = form.token.clone();
        return Ok(render(&page));
    }
    let claim = match st
        .claim_form(&user, CreateOrder::scope_for(), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let customer_id = form
        .data
        .customer_id
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0);
    let reference = form.data.reference.trim().to_string();
    let mut customer_error = customer_id
        .is_none()
        .then(|| "Choose a customer.".to_string());
    let reference_error = (reference.chars().count() > MAX_REFERENCE)
        .then(|| format!("At most {MAX_REFERENCE} characters."));
    let result = match customer_id {
        Some(id) if reference_error.is_none() => {
            let action = CreateOrder {
                actor: user.actor(),
                customer: CustomerRef::Id(id),
                reference: reference.clone(),
                lines: Vec::new(),
            };
            let shown = |created: &OrderCreated| paths::order(created.order_id);
            match st.submit_then(claim, action, paths::ORDERS, shown).await {
                Ok(done) => return Ok(done.flash(&st, &user, "Order created.")),
                Err(Refusal {
                    error: Error::Invalid(invalid),
                    ..
                }) if invalid.field == Field::Customer => {
                    customer_error = Some(sentence(&invalid.message));
                    None
                }
                Err(refused) => Some(refused),
            }
        }
        _ => None,
    };
    if let Some(refused) = result {
        return Err(refused.into());
    }
    let mut page = new_order_page(
        &st,
        &user,
        form.data.shown.trim(),
        customer_id,
        reference,
        customer_error,
        reference_error,
    )
    .await?;
    // Keep the submitted token: nothing was recorded under it, and a corrected resubmit
    // stays protected against double-clicks.
    page.token = form.token;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(serde::Serialize)]
pub struct CustomerItem {
    id: i64,
    label: String,
}

/// Active customers matching `q`, for the script that filters the list as the clerk types.
pub async fn search_customers(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> PageResult<Response> {
    user.require(Permission::EditOrders)?;
    let q: String = query.q.chars().take(80).collect();
    let rows = st.db.search_customers(&q, true, PICKER_SIZE, 0).await?;
    let items: Vec<CustomerItem> = rows
        .into_iter()
        .map(|c| CustomerItem {
            id: c.id,
            label: format!("{} ({})", c.name, c.code),
        })
        .collect();
    Ok(axum::Json(items).into_response())
}
