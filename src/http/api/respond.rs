//! The API's face of the idempotency engine, and its JSON answers: a POST's key is looked up
//! (a completed one replays at once), the action runs once, and what the presenter made of its
//! result is recorded and sent.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::extract::ApiUser;
use super::problem::{self, Problem};
use crate::error::Error;
use crate::http::paths;
use crate::http::responses::{replayed, stored};
use crate::http::state::AppState;
use crate::idempotency::{
    self, Action, ApiKey, Claim, Execution, Lookup, Presenter, Scope, StoredResponse,
};

/// An address of the API: `url("/orders/7")` is `/api/v1/orders/7`.
pub fn url(path: &str) -> String {
    format!("{}{path}", paths::API)
}

/// What a POST's key turned out to be.
pub enum Step {
    /// The key completed before: its recorded response, replayed.
    Replayed(Response),
    New(Claim),
}

/// The key of a POST for `user`, `scope`, and the request's path and JSON body: a completed
/// key is answered at once with its recorded response.
pub async fn claim(
    st: &AppState,
    user: &ApiUser,
    key: &ApiKey,
    scope: Scope,
    path: &str,
    body: &serde_json::Value,
) -> Result<Step, Problem> {
    let claim = Claim::api(user.id, key, scope, "POST", path, body);
    Ok(match idempotency::lookup(&st.db, claim).await? {
        Lookup::Replay(recorded) => Step::Replayed(replayed(recorded)),
        Lookup::New(claim) => Step::New(claim),
    })
}

/// Run `action` once for `claim`, recording what `presenter` makes of it; or replay.
pub async fn run<A, P>(
    st: &AppState,
    claim: Claim,
    action: A,
    presenter: P,
) -> Result<(Response, bool), Error>
where
    A: Action,
    P: Presenter<A::Output>,
{
    Ok(
        match idempotency::execute(&st.db, claim, action, presenter).await? {
            Execution::Fresh {
                response, times, ..
            } => {
                st.metrics.record_timing(&times);
                (stored(&response), false)
            }
            Execution::Replayed(recorded) => (replayed(recorded), true),
        },
    )
}

/// A JSON document as a response to record.
pub fn json_response<T: Serialize>(
    status: u16,
    body: &T,
    location: Option<String>,
) -> crate::error::Result<StoredResponse> {
    let body = serde_json::to_string(body)
        .map_err(|e| Error::Internal(format!("serialising a response: {e}")))?;
    Ok(StoredResponse {
        status,
        location,
        content_type: Some("application/json".into()),
        body: Some(body),
    })
}

/// A JSON document as a response now (reads are not recorded).
pub fn json<T: Serialize>(body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => problem::internal(&format!("serialising a response: {e}")).into_response(),
    }
}
