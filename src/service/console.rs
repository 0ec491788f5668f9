//! What the provider console does, for its pages and its JSON API alike:
//! each operation checks the actor's rights, changes the store, and leaves
//! an audit event naming who did it and from where.

use crate::app::AppState;
use crate::auth::admin_rights::{self, Actor, Denied};
use crate::auth::{password, secret};
use crate::oidc::registration::{self, Registration};
use crate::service::factors;
use crate::store::{
    self, Account, AccountSettings, Client, NewAuditEvent, NewClient, NewUser, User,
};

/// How long a password link works.
pub const LINK_LIFETIME_SECS: i64 = 72 * 3600;

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

type Result<T> = std::result::Result<T, ConsoleError>;

async fn audit(
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
pub async fn account(app: &AppState, actor: &Actor, id: &str) -> Result<Account> {
    admin_rights::may_manage(actor, id)?;
    app.store
        .account_by_id(id)
        .await?
        .ok_or(ConsoleError::NotFound("There is no such account."))
}

/// The accounts the actor administers.
pub async fn accounts(app: &AppState, actor: &Actor) -> Result<Vec<Account>> {
    if actor.operator {
        return Ok(app.store.accounts().await?);
    }
    match &actor.account_id {
        Some(id) => Ok(app.store.account_by_id(id).await?.into_iter().collect()),
        None => Err(Denied::NotAdministrator.into()),
    }
}

/// A member of an account the actor administers (to look at).
pub async fn member_to_see(app: &AppState, actor: &Actor, id: &str) -> Result<User> {
    let member = app
        .store
        .user_by_id(id)
        .await?
        .ok_or(ConsoleError::NotFound("There is no such member."))?;
    admin_rights::may_manage(actor, &member.account_id)?;
    Ok(member)
}

/// A member whose sign-in the actor may change (never the actor themselves).
pub async fn member_to_change(app: &AppState, actor: &Actor, id: &str) -> Result<User> {
    let member = app
        .store
        .user_by_id(id)
        .await?
        .ok_or(ConsoleError::NotFound("There is no such member."))?;
    admin_rights::may_change_member(actor, &member)?;
    Ok(member)
}

/// **Reset 2FA**: the same reset as `gatehouse user reset-mfa`.
pub async fn reset_2fa(app: &AppState, actor: &Actor, member_id: &str) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    factors::reset(
        &app.store,
        &member,
        Some((&actor.id, &actor.name)),
        actor.ip.as_deref(),
        app.clock.now(),
    )
    .await?;
    crate::service::delivery::notices::notify(
        app,
        &member,
        "second_factor_reset",
        &serde_json::json!({}),
    )
    .await?;
    tracing::info!(member = %member.id, actor = %actor.id, "second factors reset from the console");
    Ok(member)
}

pub async fn unlock(app: &AppState, actor: &Actor, member_id: &str) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    factors::unlock(&app.store, &member).await?;
    let detail = serde_json::json!({ "username": member.username });
    audit(
        app,
        actor,
        "second_factor_unlocked",
        &member.account_id,
        Some(&member.id),
        detail,
    )
    .await?;
    Ok(member)
}

/// Disables a member: no sign-in, sessions ended, tokens revoked.
pub async fn disable(app: &AppState, actor: &Actor, member_id: &str) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    let now = app.clock.now();
    app.store.set_disabled(&member.id, true).await?;
    let sessions = app
        .store
        .end_sessions_of_user(&member.id, None, now)
        .await?;
    let grants = app.store.revoke_grants_of_user(&member.id, now).await?;
    app.deliveries.notify_one();
    let detail = serde_json::json!({
        "username": member.username,
        "sessions_ended": sessions,
        "grants_revoked": grants,
    });
    audit(
        app,
        actor,
        "member_disabled",
        &member.account_id,
        Some(&member.id),
        detail,
    )
    .await?;
    Ok(member)
}

