//! The audit log: every event, filtered and paged (`/audit`), and its CSV export (`/audit.csv`).

use std::fmt;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use time::Date;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::error::{PageError, PageResult};
use super::extract::Query;
use super::session::CurrentUser;
use super::state::AppState;
use super::templates::{Me, PAGE_SIZE, Pager, csv_download, csv_text, datetime, qs, render};
use crate::db::audit::{AuditFilter, AuditLogRow, TimeBound};
use crate::db::orders::Cursor;
use crate::domain::{Permission, Zone};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(list_audit_log))
        .route("/audit.csv", get(export_audit_log))
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    document: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Events older than this event number (the next page).
    before: Option<String>,
    /// Events newer than this event number (the previous page).
    after: Option<String>,
}

impl AuditQuery {
    /// The filters as a query string, for the pager and the export link.
    fn filters_qs(&self) -> String {
        format!(
            "actor={}&action={}&document={}&from={}&to={}",
            qs(&self.actor),
            qs(&self.action),
            qs(&self.document),
            qs(&self.from),
            qs(&self.to)
        )
    }
}

/// The kinds of record events are about.
const KINDS: [&str; 4] = ["order", "product", "customer", "user"];

/// What the log is filtered to: a kind of record (`order`), or one record (`order 12`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document {
    pub kind: &'static str,
    pub id: Option<i64>,
}

impl Document {
    /// Read what a person types: `order 12`, `order:12`, `Order #12`, `orders/12`, `#12` or `12`
    /// (an order), `product 7`, `customer 3`, `user 5`, or a kind alone. Empty is no filter.
    pub fn parse(input: &str) -> Result<Option<Document>, String> {
        let refused = || {
            format!(
                "{:?} is not a document: enter a kind and a number, as order 12, #12, \
                 product 7, customer 3 or user 5, or a kind alone (order, product, customer, user).",
                input.trim()
            )
        };
        let s = input.trim().trim_start_matches('/').to_ascii_lowercase();
        if s.is_empty() {
            return Ok(None);
        }
        let word_end = s
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(s.len());
        let (word, rest) = s.split_at(word_end);
        let kind = match word {
            "" => "order",
            w => *KINDS
                .iter()
                .find(|k| w == **k || w.strip_suffix('s') == Some(**k))
                .ok_or_else(refused)?,
        };
        let number =
            rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '/' | '#'));
        let id = match number {
            "" if !word.is_empty() => None,
            n => Some(
                n.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(refused)?,
            ),
        };
        Ok(Some(Document { kind, id }))
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "{} {id}", self.kind),
            None => f.write_str(self.kind),
        }
    }
}

/// A day typed as YYYY-MM-DD; empty is no bound.
fn parse_day(s: &str) -> Result<Option<Date>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Date::parse(s, format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| "Enter a date as YYYY-MM-DD.".to_string())
}

/// What is wrong with the filters, beside each field.
#[derive(Debug, Default)]
pub struct FieldErrors {
    pub document: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl FieldErrors {
    fn first(&self) -> Option<&String> {
        self.document
            .as_ref()
            .or(self.from.as_ref())
            .or(self.to.as_ref())
    }
}

/// The filter a query asks for, or what is wrong with it. The days are days of `zone`, the
/// display zone, like every time the log shows.
fn filter_of(query: &AuditQuery, zone: &Zone) -> Result<AuditFilter, FieldErrors> {
    let document = Document::parse(&query.document);
    let from = parse_day(&query.from);
    let mut to = parse_day(&query.to);
    if let (Ok(Some(f)), Ok(Some(t))) = (&from, &to)
        && t < f
    {
        to = Err("The end date is before the start date.".into());
    }
    let (document, from, to) = match (document, from, to) {
        (Ok(d), Ok(f), Ok(t)) => (d, f, t),
        (d, f, t) => {
            return Err(FieldErrors {
                document: d.err(),
                from: f.err(),
                to: t.err(),
            });
        }
    };
    let text = |s: &str| Some(s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty());
    Ok(AuditFilter {
        actor: text(&query.actor),
        action: text(&query.action),
        entity: document.map(|d| d.kind.to_string()),
        entity_id: document.and_then(|d| d.id).map(|id| id.to_string()),
        from: from.map(|d| TimeBound::at(zone.day_start(d))),
        // "to" is inclusive: everything before the next local midnight.
        until: to
            .and_then(|d| d.next_day())
            .map(|d| TimeBound::at(zone.day_start(d))),
    })
}

/// An event number in the query string: absent, or a positive number (else a 400).
fn id_param(raw: &Option<String>) -> PageResult<Option<i64>> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| PageError::BadRequest(format!("{s:?} is not an event number."))),
    }
}

