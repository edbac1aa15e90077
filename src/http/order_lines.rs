//! Adding and removing lines of a draft order; each form carries its own token.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use super::error::PageResult;
use super::extract::{Id, Ids, TokenForm};
use super::forms::{Refusal, Submission};
use super::orders::{AddLineForm, order_page};
use super::paths;
use super::session::CurrentUser;
use super::state::AppState;
use super::stock::sku_field;
use super::templates::{render_status, sentence};
use crate::domain::Quantity;
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::{AddLine, NewLine, RemoveLine};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders/{id}/lines", post(add_line))
        .route("/orders/{id}/lines/{line}/delete", post(remove_line))
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    quantity: String,
}

async fn add_line(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(order_id): Id,
    form: TokenForm<AddForm>,
) -> PageResult<Response> {
    user.require(AddLine::PERMISSION)?;
    let claim = match st
        .claim_form(&user, AddLine::scope_for(order_id), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let mut add = AddLineForm {
        token: form.token.clone(),
        sku: form.data.sku.clone(),
        quantity: form.data.quantity.clone(),
        sku_error: None,
        quantity_error: None,
    };
    let quantity = Quantity::parse(&form.data.quantity);
    let sku = sku_field(&st.db, &form.data.sku, quantity.is_err()).await?;
    let (sku, quantity) = match (sku, quantity) {
        (Ok(sku), Ok(quantity)) => (sku, quantity),
        (sku, quantity) => {
            add.sku_error = sku.err();
            add.quantity_error = quantity.err().map(|e| sentence(&e.to_string()));
            let page = order_page(&st, &user, order_id, add, Vec::new(), None).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let action = AddLine {
        actor: user.actor(),
        order_id,
        line: NewLine { sku, quantity },
    };
    match st.submit(claim, action, paths::order(order_id)).await {
        Ok(done) => Ok(done.into_response()),
        // The product does not exist or is inactive: say so beside the field, input kept.
        Err(Refusal {
            error: Error::Invalid(invalid),
            ..
        }) if invalid.field == Field::Sku => {
            add.sku_error = Some(sentence(&invalid.message));
            let page = order_page(&st, &user, order_id, add, Vec::new(), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {}

async fn remove_line(
    State(st): State<AppState>,
    user: CurrentUser,
    Ids(order_id, line_id): Ids,
    form: TokenForm<RemoveForm>,
) -> PageResult<Response> {
    user.require(RemoveLine::PERMISSION)?;
    // The line is part of the fingerprint: one remove token cannot be replayed on another line.
    let line = line_id.to_string();
    let fields = form.pairs().chain([("line", line.as_str())]);
    let scope = RemoveLine::scope_for(order_id);
    let claim = match st
        .claim_form_fields(&user, scope, &form.token, fields)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let action = RemoveLine {
        actor: user.actor(),
        order_id,
        line_id,
    };
    Ok(st
        .submit(claim, action, paths::order(order_id))
        .await?
        .into_response())
}