pub async fn enable(app: &AppState, actor: &Actor, member_id: &str) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    app.store.set_disabled(&member.id, false).await?;
    let detail = serde_json::json!({ "username": member.username });
    audit(
        app,
        actor,
        "member_enabled",
        &member.account_id,
        Some(&member.id),
        detail,
    )
    .await?;
    Ok(member)
}

pub async fn set_administrator(
    app: &AppState,
    actor: &Actor,
    member_id: &str,
    administrator: bool,
) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    app.store.set_admin(&member.id, administrator).await?;
    let detail = serde_json::json!({ "username": member.username, "administrator": administrator });
    audit(
        app,
        actor,
        "member_role_changed",
        &member.account_id,
        Some(&member.id),
        detail,
    )
    .await?;
    Ok(member)
}

/// A new member as submitted.
pub struct NewMember<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub administrator: bool,
}

/// What is wrong with a new member's username or email, if anything.
pub fn check_new_member(member: &NewMember<'_>) -> std::result::Result<(), &'static str> {
    let username_ok = (1..=100).contains(&member.username.chars().count())
        && !member
            .username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    let email_ok = member.email.len() <= 254
        && member
            .email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !member
            .email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !username_ok {
        Err("Choose a username of 1 to 100 characters without spaces.")
    } else if !email_ok {
        Err("Enter a valid email address.")
    } else {
        Ok(())
    }
}

/// A one-time link that sets a member's password.
pub struct PasswordLink {
    pub link: String,
    pub expires_at: i64,
}

async fn hash_secret(app: &AppState, secret: String) -> Result<String> {
    let cost = app.config.hash_cost();
    app.hash_blocking(move || password::hash(&secret, cost))
        .await
        .map_err(|e| ConsoleError::Hashing(e.to_string()))?
        .map_err(|e| ConsoleError::Hashing(e.to_string()))
}

async fn put_link(app: &AppState, member: &User) -> Result<PasswordLink> {
    let token = secret::random_token(32);
    let now = app.clock.now();
    let expires_at = now + LINK_LIFETIME_SECS;
    app.store
        .put_password_link(&secret::token_hash(&token), &member.id, now, expires_at)
        .await?;
    Ok(PasswordLink {
        link: format!(
            "{}/password?token={token}",
            app.config.issuer.trim_end_matches('/')
        ),
        expires_at,
    })
}

/// Adds a member to `account_id`, with a link to set their password.
pub async fn create_member(
    app: &AppState,
    actor: &Actor,
    account_id: &str,
    new: &NewMember<'_>,
) -> Result<(User, PasswordLink)> {
    let account = account(app, actor, account_id).await?;
    check_new_member(new).map_err(|e| ConsoleError::Invalid(e.into()))?;
    // Until the member uses their link no password works: the hash is of a random one.
    let unusable = hash_secret(app, secret::random_token(32)).await?;
    let id = secret::random_id();
    app.store
        .create_user(NewUser {
            id: &id,
            account_id: &account.id,
            username: new.username,
            email: new.email,
            password_hash: &unusable,
            is_admin: new.administrator,
            is_operator: false,
            now: app.clock.now(),
        })
        .await
        .map_err(|e| match e {
            store::Error::Duplicate(_) => {
                ConsoleError::Duplicate("That username is taken. Choose another.".into())
            }
            other => other.into(),
        })?;
    let detail =
        serde_json::json!({ "username": new.username, "administrator": new.administrator });
    audit(app, actor, "member_created", &account.id, Some(&id), detail).await?;
    let member = app
        .store
        .user_by_id(&id)
        .await?
        .ok_or(ConsoleError::NotFound("the new member"))?;
    let link = put_link(app, &member).await?;
    Ok((member, link))
}

/// A new link for a member who has not set a password, or forgot it.
pub async fn issue_password_link(
    app: &AppState,
    actor: &Actor,
    member_id: &str,
) -> Result<(User, PasswordLink)> {
    let member = member_to_change(app, actor, member_id).await?;
    let link = put_link(app, &member).await?;
    let detail = serde_json::json!({ "username": member.username });
    audit(
        app,
        actor,
        "password_link_issued",
        &member.account_id,
        Some(&member.id),
        detail,
    )
    .await?;
    Ok((member, link))
}

/// What changed, for the audit log: each setting's old and new value.
fn changes(before: (bool, &AccountSettings), after: (bool, &AccountSettings)) -> serde_json::Value {
    let mut changed = serde_json::Map::new();
    if before.0 != after.0 {
        changed.insert("require_mfa".into(), serde_json::json!([before.0, after.0]));
    }
    let (old, new) = (
        serde_json::to_value(before.1).unwrap_or_default(),
        serde_json::to_value(after.1).unwrap_or_default(),
    );
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        for (name, value) in new {
            if name != "mfa_required_at" && old.get(name) != Some(value) {
                changed.insert(name.clone(), serde_json::json!([old.get(name), value]));
            }
        }
    }
    serde_json::Value::Object(changed)
}

