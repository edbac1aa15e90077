//! Adding, changing and removing lines of a draft order; each form carries its own token. The
//! add-line form takes an exact SKU or a part of a SKU or name (see `ops::entry`): one match is
//! added, several are offered as a choice list with the quantity kept, none is a field error.
//! `/orders/product-search` feeds the picker script the same search as JSON.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::error::PageResult;
use super::extract::Query;
use super::extract::{Id, Ids, TokenForm};
use super::forms::{Refusal, Submission};
use super::orders::{AddLineForm, Choice, order_page};
use super::paths;
use super::session::CurrentUser;
use super::state::AppState;
use super::stock::sku_field;
use super::templates::{render_status, sentence, units};
use crate::domain::{Permission, Quantity, Sku};
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::entry::{CHOICES, ProductPick, pick_product};
use crate::ops::{AddLine, ChangeLine, NewLine, RemoveLine};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders/{id}/lines", post(add_line))
        .route("/orders/{id}/lines/{line}/delete", post(remove_line))
        .route("/orders/{id}/lines/{line}/quantity", post(change_line))
        .route("/orders/product-search", get(search_products))
}

/// Where the order page goes after a line was added: back to the SKU field for the next line.
fn after_add(order_id: i64) -> String {
    format!("{}?focus=sku", paths::order(order_id))
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    sku: String,
    #[serde(default)]
    quantity: String,
    /// A SKU chosen from the choice list shown after several products matched.
    #[serde(default)]
    pick: String,
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
        ..AddLineForm::default()
    };
    let quantity = Quantity::parse(&form.data.quantity);
    let typed = if form.data.pick.trim().is_empty() {
        &form.data.sku
    } else {
        &form.data.pick
    };
    let sku = match Sku::parse(typed) {
        // Nothing typed (or too long): the SKU's own message.
        Err(_) if typed.trim().is_empty() || typed.trim().chars().count() > 80 => {
            sku_field(&st.db, typed, false).await?
        }
        _ => match pick_product(&st.db, typed).await? {
            ProductPick::One(sku) if quantity.is_err() => {
                sku_field(&st.db, sku.as_str(), true).await?
            }
            ProductPick::One(sku) => Ok(sku),
            ProductPick::Several(found) => {
                add.more = found.len() as i64 > CHOICES;
                add.choices = found
                    .into_iter()
                    .take(CHOICES as usize)
                    .map(|p| Choice {
                        price: st
                            .currency
                            .show(crate::domain::Money::from_cents(p.unit_price_cents)),
                        stock: units(p.stock_on_hand),
                        sku: p.sku,
                        name: p.name,
                    })
                    .collect();
                Err(format!(
                    "Several products match \u{201c}{}\u{201d}: choose one below.",
                    typed.trim()
                ))
            }
            ProductPick::Nothing => Err(format!(
                "No active product has \u{201c}{}\u{201d} in its SKU or name.",
                typed.trim()
            )),
        },
    };
    let (sku, quantity) = match (sku, quantity) {
        (Ok(sku), Ok(quantity)) => (sku, quantity),
        (sku, quantity) => {
            add.sku_error = sku.err();
            add.quantity_error = quantity.err().map(|e| sentence(&e.to_string()));
            let page = order_page(&st, &user, order_id, add, Vec::new(), None).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    // One line per product: a product already on the order was added to its line.
    let added = format!("Added {quantity} x {sku}.");
    let action = AddLine {
        actor: user.actor(),
        order_id,
        line: NewLine { sku, quantity },
    };
    match st.submit(claim, action, after_add(order_id)).await {
        Ok(done) => Ok(done.flash(&st, &user, added)),
        // The product does not exist or is inactive: say so beside the field, input kept.
        // A merge past the largest quantity: beside the quantity.
        Err(Refusal {
            error: Error::Invalid(invalid),
            ..
        }) if matches!(invalid.field, Field::Sku | Field::Quantity) => {
            if invalid.field == Field::Sku {
                add.sku_error = Some(sentence(&invalid.message));
            } else {
                add.quantity_error = Some(sentence(&invalid.message));
            }
            let page = order_page(&st, &user, order_id, add, Vec::new(), None).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}

/// Claim a form that acts on one line of an order: the line is part of the fingerprint, so one
/// token cannot be replayed on another line.
async fn claim_line_form<T>(
    st: &AppState,
    user: &CurrentUser,
    scope: crate::idempotency::Scope,
    form: &TokenForm<T>,
    line_id: i64,
) -> PageResult<Submission> {
    let line = line_id.to_string();
    let fields = form.pairs().chain([("line", line.as_str())]);
    st.claim_form_fields(user, scope, &form.token, fields).await
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    quantity: String,
}

async fn change_line(
    State(st): State<AppState>,
    user: CurrentUser,
    Ids(order_id, line_id): Ids,
    form: TokenForm<ChangeForm>,
) -> PageResult<Response> {
    user.require(ChangeLine::PERMISSION)?;
    let scope = ChangeLine::scope_for(order_id);
    let claim = match claim_line_form(&st, &user, scope, &form, line_id).await? {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let quantity = match Quantity::parse(&form.data.quantity) {
        Ok(q) => q,
        Err(e) => {
            let message = match e {
                crate::domain::QuantityError::TooSmall => {
                    "At least 1; to take the line off the order, press Remove.".to_string()
                }
                other => sentence(&other.to_string()),
            };
            return refused_change(&st, &user, line_id, &form, order_id, message).await;
        }
    };
    let action = ChangeLine {
        actor: user.actor(),
        order_id,
        line_id,
        quantity,
    };
    let back = format!("{}?focus=line-{line_id}", paths::order(order_id));
    let changed = format!("Quantity changed to {quantity}.");
    match st.submit(claim, action, back).await {
        Ok(done) => Ok(done.flash(&st, &user, changed)),
        Err(Refusal {
            error: Error::Invalid(invalid),
            ..
        }) if invalid.field == Field::Quantity => {
            let message = sentence(&invalid.message);
            refused_change(&st, &user, line_id, &form, order_id, message).await
        }
        Err(refused) => Err(refused.into()),
    }
}

/// The order page again after a refused quantity change: the typed quantity kept beside its
/// line with the message, and the focus on it.
async fn refused_change(
    st: &AppState,
    user: &CurrentUser,
    line_id: i64,
    form: &TokenForm<ChangeForm>,
    order_id: i64,
    message: String,
) -> PageResult<Response> {
    let mut page = order_page(st, user, order_id, AddLineForm::default(), Vec::new(), None).await?;
    page.focus = format!("line-{line_id}");
    if let Some(l) = page.lines.iter_mut().find(|l| l.id == line_id) {
        l.quantity_input = form.data.quantity.clone();
        l.quantity_error = Some(message);
        // Nothing was recorded under the token: the corrected resubmit reuses it.
        l.change_token = form.token.clone();
    }
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// One product the picker offers.
#[derive(Serialize)]
pub struct PickerItem {
    sku: String,
    name: String,
    price: String,
    stock: String,
}

/// Active products matching `q`, for the picker script: at most [`CHOICES`], by SKU.
async fn search_products(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> PageResult<Response> {
    user.require(Permission::EditOrders)?;
    let q: String = query.q.chars().take(80).collect();
    let rows = st.db.search_active_products(&q, CHOICES).await?;
    let items: Vec<PickerItem> = rows
        .into_iter()
        .map(|p| PickerItem {
            price: st
                .currency
                .show(crate::domain::Money::from_cents(p.unit_price_cents)),
            stock: units(p.stock_on_hand),
            sku: p.sku,
            name: p.name,
        })
        .collect();
    Ok(axum::Json(items).into_response())
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
    let scope = RemoveLine::scope_for(order_id);
    let claim = match claim_line_form(&st, &user, scope, &form, line_id).await? {
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
        .flash(&st, &user, "Line removed."))
}
