//! Pieces of the OpenAPI document the handlers share: the `Idempotency-Key` header and the
//! error responses every read and every write can answer.

use utoipa::{IntoParams, IntoResponses};

use super::problem::Problem;

/// The key every POST carries: 1 to 255 printable ASCII characters chosen by the client,
/// bare or as a quoted string. The same key with the same request replays the first response.
#[derive(IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
#[allow(dead_code)]
pub struct IdempotencyKeyHeader(
    #[param(
        pattern = "^[!-~]([ -~]*[!-~])?$",
        max_length = 255,
        example = "order-4711-create"
    )]
    String,
);

/// Errors every authenticated request can answer.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ReadErrors {
    #[response(
        status = 400,
        description = "A malformed query parameter, Idempotency-Key or body",
        content_type = "application/problem+json"
    )]
    BadRequest(Problem),
    #[response(
        status = 401,
        description = "No token, or an unknown or revoked one",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
    #[response(
        status = 403,
        description = "The token's user may not do this",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    #[response(status = 429, description = "Too many requests for this token; see `Retry-After`", content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait")))]
    TooMany(Problem),
    #[response(
        status = 500,
        description = "A fault on the server's side, logged; a POST may be retried with the same key",
        content_type = "application/problem+json"
    )]
    Internal(Problem),
    #[response(status = 503, description = "The database is busy or away, or the connection to it was lost during the commit so the outcome is not known (`outcome-unknown`); retry after `Retry-After` (a POST with the same key)", content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait")))]
    Unavailable(Problem),
}

/// The errors a POST can answer besides [`ReadErrors`].
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum WriteErrors {
    #[response(
        status = 404,
        description = "There is no such order",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    #[response(status = 409, description = "The order's state does not allow this (`short-stock` lists every short line), or the first request with this key is still running (`idempotency-key-in-flight`, see `Retry-After`)", content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait, when in flight")))]
    Conflict(Problem),
    #[response(
        status = 413,
        description = "The body is larger than 256 KiB",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "The body is not JSON",
        content_type = "application/problem+json"
    )]
    UnsupportedMediaType(Problem),
    #[response(
        status = 422,
        description = "Refused input (an unknown customer or SKU, a quantity out of range; `errors` names each field), or an Idempotency-Key used before for another request",
        content_type = "application/problem+json"
    )]
    Unprocessable(Problem),
}
