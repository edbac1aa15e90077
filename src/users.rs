//! Account management shared by the command line and the demo loader.

use crate::auth::hash_password;
use crate::db::audit::{self, AuditEvent};
use crate::db::{Db, DbError, users};
use crate::domain::{NewPassword, Role, Username};
use crate::error::AppError;

/// Create a user; `actor` is recorded in the audit trail.
pub async fn add_user(
    db: &Db,
    username: &Username,
    display_name: &str,
    role: Role,
    password: NewPassword,
    actor: &str,
) -> Result<i64, AppError> {
    let hash = hash_password(password).await?;
    let mut tx = db.begin().await?;
    let id = users::insert(
        &mut tx,
        &users::NewUser {
            username: username.as_str(),
            display_name,
            role: role.as_str(),
            password_hash: &hash,
        },
    )
    .await
    .map_err(|e| match e {
        DbError::Unique => AppError::Conflict(format!("a user named {username} exists already")),
        other => other.into(),
    })?;
    let event = AuditEvent {
        actor,
        action: "add-user",
        entity: "user",
        entity_id: id.to_string(),
        detail: format!("{username} as {role}"),
    };
    audit::record(&mut tx, &event, crate::db::now()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Disable a user by name and end their sessions; false when no such active user.
pub async fn disable_user(db: &Db, username: &Username, actor: &str) -> Result<bool, AppError> {
    let Some(user) = db.find_user(username.as_str()).await? else {
        return Ok(false);
    };
    let mut tx = db.begin().await?;
    let changed = users::disable(&mut tx, user.id).await?;
    if changed {
        let event = AuditEvent {
            actor,
            action: "disable-user",
            entity: "user",
            entity_id: user.id.to_string(),
            detail: String::new(),
        };
        audit::record(&mut tx, &event, crate::db::now()).await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Set a user's password and end their sessions; false when there is no such user.
pub async fn set_password(
    db: &Db,
    username: &Username,
    password: NewPassword,
    actor: &str,
) -> Result<bool, AppError> {
    let Some(user) = db.find_user(username.as_str()).await? else {
        return Ok(false);
    };
    let hash = hash_password(password).await?;
    let mut tx = db.begin().await?;
    users::set_password(&mut tx, user.id, &hash).await?;
    let event = AuditEvent {
        actor,
        action: "set-password",
        entity: "user",
        entity_id: user.id.to_string(),
        detail: String::new(),
    };
    audit::record(&mut tx, &event, crate::db::now()).await?;
    tx.commit().await?;
    Ok(true)
}
