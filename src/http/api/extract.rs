//! The API's extractors, whose rejections are problems: the bearer token's user, the
//! `Idempotency-Key`, a JSON body (kept whole for the fingerprint), query strings and path ids.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::problem::Problem;
use crate::auth::session_hash;
use crate::domain::{Actor, Permission, Role};
use crate::http::session::bearer;
use crate::http::state::AppState;
use crate::idempotency::ApiKey;

/// The largest request body the API reads, in bytes.
pub const BODY_LIMIT: usize = 256 * 1024;

/// The user a request's API token acts as. Extracting it authenticates the request (401
/// otherwise) and takes one request from the token's budget (429 when it is spent).
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

impl ApiUser {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            username: self.username.clone(),
            role: self.role,
        }
    }

    /// Refuse with a 403 unless the token's user may do `p`.
    pub fn require(&self, p: Permission) -> Result<(), Problem> {
        if self.role.can(p) {
            Ok(())
        } else {
            Err(crate::error::Error::Forbidden {
                role: self.role,
                permission: p,
            }
            .into())
        }
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Problem> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            Problem::unauthorized(
                "Send `Authorization: Bearer TOKEN` with an API token (an admin creates one on \
                 the users page or with `orderdesk api-token add`).",
            )
        })?;
        let user = st
            .db
            .find_api_token(&session_hash(token))
            .await?
            .ok_or_else(|| {
                Problem::unauthorized("The token is unknown or revoked, or its user is disabled.")
            })?;
        st.api_limits
            .take(user.token_id)
            .map_err(Problem::too_many)?;
        let stale = user
            .last_used_at
            .is_none_or(|t| crate::db::now() - t > time::Duration::minutes(1));
        if stale && let Err(e) = st.db.touch_api_token(user.token_id).await {
            tracing::warn!(error = %e, "could not record API token use");
        }
        Ok(ApiUser {
            id: user.user_id,
            username: user.username,
            role: user.role,
        })
    }
}

/// The `Idempotency-Key` of a POST: required, 1 to 255 printable ASCII characters.
pub struct IdemKey(pub ApiKey);

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let mut values = parts.headers.get_all("idempotency-key").iter();
        let problem = |detail: &str| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-invalid",
                "A valid Idempotency-Key header is required",
                format!(
                    "{detail} Every POST carries an Idempotency-Key of 1 to 255 printable ASCII \
                     characters, bare or as a quoted string; nothing was changed."
                ),
            )
        };
        match (values.next(), values.next()) {
            (None, _) => Err(problem("The request has no Idempotency-Key.")),
            (Some(_), Some(_)) => Err(problem("The request has more than one Idempotency-Key.")),
            (Some(v), None) => v
                .to_str()
                .ok()
                .and_then(ApiKey::parse)
                .map(IdemKey)
                .ok_or_else(|| problem("The Idempotency-Key is malformed.")),
        }
    }
}

/// A JSON request body: the whole document (for the key's fingerprint) now, the typed request
/// on demand. A replay is looked up before the body's shape is judged: a duplicate whose JSON
/// differs only in member order or number form (`2.0` for `2`) replays the original. An empty
/// body reads as `{}`.
pub struct JsonBody<T> {
    pub raw: Value,
    shape: std::marker::PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> JsonBody<T> {
    /// The typed request, or a 400 saying what is wrong with its shape.
    pub fn data(&self) -> Result<T, Problem> {
        T::deserialize(&self.raw).map_err(|e| {
            Problem::bad_request(format!("The body does not have the expected shape: {e}."))
        })
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &S) -> Result<Self, Problem> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("?").to_ascii_lowercase());
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|e| {
                if e.into_inner().is::<http_body_util::LengthLimitError>() {
                    Problem::too_large(BODY_LIMIT)
                } else {
                    Problem::bad_request("The request body could not be read completely.")
                }
            })?;
        let is_json = content_type.as_deref().is_some_and(|t| {
            let essence = t.split(';').next().unwrap_or("").trim();
            essence == "application/json" || essence.ends_with("+json")
        });
        if !(is_json || bytes.is_empty() && content_type.is_none()) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "The body must be JSON",
                "Send the body as `Content-Type: application/json`.",
            ));
        }
        let raw: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            serde_json::from_slice(&bytes)
                .map_err(|e| Problem::bad_request(format!("The body is not valid JSON: {e}.")))?
        };
        Ok(JsonBody {
            raw,
            shape: std::marker::PhantomData,
        })
    }
}

/// Query-string parameters; malformed ones are a 400 problem.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        // Read as sent: a parameter the document constrains (a cursor, a status) is refused
        // when it breaks its pattern; free search texts are cleaned where they are used.
        serde_urlencoded::from_str(parts.uri.query().unwrap_or(""))
            .map(ApiQuery)
            .map_err(|e| Problem::bad_request(format!("A query parameter is malformed: {e}.")))
    }
}

/// A text segment of the path (`{number}`, `{sku}`).
pub struct PathText(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| PathText(p.0))
            .map_err(|_| Problem::not_found("There is no such record."))
    }
}

/// A numeric id in the path; anything else is a 404 (there is no such record).
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let PathText(raw) = PathText::from_request_parts(parts, state).await?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(PathId)
            .ok_or_else(|| Problem::not_found(format!("There is no record numbered {raw:?}.")))
    }
}

/// The path the client used (`/api/v1/orders/7/confirm`), for the key's fingerprint.
pub fn request_path(uri: &axum::extract::OriginalUri) -> String {
    uri.0.path().to_string()
}
