//! The one error type of the crate. Every handler returns `Result<_, AppError>`; 4xx errors
//! render a page that says what to do next, 5xx render a generic page and log the detail.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::db::DbError;
use crate::http::templates::{ErrorPage, PendingPage, render_status};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist (unknown id, SKU or invoice number).
    #[error("{0}")]
    NotFound(String),
    /// Malformed input: missing fields, wrong types, a missing or malformed form token.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is over the size limit.
    #[error("request too large")]
    TooLarge,
    /// Not allowed: a token issued to someone else or for something else, a cross-site post.
    #[error("{0}")]
    Forbidden(String),
    /// The request is well-formed but the record's state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// A token reused with different form content.
    #[error("{0}")]
    Unprocessable(String),
    /// The order asks for more than is on hand; nothing changed.
    #[error("not enough stock")]
    ShortStock(Vec<crate::ops::ShortLine>),
    /// A duplicate whose original is still running past the bounded wait.
    #[error("still processing")]
    StillProcessing { location: String },
    /// Not an error: a duplicate of a completed form, answered with the recorded outcome
    /// before any further work (see `Idempotency::claim`).
    #[error("replayed")]
    Replayed(Box<crate::idempotency::Executed>),
    /// A lock wait ran past its bound outside the idempotency engine.
    #[error("the database is busy")]
    Busy,
    #[error(transparent)]
    Db(DbError),
    #[error("template: {0}")]
    Render(#[from] askama::Error),
    #[error("{0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<DbError> for AppError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Busy => AppError::Busy,
            other => AppError::Db(other),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        DbError::from(err).into()
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Conflict(_) | AppError::ShortStock(_) => StatusCode::CONFLICT,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::StillProcessing { .. } => StatusCode::ACCEPTED,
            AppError::Replayed(done) => done.outcome.status,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(_) | AppError::Render(_) | AppError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, message, hint): (&str, String, &str) = match &self {
            AppError::Replayed(done) => return done.as_ref().clone().into_response(),
            AppError::NotFound(m) => (
                "Not found",
                m.clone(),
                "Check the address, or start from the list.",
            ),
            AppError::BadRequest(m) => (
                "That request could not be read",
                m.clone(),
                "Go back to the form; what you typed is kept there.",
            ),
            AppError::TooLarge => (
                "That form is too large",
                "The server accepts forms up to 256 KiB. Nothing was changed.".to_string(),
                "Go back and shorten what you entered.",
            ),
            AppError::Forbidden(m) => (
                "Not allowed",
                m.clone(),
                "Open the page again from the menu and use the form there.",
            ),
            AppError::Conflict(m) => (
                "That cannot be done now",
                m.clone(),
                "The record has changed; open it to see its current state.",
            ),
            AppError::ShortStock(lines) => (
                "Not enough stock",
                lines
                    .iter()
                    .map(|l| {
                        format!(
                            "{} {}: ordered {}, available {}",
                            l.sku, l.name, l.requested, l.available
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                "Nothing was confirmed. Change the lines or receive stock, then confirm again.",
            ),
            AppError::Unprocessable(m) => (
                "This form was already used",
                m.clone(),
                "Open the page again to get a fresh form for a new change.",
            ),
            AppError::StillProcessing { location } => {
                let mut res = render_status(
                    status,
                    &PendingPage {
                        me: None,
                        location: location.clone(),
                    },
                );
                let refresh = format!("2;url={location}");
                if let Ok(v) = HeaderValue::from_str(&refresh) {
                    res.headers_mut().insert(header::REFRESH, v);
                }
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                return res;
            }
            AppError::Busy => {
                let mut res = render_status(
                    status,
                    &ErrorPage::new(
                        status,
                        "Busy for a moment",
                        "The database is busy with other confirmations.".into(),
                        "Nothing was changed. Send the form again in a few seconds.",
                    ),
                );
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                return res;
            }
            AppError::Db(_) | AppError::Render(_) | AppError::Internal(_) => {
                tracing::error!(error = %self, detail = ?self, "request failed");
                (
                    "Something went wrong on our side",
                    "The request could not be completed and nothing was changed.".to_string(),
                    "The error has been logged for the operator.",
                )
            }
        };
        render_status(status, &ErrorPage::new(status, title, message, hint))
    }
}
