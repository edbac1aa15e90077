//! The seller's details printed on invoices and credit notes. A save adds a new version (the
//! old ones never change), so documents issued before keep what they were issued with.

use crate::db::Tx;
use crate::db::audit::{self, AuditEvent};
use crate::db::company::{self, NewCompany};
use crate::domain::{Actor, Bic, Iban, MAX_PAYMENT_TERMS, Permission};
use crate::error::{Field, Invalid, Result};
use crate::idempotency::{Action, Scope};
use crate::ops::master::{change, text};

/// Longest texts, in characters.
pub const MAX_COMPANY_NAME: usize = 120;
pub const MAX_COMPANY_ADDRESS: usize = 500;
pub const MAX_COMPANY_VAT_ID: usize = 30;
pub const MAX_FOOTER: usize = 500;

/// What the company form says, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyForm {
    pub name: String,
    pub address: String,
    pub vat_id: String,
    pub iban: String,
    pub bic: String,
    pub payment_terms_days: String,
    pub footer: String,
}

/// The company's details, parsed: an IBAN that passes its check digits (or none), a BIC of the
/// right shape (or none), payment terms of 0 to 365 whole days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyDetails {
    pub name: String,
    pub address: String,
    pub vat_id: String,
    pub iban: Option<Iban>,
    pub bic: Option<Bic>,
    pub payment_terms_days: i64,
    pub footer: String,
}

impl CompanyForm {
    /// Parse every field; the first refusal names its field.
    pub fn parse(&self) -> Result<CompanyDetails> {
        let name = self.name.trim().to_string();
        let address = self.address.trim().replace("\r\n", "\n");
        let vat_id = self.vat_id.trim().to_string();
        let footer = self.footer.trim().replace("\r\n", "\n");
        text(Field::Name, &name, 1, MAX_COMPANY_NAME)?;
        text(Field::Address, &address, 0, MAX_COMPANY_ADDRESS)?;
        text(Field::VatId, &vat_id, 0, MAX_COMPANY_VAT_ID)?;
        text(Field::Footer, &footer, 0, MAX_FOOTER)?;
        let iban = match self.iban.trim() {
            "" => None,
            raw => Some(Iban::parse(raw).map_err(|e| Invalid::new(Field::Iban, e.to_string()))?),
        };
        let bic = match self.bic.trim() {
            "" => None,
            raw => Some(Bic::parse(raw).map_err(|e| Invalid::new(Field::Bic, e.to_string()))?),
        };
        let terms = self.payment_terms_days.trim();
        let payment_terms_days = match terms {
            "" => 0,
            t => t
                .parse::<i64>()
                .ok()
                .filter(|d| (0..=MAX_PAYMENT_TERMS).contains(d))
                .ok_or_else(|| {
                    Invalid::new(
                        Field::PaymentTerms,
                        format!("payment terms are whole days from 0 to {MAX_PAYMENT_TERMS}"),
                    )
                })?,
        };
        Ok(CompanyDetails {
            name,
            address,
            vat_id,
            iban,
            bic,
            payment_terms_days,
            footer,
        })
    }
}

/// Save the company's details as a new version; documents issued from now on name it.
#[derive(Debug, Clone)]
pub struct SaveCompany {
    pub actor: Actor,
    pub form: CompanyForm,
}

impl SaveCompany {
    pub fn scope_for() -> Scope {
        Scope::new("save-company", "company")
    }
}

impl Action for SaveCompany {
    /// The new version's id, or `None` when nothing differed from the version in force.
    type Output = Option<i64>;
    const PERMISSION: Permission = Permission::ManageCompany;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for()
    }

    async fn apply(self, tx: &mut Tx) -> Result<Option<i64>> {
        let d = self.form.parse()?;
        let iban = d.iban.as_ref().map(Iban::as_str).unwrap_or("");
        let bic = d.bic.as_ref().map(Bic::as_str).unwrap_or("");
        let old = company::current(tx).await?;
        let changes: Vec<String> = match &old {
            None => vec![format!("first version: {:?}", d.name)],
            Some(o) => [
                change("name", &o.name, &d.name),
                change("address", &o.address, &d.address),
                change("VAT id", &o.vat_id, &d.vat_id),
                change("IBAN", &o.iban, iban),
                change("BIC", &o.bic, bic),
                change(
                    "payment terms",
                    &o.payment_terms_days.to_string(),
                    &d.payment_terms_days.to_string(),
                ),
                change("footer", &o.footer, &d.footer),
            ]
            .into_iter()
            .flatten()
            .collect(),
        };
        if changes.is_empty() {
            return Ok(None);
        }
        let at = crate::db::now();
        let new = NewCompany {
            name: &d.name,
            address: &d.address,
            vat_id: &d.vat_id,
            iban,
            bic,
            payment_terms_days: d.payment_terms_days,
            footer: &d.footer,
            saved_at: at,
            saved_by: &self.actor.username,
        };
        let id = company::insert(tx, &new).await?;
        let event = AuditEvent {
            actor: &self.actor.username,
            action: "save-company",
            entity: "company",
            entity_id: id.to_string(),
            detail: changes.join("; "),
        };
        audit::record(tx, &event, at).await?;
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn form() -> CompanyForm {
        CompanyForm {
            name: "  Brightline Supplies Ltd ".into(),
            address: "1 Quay Street\r\nDublin".into(),
            vat_id: "IE1234567T".into(),
            iban: "de89 3704 0044 0532 0130 00".into(),
            bic: "deutdeff".into(),
            payment_terms_days: " 30 ".into(),
            footer: "Registered in Ireland".into(),
        }
    }

    fn refused_field(f: CompanyForm) -> Field {
        match f.parse() {
            Err(Error::Invalid(i)) => i.field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_typed_form_is_trimmed_and_parsed() {
        let d = form().parse().unwrap();
        assert_eq!(d.name, "Brightline Supplies Ltd");
        assert_eq!(d.address, "1 Quay Street\nDublin");
        assert_eq!(d.iban.unwrap().as_str(), "DE89370400440532013000");
        assert_eq!(d.bic.unwrap().as_str(), "DEUTDEFF");
        assert_eq!(d.payment_terms_days, 30);
        let empty_bank = CompanyForm {
            iban: " ".into(),
            bic: String::new(),
            payment_terms_days: String::new(),
            ..form()
        }
        .parse()
        .unwrap();
        assert_eq!(
            (
                empty_bank.iban,
                empty_bank.bic,
                empty_bank.payment_terms_days
            ),
            (None, None, 0)
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let bad = |f: fn(&mut CompanyForm)| {
            let mut x = form();
            f(&mut x);
            refused_field(x)
        };
        assert_eq!(bad(|f| f.name = "  ".into()), Field::Name);
        assert_eq!(
            bad(|f| f.iban = "DE89 3704 0044 0532 0130 01".into()),
            Field::Iban
        );
        assert_eq!(bad(|f| f.bic = "DEUT".into()), Field::Bic);
        assert_eq!(
            bad(|f| f.payment_terms_days = "30.5".into()),
            Field::PaymentTerms
        );
        assert_eq!(
            bad(|f| f.payment_terms_days = "-1".into()),
            Field::PaymentTerms
        );
        assert_eq!(
            bad(|f| f.payment_terms_days = "366".into()),
            Field::PaymentTerms
        );
        assert_eq!(bad(|f| f.footer = "x".repeat(501)), Field::Footer);
        assert_eq!(bad(|f| f.vat_id = "x".repeat(31)), Field::VatId);
    }
}
