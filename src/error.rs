//! The core's errors: what went wrong, in the domain's words.
//!
//! This is the inner ring. It knows no HTTP status, no page, no URL and no JSON: `domain`, `db`,
//! `idempotency` and `ops` return these, and each face decides how to present them (`http`
//! renders an error page that says what to do next, `http::api` a problem+json document).
//! Messages are plain facts ("order 12 is confirmed"); the faces add the advice.

use std::fmt;

use crate::db::DbError;
use crate::domain::{OrderStatus, Permission, Role, ShortLine};

/// Everything an operation of the core can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The record the request names does not exist.
    #[error("{0}")]
    NotFound(Missing),
    /// Input that is well-formed but that the domain refuses (an unknown SKU on a line, an
    /// inactive customer). Nothing changed.
    #[error("{0}")]
    Invalid(Invalid),
    /// The record's state does not allow the operation. Nothing changed.
    #[error("{0}")]
    Conflict(Conflict),
    /// The order asks for more than is on hand: every short product. Nothing changed.
    #[error("not enough stock for {} product(s)", .0.len())]
    ShortStock(Vec<ShortLine>),
    /// The actor's role does not allow the operation.
    #[error("the {role} role may not {}", permission.describe())]
    Forbidden { role: Role, permission: Permission },
    /// The idempotency key was refused; see [`KeyError`].
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A lock wait ran past its bound; the transaction was rolled back whole.
    #[error("timed out waiting for a lock")]
    Busy,
    #[error(transparent)]
    Db(DbError),
    /// A broken invariant or an unexpected failure: a bug or an operator's problem.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<DbError> for Error {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Busy => Error::Busy,
            other => Error::Db(other),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        DbError::from(err).into()
    }
}

/// Why an idempotency key (a form's token or an API client's `Idempotency-Key`) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Absent, or not a key at all.
    #[error("the idempotency key is missing or malformed")]
    Malformed,
    /// A form token signed for another person, action or record, or not signed by us.
    #[error("the form's token was not issued for this action, this record or this person")]
    NotIssuedHere,
    /// The key was used before for a different request (other content, action or path).
    #[error("the idempotency key was already used for a different request")]
    Reused,
    /// The first request with this key is still running past the bounded wait.
    #[error("the first request with this idempotency key is still being processed")]
    InFlight,
}

/// A record that does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Order(i64),
    Line { order_id: i64, line_id: i64 },
    CustomerId(i64),
    Customer(String),
    Product(String),
    Invoice(String),
    CreditNote(String),
    User(String),
    ApiToken(i64),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Order(id) => write!(f, "there is no order {id}"),
            Missing::Line { order_id, line_id } => {
                write!(f, "order {order_id} has no line {line_id}")
            }
            Missing::CustomerId(id) => write!(f, "there is no customer {id}"),
            Missing::Customer(code) => write!(f, "there is no customer with code {code}"),
            Missing::Product(sku) => write!(f, "there is no product with SKU {sku}"),
            Missing::Invoice(n) => write!(f, "there is no invoice {n}"),
            Missing::CreditNote(n) => write!(f, "there is no credit note {n}"),
            Missing::User(name) => write!(f, "there is no user named {name}"),
            Missing::ApiToken(id) => write!(f, "there is no API token {id}"),
        }
    }
}

/// Where in a request an invalid value sits: a form field, or a JSON member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Customer,
    Reference,
    Sku,
    Quantity,
    /// The `n`-th line of a request that carries several (0-based).
    LineSku(usize),
    LineQuantity(usize),
    Lines,
    Revision,
    Reason,
    Username,
    DisplayName,
    Role,
    Password,
    Label,
    Note,
    Code,
    Name,
    Address,
    VatId,
    UnitPrice,
    TaxRate,
    ReorderLevel,
    Iban,
    Bic,
    PaymentTerms,
    Footer,
}

impl Field {
    /// The JSON pointer-like name an API client sees: `lines[2].sku`.
    pub fn path(self) -> String {
        match self {
            Field::Customer => "customer".into(),
            Field::Reference => "reference".into(),
            Field::Sku => "sku".into(),
            Field::Quantity => "quantity".into(),
            Field::LineSku(i) => format!("lines[{i}].sku"),
            Field::LineQuantity(i) => format!("lines[{i}].quantity"),
            Field::Lines => "lines".into(),
            Field::Revision => "revision".into(),
            Field::Reason => "reason".into(),
            Field::Username => "username".into(),
            Field::DisplayName => "display_name".into(),
            Field::Role => "role".into(),
            Field::Password => "password".into(),
            Field::Label => "label".into(),
            Field::Note => "note".into(),
            Field::Code => "code".into(),
            Field::Name => "name".into(),
            Field::Address => "address".into(),
            Field::VatId => "vat_id".into(),
            Field::UnitPrice => "unit_price".into(),
            Field::TaxRate => "tax_rate".into(),
            Field::ReorderLevel => "reorder_level".into(),
            Field::Iban => "iban".into(),
            Field::Bic => "bic".into(),
            Field::PaymentTerms => "payment_terms_days".into(),
            Field::Footer => "footer".into(),
        }
    }
}

/// Input the domain refuses, with the field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: Field,
    pub message: String,
}

impl Invalid {
    pub fn new(field: Field, message: impl Into<String>) -> Self {
        Invalid {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Invalid> for Error {
    fn from(i: Invalid) -> Self {
        Error::Invalid(i)
    }
}

/// A state that does not allow the operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// Lines can only change, and orders only be confirmed, while they are drafts.
    NotDraft {
        order_id: i64,
        status: OrderStatus,
    },
    /// The order changed after the form (or the client) saw it, at `seen`.
    Changed {
        order_id: i64,
        seen: i64,
    },
    /// There is nothing to confirm.
    NoLines {
        order_id: i64,
    },
    /// The order is cancelled.
    Cancelled {
        order_id: i64,
    },
    /// The order changed state while the request was deciding (a confirmation and a
    /// cancellation at once): nothing was done; the request may be made again.
    StateChanged {
        order_id: i64,
    },
    UserExists(String),
    OwnAccount,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::NotDraft { order_id, status } => write!(
                f,
                "order {order_id} is {status}; only a draft can change or be confirmed"
            ),
            Conflict::Changed { order_id, seen } => write!(
                f,
                "order {order_id} was changed after revision {seen} was seen; nothing was confirmed"
            ),
            Conflict::NoLines { order_id } => write!(f, "order {order_id} has no lines yet"),
            Conflict::Cancelled { order_id } => write!(f, "order {order_id} is cancelled"),
            Conflict::StateChanged { order_id } => write!(
                f,
                "order {order_id} changed while this request was deciding; nothing was done"
            ),
            Conflict::UserExists(name) => write!(f, "a user named {name} exists already"),
            Conflict::OwnAccount => f.write_str("you cannot disable your own account"),
        }
    }
}

impl From<Conflict> for Error {
    fn from(c: Conflict) -> Self {
        Error::Conflict(c)
    }
}

impl From<Missing> for Error {
    fn from(m: Missing) -> Self {
        Error::NotFound(m)
    }
}
