//! Orders through the API: create (with lines), list, read, add a line, confirm.

use axum::extract::{OriginalUri, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiQuery, ApiUser, IdemKey, JsonBody, PathId, request_path};
use super::problem::{FieldProblem, Problem};
use super::respond::{Step, claim, json, json_response, run, url};
use super::schema::{IdempotencyKeyHeader, ReadErrors, WriteErrors};
use super::views::{
    CancelRequest, CancellationJson, ConfirmRequest, CreateOrderRequest, CreditNoteJson,
    InvoiceJson, LineRequest, OrderJson, OrderPage, OrderSummaryJson,
};
use crate::db::orders::{Cursor, OrderFilter};
use crate::db::{Reader, Tx};
use crate::domain::{OrderStatus, Permission, Quantity, Sku};
use crate::error::{Error, Field, Missing};
use crate::http::state::AppState;
use crate::idempotency::{Action, Presenter, StoredResponse};
use crate::metrics::ConfirmOutcome;
use crate::ops::documents::{self, order_in};
use crate::ops::orders::MAX_REFERENCE;
use crate::ops::{
    AddLine, CancelOrder, Cancellation, ConfirmOrder, Confirmation, CreateOrder, CustomerRef,
    LineAdded, NewLine, OrderCreated,
};

/// Where an order lives in the API.
fn order_url(id: i64) -> String {
    url(&format!("/orders/{id}"))
}

/// Parse a line of a request, or say which of its fields are wrong.
fn parse_line(
    l: &LineRequest,
    sku_field: Field,
    qty_field: Field,
    errors: &mut Vec<FieldProblem>,
) -> Option<NewLine> {
    let sku = Sku::parse(&l.sku).map_err(|e| errors.push(FieldProblem::new(sku_field, e)));
    let quantity =
        Quantity::new(l.quantity).map_err(|e| errors.push(FieldProblem::new(qty_field, e)));
    Some(NewLine {
        sku: sku.ok()?,
        quantity: quantity.ok()?,
    })
}

/// Answers with the order document as the action left it: `status` and its `Location`.
struct OrderDocument {
    status: u16,
    currency: String,
}

/// A result that names the order it changed.
trait ChangedOrder {
    fn order_id(&self) -> i64;
}

impl ChangedOrder for OrderCreated {
    fn order_id(&self) -> i64 {
        self.order_id
    }
}

impl ChangedOrder for LineAdded {
    fn order_id(&self) -> i64 {
        self.order_id
    }
}

impl<T: ChangedOrder + Send + Sync + 'static> Presenter<T> for OrderDocument {
    async fn present(self, output: &T, tx: &mut Tx) -> crate::error::Result<StoredResponse> {
        let id = output.order_id();
        let doc = order_in(tx, id).await?;
        json_response(
            self.status,
            &OrderJson::new(&doc, &self.currency),
            Some(order_url(id)),
        )
    }
}

/// Create a draft order, with lines if the body brings them.
#[utoipa::path(
    post,
    path = "/api/v1/orders",
    tag = "orders",
    params(IdempotencyKeyHeader),
    request_body = CreateOrderRequest,
    responses(
        (status = 201, description = "The order was created; `Location` names it", body = OrderJson,
            headers(("Location" = String), ("Idempotent-Replayed" = String, description = "`true` when this is the first response, replayed"))),
        ReadErrors,
        WriteErrors
    ),
    security(("bearer" = []))
)]
pub async fn create_order(
    State(st): State<AppState>,
    user: ApiUser,
    IdemKey(key): IdemKey,
    uri: OriginalUri,
    body: JsonBody<CreateOrderRequest>,
) -> Result<Response, Problem> {
    user.require(CreateOrder::PERMISSION)?;
    let path = request_path(&uri);
    let claim = match claim(&st, &user, &key, CreateOrder::scope_for(), &path, &body.raw).await? {
        Step::Replayed(res) => return Ok(res),
        Step::New(claim) => claim,
    };
    let req = body.data()?;
    let mut errors = Vec::new();
    let customer = req.customer.trim().to_string();
    if customer.is_empty() {
        errors.push(FieldProblem::new(
            Field::Customer,
            "enter the customer's code",
        ));
    }
    if req.reference.chars().count() > MAX_REFERENCE {
        let message = format!("a reference has at most {MAX_REFERENCE} characters");
        errors.push(FieldProblem::new(Field::Reference, message));
    }
    let lines: Vec<NewLine> = req
        .lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| parse_line(l, Field::LineSku(i), Field::LineQuantity(i), &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let action = CreateOrder {
        actor: user.actor(),
        customer: CustomerRef::Code(customer),
        reference: req.reference,
        lines,
    };
    let presenter = OrderDocument {
        status: 201,
        currency: st.currency.code.clone(),
    };
    Ok(run(&st, claim, action, presenter).await?.0)
}

/// Add a line to a draft order.
///
/// `sku` is an exact SKU (case-insensitive); the API never guesses from part of a SKU or name,
/// as the order page does for a clerk. A product already on the order is merged into its line:
/// the quantities add up, and the answer lists the same lines as before. Like every POST it
/// happens once per Idempotency-Key, so a retried add never adds twice.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/lines",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id"), IdempotencyKeyHeader),
    request_body = LineRequest,
    responses(
        (status = 201, description = "The line was added; the body is the whole order", body = OrderJson,
            headers(("Location" = String), ("Idempotent-Replayed" = String))),
        ReadErrors,
        WriteErrors
    ),
    security(("bearer" = []))
)]
pub async fn add_line(
    State(st): State<AppState>,
    user: ApiUser,
    PathId(order_id): PathId,
    IdemKey(key): IdemKey,
    uri: OriginalUri,
    body: JsonBody<LineRequest>,
) -> Result<Response, Problem> {
    user.require(AddLine::PERMISSION)?;
    let path = request_path(&uri);
    let scope = AddLine::scope_for(order_id);
    let claim = match claim(&st, &user, &key, scope, &path, &body.raw).await? {
        Step::Replayed(res) => return Ok(res),
        Step::New(claim) => claim,
    };
    let mut errors = Vec::new();
    let Some(line) = parse_line(&body.data()?, Field::Sku, Field::Quantity, &mut errors) else {
        return Err(Problem::invalid(errors));
    };
    let action = AddLine {
        actor: user.actor(),
        order_id,
        line,
    };
    let presenter = OrderDocument {
        status: 201,
        currency: st.currency.code.clone(),
    };
    Ok(run(&st, claim, action, presenter).await?.0)
}

