//! Server-wide settings kept in the database, shared by every server on it.

use super::{Db, DbResult, on_tx};

impl Db {
    /// The value of `name`, created from `init` on first use. Several servers starting at once
    /// agree on one value: the insert is conditional and everyone reads the winner.
    pub async fn setting_or_init(&self, name: &str, init: &str) -> DbResult<String> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(init)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
        let value: String = on_tx!(&mut tx, c => sqlx::query_scalar("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(c)
            .await)?;
        tx.commit().await?;
        Ok(value)
    }
}
