//! The canonical fingerprint of a submitted form: what "the same request" means.

use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// Hash of the form's fields, excluding the token itself. Canonical: field order does not
/// count, surrounding whitespace does not count, and numbers compare by value (`1.0` equals
/// `1.00` equals `1`), so a browser that re-encodes a form replays instead of clashing.
pub fn fingerprint<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut canon: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), canonical_value(v)))
        .collect();
    canon.sort();
    let mut h = Sha256::new();
    for (k, v) in &canon {
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical_value(v: &str) -> String {
    let t = v.trim();
    match t.parse::<Decimal>() {
        Ok(d) => d.normalize().to_string(),
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_spacing_and_number_form_do_not_count() {
        let a = fingerprint([("sku", "ABC"), ("quantity", "1.0")]);
        let b = fingerprint([("quantity", " 1.00"), ("sku", "ABC ")]);
        let c = fingerprint([("quantity", "1"), ("sku", "ABC")]);
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn content_counts() {
        let a = fingerprint([("sku", "ABC"), ("quantity", "1")]);
        assert_ne!(a, fingerprint([("sku", "ABC"), ("quantity", "2")]));
        assert_ne!(a, fingerprint([("sku", "ABD"), ("quantity", "1")]));
        assert_ne!(a, fingerprint([("sku", "ABC")]));
        // field boundaries are unambiguous
        assert_ne!(fingerprint([("ab", "c")]), fingerprint([("a", "bc")]));
    }
}
