//! The seller's bank details and payment terms, as printed on invoices: parsed once from what an
//! admin types, so that a document never carries an IBAN that fails its check digits.

use std::fmt;

use time::{Date, Duration};

/// An International Bank Account Number: country, check digits and account, stored without
/// spaces in capitals and printed in groups of four. The check digits are verified (ISO 13616,
/// mod 97), so one mistyped character is caught before it reaches a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iban(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IbanError {
    #[error("an IBAN starts with two letters for the country and two check digits")]
    Shape,
    #[error("an IBAN has 15 to 34 letters and digits")]
    Length,
    #[error("the check digits do not match: a character is mistyped")]
    CheckDigits,
}

impl Iban {
    /// Spaces anywhere are ignored and letters may be in either case: people copy IBANs in
    /// groups of four.
    pub fn parse(raw: &str) -> Result<Self, IbanError> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(IbanError::Length);
        }
        let b = s.as_bytes();
        if b.len() < 4
            || !b[0].is_ascii_uppercase()
            || !b[1].is_ascii_uppercase()
            || !b[2].is_ascii_digit()
            || !b[3].is_ascii_digit()
        {
            return Err(IbanError::Shape);
        }
        if !(15..=34).contains(&b.len()) {
            return Err(IbanError::Length);
        }
        // Move the first four characters to the end, letters become 10..35, the number mod 97
        // must be 1; computed digit by digit so that no big integer is needed.
        let rearranged = b[4..].iter().chain(&b[..4]);
        let mut rem: u32 = 0;
        for &c in rearranged {
            let v = if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                u32::from(c - b'A') + 10
            };
            rem = if v >= 10 {
                (rem * 100 + v) % 97
            } else {
                (rem * 10 + v) % 97
            };
        }
        if rem != 1 {
            return Err(IbanError::CheckDigits);
        }
        Ok(Iban(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Iban {
    /// In groups of four, as printed on paper: `DE89 3704 0044 0532 0130 00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&grouped(&self.0))
    }
}

/// An IBAN as stored (`DE89370400440532013000`) in groups of four for print.
pub fn grouped(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Business Identifier Code (SWIFT): 8 or 11 characters, bank (4 letters), country
/// (2 letters), location (2 letters or digits) and an optional branch (3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bic(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a BIC has 8 or 11 characters: 4 letters for the bank, 2 for the country, then letters or digits"
)]
pub struct BicError;

impl Bic {
    pub fn parse(raw: &str) -> Result<Self, BicError> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let b = s.as_bytes();
        let ok = (b.len() == 8 || b.len() == 11)
            && b[..6].iter().all(u8::is_ascii_uppercase)
            && b[6..].iter().all(u8::is_ascii_alphanumeric);
        if ok { Ok(Bic(s)) } else { Err(BicError) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest payment term, in days.
pub const MAX_PAYMENT_TERMS: i64 = 365;

/// The day an invoice is due: its issue day plus the payment terms in force when it was issued
/// (0 days: due on receipt).
pub fn due_date(issued_on: Date, terms_days: i64) -> Date {
    issued_on.saturating_add(Duration::days(terms_days.clamp(0, MAX_PAYMENT_TERMS)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn valid_ibans_are_accepted_with_spaces_and_any_case() {
        for raw in [
            "DE89 3704 0044 0532 0130 00",
            "de89370400440532013000",
            "GB82 WEST 1234 5698 7654 32",
            "AT61 1904 3002 3457 3201",
            "NL91ABNA0417164300",
        ] {
            let iban = Iban::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert!(!iban.as_str().contains(' '));
        }
        assert_eq!(
            Iban::parse("de89370400440532013000").unwrap().to_string(),
            "DE89 3704 0044 0532 0130 00"
        );
    }

    #[test]
    fn a_mistyped_iban_is_refused_with_its_reason() {
        assert_eq!(
            Iban::parse("DE89 3704 0044 0532 0130 01"),
            Err(IbanError::CheckDigits)
        );
        assert_eq!(
            Iban::parse("GB82 WETS 1234 5698 7654 32"),
            Err(IbanError::CheckDigits)
        );
        assert_eq!(Iban::parse("8989 3704"), Err(IbanError::Shape));
        assert_eq!(Iban::parse("DE89 37"), Err(IbanError::Length));
        assert_eq!(
            Iban::parse("DE89-3704-0044-0532-0130-00"),
            Err(IbanError::Length)
        );
        assert_eq!(Iban::parse(""), Err(IbanError::Shape));
    }

    #[test]
    fn bics_of_8_and_11_characters() {
        assert_eq!(Bic::parse("deutdeff").unwrap().as_str(), "DEUTDEFF");
        assert_eq!(Bic::parse("DEUTDEFF500").unwrap().as_str(), "DEUTDEFF500");
        assert_eq!(Bic::parse("DEUT DE FF"), Ok(Bic("DEUTDEFF".into())));
        assert_eq!(Bic::parse("DEUTDEF"), Err(BicError));
        assert_eq!(Bic::parse("D3UTDEFF"), Err(BicError));
        assert_eq!(Bic::parse("DEUTDEFF5"), Err(BicError));
    }

    #[test]
    fn due_dates_count_calendar_days() {
        assert_eq!(due_date(date!(2026 - 11 - 30), 0), date!(2026 - 11 - 30));
        assert_eq!(due_date(date!(2026 - 11 - 30), 14), date!(2026 - 12 - 14));
        assert_eq!(due_date(date!(2026 - 12 - 20), 30), date!(2027 - 01 - 19));
        assert_eq!(due_date(date!(2028 - 02 - 15), 14), date!(2028 - 02 - 29));
        assert_eq!(due_date(date!(2026 - 01 - 01), 9999), date!(2027 - 01 - 01));
    }
}
