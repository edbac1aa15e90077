//! Rendering: a page is an askama template struct; [`render`] turns it into a response and
//! logs a render failure instead of showing it. Also the display helpers that page structs use
//! to hold display-ready values.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use time::OffsetDateTime;

use crate::domain::{Money, Zone};

/// What the page header shows of the signed-in user.
#[derive(Debug, Clone)]
pub struct Me {
    pub username: String,
    pub display_name: String,
    pub role: &'static str,
    pub is_admin: bool,
    /// What the navigation offers: only what this user may open.
    pub can: Nav,
    /// A one-time message from the form just sent ("Line added").
    pub flash: Option<String>,
    /// A form typed before the session expired, to be filled in again on this page.
    pub restored: Option<super::feedback::Restored>,
}

/// The places of the main navigation this user's role opens.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nav {
    pub orders: bool,
    pub new_order: bool,
    pub stock: bool,
    pub receive: bool,
    pub invoices: bool,
    pub master_data: bool,
    pub edit_master_data: bool,
    pub audit: bool,
}

impl Nav {
    pub fn of(role: crate::domain::Role) -> Nav {
        use crate::domain::Permission::*;
        Nav {
            orders: role.can(ViewOrders),
            new_order: role.can(EditOrders),
            stock: role.can(ViewStock),
            receive: role.can(ReceiveStock),
            invoices: role.can(ViewInvoices),
            master_data: role.can(ViewMasterData),
            edit_master_data: role.can(ManageMasterData),
            audit: role.can(ViewAudit),
        }
    }
}

/// Render `page` with status 200.
pub fn render<T: Template>(page: &T) -> Response {
    render_status(StatusCode::OK, page)
}

/// Render `page` with `status`. A template error is a bug: log it, answer a plain 500.
pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error: the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// A link back to the record a page or form belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackLink {
    pub label: String,
    pub href: String,
}

/// The error page for every 4xx and 5xx.
#[derive(Template, Clone)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub me: Option<Me>,
    pub code: u16,
    pub title: String,
    pub message: String,
    pub hint: String,
    /// The record the failed request was about, when known.
    pub back: Option<BackLink>,
}

impl ErrorPage {
    pub fn new(status: StatusCode, title: &str, message: String, hint: &str) -> Self {
        ErrorPage {
            me: None,
            code: status.as_u16(),
            title: title.to_string(),
            message,
            hint: hint.to_string(),
            back: None,
        }
    }
}

/// "Still processing": the original request with this token is running; the page refreshes
/// itself to where the result will be (a `Refresh` header and a meta refresh, no script).
#[derive(Template, Clone)]
#[template(path = "pending.html")]
pub struct PendingPage {
    pub me: Option<Me>,
    pub location: String,
}

/// The currency every amount is in, and how it is shown.
#[derive(Debug, Clone)]
pub struct Currency {
    pub code: String,
}

impl Currency {
    pub fn new(code: &str) -> Self {
        Currency {
            code: code.trim().to_ascii_uppercase(),
        }
    }

    pub fn symbol(&self) -> &str {
        match self.code.as_str() {
            "EUR" => "€",
            "USD" => "$",
            "GBP" => "£",
            "JPY" => "¥",
            "CHF" => "CHF",
            other => other,
        }
    }

    /// `€1,234.50`
    pub fn show(&self, m: Money) -> String {
        let sym = self.symbol();
        let amount = m.grouped();
        if sym.chars().count() > 1 {
            format!("{sym} {amount}")
        } else if let Some(abs) = amount.strip_prefix('-') {
            format!("-{sym}{abs}")
        } else {
            format!("{sym}{amount}")
        }
    }

    pub fn cents(&self, cents: i64) -> String {
        self.show(Money::from_cents(cents))
    }
}

tokio::task_local! {
    /// The zone times are shown in while a request is served: set once per request by
    /// [`in_zone`] (a layer of the router), read by [`datetime`], [`date`] and [`clock`].
    static ZONE: Zone;
}