/// Saves an account's settings (already checked by `policy::parse_settings`).
pub async fn save_settings(
    app: &AppState,
    actor: &Actor,
    account_id: &str,
    require_mfa: bool,
    settings: &AccountSettings,
    factors: &[String],
) -> Result<Account> {
    let account = account(app, actor, account_id).await?;
    app.store
        .update_account_settings(&account.id, require_mfa, settings, factors, app.clock.now())
        .await?;
    let mut changed = changes(
        (account.require_mfa, &account.settings),
        (require_mfa, settings),
    );
    if account.factors != factors {
        changed["factors"] = serde_json::json!([account.factors, factors]);
    }
    let detail = serde_json::json!({ "account": account.name, "changed": changed });
    audit(
        app,
        actor,
        "account_settings_changed",
        &account.id,
        None,
        detail,
    )
    .await?;
    Ok(account)
}

/// Changes to relying parties belong to no account: they are the provider's
/// events, in the operators' log.
const PROVIDER_EVENT: &str = "";

pub async fn client(app: &AppState, actor: &Actor, client_id: &str) -> Result<Client> {
    admin_rights::may_manage_clients(actor)?;
    app.store
        .client(client_id)
        .await?
        .ok_or(ConsoleError::NotFound("There is no such relying party."))
}

/// Registers a client; a confidential one gets a secret, returned once.
pub async fn create_client(
    app: &AppState,
    actor: &Actor,
    registration: &Registration,
    public: bool,
) -> Result<Option<String>> {
    admin_rights::may_manage_clients(actor)?;
    registration::check(registration).map_err(ConsoleError::Invalid)?;
    let secret = if public {
        None
    } else {
        let secret = secret::random_token(32);
        Some((secret.clone(), hash_secret(app, secret).await?))
    };
    app.store
        .create_client(NewClient {
            client_id: &registration.client_id,
            secret_hash: secret.as_ref().map(|(_, hash)| hash.as_str()),
            redirect_uris: &registration.redirect_uris,
            post_logout_redirect_uris: &registration.post_logout_redirect_uris,
            backchannel_logout_uri: registration.backchannel_logout_uri.as_deref(),
            id_token_alg: &registration.id_token_alg,
            now: app.clock.now(),
        })
        .await
        .map_err(|e| match e {
            store::Error::Duplicate(_) => ConsoleError::Duplicate(format!(
                "A client with client_id {:?} exists already.",
                registration.client_id
            )),
            other => other.into(),
        })?;
    let detail = serde_json::json!({
        "client_id": registration.client_id,
        "public": public,
        "redirect_uris": registration.redirect_uris,
    });
    audit(app, actor, "client_created", PROVIDER_EVENT, None, detail).await?;
    Ok(secret.map(|(secret, _)| secret))
}

