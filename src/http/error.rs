//! The pages' ring of errors: every page handler returns `PageResult`; a 4xx renders a page that
//! says what happened and what to do next, a 5xx a generic page while the detail goes to the
//! log. Core errors ([`crate::error::Error`]) become page errors here, and only here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::templates::{ErrorPage, PendingPage, render_status, sentence};
use crate::domain::ShortLine;
use crate::error::{Conflict, Error, KeyError};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The thing asked for does not exist (unknown id, SKU or invoice number).
    #[error("{0}")]
    NotFound(String),
    /// Malformed input: missing fields, wrong types, a missing or malformed form token.
    #[error("{0}")]
    BadRequest(String),
    /// The request body is over the size limit.
    #[error("request too large")]
    TooLarge,
    /// Not allowed: a role that may not, a token issued to someone else, a cross-site post.
    #[error("{0}")]
    Forbidden(String),
    /// The request is well-formed but the record's state does not allow it.
    #[error("{0}")]
    Conflict(String),
    /// A token reused with different form content.
    #[error("{0}")]
    Unprocessable(String),
    /// Input the domain refuses (an unknown customer, an inactive product).
    #[error("{0}")]
    Invalid(String),
    /// The order asks for more than is on hand; nothing changed.
    #[error("not enough stock")]
    ShortStock(Vec<ShortLine>),
    /// A duplicate whose original is still running past the bounded wait.
    #[error("still processing")]
    StillProcessing { location: String },
    /// A lock wait ran past its bound outside the idempotency engine.
    #[error("the database is busy")]
    Busy,
    /// The address exists but does not take this method (a PUT or DELETE of a page).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request ran past the server's request timeout (`--request-timeout`, in seconds).
    #[error("request timed out")]
    TimedOut { seconds: u64 },
    /// The database cannot be reached (a connection refused, reset or lost, possibly during a
    /// commit, so the outcome of a form may be unknown). Logged, never shown.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The connection was lost during a commit: whether the form took effect is not known.
    /// Logged, never shown.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// Anything else: a bug or an operator's problem. Logged, never shown.
    #[error("{0}")]
    Internal(String),
}

/// Whether a database error means the database is out of reach (rather than a bug): the
/// connection was refused, reset or lost, or the pool is closed.
pub(crate) fn unreachable(e: &crate::db::DbError) -> bool {
    use crate::db::DbError;
    matches!(
        e,
        DbError::Connect(_)
            | DbError::Other(
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            )
    )
}

pub type PageResult<T> = Result<T, PageError>;

impl From<Error> for PageError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound(m) => PageError::NotFound(sentence(&m.to_string())),
            Error::Invalid(i) => {
                PageError::Invalid(format!("{} Nothing was changed.", sentence(&i.message)))
            }
            Error::Conflict(c) => PageError::Conflict(conflict_message(&c)),
            Error::ShortStock(lines) => PageError::ShortStock(lines),
            Error::Forbidden { role, .. } => PageError::Forbidden(format!(
                "Your role ({role}) does not allow this. Nothing was changed; ask an admin if you need it."
            )),
            Error::Key(KeyError::Malformed) => PageError::BadRequest(
                "The form's security token is missing or malformed. Nothing was changed.".into(),
            ),
            Error::Key(KeyError::NotIssuedHere) => PageError::Forbidden(
                "The form's security token was not issued for this action, this record or this \
                 person. Nothing was changed."
                    .into(),
            ),
            Error::Key(KeyError::Reused) => PageError::Unprocessable(
                "This form was already submitted with different content. Nothing was changed. \
                 To make another change, open the page again and use its fresh form."
                    .into(),
            ),
            // The form runner turns this into "still processing" with the page to wait for;
            // reaching here means no page is known, which is a plain "busy".
            Error::Key(KeyError::InFlight) | Error::Busy => PageError::Busy,
            Error::Db(e @ crate::db::DbError::CommitOutcomeUnknown(_)) => {
                PageError::OutcomeUnknown(e.to_string())
            }
            Error::Db(e) if unreachable(&e) => PageError::Unavailable(e.to_string()),
            Error::Db(e) => PageError::Internal(format!("database: {e}")),
            Error::Internal(m) => PageError::Internal(m),
        }
    }
}

