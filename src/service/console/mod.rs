//! What the provider console does, for its pages and its JSON API alike:
//! each operation checks the actor's rights, changes the store, and leaves
//! an audit event naming who did it and from where.

pub mod clients;
pub mod members;
pub mod settings;

pub use clients::{
    check_client_admin_scope, client, create_client, new_client, rotate_client_secret,
    set_client_admin_scope, update_client,
};
pub use members::{
    apps_of, check_new_member, create_member, devices_of, disable, enable, forget_device,
    issue_password_link, member_to_change, member_to_see, reset_2fa, revoke_app, set_administrator,
    unlock, NewMember, PasswordLink, LINK_LIFETIME_SECS,
};
pub use settings::save_settings;

use crate::app::AppState;
use crate::auth::admin_rights::{self, Actor, Denied};
use crate::auth::password;
use crate::store::{self, NewAuditEvent, Tenant};

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("{}", .0.message())]
    Denied(Denied),
    #[error("{0}")]
    NotFound(&'static str),
    /// The request is malformed; the text says how to fix it.
    #[error("{0}")]
    Invalid(String),
    /// A name is taken.
    #[error("{0}")]
    Duplicate(String),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("hashing failed: {0}")]
    Hashing(String),
}

impl From<Denied> for ConsoleError {
    fn from(denied: Denied) -> Self {
        ConsoleError::Denied(denied)
    }
}

pub(super) type Result<T> = std::result::Result<T, ConsoleError>;

pub(super) async fn audit(
    app: &AppState,
    actor: &Actor,
    kind: &str,
    account_id: &str,
    member_id: Option<&str>,
    detail: serde_json::Value,
) -> Result<()> {
    app.store
        .audit(NewAuditEvent {
            kind,
            account_id: Some(account_id).filter(|a| !a.is_empty()),
            user_id: member_id,
            actor_id: Some(&actor.id),
            ip: actor.ip.as_deref(),
            detail,
            now: app.clock.now(),
        })
        .await?;
    Ok(())
}

/// An account the actor administers.
pub async fn account(app: &AppState, actor: &Actor, id: &str) -> Result<Tenant> {
    admin_rights::may_manage(actor, id)?;
    app.store
        .tenant_by_id(id)
        .await?
        .ok_or(ConsoleError::NotFound("There is no such account."))
}

/// The accounts the actor administers.
pub async fn accounts(app: &AppState, actor: &Actor) -> Result<Vec<Tenant>> {
    if actor.operator {
        return Ok(app.store.tenants().await?);
    }
    match &actor.account_id {
        Some(id) => Ok(app.store.tenant_by_id(id).await?.into_iter().collect()),
        None => Err(Denied::NotAdministrator.into()),
    }
}

pub(super) async fn hash_secret(app: &AppState, secret: String) -> Result<String> {
    let cost = app.config.hash_cost();
    app.hash_blocking(move || password::hash(&secret, cost))
        .await
        .map_err(|e| ConsoleError::Hashing(e.to_string()))?
        .map_err(|e| ConsoleError::Hashing(e.to_string()))
}
