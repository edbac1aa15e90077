//! The idempotency engine: every state-changing form and API call goes through it.
//!
//! The contract (SPEC sections 3 and 12). A request brings a key: a form's server-issued token
//! (HMAC over the user, the action and its record) or an API client's `Idempotency-Key`. The
//! face turns it into a [`Claim`] (key, owner, scope, canonical fingerprint), then:
//!
//! 1. [`lookup`] answers a completed key at once from one indexed read: [`Lookup::Replay`] with
//!    the recorded response, or [`KeyError::Reused`] when the key was used for another request;
//! 2. [`execute`] runs the [`Action`] exactly once: the key is inserted as the FIRST statement of
//!    the business transaction, the action's effects follow, the [`Presenter`] turns the action's
//!    domain result into the response to record, and effects and record commit together, or
//!    nothing does. A duplicate that arrives meanwhile waits on the database (PostgreSQL: the
//!    uncommitted key row, bounded by lock_timeout; SQLite: the write lock, bounded by the busy
//!    timeout) and then replays; past the bound it gets [`KeyError::InFlight`].
//!
//! The engine knows no HTTP framework: a recorded response is a status, the headers that matter
//! (`Location`, `Content-Type`) and a body, produced by whichever face presented it. A replay is
//! an explicit result ([`Execution::Replayed`]), never an error. No in-process lock or memory is
//! involved, so one server or several behave the same.

mod api_key;
mod fingerprint;
mod token;

use std::future::Future;

use time::OffsetDateTime;

pub use api_key::{ApiKey, MAX_KEY_LEN};
pub use fingerprint::{canonical_json, fingerprint_form, fingerprint_json};
pub use token::{FormToken, Scope, Secret, TokenError};

pub use crate::db::idempotency::StoredResponse;
use crate::db::idempotency::{self as store, IdempotencyRecord, NewClaim};
use crate::db::timing::{Phase, PhaseTimes};
use crate::db::{ClaimRefused, Db, DbError, Tx, now};
use crate::domain::{Actor, Permission};
use crate::error::{Error, KeyError, Result};

/// The name of the hidden form field that carries the token.
pub const TOKEN_FIELD: &str = "idempotency_token";

/// Signs and checks form tokens; shared through the application state.
#[derive(Debug, Clone)]
pub struct Idempotency {
    secret: Secret,
}

/// A key checked and ready to be claimed: whose it is, what it guards, and what the request said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    user_id: i64,
    /// Namespaced: `form:` + the token's nonce, or `api:` + the client's key.
    key: String,
    scope: Scope,
    fingerprint: String,
}

/// A response recorded by the first request with a key, and when it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub response: StoredResponse,
    pub at: Option<OffsetDateTime>,
}

/// What [`lookup`] found.
#[derive(Debug)]
pub enum Lookup {
    /// The key is not completed: go on and [`execute`] with this claim.
    New(Claim),
    /// The key completed before: answer with what it recorded, do nothing else.
    Replay(Recorded),
}

/// Where one fresh execution's time went: the action (its scope's purpose) and its phases.
#[derive(Debug, Clone)]
pub struct Timing {
    pub action: &'static str,
    pub phases: PhaseTimes,
}

/// What [`execute`] did.
#[derive(Debug)]
pub enum Execution<T> {
    /// This request did the work; `response` was recorded with its effects; `times` says
    /// where the transaction's time went.
    Fresh {
        output: T,
        response: StoredResponse,
        times: Timing,
    },
    /// A duplicate that waited for the first request and found its record.
    Replayed(Recorded),
}

/// A state-changing operation of the core, run inside the engine's transaction.
///
/// `apply` performs every effect through `tx` and returns what happened in domain terms.
/// Returning an error rolls everything back, the claim included, so a retry is evaluated
/// afresh. Each action names its scope (what a key for it is bound to) and the permission its
/// actor needs; the engine checks both before any work.
pub trait Action: Send + 'static {
    type Output: Send + Sync + 'static;

    /// The permission the actor's role must grant.
    const PERMISSION: Permission;

    /// Whether `apply` claims the key itself, in its first statement, from the claim the
    /// engine hands over with [`Tx::defer_claim`]. The engine then checks that it was taken,
    /// and replays when the statement found it used ([`Tx::claim_refused_as`]). Confirmation does
    /// this on PostgreSQL to save a round trip while the product rows are locked.
    const CLAIMS_IN_FIRST_STATEMENT: bool = false;

    fn actor(&self) -> &Actor;

    /// The purpose and target a key for this action is bound to.
    fn scope(&self) -> Scope;

    fn apply(self, tx: &mut Tx) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// Turns an action's domain result into the response a face records and replays.
