//! The `Idempotency-Key` request header of the JSON API (IETF httpapi draft): chosen by the
//! client, 1 to 255 printable ASCII characters, sent bare or as a structured-field string
//! (`"..."`, with `\"` and `\\` escapes). Keys belong to the API token's user.
//!
//! The reading is lenient where it can be unambiguous: a value that is a well-formed, non-empty
//! structured-field string is the string inside the quotes (`"abc"` and `abc` are one key);
//! any other printable value is the key as it stands (`"abc` is a four-character key).
//! Surrounding spaces are not part of the key (HTTP drops them anyway).

/// A parsed `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey(String);

/// The longest key accepted, in characters.
pub const MAX_KEY_LEN: usize = 255;

impl ApiKey {
    /// Parse the header's value; `None` when it is not a key.
    pub fn parse(raw: &str) -> Option<ApiKey> {
        let raw = raw.trim_matches([' ', '\t']);
        let key = raw
            .strip_prefix('"')
            .and_then(unquote)
            .filter(|inner| !inner.is_empty())
            .unwrap_or_else(|| raw.to_string());
        let printable = key.bytes().all(|b| (0x20..=0x7e).contains(&b));
        (printable && (1..=MAX_KEY_LEN).contains(&key.len())).then_some(ApiKey(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The inside of a structured-field string whose opening quote is already consumed.
fn unquote(rest: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                e @ ('"' | '\\') => out.push(e),
                _ => return None,
            },
            '"' => return chars.next().is_none().then_some(out),
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_and_quoted_keys() {
        assert_eq!(ApiKey::parse("abc-123").unwrap().as_str(), "abc-123");
        assert_eq!(ApiKey::parse("\"abc 123\"").unwrap().as_str(), "abc 123");
        assert_eq!(ApiKey::parse(r#""a\"b\\c""#).unwrap().as_str(), r#"a"b\c"#);
        assert_eq!(
            ApiKey::parse(" 8e03978e-40d5-43e8-bc93-6894a57f9324 ")
                .unwrap()
                .as_str(),
            "8e03978e-40d5-43e8-bc93-6894a57f9324"
        );
        assert_eq!(ApiKey::parse(&"k".repeat(255)).unwrap().as_str().len(), 255);
        // Not a well-formed non-empty quoted string: the value itself is the key.
        assert_eq!(ApiKey::parse("\"open").unwrap().as_str(), "\"open");
        assert_eq!(ApiKey::parse("\"a\"b").unwrap().as_str(), "\"a\"b");
        assert_eq!(ApiKey::parse("\"\"").unwrap().as_str(), "\"\"");
        assert_eq!(
            ApiKey::parse(r#""bad\escape""#).unwrap().as_str(),
            r#""bad\escape""#
        );
    }

    #[test]
    fn refuses_what_is_not_a_key() {
        for bad in ["", "  ", "tab\there", "naïve", "line\nbreak"] {
            assert_eq!(ApiKey::parse(bad), None, "{bad:?}");
        }
        assert_eq!(ApiKey::parse(&"k".repeat(256)), None);
    }
}
