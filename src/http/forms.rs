//! The pages' face of the idempotency engine. A submitted form's token becomes a claim; a
//! completed duplicate is answered at once with its recorded `303`; an action runs and answers
//! `303 See Other` to the page that shows its result (post/redirect/get). A duplicate of a form
//! still in flight past the bounded wait gets "still processing", a page that refreshes itself
//! to that same result page.

use axum::response::{IntoResponse, Response};

use super::error::PageError;
use super::extract::TokenForm;
use super::responses::{replayed, stored};
use super::session::CurrentUser;
use super::state::AppState;
use crate::db::Tx;
use crate::error::{Error, KeyError};
use crate::idempotency::{
    self, Action, Claim, Execution, Lookup, Presenter, Scope, StoredResponse,
};

/// What a submitted form turned out to be.
pub enum Submission {
    /// A duplicate of a form that completed: this is its recorded answer, nothing else to do.
    Replayed(Response),
    /// A form to act on, with its verified claim.
    New(Claim),
}

/// What [`AppState::submit`] answered.
pub struct Submitted {
    pub response: Response,
    /// True when a duplicate waited for the first request and got its answer.
    pub replayed: bool,
}

impl IntoResponse for Submitted {
    fn into_response(self) -> Response {
        self.response
    }
}

/// A form's action refused by the core, with the page its "still processing" answer leads to.
pub struct Refusal {
    pub error: Error,
    location: String,
}

impl From<Refusal> for PageError {
    fn from(r: Refusal) -> Self {
        match r.error {
            Error::Key(KeyError::InFlight) => PageError::StillProcessing {
                location: r.location,
            },
            other => other.into(),
        }
    }
}

/// Post/redirect/get: every successful form answers `303 See Other` to the same page,
/// whatever the action's result, so the response is known before the action runs.
pub struct SeeOther(pub String);

impl<T: Send + Sync + 'static> Presenter<T> for SeeOther {
    fn planned(&self) -> Option<StoredResponse> {
        Some(StoredResponse::see_other(self.0.clone()))
    }

    async fn present(self, _: &T, _: &mut Tx) -> crate::error::Result<StoredResponse> {
        Ok(StoredResponse::see_other(self.0))
    }
}

/// Post/redirect/get to a page that exists only once the action ran (the order just
/// created): the location is made from the action's result.
pub struct SeeOtherFor<F>(pub F);

impl<T, F> Presenter<T> for SeeOtherFor<F>
where
    T: Send + Sync + 'static,
    F: FnOnce(&T) -> String + Send + 'static,
{
    async fn present(self, output: &T, _: &mut Tx) -> crate::error::Result<StoredResponse> {
        Ok(StoredResponse::see_other((self.0)(output)))
    }
}

impl AppState {
    /// Verify a form's token for `user` and `scope` and answer a completed duplicate at once,
    /// before the handler judges the form against the database's current state: the duplicate
    /// of a form that succeeded must replay, not be judged afresh.
    pub async fn claim_form<T>(
        &self,
        user: &CurrentUser,
        scope: Scope,
        form: &TokenForm<T>,
    ) -> Result<Submission, PageError> {
        self.claim_form_fields(user, scope, &form.token, form.pairs())
            .await
    }

    /// [`AppState::claim_form`] with the fingerprinted fields given explicitly (a form whose
    /// target is in its path adds it, so a token cannot be replayed on another record).
    pub async fn claim_form_fields<'a>(
        &self,
        user: &CurrentUser,
        scope: Scope,
        token: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Submission, PageError> {
        let claim = self
            .idem
            .form_claim(user.id, scope, token, fields)
            .map_err(Error::from)?;
        // The session layer may have read this key's record with the session already.
        let looked_up = match &user.known_key {
            Some(known) if known.key == claim.key() => {
                idempotency::lookup_in(claim, known.record.clone())
            }
            _ => idempotency::lookup(&self.db, claim).await,
        };
        Ok(match looked_up? {
            Lookup::Replay(recorded) => Submission::Replayed(replayed(recorded)),
            Lookup::New(claim) => Submission::New(claim),
        })
    }

    /// Run `action` once for `claim` and answer `303 See Other` to `location`.
    pub async fn submit<A: Action>(
        &self,
        claim: Claim,
        action: A,
        location: String,
    ) -> Result<Submitted, Refusal> {
        let presenter = SeeOther(location.clone());
        self.submit_with(claim, action, presenter, location).await
    }

    /// Run `action` once for `claim` and answer `303 See Other` to the page `location` makes
    /// of its result; a duplicate still in flight is sent to wait at `pending`.
    pub async fn submit_then<A, F>(
        &self,
        claim: Claim,
        action: A,
        pending: &str,
        location: F,
    ) -> Result<Submitted, Refusal>
    where
        A: Action,
        F: FnOnce(&A::Output) -> String + Send + 'static,
    {
        let presenter = SeeOtherFor(location);
        self.submit_with(claim, action, presenter, pending.to_string())
            .await
    }

    async fn submit_with<A, P>(
        &self,
        claim: Claim,
        action: A,
        presenter: P,
        pending: String,
    ) -> Result<Submitted, Refusal>
    where
        A: Action,
        P: Presenter<A::Output>,
    {
        match idempotency::execute(&self.db, claim, action, presenter).await {
            Ok(Execution::Fresh {
                response, times, ..
            }) => {
                self.metrics.record_timing(&times);
                Ok(Submitted {
                    response: stored(&response),
                    replayed: false,
                })
            }
            Ok(Execution::Replayed(recorded)) => Ok(Submitted {
                response: replayed(recorded),
                replayed: true,
            }),
            Err(error) => Err(Refusal {
                error,
                location: pending,
            }),
        }
    }
}