pub trait Presenter<T>: Send + 'static {
    /// The response when it is known before the action runs (a 303 to a fixed page): it is
    /// written with the claim and no second statement records it.
    fn planned(&self) -> Option<StoredResponse> {
        None
    }

    /// The response for `output`. Runs inside the transaction, before commit, so it may read
    /// what the action wrote (the document an API client gets back).
    fn present(
        self,
        output: &T,
        tx: &mut Tx,
    ) -> impl Future<Output = Result<StoredResponse>> + Send;
}

impl Idempotency {
    pub fn new(secret: Secret) -> Self {
        Idempotency { secret }
    }

    /// Sign `parts` with the server secret (see [`token::sign_parts`]).
    pub fn sign(&self, parts: &[&str]) -> String {
        token::sign_parts(&self.secret, parts)
    }

    /// Whether `mac` is the signature of `parts`.
    pub fn verify(&self, parts: &[&str], mac: &str) -> bool {
        token::verify_parts(&self.secret, parts, mac)
    }

    /// A fresh token for a form rendered for `user_id`: each call gives another, so two tabs
    /// each get their own.
    pub fn issue(&self, user_id: i64, scope: &Scope) -> String {
        FormToken::issue(&self.secret, &subject(user_id), scope)
    }

    /// Verify a submitted form token for `user_id` and `scope`, and fingerprint the form's
    /// other `fields`.
    pub fn form_claim<'a>(
        &self,
        user_id: i64,
        scope: Scope,
        token: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Claim, KeyError> {
        let verified = FormToken::verify(&self.secret, token, &subject(user_id), &scope).map_err(
            |e| match e {
                TokenError::Malformed => KeyError::Malformed,
                TokenError::Invalid => KeyError::NotIssuedHere,
            },
        )?;
        Ok(Claim {
            user_id,
            key: verified.idempotency_key(),
            scope,
            fingerprint: fingerprint_form(fields),
        })
    }
}

