//! API tokens: an admin (or the operator) creates one for a user, shown once, and revokes it.

use crate::db::api_tokens::{self, NewApiToken};
use crate::db::audit::{self, AuditEvent};
use crate::db::{Tx, users};
use crate::domain::{Actor, Permission, Username};
use crate::error::{Field, Invalid, Missing, Result};
use crate::idempotency::{Action, Scope};

/// The longest label, in characters.
pub const MAX_LABEL: usize = 80;

/// Store a new token for a user. The secret was made (and is shown) by the caller; only its
/// hash and hint arrive here.
#[derive(Debug, Clone)]
pub struct CreateApiToken {
    pub actor: Actor,
    pub username: Username,
    pub label: String,
    pub token_hash: String,
    pub hint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenCreated {
    pub id: i64,
}

impl CreateApiToken {
    pub fn scope_for() -> Scope {
        Scope::new("create-api-token", "api-tokens")
    }
}

impl Action for CreateApiToken {
    type Output = ApiTokenCreated;
    const PERMISSION: Permission = Permission::ManageUsers;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for()
    }

    async fn apply(self, tx: &mut Tx) -> Result<ApiTokenCreated> {
        let label = self.label.trim();
        if label.chars().count() > MAX_LABEL {
            return Err(Invalid::new(
                Field::Label,
                format!("a label has at most {MAX_LABEL} characters"),
            )
            .into());
        }
        let user_id = users::active_id_of(tx, self.username.as_str())
            .await?
            .ok_or_else(|| Missing::User(self.username.to_string()))?;
        let id = api_tokens::insert(
            tx,
            &NewApiToken {
                user_id,
                label,
                token_hash: &self.token_hash,
                hint: &self.hint,
                created_by: &self.actor.username,
            },
        )
        .await?;
        audit::record(
            tx,
            &AuditEvent {
                actor: &self.actor.username,
                action: "create-api-token",
                entity: "user",
                entity_id: user_id.to_string(),
                detail: format!("token {id} ({}) {label}", self.hint)
                    .trim_end()
                    .to_string(),
            },
            crate::db::now(),
        )
        .await?;
        Ok(ApiTokenCreated { id })
    }
}

/// Revoke a token: it stops working on every server at once. Revoking twice is a success.
#[derive(Debug, Clone)]
pub struct RevokeApiToken {
    pub actor: Actor,
    pub token_id: i64,
}

impl RevokeApiToken {
    pub fn scope_for(token_id: i64) -> Scope {
        Scope::new("revoke-api-token", format!("api-token:{token_id}"))
    }
}

impl Action for RevokeApiToken {
    /// False when the token was revoked already.
    type Output = bool;
    const PERMISSION: Permission = Permission::ManageUsers;

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn scope(&self) -> Scope {
        Self::scope_for(self.token_id)
    }

    async fn apply(self, tx: &mut Tx) -> Result<bool> {
        let token = api_tokens::find(tx, self.token_id)
            .await?
            .ok_or(Missing::ApiToken(self.token_id))?;
        let changed = api_tokens::revoke(tx, token.id).await?;
        if changed {
            audit::record(
                tx,
                &AuditEvent {
                    actor: &self.actor.username,
                    action: "revoke-api-token",
                    entity: "user",
                    entity_id: token.user_id.to_string(),
                    detail: format!("token {} ({})", token.id, token.hint),
                },
                crate::db::now(),
            )
            .await?;
        }
        Ok(changed)
    }
}
