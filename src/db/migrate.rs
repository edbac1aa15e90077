//! Schema migrations, embedded in the binary: `migrations/sqlite/` and `migrations/postgres/`.

use sqlx::migrate::Migrator;

use super::{Db, DbResult, Pools, on_pool, postgres, sqlite};

/// One migration and whether this database has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
}

/// How often a migration of an SQLite file is tried while another process migrates it.
const SQLITE_MIGRATE_ATTEMPTS: u64 = 8;

/// How the database's schema compares to what this binary expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every migration this binary knows is applied, and nothing else.
    Current,
    /// Nothing applied yet: a brand-new database.
    Empty,
    /// Some known migrations are missing.
    Pending(Vec<i64>),
    /// The database has migrations this binary does not know (a newer orderdesk ran here),
    /// or an applied migration's checksum differs from the embedded one.
    Unknown(Vec<i64>),
}

impl Db {
    fn migrator(&self) -> &'static Migrator {
        match self.pools {
            Pools::Sqlite { .. } => &sqlite::MIGRATOR,
            Pools::Postgres(_) => &postgres::MIGRATOR,
        }
    }

    /// Applied migrations as (version, checksum); empty when the bookkeeping table is absent.
    async fn applied(&self) -> DbResult<Vec<(i64, Vec<u8>)>> {
        let exists = match &self.pools {
            Pools::Sqlite { read, .. } => sqlite::has_migrations_table(read).await?,
            Pools::Postgres(pool) => postgres::has_migrations_table(pool).await?,
        };
        if !exists {
            return Ok(Vec::new());
        }
        let rows = on_pool!(self, c => sqlx::query_as::<_, (i64, Vec<u8>)>(
            "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(c)
        .await)?;
        Ok(rows)
    }

    /// Every known migration with its state, for `orderdesk migrate status`.
    pub async fn migration_status(&self) -> DbResult<Vec<MigrationState>> {
        let applied = self.applied().await?;
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| MigrationState {
                version: m.version,
                description: m.description.to_string(),
                applied: applied.iter().any(|(v, _)| *v == m.version),
            })
            .collect())
    }

    /// Compare the schema with what this binary expects.
    pub async fn schema_state(&self) -> DbResult<SchemaState> {
        let applied = self.applied().await?;
        if applied.is_empty() {
            return Ok(SchemaState::Empty);
        }
        let known = self.migrator();
        let unknown: Vec<i64> = applied
            .iter()
            .filter(|(v, checksum)| {
                !known
                    .iter()
                    .any(|m| m.version == *v && m.checksum.as_ref() == checksum.as_slice())
            })
            .map(|(v, _)| *v)
            .collect();
        if !unknown.is_empty() {
            return Ok(SchemaState::Unknown(unknown));
        }
        let pending: Vec<i64> = known
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
            .map(|m| m.version)
            .collect();
        Ok(if pending.is_empty() {
            SchemaState::Current
        } else {
            SchemaState::Pending(pending)
        })
    }

    /// Apply every pending migration (`orderdesk migrate run`, or a first `serve` on a new
    /// SQLite file). Safe to run from several processes at once. On PostgreSQL sqlx holds an
    /// advisory lock for the whole run. On SQLite there is no such lock: two first starts can
    /// both find migration 1 pending, and the slower one's `CREATE TABLE` then fails because the
    /// faster one committed it meanwhile (each migration is one transaction, so nothing half-done
    /// is left). The loser reads the schema again and applies what is still pending, a few
    /// times, and succeeds once the schema is current, whoever applied it.
    pub async fn migrate(&self) -> DbResult<()> {
        match &self.pools {
            Pools::Sqlite { write, .. } => {
                let mut attempt = 1;
                loop {
                    match sqlite::MIGRATOR.run(write).await {
                        Ok(()) => break,
                        Err(e) => {
                            if matches!(self.schema_state().await, Ok(SchemaState::Current)) {
                                break;
                            }
                            if attempt == SQLITE_MIGRATE_ATTEMPTS {
                                return Err(e.into());
                            }
                            tracing::info!(attempt, error = %e, "another process is migrating this database; trying again");
                            tokio::time::sleep(std::time::Duration::from_millis(100 * attempt))
                                .await;
                            attempt += 1;
                        }
                    }
                }
            }
            Pools::Postgres(pool) => postgres::MIGRATOR.run(pool).await?,
        }
        Ok(())
    }
}