impl From<crate::db::DbError> for PageError {
    fn from(err: crate::db::DbError) -> Self {
        Error::from(err).into()
    }
}

/// A state conflict as a clerk reads it.
fn conflict_message(c: &Conflict) -> String {
    match c {
        Conflict::NotDraft { order_id, status } => {
            format!("Order {order_id} is {status}; its lines can no longer change.")
        }
        Conflict::Changed { order_id, .. } => format!(
            "Order {order_id} was changed after you opened it. Nothing was confirmed: review \
             the order and confirm it again."
        ),
        Conflict::NoLines { order_id } => {
            format!("Order {order_id} has no lines yet. Add at least one line before confirming.")
        }
        Conflict::Cancelled { order_id } => {
            format!("Order {order_id} is cancelled and cannot be confirmed.")
        }
        other => sentence(&other.to_string()),
    }
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::Conflict(_) | PageError::ShortStock(_) => StatusCode::CONFLICT,
            PageError::Unprocessable(_) | PageError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PageError::StillProcessing { .. } => StatusCode::ACCEPTED,
            PageError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PageError::TimedOut { .. } => StatusCode::REQUEST_TIMEOUT,
            PageError::Busy | PageError::Unavailable(_) | PageError::OutcomeUnknown(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, message, hint): (&str, String, &str) = match self {
            PageError::NotFound(m) => {
                ("Not found", m, "Check the address, or start from the list.")
            }
            PageError::BadRequest(m) => (
                "That request could not be read",
                m,
                "Go back to the form; what you typed is kept there.",
            ),
            PageError::TooLarge => (
                "That form is too large",
                "The server accepts forms up to 256 KiB. Nothing was changed.".to_string(),
                "Go back and shorten what you entered.",
            ),
            PageError::Forbidden(m) => (
                "Not allowed",
                m,
                "Open the page again from the menu and use the form there.",
            ),
            PageError::Conflict(m) => (
                "That cannot be done now",
                m,
                "The record has changed; open it to see its current state.",
            ),
            PageError::ShortStock(lines) => (
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
            PageError::Invalid(m) => (
                "That was not accepted",
                m,
                "Go back to the form and correct it; what you typed is kept there.",
            ),
            PageError::Unprocessable(m) => (
                "This form was already used",
                m,
                "Open the page again to get a fresh form for a new change.",
            ),
            PageError::MethodNotAllowed => (
                "That address does not take this request",
                "This address is a page or a form's target, and it does not answer this kind \
                 of request. Nothing was changed."
                    .to_string(),
                "Open the page from the menu and use its links and buttons.",
            ),
            // The work of a form already started runs to its end (the engine runs it in a
            // task of its own), so the outcome is unknown here, as after a lost connection.
            PageError::TimedOut { seconds } => (
                "That took too long",
                format!("The server stopped waiting for an answer after {seconds} seconds."),
                "Sending the same form again is safe: if it went through, you will see its \
                 result, and nothing happens twice. A page you opened can simply be opened again.",
            ),
            PageError::StillProcessing { location } => {
                let page = PendingPage {
                    me: None,
                    location: location.clone(),
                };
                let mut res = render_status(status, &page);
                // As data too: the feedback layer renders it again with the header.
                res.extensions_mut().insert(page);
                if let Ok(v) = HeaderValue::from_str(&format!("2;url={location}")) {
                    res.headers_mut().insert(header::REFRESH, v);
                }
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
                return res;
            }
            PageError::Busy => {
                return retry_later(
                    status,
                    "Busy for a moment",
                    "The database is busy with other confirmations.",
                    "Nothing was changed. Send the form again in a few seconds.",
                    "2",
                );
            }
            PageError::Unavailable(detail) => {
                tracing::error!(error = %detail, "database unreachable");
                return retry_later(
                    status,
                    "The database is out of reach",
                    "The database cannot be reached right now; nothing you do here is lost.",
                    "Try again in a moment. Sending the same form again is safe: if it went \
                     through before the connection was lost, you will see its result, and nothing \
                     happens twice.",
                    "5",
                );
            }
            PageError::OutcomeUnknown(detail) => {
                tracing::error!(error = %detail, "commit outcome unknown");
                return retry_later(
                    status,
                    "Not known whether that went through",
                    "The connection to the database was lost just as this was being saved, so \
                     it is not known whether it went through.",
                    "It is safe to press the button again (or send the same form again): if it \
                     went through, you will see its original result; if not, it is done now. \
                     Either way it happens once.",
                    "2",
                );
            }
            // The outcome of a form may be unknown here (a failure while committing): the page
            // never claims that nothing changed; it says what is true whatever happened.
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                (
                    "Something went wrong on our side",
                    "The request could not be completed.".to_string(),
                    "Sending the same form again is safe: if it went through, you will see its \
                     result, and nothing happens twice. The error has been logged for the operator.",
                )
            }
        };
        let page = ErrorPage::new(status, title, message, hint);
        let mut res = render_status(status, &page);
        // The page as data too: the feedback layer, which knows the signed-in user, renders it
        // again with the header and a link back to the record.
        res.extensions_mut().insert(page);
        res
    }
}

