//! The API's ring of errors: RFC 9457 `application/problem+json`, for every error the API
//! answers, never HTML. Core errors ([`crate::error::Error`]) become problems here, and only
//! here; a 5xx carries a generic text while the detail goes to the log.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::ShortLine;
use crate::error::{Conflict, Error, Field, KeyError};

/// The media type of every error the API answers.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error, as RFC 9457 describes it. `type` names the kind of problem (stable: clients may
/// branch on it); `title` is its short human summary, `detail` what happened this time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:orderdesk:problem:short-stock`.
    #[serde(rename = "type", serialize_with = "problem_uri")]
    #[schema(value_type = String, example = "urn:orderdesk:problem:short-stock")]
    pub kind: &'static str,
    #[schema(value_type = String)]
    pub title: &'static str,
    /// The HTTP status code, repeated.
    pub status: u16,
    pub detail: String,
    /// The fields of the request that were refused (400, 422).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// Every product the order is short of (409 `short-stock`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<ShortLineJson>,
    /// Seconds to wait before retrying (also sent as `Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// One refused field of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// Where in the request: `customer`, `lines[2].quantity`.
    pub field: String,
    pub message: String,
}

/// A product an order asks for more of than is on hand.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShortLineJson {
    pub sku: String,
    pub name: String,
    pub requested: i64,
    pub available: i64,
}

impl Problem {
    /// A problem of kind `kind` (the last part of its `urn:orderdesk:problem:` URI).
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            lines: Vec::new(),
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request could not be read",
            detail,
        )
    }

    /// Input that reads well but is refused, field by field.
    pub fn invalid(errors: Vec<FieldProblem>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Problem {
            errors,
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "The request was refused; nothing was changed",
                detail,
            )
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid API token is required",
            detail,
        )
    }

    pub fn too_large(limit: usize) -> Self {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The request body is too large",
            format!("The API accepts bodies up to {} KiB.", limit / 1024),
        )
    }

    pub fn too_many(retry_after: u32) -> Self {
        Problem {
            retry_after: Some(retry_after),
            ..Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                "This token sent more requests than this server accepts per second; retry \
                 after the given delay.",
            )
        }
    }

    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<Error> for Problem {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound(m) => Problem::not_found(sentence(&m.to_string())),
            Error::Invalid(i) => Problem::invalid(vec![FieldProblem {
                field: i.field.path(),
                message: i.message,
            }]),
            Error::Conflict(c) => conflict(&c),
            Error::ShortStock(lines) => Problem {
                lines: lines.into_iter().map(ShortLineJson::from).collect(),
                ..Problem::new(
                    StatusCode::CONFLICT,
                    "short-stock",
                    "Not enough stock; nothing was confirmed",
                    "Some products are short: `lines` lists each with what is available.",
                )
            },
            Error::Forbidden { role, permission } => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed",
                format!(
                    "The token's user has the role {role}, which may not {}.",
                    permission.describe()
                ),
            ),
            Error::Key(KeyError::Malformed) => Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-invalid",
                "A valid Idempotency-Key header is required",
                "Every POST needs an Idempotency-Key of 1 to 255 printable ASCII characters.",
            ),
            Error::Key(KeyError::NotIssuedHere) => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not allowed",
                "This key was not issued for this request.",
            ),
            Error::Key(KeyError::Reused) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "This Idempotency-Key was used for a different request",
                "The key was first used with another method, path or body. Nothing was \
                 changed; use a new key for a new request.",
            ),
            Error::Key(KeyError::InFlight) => Problem::new(
                StatusCode::CONFLICT,
                "idempotency-key-in-flight",
                "The first request with this Idempotency-Key is still being processed",
                "Retry with the same key after the given delay to get its response.",
            )
            .with_retry_after(1),
            Error::Busy => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "The database is busy",
                "Nothing was changed. Retry with the same Idempotency-Key after the given delay.",
            )
            .with_retry_after(2),
            Error::Db(e @ crate::db::DbError::CommitOutcomeUnknown(_)) => {
                tracing::error!(error = %e, "commit outcome unknown");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "outcome-unknown",
                    "Not known whether the request took effect",
                    "The connection to the database was lost while the request was being \
                     committed. Retrying with the same Idempotency-Key is safe: if it took effect, \
                     the retry answers with its original response; if not, it takes effect now, once.",
                )
                .with_retry_after(2)
            }
            Error::Db(e) if crate::http::error::unreachable(&e) => {
                tracing::error!(error = %e, "database unreachable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    "The database is out of reach",
                    "The database cannot be reached right now. Retry in a moment with the same \
                     Idempotency-Key: if the request went through before the connection was lost, \
                     the retry answers with its original response.",
                )
                .with_retry_after(5)
            }
            Error::Db(e) => internal(&format!("database: {e}")),
            Error::Internal(m) => internal(&m),
        }
    }
}

impl From<crate::db::DbError> for Problem {
    fn from(err: crate::db::DbError) -> Self {
        Error::from(err).into()
    }
}

/// A 500: the detail goes to the log, the client gets a fixed text.
pub fn internal(detail: &str) -> Problem {
    tracing::error!(error = %detail, "API request failed");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Something went wrong on our side",
        "The error has been logged. If this was a POST, retry it with the same \
         Idempotency-Key: it takes effect at most once.",
    )
}

fn conflict(c: &Conflict) -> Problem {
    let kind = match c {
        Conflict::NotDraft { .. } => "order-not-draft",
        Conflict::Changed { .. } => "order-changed",
        Conflict::NoLines { .. } => "order-has-no-lines",
        Conflict::Cancelled { .. } => "order-cancelled",
        Conflict::StateChanged { .. } => "order-changed",
        Conflict::UserExists(_) => "user-exists",
        Conflict::OwnAccount => "own-account",
    };
    Problem::new(
        StatusCode::CONFLICT,
        kind,
        "The record's state does not allow this; nothing was changed",
        sentence(&c.to_string()),
    )
}

impl From<ShortLine> for ShortLineJson {
    fn from(l: ShortLine) -> Self {
        ShortLineJson {
            sku: l.sku,
            name: l.name,
            requested: l.requested,
            available: l.available,
        }
    }
}

impl FieldProblem {
    pub fn new(field: Field, message: impl ToString) -> Self {
        FieldProblem {
            field: field.path(),
            message: message.to_string(),
        }
    }
}

/// The `type` member: the kind's URI.
fn problem_uri<S: serde::Serializer>(kind: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("urn:orderdesk:problem:{kind}"))
}

fn sentence(s: &str) -> String {
    crate::http::templates::sentence(s)
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry = self.retry_after;
        let body = serde_json::to_string(&self).unwrap_or_else(|_| "{}".into());
        let mut res = (status, body).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(s) = retry {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"orderdesk\""),
            );
        }
        res
    }
}
