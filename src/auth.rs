//! Passwords and session tokens. Hashing is deliberately slow, so it runs off the async runtime.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use crate::domain::NewPassword;
use crate::error::Error;

/// Argon2id (the crate's default: 19 MiB, 2 passes) PHC string of `password`.
pub async fn hash_password(password: NewPassword) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("password hashing task failed: {e}")))?
}

/// Check `password` against a stored hash. With no stored hash (unknown user) a dummy hash is
/// checked instead, so an unknown name takes as long as a wrong password.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let ok = PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && known
    })
    .await
    .unwrap_or(false)
}

/// A valid Argon2id hash of a random string nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$P0vJ4C3KgcGv8l4S6bYzm9Q2i1ycmIX2bpm3kXzTm9c";

/// A new session token for the cookie, and the hash that is stored.
pub fn new_session_token() -> (String, String) {
    let token = random_hex(32);
    let hash = session_hash(&token);
    (token, hash)
}

/// The prefix of every API token: recognisable in logs and by secret scanners.
pub const API_TOKEN_PREFIX: &str = "odk_";

/// A new API token (shown once), the hash that is stored, and the hint kept to recognise it.
pub fn new_api_token() -> (String, String, String) {
    let token = format!("{API_TOKEN_PREFIX}{}", random_hex(32));
    let hash = session_hash(&token);
    let hint = format!("{}…", &token[..API_TOKEN_PREFIX.len() + 6]);
    (token, hash, hint)
}

/// What the database keeps of a session token (and of an API token).
pub fn session_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` random bytes as hex, from the operating system's generator.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random generator is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bearer token of an `Authorization` header's value (`Bearer TOKEN`), if it is one.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies() {
        let h = hash_password(NewPassword::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn api_tokens_are_random_prefixed_and_hashed() {
        let (a, ha, hint) = new_api_token();
        let (b, _, _) = new_api_token();
        assert_ne!(a, b);
        assert!(a.starts_with(API_TOKEN_PREFIX));
        assert_eq!(a.len(), API_TOKEN_PREFIX.len() + 64);
        assert_eq!(session_hash(&a), ha);
        assert!(a.starts_with(hint.trim_end_matches('…')));
        assert!(hint.chars().count() < 16);
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer_token("Bearer odk_1"), Some("odk_1"));
        assert_eq!(bearer_token("bearer  odk_1 "), Some("odk_1"));
        assert_eq!(bearer_token("Basic dXNlcjpwdw=="), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn session_tokens_are_random_and_hashed() {
        let (a, ha) = new_session_token();
        let (b, _) = new_session_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_eq!(session_hash(&a), ha);
        assert_ne!(ha, a);
    }
}
