//! Goods receipts: the warehouse records stock coming in.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::error::PageResult;
use super::extract::{Query, TokenForm};
use super::forms::{Refusal, Submission};
use super::paths;
use super::session::CurrentUser;
use super::state::AppState;
use super::stock::sku_field;
use super::templates::Me;
use super::templates::{render, render_status, sentence};
use crate::domain::{Permission, Quantity};
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::ReceiveGoods;
use crate::ops::receipts::MAX_NOTE;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/receipts/new", get(new_receipt))
        .route("/receipts", post(create_receipt))
}

#[derive(Template)]
#[template(path = "receipts/new.html")]
pub struct ReceiptPage {
    pub me: Option<Me>,
    pub token: String,
    pub sku: String,
    pub quantity: String,
    pub note: String,
    pub sku_error: Option<String>,
    pub quantity_error: Option<String>,
    pub note_error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    sku: String,
}

async fn new_receipt(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(q): Query<NewQuery>,
) -> PageResult<Response> {
    user.require(Permission::ReceiveStock)?;
    Ok(render(&ReceiptPage {
        me: user.me(),
        token: st.idem.issue(user.id, &ReceiveGoods::scope_for()),
        sku: q.sku,
        quantity: String::new(),
        note: String::new(),
        sku_error: None,
        quantity_error: None,
        note_error: None,
    }))
}

#[derive(Deserialize)]
pub struct ReceiptForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    note: String,
}

async fn create_receipt(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<ReceiptForm>,
) -> PageResult<Response> {
    user.require(ReceiveGoods::PERMISSION)?;
    let claim = match st
        .claim_form(&user, ReceiveGoods::scope_for(), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let f = &form.data;
    let quantity = Quantity::parse(&f.quantity);
    let note = f.note.trim().to_string();
    let note_error =
        (note.chars().count() > MAX_NOTE).then(|| format!("At most {MAX_NOTE} characters."));
    let sku = sku_field(&st.db, &f.sku, quantity.is_err() || note_error.is_some()).await?;
    let mut page = ReceiptPage {
        me: user.me(),
        token: form.token.clone(),
        sku: f.sku.clone(),
        quantity: f.quantity.clone(),
        note: f.note.clone(),
        sku_error: None,
        quantity_error: None,
        note_error,
    };
    let (sku, quantity) = match (sku, quantity) {
        (Ok(sku), Ok(quantity)) if page.note_error.is_none() => (sku, quantity),
        (sku, quantity) => {
            page.sku_error = sku.err();
            page.quantity_error = quantity.err().map(|e| sentence(&e.to_string()));
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let location = paths::stock(sku.as_str());
    let received = format!("Goods received: {} x {}", quantity, sku.as_str());
    let action = ReceiveGoods {
        actor: user.actor(),
        sku,
        quantity,
        note,
    };
    match st.submit(claim, action, location).await {
        Ok(done) => Ok(done.flash(&st, &user, received)),
        Err(Refusal {
            error: Error::Invalid(invalid),
            ..
        }) if invalid.field == Field::Sku => {
            page.sku_error = Some(sentence(&invalid.message));
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}
