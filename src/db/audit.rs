//! The audit trail: who did what, when. Appended in the same transaction as the change; read
//! back as one record's history and as the whole log, filtered and paged.

use sqlx::{Database, Encode, QueryBuilder, Type};
use time::OffsetDateTime;

use super::orders::Cursor;
pub use super::types::TimeBound;
use super::{DbResult, Tx, on_tx};

/// One audit event.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub detail: String,
}

pub async fn record(tx: &mut Tx, event: &AuditEvent<'_>, at: OffsetDateTime) -> DbResult<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO audit_events (at, actor, action, entity, entity_id, detail) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(event.actor)
    .bind(event.action)
    .bind(event.entity)
    .bind(&event.entity_id)
    .bind(&event.detail)
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Bind an event's action, entity, entity id and detail as the next four parameters of a
/// statement that records it with others (the confirmation's last statement on each backend).
pub(super) fn bind_event<'q, DB, O>(
    q: sqlx::query::QueryScalar<'q, DB, O, <DB as Database>::Arguments<'q>>,
    event: &'q AuditEvent<'_>,
) -> sqlx::query::QueryScalar<'q, DB, O, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    q.bind(event.action)
        .bind(event.entity)
        .bind(event.entity_id.as_str())
        .bind(event.detail.as_str())
}

/// One recorded event, for display.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

impl super::Db {
    /// The history of one record, oldest first.
    pub async fn audit_events(&self, entity: &str, entity_id: &str) -> DbResult<Vec<AuditRow>> {
        Ok(super::on_pool!(self, c => sqlx::query_as::<_, AuditRow>(
            "SELECT at, actor, action, detail FROM audit_events WHERE entity = $1 AND entity_id = $2 ORDER BY id",
        )
        .bind(entity)
        .bind(entity_id)
        .fetch_all(c)
        .await)?)
    }
}

/// Filters of the audit log. Each one narrows; together they all apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor (user names are stored in lower case).
    pub actor: Option<String>,
    /// Exactly this action (`confirm`, `sign-in`, ...).
    pub action: Option<String>,
    /// Events about this kind of record (`order`, `product`, `customer`, `user`) ...
    pub entity: Option<String>,
    /// ... and, with an entity, about this one record.
    pub entity_id: Option<String>,
    /// Events at or after this moment (the start of the first day, in the display zone).
    pub from: Option<TimeBound>,
    /// Events before this moment (the start of the day after an inclusive "to").
    pub until: Option<TimeBound>,
}

/// One event of the audit log, as listed and exported.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditLogRow {
    pub id: i64,
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: String,
}

/// The columns of [`AuditLogRow`].
const COLUMNS: &str = "SELECT id, at, actor, action, entity, entity_id, detail FROM audit_events";

impl AuditFilter {
    /// `AND` every filter that is set.
    fn push<'a, DB>(&'a self, qb: &mut QueryBuilder<'a, DB>)
    where
        DB: Database,
        &'a str: Encode<'a, DB> + Type<DB>,
        TimeBound: Encode<'a, DB> + Type<DB>,
    {
        let text = [
            ("actor", &self.actor),
            ("action", &self.action),
            ("entity", &self.entity),
            ("entity_id", &self.entity_id),
        ];
        for (column, value) in text {
            if let Some(v) = value {
                qb.push(format!(" AND {column} = ")).push_bind(v.as_str());
            }
        }
        if let Some(from) = self.from {
            qb.push(" AND at >= ").push_bind(from);
        }
        if let Some(until) = self.until {
            qb.push(" AND at < ").push_bind(until);
        }
    }
}

impl super::Db {
    /// One page of the audit log, newest first, by keyset (never OFFSET): at most `limit`
    /// events, and whether more lie beyond the page in the direction of travel.
    ///
    /// The log is ordered by time, then id (`at DESC, id DESC`), and the cursor is an event
    /// whose `(at, id)` the page continues from. Every filter has an index that ends in
    /// `(at, id)` (migration 0005), so a page costs about its own rows whatever the filters,
    /// and a date range is a range of that index: exact, however times and ids interleave.
    /// (On SQLite times are RFC 3339 text whose fraction of a second varies in length, so
    /// events within one second may list in text order rather than instant order; pages stay
    /// complete and disjoint, as the cursor compares the same way.)
    pub async fn list_audit_log(
        &self,
        filter: &AuditFilter,
        limit: i64,
        cursor: Cursor,
    ) -> DbResult<(Vec<AuditLogRow>, bool)> {
        let (from_id, ascending) = match cursor {
            Cursor::First => (None, false),
            Cursor::Before(id) => (Some(id), false),
            Cursor::After(id) => (Some(id), true),
        };
        let (cmp, dir) = if ascending {
            (">", "ASC")
        } else {
            ("<", "DESC")
        };
        let mut rows = super::on_pool!(self, c => {
            let mut qb = sqlx::QueryBuilder::new(COLUMNS);
            qb.push(" WHERE 1 = 1");
            filter.push(&mut qb);
            if let Some(id) = from_id {
                qb.push(format!(" AND (at, id) {cmp} ((SELECT at FROM audit_events WHERE id = "))
                    .push_bind(id)
                    .push("), ")
                    .push_bind(id)
                    .push(")");
            }
            qb.push(format!(" ORDER BY at {dir}, id {dir} LIMIT "))
                .push_bind(limit + 1);
            qb.build_query_as::<AuditLogRow>().fetch_all(c).await
        })?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        if ascending {
            rows.reverse();
        }
        Ok((rows, more))
    }

    /// The actions recorded so far, in order: a skip scan of the `(action, id)` index, one
    /// lookup per distinct action rather than a pass over every event.
    pub async fn audit_actions(&self) -> DbResult<Vec<String>> {
        Ok(super::on_pool!(self, c => sqlx::query_scalar::<_, String>(
            "WITH RECURSIVE a(action) AS ( \
               SELECT MIN(action) FROM audit_events \
               UNION ALL \
               SELECT (SELECT MIN(action) FROM audit_events WHERE action > a.action) \
               FROM a WHERE a.action IS NOT NULL) \
             SELECT action FROM a WHERE action IS NOT NULL",
        )
        .fetch_all(c)
        .await)?)
    }
}
