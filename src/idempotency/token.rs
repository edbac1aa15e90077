//! Form tokens: a random nonce plus an HMAC that binds it to who may use it, for what, and where.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// Length of the MAC part in hex characters (128 bits).
const MAC_HEX: usize = 32;

/// The server secret tokens are signed with. Shared by every server on one database.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What a token was issued for: the kind of action and the thing it acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub purpose: &'static str,
    pub target: String,
}

impl Scope {
    pub fn new(purpose: &'static str, target: impl Into<String>) -> Self {
        Scope {
            purpose,
            target: target.into(),
        }
    }
}

/// A form token that parsed and verified: its nonce is the idempotency key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormToken {
    key: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the form's security token is missing or malformed")]
    Malformed,
    #[error("the form's security token was not issued for this action, this record or this person")]
    Invalid,
}

impl FormToken {
    /// Issue a fresh token for `subject` (the user or browser session) and `scope`.
    /// Every call gives a different token, so two tabs each get their own.
    pub fn issue(secret: &Secret, subject: &str, scope: &Scope) -> String {
        let key = Uuid::new_v4();
        format!("{}.{}", key.simple(), mac_hex(secret, subject, scope, key))
    }

    /// Verify a submitted token against the subject and scope of this request.
    pub fn verify(
        secret: &Secret,
        submitted: &str,
        subject: &str,
        scope: &Scope,
    ) -> Result<Self, TokenError> {
        let (nonce, mac) = submitted
            .trim()
            .split_once('.')
            .ok_or(TokenError::Malformed)?;
        if nonce.len() != 32 || mac.len() != MAC_HEX {
            return Err(TokenError::Malformed);
        }
        let key = Uuid::try_parse(nonce).map_err(|_| TokenError::Malformed)?;
        let mac_bytes = decode_hex(mac).ok_or(TokenError::Malformed)?;
        // Constant-time comparison of the truncated MAC.
        keyed(secret, subject, scope, key)
            .verify_truncated_left(&mac_bytes)
            .map_err(|_| TokenError::Invalid)?;
        Ok(FormToken { key })
    }

    pub fn key(self) -> Uuid {
        self.key
    }

    /// The idempotency key of this token.
    pub fn idempotency_key(self) -> String {
        form_key(self.key)
    }

    /// The idempotency key a submitted token names, not verified: only to read its record
    /// early (the session layer reads it with the session); the token is verified before the
    /// record is used.
    pub fn unverified_key(submitted: &str) -> Option<String> {
        let (nonce, _) = submitted.trim().split_once('.')?;
        if nonce.len() != 32 {
            return None;
        }
        Uuid::try_parse(nonce).ok().map(form_key)
    }
}

/// The idempotency key of a form token's nonce.
fn form_key(nonce: Uuid) -> String {
    format!("form:{}", nonce.simple())
}

fn keyed(secret: &Secret, subject: &str, scope: &Scope, key: Uuid) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(&secret.0).expect("HMAC accepts any key length");
    // Length-prefixed fields: no two different tuples hash the same bytes.
    for part in [
        subject.as_bytes(),
        scope.purpose.as_bytes(),
        scope.target.as_bytes(),
        key.as_bytes(),
    ] {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part);
    }
    m
}

fn mac_hex(secret: &Secret, subject: &str, scope: &Scope, key: Uuid) -> String {
    let full = keyed(secret, subject, scope, key).finalize().into_bytes();
    full[..MAC_HEX / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A MAC over length-prefixed `parts` with the server secret, as 32 hex characters: for
/// small values the server hands the browser and must get back unchanged (a flash message,
/// a form kept across an expired session). The first part names the purpose, so a MAC made
/// for one purpose never verifies for another.
pub fn sign_parts(secret: &Secret, parts: &[&str]) -> String {
    let mut m = HmacSha256::new_from_slice(&secret.0).expect("HMAC accepts any key length");
    for part in parts {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part.as_bytes());
    }
    let full = m.finalize().into_bytes();
    full[..MAC_HEX / 2]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `mac` is [`sign_parts`] of `parts`, compared in constant time.
pub fn verify_parts(secret: &Secret, parts: &[&str], mac: &str) -> bool {
    let expected = sign_parts(secret, parts);
    expected.len() == mac.len()
        && expected
            .bytes()
            .zip(mac.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(purpose: &'static str, target: &str) -> Scope {
        Scope {
            purpose,
            target: target.to_string(),
        }
    }

    #[test]
    fn the_unverified_key_is_the_key_the_verified_token_claims() {
        let secret = Secret::new(b"k".repeat(32));
        let s = scope("confirm-order", "order:1");
        let token = FormToken::issue(&secret, "user:1", &s);
        let verified = FormToken::verify(&secret, &token, "user:1", &s).unwrap();
        assert_eq!(
            FormToken::unverified_key(&token),
            Some(verified.idempotency_key())
        );
        for bad in ["", "abc", "not-a-uuid.mac", "0123.mac"] {
            assert_eq!(FormToken::unverified_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn round_trips_and_binds() {
        let secret = Secret::new(b"server secret".to_vec());
        let s = scope("confirm-order", "order:7");
        let token = FormToken::issue(&secret, "alice", &s);
        let ok = FormToken::verify(&secret, &token, "alice", &s).unwrap();
        assert_eq!(ok.key().simple().to_string(), token[..32]);
        // another person, another order, another purpose, another secret
        assert_eq!(
            FormToken::verify(&secret, &token, "bob", &s),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            FormToken::verify(&secret, &token, "alice", &scope("confirm-order", "order:8")),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            FormToken::verify(&secret, &token, "alice", &scope("add-line", "order:7")),
            Err(TokenError::Invalid)
        );
        let other = Secret::new(b"other".to_vec());
        assert_eq!(
            FormToken::verify(&other, &token, "alice", &s),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn each_render_gets_its_own_token() {
        let secret = Secret::new(b"k".to_vec());
        let s = scope("confirm-order", "order:1");
        assert_ne!(
            FormToken::issue(&secret, "a", &s),
            FormToken::issue(&secret, "a", &s)
        );
    }

    #[test]
    fn tampering_and_garbage_are_refused() {
        let secret = Secret::new(b"k".to_vec());
        let s = scope("p", "t");
        let token = FormToken::issue(&secret, "a", &s);
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert_eq!(
            FormToken::verify(&secret, &flipped, "a", &s),
            Err(TokenError::Invalid)
        );
        for bad in [
            "",
            ".",
            "abc.def",
            "zz",
            &token[..40],
            &format!("{token}00"),
        ] {
            assert_eq!(
                FormToken::verify(&secret, bad, "a", &s),
                Err(TokenError::Malformed),
                "{bad}"
            );
        }
    }
}
