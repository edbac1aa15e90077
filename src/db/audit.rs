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
