//! The company page (admins): the seller's name, address, VAT id, bank details, payment terms
//! and invoice footer. Each save adds a version; documents issued before keep theirs.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::error::PageResult;
use super::extract::TokenForm;
use super::forms::{Refusal, Submission};
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::{Me, datetime, render, render_status, sentence};
use crate::db::company::CompanyRow;
use crate::domain::grouped;
use crate::error::{Error, Field};
use crate::idempotency::Action;
use crate::ops::{CompanyForm, SaveCompany};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/company", get(show_company).post(save_company))
}

const COMPANY_PATH: &str = "/admin/company";

#[derive(Template, Default)]
#[template(path = "admin/company.html")]
pub struct CompanyPage {
    pub me: Option<Me>,
    pub token: String,
    pub form: CompanyForm,
    /// "Saved 2026-11-30 10:15 by admin" for the version in force; `None` before the first save.
    pub saved: Option<String>,
    pub name_error: Option<String>,
    pub address_error: Option<String>,
    pub vat_id_error: Option<String>,
    pub iban_error: Option<String>,
    pub bic_error: Option<String>,
    pub terms_error: Option<String>,
    pub footer_error: Option<String>,
}

impl CompanyPage {
    /// Put a refused field's message beside it; false when the field is not on this form.
    fn field_error(&mut self, field: Field, message: &str) -> bool {
        let slot = match field {
            Field::Name => &mut self.name_error,
            Field::Address => &mut self.address_error,
            Field::VatId => &mut self.vat_id_error,
            Field::Iban => &mut self.iban_error,
            Field::Bic => &mut self.bic_error,
            Field::PaymentTerms => &mut self.terms_error,
            Field::Footer => &mut self.footer_error,
            _ => return false,
        };
        *slot = Some(sentence(message));
        true
    }
}

/// The stored version as the form shows it.
fn form_of(c: &CompanyRow) -> CompanyForm {
    CompanyForm {
        name: c.name.clone(),
        address: c.address.clone(),
        vat_id: c.vat_id.clone(),
        iban: grouped(&c.iban),
        bic: c.bic.clone(),
        payment_terms_days: c.payment_terms_days.to_string(),
        footer: c.footer.clone(),
    }
}

async fn company_page(
    st: &AppState,
    user: &CurrentUser,
    typed: Option<CompanyForm>,
) -> PageResult<CompanyPage> {
    let current = st.db.current_company().await?;
    let saved = current
        .as_ref()
        .map(|c| format!("{} by {}", datetime(c.saved_at), c.saved_by));
    let form = match (typed, &current) {
        (Some(t), _) => t,
        (None, Some(c)) => form_of(c),
        (None, None) => CompanyForm {
            payment_terms_days: "30".into(),
            ..Default::default()
        },
    };
    Ok(CompanyPage {
        me: user.me(),
        token: st.idem.issue(user.id, &SaveCompany::scope_for()),
        form,
        saved,
        ..Default::default()
    })
}

async fn show_company(State(st): State<AppState>, user: CurrentUser) -> PageResult<Response> {
    user.require(SaveCompany::PERMISSION)?;
    Ok(render(&company_page(&st, &user, None).await?))
}

#[derive(Deserialize)]
pub struct CompanyFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    vat_id: String,
    #[serde(default)]
    iban: String,
    #[serde(default)]
    bic: String,
    #[serde(default)]
    payment_terms_days: String,
    #[serde(default)]
    footer: String,
}

impl CompanyFields {
    fn form(&self) -> CompanyForm {
        CompanyForm {
            name: self.name.clone(),
            address: self.address.clone(),
            vat_id: self.vat_id.clone(),
            iban: self.iban.clone(),
            bic: self.bic.clone(),
            payment_terms_days: self.payment_terms_days.clone(),
            footer: self.footer.clone(),
        }
    }
}

async fn save_company(
    State(st): State<AppState>,
    user: CurrentUser,
    form: TokenForm<CompanyFields>,
) -> PageResult<Response> {
    user.require(SaveCompany::PERMISSION)?;
    let claim = match st
        .claim_form(&user, SaveCompany::scope_for(), &form)
        .await?
    {
        Submission::Replayed(res) => return Ok(res),
        Submission::New(claim) => claim,
    };
    let action = SaveCompany {
        actor: user.actor(),
        form: form.data.form(),
    };
    match st.submit(claim, action, COMPANY_PATH.to_string()).await {
        Ok(done) => Ok(done.flash(
            &st,
            &user,
            "Company details saved: documents issued from now on print them.",
        )),
        Err(Refusal {
            error: Error::Invalid(i),
            ..
        }) => {
            let mut page = company_page(&st, &user, Some(form.data.form())).await?;
            page.token = form.token.clone();
            if !page.field_error(i.field, &i.message) {
                return Err(Error::Invalid(i).into());
            }
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(refused) => Err(refused.into()),
    }
}
