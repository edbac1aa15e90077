//! Customers: the list (everyone who may see master data), and the forms that add, edit,
//! deactivate and reactivate one (admins). The code is given once and never changes.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

use super::error::{PageError, PageResult};
use super::extract::{Query, TokenForm, page_number};
use super::forms::{Refusal, Submission};
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::{Me, PAGE_SIZE, Pager, qs, render, render_status, sentence};
use crate::domain::{CustomerCode, Permission};
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::{CreateCustomer, CustomerDetails, SetCustomerActive, UpdateCustomer};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list_customers).post(create_customer))
        .route("/customers/new", get(new_customer))
        .route(
            "/customers/{code}/edit",
            get(edit_customer).post(update_customer),
        )
        .route("/customers/{code}/active", post(set_customer_active))
}

/// Where a customer's record lives.
fn customer_path(code: &str) -> String {
    format!("/customers/{code}/edit")
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

pub struct CustomerItem {
    pub code: String,
    pub name: String,
    pub address: String,
    pub vat_id: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "customers/list.html")]
pub struct CustomersPage {
    pub me: Option<Me>,
    pub can_edit: bool,
    pub q: String,
    pub customers: Vec<CustomerItem>,
    pub pager: Pager,
}

async fn list_customers(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SearchQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewMasterData)?;
    let page = page_number(query.page.as_deref())?;
    let mut rows = st
        .db
        .search_customers(&query.q, false, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE)
        .await?;
    let pager = Pager::new(page, rows.len(), |n| {
        format!("/customers?q={}&page={n}", qs(&query.q))
    });
    rows.truncate(PAGE_SIZE as usize);
    let customers = rows
        .into_iter()
        .map(|c| CustomerItem {
            code: c.code,
            name: c.name,
            address: c.address.replace('\n', ", "),
            vat_id: c.vat_id,
            active: c.active,
        })
        .collect();
    Ok(render(&CustomersPage {
        me: user.me(),
        can_edit: user.role.can(Permission::ManageMasterData),
        q: query.q,
        customers,
        pager,
    }))
}

/// The customer form, new or existing, with what was typed and the errors beside the fields.
#[derive(Template, Default)]
#[template(path = "customers/form.html")]
pub struct CustomerPage {
    pub me: Option<Me>,
    /// The code of the customer being edited; `None` for a new one.
    pub editing: Option<String>,
    pub active: bool,
    pub token: String,
    pub active_token: String,
    pub code: String,
    pub name: String,
    pub address: String,
    pub vat_id: String,
    pub code_error: Option<String>,
    pub name_error: Option<String>,
    pub address_error: Option<String>,
    pub vat_id_error: Option<String>,
}

impl CustomerPage {
    /// Put a refused field's message beside it; false when the field is not on this form.
    fn field_error(&mut self, field: Field, message: &str) -> bool {
        let slot = match field {
            Field::Code => &mut self.code_error,
            Field::Name => &mut self.name_error,
            Field::Address => &mut self.address_error,
            Field::VatId => &mut self.vat_id_error,
            _ => return false,
        };
        *slot = Some(sentence(message));
        true
    }
}

async fn new_customer(State(st): State<AppState>, user: CurrentUser) -> PageResult<Response> {
    user.require(CreateCustomer::PERMISSION)?;
    Ok(render(&CustomerPage {
        me: user.me(),
        active: true,
        token: st.idem.issue(user.id, &CreateCustomer::scope_for()),
        ..Default::default()
    }))
}

fn parse_code(raw: &str) -> PageResult<CustomerCode> {
    CustomerCode::parse(raw)
        .map_err(|_| PageError::NotFound(format!("There is no customer with code {raw:?}.")))
}

async fn edit_customer(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
) -> PageResult<Response> {
    user.require(UpdateCustomer::PERMISSION)?;
    let code = parse_code(&raw)?;
    let page = customer_page(&st, &user, &code, None).await?;
    Ok(render(&page))
}

