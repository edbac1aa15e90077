//! The canonical fingerprint of a request: what "the same request" means.
//!
//! Forms: the fields without the token, in any order, values trimmed, numbers by value. API:
//! the method, the path and the JSON body with object members sorted and numbers by value, so a
//! client that re-serialises the same body (other member order, `1.0` for `1`) replays instead of
//! clashing, while any real change of content, action or path is a different request.

use rust_decimal::Decimal;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Hash of a form's fields, excluding the token itself.
pub fn fingerprint_form<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut canon: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), canonical_number(v.trim())))
        .collect();
    canon.sort();
    // No prefix, unlike JSON: a form's fingerprint is what it was before the API existed, so
    // keys recorded by an older orderdesk still replay after an upgrade.
    let mut h = Sha256::new();
    for (k, v) in &canon {
        framed(&mut h, k.as_bytes());
        framed(&mut h, v.as_bytes());
    }
    hex(&h.finalize())
}

/// Hash of an API request: method, path and the canonical form of its JSON body.
pub fn fingerprint_json(method: &str, path: &str, body: &Value) -> String {
    let mut h = Sha256::new();
    h.update(b"json");
    framed(&mut h, method.to_ascii_uppercase().as_bytes());
    framed(&mut h, path.as_bytes());
    framed(&mut h, canonical_json(body).as_bytes());
    hex(&h.finalize())
}

/// JSON text with members sorted by name, no insignificant whitespace and numbers by value.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => out.push_str(&canonical_number(&n.to_string())),
        other => out.push_str(&other.to_string()),
    }
}

/// `1.0`, `1.00` and `1` are the same number; anything else stays as it is.
fn canonical_number(v: &str) -> String {
    match v.parse::<Decimal>() {
        Ok(d) => d.normalize().to_string(),
        Err(_) => v.to_string(),
    }
}

/// Length-prefixed bytes: no two different sequences of parts hash the same bytes.
fn framed(h: &mut Sha256, part: &[u8]) {
    h.update((part.len() as u64).to_be_bytes());
    h.update(part);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_order_spacing_and_number_form_do_not_count() {
        let a = fingerprint_form([("sku", "ABC"), ("quantity", "1.0")]);
        let b = fingerprint_form([("quantity", " 1.00"), ("sku", "ABC ")]);
        let c = fingerprint_form([("quantity", "1"), ("sku", "ABC")]);
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn form_content_counts() {
        let a = fingerprint_form([("sku", "ABC"), ("quantity", "1")]);
        assert_ne!(a, fingerprint_form([("sku", "ABC"), ("quantity", "2")]));
        assert_ne!(a, fingerprint_form([("sku", "ABD"), ("quantity", "1")]));
        assert_ne!(a, fingerprint_form([("sku", "ABC")]));
        // field boundaries are unambiguous
        assert_ne!(
            fingerprint_form([("ab", "c")]),
            fingerprint_form([("a", "bc")])
        );
    }

    #[test]
    fn json_member_order_and_number_form_do_not_count() {
        let a =
            json!({"customer": "C-1", "lines": [{"sku": "A", "quantity": 2}], "reference": "PO 7"});
        let b: Value = serde_json::from_str(
            r#"{ "reference":"PO 7", "lines":[{"quantity":2.0,"sku":"A"}], "customer":"C-1" }"#,
        )
        .unwrap();
        assert_eq!(
            fingerprint_json("POST", "/api/v1/orders", &a),
            fingerprint_json("post", "/api/v1/orders", &b)
        );
        assert_eq!(
            canonical_json(&b),
            r#"{"customer":"C-1","lines":[{"quantity":2,"sku":"A"}],"reference":"PO 7"}"#
        );
    }

    #[test]
    fn json_content_method_and_path_count() {
        let a = json!({"lines": [{"sku": "A", "quantity": 2}]});
        let f = fingerprint_json("POST", "/api/v1/orders", &a);
        assert_ne!(
            f,
            fingerprint_json(
                "POST",
                "/api/v1/orders",
                &json!({"lines": [{"sku": "A", "quantity": 3}]})
            )
        );
        assert_ne!(f, fingerprint_json("POST", "/api/v1/orders/1/lines", &a));
        assert_ne!(f, fingerprint_json("PUT", "/api/v1/orders", &a));
        // array order is content
        let two = json!({"lines": [{"sku": "A"}, {"sku": "B"}]});
        let swapped = json!({"lines": [{"sku": "B"}, {"sku": "A"}]});
        assert_ne!(
            fingerprint_json("POST", "/p", &two),
            fingerprint_json("POST", "/p", &swapped)
        );
        // a string that looks like a number is still a string
        assert_ne!(
            fingerprint_json("POST", "/p", &json!({"q": "1"})),
            fingerprint_json("POST", "/p", &json!({"q": 1}))
        );
        // forms and JSON never share a fingerprint
        assert_ne!(fingerprint_form([]), fingerprint_json("", "", &json!({})));
    }
}