/// Answers with the invoice: 201 when this request confirmed the order, 200 when it was
/// confirmed already.
struct InvoiceDocument;

impl Presenter<Confirmation> for InvoiceDocument {
    async fn present(self, c: &Confirmation, _: &mut Tx) -> crate::error::Result<StoredResponse> {
        let status = if c.fresh { 201 } else { 200 };
        let location = url(&format!("/invoices/{}", c.invoice.number));
        json_response(status, &InvoiceJson::from(&c.invoice), Some(location))
    }
}

/// Confirm a draft order: stock is taken and the invoice issued, in one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/confirm",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id"), IdempotencyKeyHeader),
    request_body(content = ConfirmRequest, description = "`{}`, or the revision the client last read"),
    responses(
        (status = 201, description = "Confirmed now; the body is the invoice, `Location` names it", body = InvoiceJson,
            headers(("Location" = String), ("Idempotent-Replayed" = String))),
        (status = 200, description = "The order was confirmed already (by another request): its invoice, nothing changed", body = InvoiceJson,
            headers(("Location" = String), ("Idempotent-Replayed" = String))),
        ReadErrors,
        WriteErrors
    ),
    security(("bearer" = []))
)]
pub async fn confirm_order(
    State(st): State<AppState>,
    user: ApiUser,
    PathId(order_id): PathId,
    IdemKey(key): IdemKey,
    uri: OriginalUri,
    body: JsonBody<ConfirmRequest>,
) -> Result<Response, Problem> {
    let request = confirm(&st, &user, order_id, &key, &uri, body);
    st.metrics
        .time_confirmation(request, |p| match p.kind {
            "short-stock" => ConfirmOutcome::Short,
            "idempotency-key-in-flight" => ConfirmOutcome::StillProcessing,
            _ => ConfirmOutcome::Failed,
        })
        .await
}

async fn confirm(
    st: &AppState,
    user: &ApiUser,
    order_id: i64,
    key: &crate::idempotency::ApiKey,
    uri: &OriginalUri,
    body: JsonBody<ConfirmRequest>,
) -> Result<(Response, ConfirmOutcome), Problem> {
    user.require(ConfirmOrder::PERMISSION)?;
    let path = request_path(uri);
    let scope = ConfirmOrder::scope_for(order_id);
    let claim = match claim(st, user, key, scope, &path, &body.raw).await? {
        Step::Replayed(res) => return Ok((res, ConfirmOutcome::Replayed)),
        Step::New(claim) => claim,
    };
    let action = ConfirmOrder {
        actor: user.actor(),
        order_id,
        revision: body.data()?.revision,
        currency: st.currency.code.clone(),
    };
    let (res, replayed) = run(st, claim, action, InvoiceDocument).await?;
    let outcome = if replayed {
        ConfirmOutcome::Replayed
    } else {
        ConfirmOutcome::Confirmed
    };
    Ok((res, outcome))
}

/// Answers with the credit note (`201` when this request issued it, `200` when the order was
/// cancelled already), or with the order for a cancelled draft.
struct CancellationDocument {
    currency: String,
}