fn cursor_of(query: &AuditQuery) -> PageResult<Cursor> {
    match (id_param(&query.before)?, id_param(&query.after)?) {
        (Some(b), None) => Ok(Cursor::Before(b)),
        (None, Some(a)) => Ok(Cursor::After(a)),
        (None, None) => Ok(Cursor::First),
        (Some(_), Some(_)) => Err(PageError::BadRequest(
            "Use either before or after, not both.".into(),
        )),
    }
}

pub struct AuditItem {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    /// `order 12`, `product 7`, ...
    pub document: String,
    /// The order the event is about, when it has a page.
    pub order: Option<i64>,
    pub detail: String,
}

impl From<AuditLogRow> for AuditItem {
    fn from(r: AuditLogRow) -> Self {
        let order = Some(&r.entity)
            .filter(|e| *e == "order")
            .and_then(|_| r.entity_id.parse::<i64>().ok());
        AuditItem {
            id: r.id,
            at: datetime(r.at),
            actor: r.actor,
            action: r.action,
            document: format!("{} {}", r.entity, r.entity_id),
            order,
            detail: r.detail,
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditLogPage {
    pub me: Option<Me>,
    /// The CSV export of exactly this filtered view.
    pub export: String,
    pub actor: String,
    pub action: String,
    /// The actions recorded so far, for the action filter.
    pub actions: Vec<String>,
    pub document: String,
    pub from: String,
    pub to: String,
    pub errors: FieldErrors,
    pub events: Vec<AuditItem>,
    pub pager: Pager,
}

async fn list_audit_log(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<AuditQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewAudit)?;
    let cursor = cursor_of(&query)?;
    let (rows, more, errors) = match filter_of(&query, &st.zone) {
        Ok(filter) => {
            let (rows, more) = st.db.list_audit_log(&filter, PAGE_SIZE, cursor).await?;
            (rows, more, FieldErrors::default())
        }
        // Filters that cannot be read show nothing rather than a wider list than was asked for.
        Err(errors) => (Vec::new(), false, errors),
    };
    let mut actions = st.db.audit_actions().await?;
    let action = query.action.trim().to_ascii_lowercase();
    if !action.is_empty() && !actions.contains(&action) {
        actions.push(action.clone());
    }
    let base = format!("/audit?{}", query.filters_qs());
    let (newest, oldest) = (rows.first().map(|r| r.id), rows.last().map(|r| r.id));
    // Newer events exist when we came from a newer page, or walked back and found more.
    let newer = match cursor {
        Cursor::First => false,
        Cursor::Before(_) => true,
        Cursor::After(_) => more,
    };
    let older = match cursor {
        Cursor::After(_) => true,
        _ => more,
    };
    let pager = Pager {
        page: 0,
        prev: newest
            .filter(|_| newer)
            .map(|id| format!("{base}&after={id}")),
        next: oldest
            .filter(|_| older)
            .map(|id| format!("{base}&before={id}")),
    };
    Ok(render(&AuditLogPage {
        me: user.me(),
        export: format!("/audit.csv?{}", query.filters_qs()),
        actor: query.actor,
        action,
        actions,
        document: query.document,
        from: query.from,
        to: query.to,
        errors,
        events: rows.into_iter().map(AuditItem::from).collect(),
        pager,
    }))
}

/// Events read per query while exporting.
const EXPORT_BATCH: i64 = 1000;

/// The filtered log as CSV, every matching event (not only one page), newest first, read in
/// keyset batches. A UTF-8 byte order mark comes first so spreadsheet programs read accents
/// right; lines end in CRLF; times are RFC 3339 UTC.
async fn export_audit_log(
    State(st): State<AppState>,
    user: CurrentUser,
    Query(query): Query<AuditQuery>,
) -> PageResult<Response> {
    user.require(Permission::ViewAudit)?;
    let filter = filter_of(&query, &st.zone)
        .map_err(|e| PageError::BadRequest(e.first().cloned().unwrap_or_default()))?;
    let mut csv = String::from("id,at,actor,action,entity,entity_id,detail\r\n");
    let mut cursor = Cursor::First;
    loop {
        let (rows, more) = st.db.list_audit_log(&filter, EXPORT_BATCH, cursor).await?;
        for r in &rows {
            let fields = [
                r.id.to_string(),
                r.at.to_offset(time::UtcOffset::UTC)
                    .format(&Rfc3339)
                    .unwrap_or_default(),
                csv_text(&r.actor),
                csv_text(&r.action),
                csv_text(&r.entity),
                csv_text(&r.entity_id),
                csv_text(&r.detail),
            ];
            csv.push_str(&fields.join(","));
            csv.push_str("\r\n");
        }
        match rows.last() {
            Some(last) if more => cursor = Cursor::Before(last.id),
            _ => break,
        }
    }
    Ok(csv_download("audit-log.csv", &csv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(input: &str) -> Option<(&'static str, Option<i64>)> {
        Document::parse(input).unwrap().map(|d| (d.kind, d.id))
    }

    #[test]
    fn documents_are_read_leniently() {
        assert_eq!(doc(""), None);
        assert_eq!(doc("  "), None);
        for order_12 in [
            "order 12",
            "order:12",
            "Order #12",
            "ORDER12",
            "orders/12",
            "/orders/12",
            "#12",
            "12",
            " order  012 ",
        ] {
            assert_eq!(doc(order_12), Some(("order", Some(12))), "{order_12}");
        }
        assert_eq!(doc("product 7"), Some(("product", Some(7))));
        assert_eq!(doc("customer: 3"), Some(("customer", Some(3))));
        assert_eq!(doc("user 5"), Some(("user", Some(5))));
        assert_eq!(doc("order"), Some(("order", None)));
        assert_eq!(doc("Products"), Some(("product", None)));
        assert_eq!(
            Document::parse("order 12").unwrap().unwrap().to_string(),
            "order 12"
        );
    }

    #[test]
    fn unreadable_documents_say_how_to_write_one() {
        for bad in [
            "invoice 3",
            "order x",
            "order 0",
            "#",
            "order 1 2",
            "-5",
            "order 99999999999999999999",
        ] {
            let err = Document::parse(bad).unwrap_err();
            assert!(err.contains("order 12"), "{bad}: {err}");
        }
    }

    #[test]
    fn dates_are_checked_and_to_is_inclusive() {
        let q = AuditQuery {
            from: "2026-03-01".into(),
            to: "2026-03-07".into(),
            ..Default::default()
        };
        let f = filter_of(&q, &Zone::utc()).unwrap();
        assert_eq!(
            f.from.unwrap().instant().to_string(),
            "2026-03-01 0:00:00.0 +00:00:00"
        );
        assert_eq!(
            f.until.unwrap().instant().to_string(),
            "2026-03-08 0:00:00.0 +00:00:00"
        );
        // The days are the display zone's: in Vienna (UTC+1 in March) a day starts at 23:00 UTC,
        // and on the day the clocks go forward (29 March 2026) it has 23 hours.
        let vienna = Zone::named("Europe/Vienna").unwrap();
        let f = filter_of(&q, &vienna).unwrap();
        assert_eq!(
            f.from.unwrap().instant().to_string(),
            "2026-02-28 23:00:00.0 +00:00:00"
        );
        assert_eq!(
            f.until.unwrap().instant().to_string(),
            "2026-03-07 23:00:00.0 +00:00:00"
        );
        let spring = AuditQuery {
            from: "2026-03-29".into(),
            to: "2026-03-29".into(),
            ..Default::default()
        };
        let f = filter_of(&spring, &vienna).unwrap();
        assert_eq!(
            f.until.unwrap().instant() - f.from.unwrap().instant(),
            time::Duration::hours(23)
        );
        let backwards = AuditQuery {
            from: "2026-03-07".into(),
            to: "2026-03-01".into(),
            ..Default::default()
        };
        assert!(
            filter_of(&backwards, &Zone::utc())
                .unwrap_err()
                .to
                .is_some()
        );
        let bad = AuditQuery {
            from: "yesterday".into(),
            ..Default::default()
        };
        let errors = filter_of(&bad, &Zone::utc()).unwrap_err();
        assert!(errors.from.is_some() && errors.to.is_none() && errors.document.is_none());
    }
}