/// The edit page of `code`; `typed` keeps a refused form's input instead of the stored record.
async fn customer_page(
    st: &AppState,
    user: &CurrentUser,
    code: &CustomerCode,
    typed: Option<CustomerPage>,
) -> PageResult<CustomerPage> {
    let c = st
        .db
        .find_customer_by_code(code.as_str())
        .await?
        .ok_or_else(|| PageError::NotFound(format!("There is no customer with code {code}.")))?;
    let stored = CustomerPage {
        token: st.idem.issue(user.id, &UpdateCustomer::scope_for(code)),
        code: c.code.clone(),
        name: c.name,
        address: c.address,
        vat_id: c.vat_id,
        ..Default::default()
    };
    Ok(CustomerPage {
        me: user.me(),
        editing: Some(c.code),
        active: c.active,
        active_token: st.idem.issue(user.id, &SetCustomerActive::scope_for(code)),
        ..typed.unwrap_or(stored)
    })
}

#[derive(Deserialize)]
pub struct CustomerForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    vat_id: String,
}

impl CustomerForm {
    fn details(&self) -> CustomerDetails {
        CustomerDetails {
            name: self.name.clone(),
            address: self.address.clone(),
            vat_id: self.vat_id.clone(),
        }
    }

    /// The form as typed, to show again.
    fn again(&self, token: &str) -> CustomerPage {
        CustomerPage {
            token: token.to_string(),
            code: self.code.clone(),
            name: self.name.clone(),
            address: self.address.clone(),
            vat_id: self.vat_id.clone(),
            active: true,
            ..Default::default()
        }
    }
}

async fn create_customer(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<CustomerForm>,
) -> PageResult<Response> {
    user.require(CreateCustomer::PERMISSION)?;
    let claim = match st
        .claim_form(&user, CreateCustomer::scope_for(), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let mut page = CustomerPage {
        me: user.me(),
        ..form.data.again(&form.token)
    };
    let code = match CustomerCode::parse(&form.data.code) {
        Ok(code) => code,
        Err(e) => {
            page.code_error = Some(sentence(&e.to_string()));
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let added = format!("Customer {} added.", code.as_str());
    let action = CreateCustomer {
        actor: user.actor(),
        code,
        details: form.data.details(),
    };
    let shown = |code: &CustomerCode| customer_path(code.as_str());
    match st.submit_then(claim, action, "/customers", shown).await {
        Ok(done) => Ok(done.flash(&st, &user, added)),
        Err(Refusal {
            error: Error::Invalid(i),
            ..
        }) if page.field_error(i.field, &i.message) => {
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}

async fn update_customer(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
    form: TokenForm<CustomerForm>,
) -> PageResult<Response> {
    user.require(UpdateCustomer::PERMISSION)?;
    let code = parse_code(&raw)?;
    let claim = match st
        .claim_form(&user, UpdateCustomer::scope_for(&code), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let action = UpdateCustomer {
        actor: user.actor(),
        code: code.clone(),
        details: form.data.details(),
    };
    match st.submit(claim, action, customer_path(code.as_str())).await {
        Ok(done) => Ok(done.flash(&st, &user, format!("Customer {} saved.", code.as_str()))),
        Err(Refusal {
            error: Error::Invalid(i),
            ..
        }) => {
            let mut typed = form.data.again(&form.token);
            typed.code = code.to_string();
            let mut page = customer_page(&st, &user, &code, Some(typed)).await?;
            if !page.field_error(i.field, &i.message) {
                return Err(Error::Invalid(i).into());
            }
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    pub active: String,
}

/// The `active` field of a deactivate/reactivate form: `1` or `0`.
pub fn active_field(raw: &str) -> PageResult<bool> {
    match raw.trim() {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(PageError::BadRequest(
            "The form does not say whether to activate or deactivate. Nothing was changed.".into(),
        )),
    }
}

async fn set_customer_active(
    State(st): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
    form: TokenForm<ActiveForm>,
) -> PageResult<Response> {
    user.require(SetCustomerActive::PERMISSION)?;
    let code = parse_code(&raw)?;
    let claim = match st
        .claim_form(&user, SetCustomerActive::scope_for(&code), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let active = active_field(&form.data.active)?;
    let action = SetCustomerActive {
        actor: user.actor(),
        active,
        code: code.clone(),
    };
    let done = if active { "reactivated" } else { "deactivated" };
    Ok(st
        .submit(claim, action, customer_path(code.as_str()))
        .await?
        .flash(&st, &user, format!("Customer {} {done}.", code.as_str())))
}
