//! The console's members: seeing and changing one (within the actor's
//! rights), Reset 2FA, unlock, disable and enable, the administrator role,
//! adding a member and their one-time password link.

use super::{account, audit, hash_secret, ConsoleError, Result};
use crate::app::AppState;
use crate::auth::admin_rights::{self, Actor};
use crate::auth::secret;
use crate::service::factors;
use crate::store::{self, NewUser, User};

/// How long a password link works.
pub const LINK_LIFETIME_SECS: i64 = 72 * 3600;

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

/// The member's remembered devices, for their page.
pub async fn devices_of(
    app: &AppState,
    actor: &Actor,
    member_id: &str,
) -> Result<Vec<crate::store::RememberedDevice>> {
    let member = member_to_see(app, actor, member_id).await?;
    Ok(crate::service::devices::list(app, &member).await?)
}

/// The third-party clients a member allowed (their Connected apps).
pub async fn apps_of(
    app: &AppState,
    actor: &Actor,
    member_id: &str,
) -> Result<Vec<crate::store::Consent>> {
    let member = member_to_see(app, actor, member_id).await?;
    Ok(crate::service::consent::list(app, &member).await?)
}

/// **Revoke** on a member's page: the member's consent to a client is
/// forgotten and that client's tokens of theirs revoked, as the member's
/// own **Revoke** does.
pub async fn revoke_app(
    app: &AppState,
    actor: &Actor,
    member_id: &str,
    client_id: &str,
) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    let actor_id = Some(actor.id.as_str());
    if !crate::service::consent::revoke(app, &member, client_id, actor_id, None).await? {
        return Err(ConsoleError::NotFound(
            "That app is not one of the member's connected apps.",
        ));
    }
    Ok(member)
}

/// **Forget** on a member's page: one of their remembered devices asks for
/// the second factor again.
pub async fn forget_device(
    app: &AppState,
    actor: &Actor,
    member_id: &str,
    device_id: &str,
) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    let actor_id = Some(actor.id.as_str());
    if !crate::service::devices::forget_one(app, &member, device_id, actor_id, None).await? {
        return Err(ConsoleError::NotFound(
            "That device is not one of the member's remembered devices.",
        ));
    }
    Ok(member)
}

/// Disables a member: no sign-in, sessions ended, tokens revoked,
/// remembered devices forgotten.
pub async fn disable(app: &AppState, actor: &Actor, member_id: &str) -> Result<User> {
    let member = member_to_change(app, actor, member_id).await?;
    let now = app.clock.now();
    app.store.set_disabled(&member.id, true).await?;
    let sessions = app
        .store
        .end_sessions_of_user(&member.id, None, now)
        .await?;
    let grants = app
        .store
        .revoke_grants_of_user(&member.id, None, now)
        .await?;
    let devices = app.store.forget_devices_of(&member.id).await?;
    app.deliveries.notify_one();
    let detail = serde_json::json!({
        "username": member.username,
        "sessions_ended": sessions,
        "grants_revoked": grants,
        "devices_forgotten": devices,
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

async fn put_link(app: &AppState, member: &User) -> Result<PasswordLink> {
    let token = secret::random_token(32);
    let now = app.clock.now();
    let expires_at = now + LINK_LIFETIME_SECS;
    app.store
        .put_password_link(
            &secret::token_hash(&token),
            &member.id,
            None,
            now,
            expires_at,
        )
        .await?;
    Ok(PasswordLink {
        link: crate::service::password::link::url(app, &token),
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
}