impl Claim {
    /// An API client's key for a request of `user_id`: `method`, `path` and the JSON `body`
    /// make its fingerprint.
    pub fn api(
        user_id: i64,
        key: &ApiKey,
        scope: Scope,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> Claim {
        Claim {
            user_id,
            key: format!("api:{}", key.as_str()),
            scope,
            fingerprint: fingerprint_json(method, path, body),
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The key as stored (`form:` + nonce, or `api:` + the client's key).
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// What form tokens are bound to.
fn subject(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// The cheap path: a completed key is answered from one indexed read, without a write lock.
pub async fn lookup(db: &Db, claim: Claim) -> Result<Lookup> {
    let record = db.find_idempotency(claim.user_id, &claim.key).await?;
    lookup_in(claim, record)
}

/// [`lookup`] with the key's record read already (with the session, in the same statement);
/// `record` must be the one of `claim`'s user and key.
pub fn lookup_in(claim: Claim, record: Option<IdempotencyRecord>) -> Result<Lookup> {
    match record {
        Some(record) => Ok(Lookup::Replay(replay(&claim, record)?)),
        None => Ok(Lookup::New(claim)),
    }
}

/// Run `action` exactly once for `claim`'s key, recording what `presenter` makes of its
/// result, or replay what the first run recorded.
///
/// The work runs in its own task: a client that goes away (Chromium aborts the first request
/// of a double-click) does not cancel a confirmation half-way; it commits or rolls back whole.
pub async fn execute<A, P>(
    db: &Db,
    claim: Claim,
    action: A,
    presenter: P,
) -> Result<Execution<A::Output>>
where
    A: Action,
    P: Presenter<A::Output>,
{
    let actor = action.actor();
    if !actor.role.can(A::PERMISSION) {
        return Err(Error::Forbidden {
            role: actor.role,
            permission: A::PERMISSION,
        });
    }
    if action.scope() != claim.scope {
        return Err(Error::Internal(format!(
            "a key checked for {:?} was offered to an action of {:?}",
            claim.scope,
            action.scope()
        )));
    }
    let db = db.clone();
    tokio::spawn(async move { run(db, claim, action, presenter).await })
        .await
        .unwrap_or_else(|join| Err(Error::Internal(format!("the action's task failed: {join}"))))
}

async fn run<A, P>(db: Db, claim: Claim, action: A, presenter: P) -> Result<Execution<A::Output>>
where
    A: Action,
    P: Presenter<A::Output>,
{
    // Waiting past the bound for the write lock or for the key means another request with
    // this key (or a burst of other work) holds it: the original is still in flight.
    let in_flight = |e: DbError| match e {
        DbError::Busy => Error::Key(KeyError::InFlight),
        other => other.into(),
    };
    let mut tx = db.begin().await.map_err(in_flight)?;
    let planned = presenter.planned();
    let at = now();
    let new = NewClaim {
        user_id: claim.user_id,
        key: claim.key.clone(),
        purpose: claim.scope.purpose,
        target: claim.scope.target.clone(),
        fingerprint: claim.fingerprint.clone(),
        planned: planned.clone(),
        at,
    };
    if A::CLAIMS_IN_FIRST_STATEMENT {
        tx.defer_claim(new);
    } else {
        if !store::claim(&mut tx, &new).await.map_err(in_flight)? {
            return replay_taken(tx, &claim).await;
        }
        tx.mark(Phase::Claim);
        crate::db::faults::pause_after_claim(&tx).await;
    }
    let output = match action.apply(&mut tx).await {
        Ok(output) if tx.take_claim().is_none() => output,
        Ok(_) => {
            rollback(tx).await;
            return Err(Error::Internal(
                "an action that claims its key in its first statement did not".into(),
            ));
        }
        Err(err) => match tx.claim_refused_as() {
            Some(ClaimRefused::Taken) => return replay_taken(tx, &claim).await,
            Some(ClaimRefused::InFlight) => {
                rollback(tx).await;
                return Err(KeyError::InFlight.into());
            }
            None => {
                rollback(tx).await;
                return Err(err);
            }
        },
    };
    // What the action did not mark itself was writing.
    tx.mark(Phase::Write);
    let response = match presenter.present(&output, &mut tx).await {
        Ok(response) => response,
        Err(err) => {
            rollback(tx).await;
            return Err(err);
        }
    };
    if planned.as_ref() != Some(&response) {
        let recorded = store::Response {
            status: response.status,
            location: response.location.as_deref(),
            content_type: response.content_type.as_deref(),
            body: response.body.as_deref(),
        };
        store::complete(&mut tx, claim.user_id, &claim.key, &recorded, at).await?;
    }
    tx.mark(Phase::Render);
    let mut phases = tx.times();
    tx.commit().await?;
    phases.mark(Phase::Commit);
    let times = Timing {
        action: claim.scope.purpose,
        phases,
    };
    log_timing(&times);
    Ok(Execution::Fresh {
        output,
        response,
        times,
    })
}

/// The key is recorded by a committed request: answer with what it recorded.
async fn replay_taken<T>(mut tx: Tx, claim: &Claim) -> Result<Execution<T>> {
    let record = store::find(&mut tx, claim.user_id, &claim.key).await?;
    rollback(tx).await;
    match record {
        Some(record) => Ok(Execution::Replayed(replay(claim, record)?)),
        // Claimed and then purged between the two statements: the client's retry will be
        // evaluated afresh.
        None => Err(Error::Busy),
    }
}

/// One line per committed action, with its phases as fields (milliseconds).
fn log_timing(t: &Timing) {
    let p = &t.phases;
    tracing::info!(
        action = t.action,
        total_ms = p.total_millis(),
        connection_ms = p.millis(Phase::Connection),
        claim_ms = p.millis(Phase::Claim),
        lock_ms = p.millis(Phase::Lock),
        write_ms = p.millis(Phase::Write),
        number_ms = p.millis(Phase::Number),
        render_ms = p.millis(Phase::Render),
        commit_ms = p.millis(Phase::Commit),
        "committed"
    );
}

/// Dropping a transaction rolls it back too; being explicit returns the connection clean.
async fn rollback(tx: Tx) {
    if let Err(e) = tx.rollback().await {
        tracing::warn!(error = %e, "rollback failed");
    }
}

fn replay(claim: &Claim, record: IdempotencyRecord) -> Result<Recorded> {
    if record.purpose != claim.scope.purpose
        || record.target != claim.scope.target
        || record.fingerprint != claim.fingerprint
    {
        return Err(KeyError::Reused.into());
    }
    let status = record
        .status_code
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..600).contains(s))
        // A claim without an outcome is never committed; seeing one means a broken row.
        .ok_or_else(|| Error::Internal("idempotency record without an outcome".into()))?;
    Ok(Recorded {
        response: StoredResponse {
            status,
            location: record.location,
            content_type: record.content_type,
            body: record.body,
        },
        at: record.completed_at,
    })
}