/// Changes a client's URIs and algorithm; its id and kind stay.
pub async fn update_client(
    app: &AppState,
    actor: &Actor,
    registration: &Registration,
) -> Result<()> {
    let existing = client(app, actor, &registration.client_id).await?;
    registration::check(registration).map_err(ConsoleError::Invalid)?;
    app.store
        .update_client(NewClient {
            client_id: &existing.client_id,
            secret_hash: None,
            redirect_uris: &registration.redirect_uris,
            post_logout_redirect_uris: &registration.post_logout_redirect_uris,
            backchannel_logout_uri: registration.backchannel_logout_uri.as_deref(),
            id_token_alg: &registration.id_token_alg,
            now: app.clock.now(),
        })
        .await?;
    let detail = serde_json::json!({
        "client_id": existing.client_id,
        "redirect_uris": registration.redirect_uris,
        "post_logout_redirect_uris": registration.post_logout_redirect_uris,
        "backchannel_logout_uri": registration.backchannel_logout_uri,
        "id_token_alg": registration.id_token_alg,
    });
    audit(app, actor, "client_changed", PROVIDER_EVENT, None, detail).await
}

/// A new secret for a confidential client, returned once; the old one stops working.
pub async fn rotate_client_secret(
    app: &AppState,
    actor: &Actor,
    client_id: &str,
) -> Result<String> {
    let existing = client(app, actor, client_id).await?;
    if existing.is_public() {
        return Err(ConsoleError::Invalid(
            "A public client has no secret to rotate.".into(),
        ));
    }
    let secret = secret::random_token(32);
    let hash = hash_secret(app, secret.clone()).await?;
    app.store.set_client_secret(client_id, &hash).await?;
    let detail = serde_json::json!({ "client_id": client_id });
    audit(
        app,
        actor,
        "client_secret_rotated",
        PROVIDER_EVENT,
        None,
        detail,
    )
    .await?;
    Ok(secret)
}

/// Grants a confidential client the `admin` scope over one account or all
/// (`*`), or takes it away (`None`).
pub async fn set_client_admin_scope(
    app: &AppState,
    actor: &Actor,
    client_id: &str,
    scope: Option<&str>,
) -> Result<()> {
    check_client_admin_scope(app, actor, client_id, scope).await?;
    app.store.set_client_admin_scope(client_id, scope).await?;
    let detail = serde_json::json!({ "client_id": client_id, "admin_scope": scope });
    audit(app, actor, "client_changed", PROVIDER_EVENT, None, detail).await
}

/// Whether `scope` can be granted to the client: a confidential one, and an
/// account that exists (or `*`).
pub async fn check_client_admin_scope(
    app: &AppState,
    actor: &Actor,
    client_id: &str,
    scope: Option<&str>,
) -> Result<()> {
    let existing = client(app, actor, client_id).await?;
    if existing.is_public() && scope.is_some() {
        return Err(ConsoleError::Invalid(
            "Only a confidential client can be granted the admin scope.".into(),
        ));
    }
    if let Some(account_id) = scope.filter(|s| *s != admin_rights::ALL_ACCOUNTS) {
        if app.store.account_by_id(account_id).await?.is_none() {
            return Err(ConsoleError::Invalid("There is no such account.".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_member<'a>(username: &'a str, email: &'a str) -> NewMember<'a> {
        NewMember {
            username,
            email,
            administrator: false,
        }
    }

    #[test]
    fn new_members_need_a_username_and_an_email() {
        assert_eq!(
            check_new_member(&new_member("ann", "ann@example.com")),
            Ok(())
        );
        assert!(check_new_member(&new_member("", "ann@example.com")).is_err());
        assert!(check_new_member(&new_member("a b", "ann@example.com")).is_err());
        assert!(check_new_member(&new_member("ann", "ann")).is_err());
        assert!(check_new_member(&new_member("ann", "@example.com")).is_err());
        assert!(check_new_member(&new_member("ann", "ann@localhost")).is_err());
    }

    #[test]
    fn the_audit_names_what_changed() {
        let before = AccountSettings::default();
        let after = AccountSettings {
            mfa_failure_limit: Some(3),
            ..Default::default()
        };
        let changed = changes((false, &before), (true, &after));
        assert_eq!(
            changed,
            serde_json::json!({ "require_mfa": [false, true], "mfa_failure_limit": [null, 3] })
        );
    }
}