impl Presenter<Cancellation> for CancellationDocument {
    async fn present(self, c: &Cancellation, tx: &mut Tx) -> crate::error::Result<StoredResponse> {
        match &c.credit_note {
            Some(cn) => {
                let status = if c.fresh { 201 } else { 200 };
                let location = url(&format!("/credit-notes/{}", cn.number));
                let body = CancellationJson::CreditNote(CreditNoteJson::from(cn));
                json_response(status, &body, Some(location))
            }
            None => {
                let doc = order_in(tx, c.order_id).await?;
                let body = CancellationJson::Order(OrderJson::new(&doc, &self.currency));
                json_response(200, &body, Some(order_url(c.order_id)))
            }
        }
    }
}

/// Cancel an order, saying why. A draft is cancelled (clerk); a confirmed order gets a credit
/// note that negates its invoice and puts its stock back (accountant), in one transaction.
#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/cancel",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id"), IdempotencyKeyHeader),
    request_body = CancelRequest,
    responses(
        (status = 201, description = "Cancelled now with a credit note; `Location` names it", body = CreditNoteJson,
            headers(("Location" = String), ("Idempotent-Replayed" = String))),
        (status = 200, description = "A draft cancelled (the body is the order), or an order cancelled already (its credit note, or the order): nothing more changed", body = CancellationJson,
            headers(("Location" = String), ("Idempotent-Replayed" = String))),
        ReadErrors,
        WriteErrors
    ),
    security(("bearer" = []))
)]
pub async fn cancel_order(
    State(st): State<AppState>,
    user: ApiUser,
    PathId(order_id): PathId,
    IdemKey(key): IdemKey,
    uri: OriginalUri,
    body: JsonBody<CancelRequest>,
) -> Result<Response, Problem> {
    user.require(CancelOrder::PERMISSION)?;
    let path = request_path(&uri);
    let scope = CancelOrder::scope_for(order_id);
    let claim = match claim(&st, &user, &key, scope, &path, &body.raw).await? {
        Step::Replayed(res) => return Ok(res),
        Step::New(claim) => claim,
    };
    let action = CancelOrder {
        actor: user.actor(),
        order_id,
        reason: body.data()?.reason,
    };
    let presenter = CancellationDocument {
        currency: st.currency.code.clone(),
    };
    Ok(run(&st, claim, action, presenter).await?.0)
}

/// Filters and cursor of the order list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderListQuery {
    /// `draft`, `confirmed` or `cancelled`; all when absent or empty.
    #[param(pattern = "^(draft|confirmed|cancelled)?$")]
    status: Option<String>,
    /// An order number, or part of a customer's name or code.
    q: Option<String>,
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{0,18}$")]
    cursor: Option<String>,
    /// Orders per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Orders, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/orders",
    tag = "orders",
    params(OrderListQuery),
    responses((status = 200, description = "One page of orders", body = OrderPage), ReadErrors),
    security(("bearer" = []))
)]
pub async fn list_orders(
    State(st): State<AppState>,
    user: ApiUser,
    ApiQuery(q): ApiQuery<OrderListQuery>,
) -> Result<Response, Problem> {
    user.require(Permission::ViewOrders)?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            s.parse::<OrderStatus>()
                .map_err(|e| Problem::bad_request(format!("The status filter is wrong: {e}.")))?,
        ),
    };
    let limit = page_limit(q.limit)?;
    let cursor = match q.cursor.as_deref() {
        None | Some("") => Cursor::First,
        Some(c) => Cursor::Before(parse_cursor(c)?),
    };
    let filter = OrderFilter {
        status,
        // Control characters never match a name, and a NUL is refused by the databases.
        q: crate::http::extract::search_text(&q.q.unwrap_or_default()),
    };
    let (rows, more) = st.db.list_orders(&filter, limit, cursor).await?;
    let next = more
        .then(|| rows.last().map(|o| o.id.to_string()))
        .flatten();
    Ok(json(&OrderPage {
        items: rows.into_iter().map(OrderSummaryJson::from).collect(),
        next,
    }))
}

/// One order with its lines.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}",
    tag = "orders",
    params(("id" = i64, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = OrderJson),
        (status = 404, description = "There is no such order", body = Problem, content_type = "application/problem+json"),
        ReadErrors
    ),
    security(("bearer" = []))
)]
pub async fn show_order(
    State(st): State<AppState>,
    user: ApiUser,
    PathId(id): PathId,
) -> Result<Response, Problem> {
    user.require(Permission::ViewOrders)?;
    let doc = documents::order(&mut Reader::Db(&st.db), id)
        .await?
        .ok_or(Error::NotFound(Missing::Order(id)))?;
    Ok(json(&OrderJson::new(&doc, &st.currency.code)))
}

/// The page size a client asked for: 1 to 200, 50 when absent.
pub fn page_limit(limit: Option<i64>) -> Result<i64, Problem> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(n) => Err(Problem::bad_request(format!(
            "limit must be between 1 and 200, not {n}."
        ))),
    }
}

/// A cursor this API gave out: the id the next page continues after.
pub fn parse_cursor(c: &str) -> Result<i64, Problem> {
    c.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| Problem::bad_request("The cursor is not one this API gave out."))
}
