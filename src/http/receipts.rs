//! Goods receipts: the warehouse records stock coming in.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::extract::{Query, TokenForm};
use super::session::{CurrentUser, Me};
use super::stock::product_field;
use super::templates::{render, render_status, sentence};
use crate::domain::{Permission, Quantity};
use crate::error::AppResult;
use crate::idempotency::Scope;
use crate::ops::ReceiveGoods;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/receipts/new", get(new_receipt))
        .route("/receipts", post(create_receipt))
}

fn receipt_scope() -> Scope {
    Scope {
        purpose: "receive-goods",
        target: "stock".into(),
    }
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
) -> AppResult<Response> {
    user.require(Permission::ReceiveStock)?;
    Ok(render(&ReceiptPage {
        me: user.me(),
        token: st.idem.issue(&user.subject(), &receipt_scope()),
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
) -> AppResult<Response> {
    user.require(Permission::ReceiveStock)?;
    let claim = st.claim(&user, receipt_scope(), &form).await?;
    let f = &form.data;
    let product = product_field(&st.db, &f.sku).await?;
    let quantity = Quantity::parse(&f.quantity);
    let note = f.note.trim().to_string();
    let note_error = (note.chars().count() > 200).then(|| "At most 200 characters.".to_string());
    match (product, quantity) {
        (Ok(product), Ok(quantity)) if note_error.is_none() => {
            let action = ReceiveGoods {
                product_id: product.id,
                sku: product.sku,
                quantity,
                note,
                actor: user.actor(),
            };
            Ok(st
                .idem
                .execute(&st.db, claim, action)
                .await?
                .into_response())
        }
        (product, quantity) => {
            let page = ReceiptPage {
                me: user.me(),
                token: form.token.clone(),
                sku: f.sku.clone(),
                quantity: f.quantity.clone(),
                note: f.note.clone(),
                sku_error: product.err(),
                quantity_error: quantity.err().map(|e| sentence(&e.to_string())),
                note_error,
            };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
