//! Adding and removing lines of a draft order; each form carries its own token.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;

use super::AppState;
use super::extract::{Id, Ids, TokenForm};
use super::orders::{AddLineForm, add_line_scope, order_page, remove_line_scope};
use super::session::CurrentUser;
use super::stock::product_field;
use super::templates::{render_status, sentence};
use crate::domain::{Permission, Quantity};
use crate::error::AppResult;
use crate::ops::{AddLine, RemoveLine};

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
) -> AppResult<Response> {
    user.require(Permission::EditOrders)?;
    let claim = st.claim(&user, add_line_scope(order_id), &form).await?;
    let quantity = Quantity::parse(&form.data.quantity);
    let product = product_field(&st.db, &form.data.sku).await?;
    match (product, quantity) {
        (Ok(product), Ok(quantity)) => {
            let action = AddLine {
                order_id,
                product_id: product.id,
                sku: product.sku,
                quantity,
                actor: user.actor(),
            };
            Ok(st
                .idem
                .execute(&st.db, claim, action)
                .await?
                .into_response())
        }
        (product, quantity) => {
            let add = AddLineForm {
                token: form.token.clone(),
                sku: form.data.sku.clone(),
                quantity: form.data.quantity.clone(),
                sku_error: product.err(),
                quantity_error: quantity.err().map(|e| sentence(&e.to_string())),
            };
            let page = order_page(&st, &user, order_id, add, Vec::new(), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {}

async fn remove_line(
    State(st): State<AppState>,
    user: CurrentUser,
    Ids(order_id, line_id): Ids,
    form: TokenForm<RemoveForm>,
) -> AppResult<Response> {
    user.require(Permission::EditOrders)?;
    // The line is part of the fingerprint: one remove token cannot be replayed on another line.
    let line = line_id.to_string();
    let fields = form.pairs().chain([("line", line.as_str())]);
    let claim = st
        .idem
        .claim(
            &st.db,
            &user.subject(),
            remove_line_scope(order_id),
            &form.token,
            fields,
        )
        .await?;
    let action = RemoveLine {
        order_id,
        line_id,
        actor: user.actor(),
    };
    Ok(st
        .idem
        .execute(&st.db, claim, action)
        .await?
        .into_response())
}
