//! Cancelling an order (`POST /orders/{id}/cancel`): a draft goes back to nothing, a confirmed
//! order gets its credit note. A double-click, Back, a reload or a second tab show the first
//! cancellation: its credit note, or the cancelled order.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::error::PageResult;
use super::extract::{Id, TokenForm};
use super::forms::{Refusal, Submission};
use super::orders::{AddLineForm, order_page};
use super::paths;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::{render_status, sentence};
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::{CancelOrder, Cancellation};

pub fn router() -> Router<AppState> {
    Router::new().route("/orders/{id}/cancel", post(cancel_order))
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
}

async fn cancel_order(
    State(st): State<AppState>,
    user: CurrentUser,
    Id(order_id): Id,
    form: TokenForm<CancelForm>,
) -> PageResult<Response> {
    user.require(CancelOrder::PERMISSION)?;
    let claim = match st
        .claim_form(&user, CancelOrder::scope_for(order_id), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let action = CancelOrder {
        actor: user.actor(),
        order_id,
        reason: form.data.reason.clone(),
    };
    // The credit note when there is one, else the (cancelled) order.
    let shown = |c: &Cancellation| match &c.credit_note {
        Some(cn) => paths::credit_note(&cn.number),
        None => paths::order(c.order_id),
    };
    let pending = paths::order(order_id);
    match st.submit_then(claim, action, &pending, shown).await {
        Ok(done) => Ok(done.flash(&st, &user, format!("Order {order_id} cancelled."))),
        // No reason, or too long: say so beside the field, with what was typed.
        Err(Refusal {
            error: Error::Invalid(invalid),
            ..
        }) if invalid.field == Field::Reason => {
            let mut page = order_page(
                &st,
                &user,
                order_id,
                AddLineForm::default(),
                Vec::new(),
                None,
            )
            .await?;
            page.cancel.token = form.token.clone();
            page.cancel.reason = form.data.reason.clone();
            page.cancel.error = Some(sentence(&invalid.message));
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}
