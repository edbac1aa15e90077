//! Document numbers: `INV-YYYY-NNNNNN` for invoices, `CN-YYYY-NNNNNN` for credit notes.

use std::fmt;

/// Which gapless series a document number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Invoice,
    CreditNote,
}

impl Series {
    pub fn prefix(self) -> &'static str {
        match self {
            Series::Invoice => "INV",
            Series::CreditNote => "CN",
        }
    }
}

/// A document number; the year and the running number are kept so that gaplessness
/// can be checked without string games.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceNumber {
    series: Series,
    year: i32,
    seq: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a document number: expected INV-YYYY-NNNNNN")]
pub struct InvoiceNumberError;

impl InvoiceNumber {
    pub fn new(series: Series, year: i32, seq: i64) -> Self {
        InvoiceNumber { series, year, seq }
    }

    pub fn parse(input: &str) -> Result<Self, InvoiceNumberError> {
        let mut parts = input.trim().splitn(3, '-');
        let series = match parts.next() {
            Some(p) if p.eq_ignore_ascii_case("INV") => Series::Invoice,
            Some(p) if p.eq_ignore_ascii_case("CN") => Series::CreditNote,
            _ => return Err(InvoiceNumberError),
        };
        let year = parts
            .next()
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|y| y.parse().ok())
            .ok_or(InvoiceNumberError)?;
        let seq = parts
            .next()
            .filter(|n| n.len() >= 6 && n.len() <= 12 && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .filter(|n| *n >= 1)
            .ok_or(InvoiceNumberError)?;
        Ok(InvoiceNumber { series, year, seq })
    }

    pub fn series(&self) -> Series {
        self.series
    }

    pub fn year(&self) -> i32 {
        self.year
    }

    pub fn seq(&self) -> i64 {
        self.seq
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:04}-{:06}",
            self.series.prefix(),
            self.year,
            self.seq
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let n = InvoiceNumber::new(Series::Invoice, 2026, 42);
        assert_eq!(n.to_string(), "INV-2026-000042");
        assert_eq!(InvoiceNumber::parse("INV-2026-000042").unwrap(), n);
        assert_eq!(InvoiceNumber::parse("inv-2026-000042").unwrap(), n);
        assert_eq!(
            InvoiceNumber::new(Series::CreditNote, 2026, 1234567).to_string(),
            "CN-2026-1234567"
        );
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            "",
            "INV",
            "INV-26-000001",
            "INV-2026-1",
            "INV-2026-000000",
            "X-2026-000001",
            "INV-2026-00000a",
        ] {
            assert!(InvoiceNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
