//! The idempotency engine: every state-changing form goes through [`Idempotency::execute`].
//!
//! The contract (SPEC section 3): the form's token is verified (HMAC over subject, purpose and
//! target), then claimed by inserting its key as the FIRST statement of the business
//! transaction; effects and the recorded outcome commit together, or nothing does. A duplicate
//! finds the committed record and replays it; a duplicate of an in-flight request waits on the
//! database (PostgreSQL: the uncommitted key row, bounded by lock_timeout; SQLite: the write
//! lock, bounded by the busy timeout) and then replays. No in-process lock or memory is involved,
//! so one server or several behave the same.

mod fingerprint;
mod token;

use std::future::Future;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

pub use fingerprint::fingerprint;
pub use token::{IdempotencyToken, Scope, Secret, TokenError};

use crate::db::idempotency::{self as store, IdempotencyRecord, NewClaim, PlannedOutcome};
use crate::db::{Db, DbError, Tx, now};
use crate::error::AppError;

/// The name of the hidden form field that carries the token.
pub const TOKEN_FIELD: &str = "idempotency_token";

/// Signs and checks tokens; shared through the application state.
#[derive(Debug, Clone)]
pub struct Idempotency {
    secret: Secret,
}

/// A verified token, with what the submitted form said, ready to be claimed.
#[derive(Debug, Clone)]
pub struct Claim {
    pub key: Uuid,
    pub subject: String,
    pub scope: Scope,
    pub fingerprint: String,
}

/// The outcome of an action as recorded and replayed: for forms, a 303 to a GET page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: Option<String>,
}

impl Outcome {
    /// Post/redirect/get: `303 See Other` to `location`.
    pub fn see_other(location: impl Into<String>) -> Self {
        Outcome {
            status: StatusCode::SEE_OTHER,
            location: Some(location.into()),
            body: None,
        }
    }
}

/// What [`Idempotency::execute`] answers: the outcome, and whether it was a replay.
#[derive(Debug, Clone)]
pub struct Executed {
    pub outcome: Outcome,
    pub replayed: bool,
}

impl IntoResponse for Executed {
    fn into_response(self) -> Response {
        let mut res = self.outcome.body.unwrap_or_default().into_response();
        *res.status_mut() = self.outcome.status;
        if let Some(loc) = self
            .outcome
            .location
            .and_then(|l| HeaderValue::from_str(&l).ok())
        {
            res.headers_mut().insert(header::LOCATION, loc);
        }
        if self.replayed {
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        res
    }
}

/// A state-changing action run inside the idempotency transaction.
///
/// `apply` performs every effect through `tx` and returns the outcome to record. Returning an
/// error rolls everything back, the claim included, so a retry is evaluated afresh.
pub trait Action: Send + 'static {
    fn apply(self, tx: &mut Tx) -> impl Future<Output = Result<Outcome, AppError>> + Send;

    /// Where a "still processing" page sends the browser once the original has finished.
    fn pending_location(&self) -> String;

    /// The outcome, when it is known before the action runs (a 303 to a fixed page): it is
    /// then written with the claim and no second statement records it.
    fn planned_outcome(&self) -> Option<Outcome> {
        None
    }
}

impl Idempotency {
    pub fn new(secret: Secret) -> Self {
        Idempotency { secret }
    }

    /// A fresh token for a form rendered for `subject`.
    pub fn issue(&self, subject: &str, scope: &Scope) -> String {
        IdempotencyToken::issue(&self.secret, subject, scope)
    }

    /// Verify a submitted token and prepare the claim. `fields` are the form's other fields.
    ///
    /// A key that already completed is answered here, before the handler validates anything
    /// against the current state of the database: the duplicate of a form that succeeded must
    /// replay its outcome, not be judged afresh (`AppError::Replayed` renders that outcome).
    pub async fn claim<'a>(
        &self,
        db: &Db,
        subject: &str,
        scope: Scope,
        token: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Claim, AppError> {
        let verified = IdempotencyToken::verify(&self.secret, token, subject, &scope).map_err(
            |e| match e {
                TokenError::Malformed => AppError::BadRequest(format!("{e}. Nothing was changed.")),
                TokenError::Invalid => AppError::Forbidden(format!("{e}. Nothing was changed.")),
            },
        )?;
        let claim = Claim {
            key: verified.key(),
            subject: subject.to_string(),
            scope,
            fingerprint: fingerprint(fields),
        };
        // Cheap path: a completed duplicate is answered from one indexed read, no write lock.
        if let Some(record) = db.find_idempotency(claim.key).await? {
            return Err(AppError::Replayed(Box::new(replay(&claim, record)?)));
        }
        Ok(claim)
    }

