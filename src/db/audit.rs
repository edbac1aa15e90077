//! The audit trail: who did what, when. Appended in the same transaction as the change.

use time::OffsetDateTime;

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
