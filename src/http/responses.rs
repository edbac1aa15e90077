//! Recorded responses as HTTP: both faces replay what the engine stored the same way.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::idempotency::{Recorded, StoredResponse};

/// A recorded response as it was first sent: status, `Location`, `Content-Type`, body.
pub fn stored(r: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, r.body.clone().unwrap_or_default()).into_response();
    let headers = res.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(v) = r
        .location
        .as_deref()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        headers.insert(header::LOCATION, v);
    }
    if let Some(v) = r
        .content_type
        .as_deref()
        .and_then(|t| HeaderValue::from_str(t).ok())
    {
        headers.insert(header::CONTENT_TYPE, v);
    }
    res
}

/// A replay: the recorded response, marked `Idempotent-Replayed: true`, and nothing of this
/// request's own (no `Set-Cookie`, no session material).
pub fn replayed(recorded: Recorded) -> Response {
    let mut res = stored(&recorded.response);
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}
