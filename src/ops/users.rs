//! Managing users: adding and disabling accounts (admins only; checked by the handler).

use crate::db::audit::{self, AuditEvent};
use crate::db::{DbError, Tx, users};
use crate::domain::{Role, Username};
use crate::error::AppError;
use crate::idempotency::{Action, Outcome};

pub const USERS_PATH: &str = "/admin/users";

/// Add a user whose password is already hashed.
#[derive(Debug, Clone)]
pub struct AddUser {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub actor: String,
}

impl Action for AddUser {
    fn pending_location(&self) -> String {
        USERS_PATH.into()
    }

    fn planned_outcome(&self) -> Option<Outcome> {
        Some(Outcome::see_other(USERS_PATH))
    }

    async fn apply(self, tx: &mut Tx) -> Result<Outcome, AppError> {
        let id = users::insert(
            tx,
            &users::NewUser {
                username: self.username.as_str(),
                display_name: &self.display_name,
                role: self.role.as_str(),
                password_hash: &self.password_hash,
            },
        )
        .await
        .map_err(|e| match e {
            DbError::Unique => {
                AppError::Conflict(format!("A user named {} exists already.", self.username))
            }
            other => other.into(),
        })?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor,
                action: "add-user",
                entity: "user",
                entity_id: id.to_string(),
                detail: format!("{} as {}", self.username, self.role),
            },
            crate::db::now(),
        )
        .await?;
        Ok(Outcome::see_other(USERS_PATH))
    }
}

/// Disable a user; their sessions end at once. Disabling twice is a success.
#[derive(Debug, Clone)]
pub struct DisableUser {
    pub user_id: i64,
    pub actor: String,
}

impl Action for DisableUser {
    fn pending_location(&self) -> String {
        USERS_PATH.into()
    }

    fn planned_outcome(&self) -> Option<Outcome> {
        Some(Outcome::see_other(USERS_PATH))
    }

    async fn apply(self, tx: &mut Tx) -> Result<Outcome, AppError> {
        if users::disable(tx, self.user_id).await? {
            audit::record(
                tx,
                &AuditEvent {
                    actor: &self.actor,
                    action: "disable-user",
                    entity: "user",
                    entity_id: self.user_id.to_string(),
                    detail: String::new(),
                },
                crate::db::now(),
            )
            .await?;
        }
        Ok(Outcome::see_other(USERS_PATH))
    }
}
