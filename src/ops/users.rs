//! Managing users: adding, disabling, setting passwords. Admins on the pages, the operator on
//! the command line; the same actions either way.

use crate::db::audit::{self, AuditEvent};
use crate::db::{Tx, users};
use crate::domain::{Actor, Permission, Role, Username};
use crate::error::{Conflict, Missing, Result};
use crate::idempotency::{Action, Scope};

/// The longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 80;

/// Add a user whose password is already hashed (hashing is slow: it happens before the
/// transaction, off the async runtime).
#[derive(Debug, Clone)]
pub struct AddUser {
    pub actor: Actor,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAdded {
    pub user_id: i64,
}

impl AddUser {
    pub fn scope_for() -> Scope {
        Scope::new("add-user", "users")
    }
}

impl Action for AddUser {
    type Output = UserAdded;
    const PERMISSION: Permission = Permission::ManageUsers;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for()
    }

    async fn apply(self, tx: &mut Tx) -> Result<UserAdded> {
        let new = users::NewUser {
            username: self.username.as_str(),
            display_name: self.display_name.trim(),
            role: self.role,
            password_hash: &self.password_hash,
        };
        let user_id = match users::insert(tx, &new).await {
            Ok(id) => id,
            Err(e) if e.is_unique("users.username") => {
                return Err(Conflict::UserExists(self.username.to_string()).into());
            }
            Err(e) => return Err(e.into()),
        };
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor.username,
                action: "add-user",
                entity: "user",
                entity_id: user_id.to_string(),
                detail: format!("{} as {}", self.username, self.role),
            },
            crate::db::now(),
        )
        .await?;
        Ok(UserAdded { user_id })
    }
}

/// Disable a user; their sessions and API tokens stop working at once. Disabling twice is a
/// success; disabling oneself is refused.
#[derive(Debug, Clone)]
pub struct DisableUser {
    pub actor: Actor,
    pub user_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDisabled {
    /// False when the user was disabled already.
    pub changed: bool,
}

impl DisableUser {
    pub fn scope_for(user_id: i64) -> Scope {
        Scope::new("disable-user", format!("user:{user_id}"))
    }
}

impl Action for DisableUser {
    type Output = UserDisabled;
    const PERMISSION: Permission = Permission::ManageUsers;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(self.user_id)
    }

    async fn apply(self, tx: &mut Tx) -> Result<UserDisabled> {
        if self.user_id == self.actor.user_id {
            return Err(Conflict::OwnAccount.into());
        }
        let changed = users::disable(tx, self.user_id).await?;
        if changed {
            audit::record(
                tx,
                &AuditEvent {
                    actor: &self.actor.username,
                    action: "disable-user",
                    entity: "user",
                    entity_id: self.user_id.to_string(),
                    detail: String::new(),
                },
                crate::db::now(),
            )
            .await?;
        }
        Ok(UserDisabled { changed })
    }
}

/// Set a user's password (already hashed); their sessions end.
#[derive(Debug, Clone)]
pub struct SetPassword {
    pub actor: Actor,
    pub username: Username,
    pub password_hash: String,
}

impl SetPassword {
    pub fn scope_for(username: &Username) -> Scope {
        Scope::new("set-password", format!("user:{username}"))
    }
}

impl Action for SetPassword {
    type Output = ();
    const PERMISSION: Permission = Permission::ManageUsers;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(&self.username)
    }

    async fn apply(self, tx: &mut Tx) -> Result<()> {
        let user_id = users::id_of(tx, self.username.as_str())
            .await?
            .ok_or_else(|| Missing::User(self.username.to_string()))?;
        users::set_password(tx, user_id, &self.password_hash).await?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor.username,
                action: "set-password",
                entity: "user",
                entity_id: user_id.to_string(),
                detail: String::new(),
            },
            crate::db::now(),
        )
        .await?;
        Ok(())
    }
}

/// Hash `password` and add the user in one go: the command line, the demo loader and the test
/// harness add users this way, outside any idempotency key.
pub async fn add_user(
    db: &crate::db::Db,
    actor: &Actor,
    username: Username,
    display_name: &str,
    role: Role,
    password: crate::domain::NewPassword,
) -> Result<UserAdded> {
    let password_hash = crate::auth::hash_password(password).await?;
    super::run_once(
        db,
        AddUser {
            actor: actor.clone(),
            username,
            display_name: display_name.to_string(),
            role,
            password_hash,
        },
    )
    .await
}