    /// Run `action` exactly once for `claim`'s key, or replay what the first run recorded.
    ///
    /// The work runs in its own task: a browser that aborts the request (Chromium does so on a
    /// double-click) does not cancel a confirmation half-way; it commits or rolls back whole.
    pub async fn execute<A: Action>(
        &self,
        db: &Db,
        claim: Claim,
        action: A,
    ) -> Result<Executed, AppError> {
        // Cheap path: a completed duplicate is answered from one indexed read, no write lock.
        if let Some(record) = db.find_idempotency(claim.key).await? {
            return replay(&claim, record);
        }
        let db = db.clone();
        let pending = action.pending_location();
        let task = tokio::spawn(async move { run(db, claim, action, pending).await });
        match task.await {
            Ok(result) => result,
            Err(join) => Err(AppError::Internal(format!(
                "confirmation task failed: {join}"
            ))),
        }
    }
}

async fn run<A: Action>(
    db: Db,
    claim: Claim,
    action: A,
    pending: String,
) -> Result<Executed, AppError> {
    // Waiting past the bound for the write lock or for the key means another request with
    // this key (or a burst of other work) holds it: answer "still processing".
    let still_processing = |e: DbError| match e {
        DbError::Busy => AppError::StillProcessing {
            location: pending.clone(),
        },
        other => other.into(),
    };
    let mut tx = db.begin().await.map_err(still_processing)?;
    let planned = action.planned_outcome();
    let new = NewClaim {
        planned: planned.as_ref().map(|p| PlannedOutcome {
            status_code: p.status.as_u16(),
            location: p.location.as_deref(),
            body: p.body.as_deref(),
        }),
        key: claim.key,
        subject: &claim.subject,
        purpose: claim.scope.purpose,
        target: &claim.scope.target,
        fingerprint: &claim.fingerprint,
    };
    if !store::claim(&mut tx, &new, now())
        .await
        .map_err(still_processing)?
    {
        let record = store::find(&mut tx, claim.key).await?;
        tx.rollback().await?;
        return match record {
            Some(record) => replay(&claim, record),
            // Claimed and then purged between the two statements: treat as busy, the
            // browser's retry will be evaluated afresh.
            None => Err(AppError::Busy),
        };
    }
    if let Some(delay) = db.faults().action_delay() {
        tokio::time::sleep(delay).await;
    }
    match action.apply(&mut tx).await {
        Ok(outcome) if Some(&outcome) == planned.as_ref() => {
            tx.commit().await?;
            Ok(Executed {
                outcome,
                replayed: false,
            })
        }
        Ok(outcome) => {
            store::complete(
                &mut tx,
                claim.key,
                outcome.status.as_u16(),
                outcome.location.as_deref(),
                outcome.body.as_deref(),
                now(),
            )
            .await?;
            tx.commit().await?;
            Ok(Executed {
                outcome,
                replayed: false,
            })
        }
        Err(err) => {
            // Dropping the transaction would roll back too; being explicit returns the
            // connection to the pool clean.
            if let Err(rb) = tx.rollback().await {
                tracing::warn!(error = %rb, "rollback after a failed action");
            }
            Err(err)
        }
    }
}

fn replay(claim: &Claim, record: IdempotencyRecord) -> Result<Executed, AppError> {
    if record.subject != claim.subject
        || record.purpose != claim.scope.purpose
        || record.target != claim.scope.target
        || record.fingerprint != claim.fingerprint
    {
        return Err(AppError::Unprocessable(
            "This form was already submitted with different content. Nothing was changed. \
             To make another change, open the page again and use its fresh form."
                .into(),
        ));
    }
    let status = record
        .status_code
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok());
    match status {
        Some(status) => Ok(Executed {
            outcome: Outcome {
                status,
                location: record.location,
                body: record.body,
            },
            replayed: true,
        }),
        // A claim without an outcome is never committed; seeing one means a broken row.
        None => Err(AppError::Db(DbError::Other(sqlx::Error::Protocol(
            "idempotency record without outcome".into(),
        )))),
    }
}