/// Run `f` (a request being served) with times shown in `zone`.
pub async fn in_zone<F: std::future::Future>(zone: Zone, f: F) -> F::Output {
    ZONE.scope(zone, f).await
}

/// The zone of the request being served; UTC outside a request (the command line).
pub fn display_zone() -> Zone {
    ZONE.try_with(Zone::clone).unwrap_or_default()
}

/// `2026-11-27 11:02 CET`: a moment in the display zone, with the zone's abbreviation. Every
/// time a page shows goes through this, [`date`] or [`clock`]; they all use [`Zone`].
pub fn datetime(t: OffsetDateTime) -> String {
    display_zone().datetime(t)
}

/// `11:02:41 CET` for "already recorded at" lines.
pub fn clock(t: OffsetDateTime) -> String {
    display_zone().clock(t)
}

/// `2026-11-27`: the day of `t` in the display zone.
pub fn date(t: OffsetDateTime) -> String {
    display_zone().date(t)
}

/// `1,234,567`
pub fn units(n: i64) -> String {
    let grouped = crate::domain::group_thousands(&n.unsigned_abs().to_string());
    if n < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// Previous/next links of a paged list; the hrefs keep the current filters.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub page: i64,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// Page size of every list.
pub const PAGE_SIZE: i64 = 50;

impl Pager {
    /// Build the pager for `page` (1-based) given that `fetched` rows came back when
    /// `PAGE_SIZE + 1` were asked for. `href(n)` makes the link to page n.
    pub fn new(page: i64, fetched: usize, href: impl Fn(i64) -> String) -> Self {
        let more = i64::try_from(fetched).unwrap_or(i64::MAX) > PAGE_SIZE;
        Pager {
            page,
            prev: (page > 1).then(|| href(page - 1)),
            next: more.then(|| href(page + 1)),
        }
    }
}

/// A domain error message (`enter a whole number of units`) as a sentence beside a field
/// (`Enter a whole number of units.`).
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// Encode a query-string value.
pub fn qs(v: &str) -> String {
    serde_urlencoded::to_string([("", v)])
        .map(|s| s.trim_start_matches('=').to_string())
        .unwrap_or_default()
}

/// A CSV export as a download named `filename`: UTF-8 with a byte order mark first (Excel reads
/// "Müller" right only with it); `csv` holds the header line and the rows, CRLF-terminated.
pub fn csv_download(filename: &str, csv: &str) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        format!("\u{feff}{csv}"),
    )
        .into_response()
}

/// A text cell of a CSV export: quoted when it holds a separator, a quote or a line break; and a
/// leading `=`, `+`, `-` or `@` is defused with an apostrophe so a spreadsheet never runs it as a
/// formula.
pub fn csv_text(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_currency() {
        let eur = Currency::new("eur");
        assert_eq!(eur.cents(123456), "€1,234.56");
        assert_eq!(eur.cents(-5), "-€0.05");
        assert_eq!(Currency::new("CHF").cents(100), "CHF 1.00");
        assert_eq!(Currency::new("SEK").cents(100), "SEK 1.00");
    }

    #[test]
    fn sentences() {
        assert_eq!(
            sentence("enter a whole number of units"),
            "Enter a whole number of units."
        );
        assert_eq!(
            sentence("There is no product with SKU X."),
            "There is no product with SKU X."
        );
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn groups_units() {
        assert_eq!(units(0), "0");
        assert_eq!(units(1234567), "1,234,567");
        assert_eq!(units(-1000), "-1,000");
    }

    #[test]
    fn pages() {
        let p = Pager::new(2, 51, |n| format!("?page={n}"));
        assert_eq!(p.prev.as_deref(), Some("?page=1"));
        assert_eq!(p.next.as_deref(), Some("?page=3"));
        assert!(Pager::new(1, 50, |n| n.to_string()).next.is_none());
        assert_eq!(qs("a b&c"), "a+b%26c");
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_text("Acme"), "Acme");
        assert_eq!(csv_text("Acme, Inc."), "\"Acme, Inc.\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_text("-2,3"), "\"'-2,3\"");
    }
}
