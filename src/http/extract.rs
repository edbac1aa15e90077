//! Extractors whose rejections are [`PageError`]s, so bad input gets our 4xx page.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::PageError;
use crate::idempotency::TOKEN_FIELD;

/// Query string parameters; a malformed query is a 400 page.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = without_control_characters(parts.uri.query().unwrap_or(""));
        serde_urlencoded::from_str(&q).map(Query).map_err(|e| {
            PageError::BadRequest(format!("The address has a malformed parameter: {e}."))
        })
    }
}

/// A search text without control characters (see [`without_control_characters`]).
pub fn search_text(q: &str) -> String {
    q.chars().filter(|c| !c.is_control()).collect()
}

/// A query string with the control characters (NUL, line breaks, ...) taken out of its names
/// and values: nobody types them into a search box, and a NUL in a bound text is an error in
/// both databases (it ends an FTS5 query; PostgreSQL refuses it in text). A query that does
/// not decode is left as it is, for the parser to refuse.
pub fn without_control_characters(query: &str) -> String {
    if !query.contains('%') && !query.chars().any(char::is_control) {
        return query.to_string();
    }
    match serde_urlencoded::from_str::<Vec<(String, String)>>(query) {
        Ok(pairs) => {
            let clean = |s: String| s.chars().filter(|c| !c.is_control()).collect::<String>();
            let pairs: Vec<(String, String)> = pairs
                .into_iter()
                .map(|(k, v)| (clean(k), clean(v)))
                .collect();
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        }
        Err(_) => query.to_string(),
    }
}

/// A numeric id in the path; anything else is a 404 (there is no such record).
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| PageError::NotFound("There is no such record.".into()))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Id)
            .ok_or_else(|| PageError::NotFound(format!("There is no record numbered {raw:?}.")))
    }
}

/// Two numeric ids in the path, e.g. `/orders/{id}/lines/{line}/delete`.
pub struct Ids(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((a, b)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|_| PageError::NotFound("There is no such record.".into()))?;
        match (a.parse::<i64>(), b.parse::<i64>()) {
            (Ok(a), Ok(b)) if a > 0 && b > 0 => Ok(Ids(a, b)),
            _ => Err(PageError::NotFound("There is no such record.".into())),
        }
    }
}

/// Parse a `page` parameter: 1 when absent, a 400 when not a positive number.
pub fn page_number(raw: Option<&str>) -> Result<i64, PageError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(1),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| PageError::BadRequest(format!("{s:?} is not a page number."))),
    }
}

/// The largest form accepted, in bytes.
pub const FORM_LIMIT: usize = 256 * 1024;

/// A submitted form that carries an idempotency token: the typed fields, the token, and the
/// raw fields (without the token) for the canonical fingerprint.
pub struct TokenForm<T> {
    pub data: T,
    pub token: String,
    pub fields: Vec<(String, String)>,
}

impl<T> TokenForm<T> {
    /// The fields as borrowed pairs, for [`crate::idempotency::Idempotency::claim`].
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for TokenForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::BadRequest(
                "Expected a submitted HTML form.".into(),
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), FORM_LIMIT)
            .await
            .map_err(|e| {
                if e.into_inner().is::<http_body_util::LengthLimitError>() {
                    PageError::TooLarge
                } else {
                    PageError::BadRequest("The form could not be read completely.".into())
                }
            })?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageError::BadRequest("The form is not properly encoded.".into()))?;
        let mut tokens = pairs.iter().filter(|(k, _)| k == TOKEN_FIELD);
        let token = match (tokens.next(), tokens.next()) {
            (Some((_, t)), None) => t.clone(),
            (None, _) => {
                return Err(PageError::BadRequest(
                    "The form's security token is missing. Nothing was changed.".into(),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(PageError::BadRequest(
                    "The form carries more than one security token. Nothing was changed.".into(),
                ));
            }
        };
        let fields: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| k != TOKEN_FIELD)
            .collect();
        let data = serde_urlencoded::from_bytes(&bytes).map_err(|e| {
            PageError::BadRequest(format!(
                "The form is incomplete or malformed: {e}. Nothing was changed."
            ))
        })?;
        Ok(TokenForm {
            data,
            token,
            fields,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        assert_eq!(page_number(None).unwrap(), 1);
        assert_eq!(page_number(Some("3")).unwrap(), 3);
        assert!(page_number(Some("0")).is_err());
        assert!(page_number(Some("x")).is_err());
    }
}