/// A 503 page that says to try again after `retry_after` seconds.
fn retry_later(
    status: StatusCode,
    title: &str,
    message: &str,
    hint: &str,
    retry_after: &'static str,
) -> Response {
    let page = ErrorPage::new(status, title, message.into(), hint);
    let mut res = render_status(status, &page);
    // The page as data too, for the feedback layer (see below).
    res.extensions_mut().insert(page);
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(retry_after));
    res
}

#[cfg(test)]
mod outage_tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(res: Response) -> String {
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn lost_connection() -> Error {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        Error::Db(crate::db::DbError::Other(sqlx::Error::Io(io)))
    }

    #[tokio::test]
    async fn a_lost_database_is_an_outage_page_that_keeps_the_clerk_calm() {
        let page = PageError::from(lost_connection());
        assert!(matches!(page, PageError::Unavailable(_)), "{page:?}");
        let res = page.into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "5");
        let text = body(res).await;
        assert!(text.contains("nothing you do here is lost"), "{text}");
        assert!(
            text.contains("Sending the same form again is safe"),
            "{text}"
        );
        assert!(!text.contains("reset by peer"), "details stay in the log");
    }

    #[tokio::test]
    async fn a_commit_without_an_answer_says_the_outcome_is_unknown() {
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof during commit");
        let lost = crate::db::DbError::CommitOutcomeUnknown(sqlx::Error::Io(eof));
        let page = PageError::from(Error::Db(lost));
        assert!(matches!(page, PageError::OutcomeUnknown(_)), "{page:?}");
        let res = page.into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        let text = body(res).await;
        assert!(text.contains("not known whether it went through"), "{text}");
        assert!(text.contains("safe to press the button again"), "{text}");
        assert!(
            !text.to_lowercase().contains("nothing was changed"),
            "{text}"
        );
        assert!(
            !text.contains("eof during commit"),
            "details stay in the log"
        );
    }

    #[tokio::test]
    async fn a_500_never_claims_that_nothing_changed() {
        let res = PageError::Internal("commit failed: who knows".into()).into_response();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let text = body(res).await;
        assert!(
            !text.to_lowercase().contains("nothing was changed"),
            "{text}"
        );
        assert!(
            text.contains("Sending the same form again is safe"),
            "{text}"
        );
        assert!(!text.contains("who knows"));
    }
}
