//! One-time password links (`/password?token=`): an administrator's link
//! for a new member or one who lost access, and the reset link mailed on
//! request. Stored hashed, single use; a newer link voids the older one.
//! Using one sets the password and nothing else: it never signs anyone in,
//! and never removes, skips or replaces a second factor.

use super::{after_new_password, hash_new, NewPasswordError};
use crate::app::AppState;
use crate::auth::password_rules::PasswordFault;
use crate::auth::secret;
use crate::store::{self, User};

/// Where the links open.
pub const PATH: &str = "/password";

/// The link for `token`, built from the configured issuer alone.
pub fn url(app: &AppState, token: &str) -> String {
    format!("{}{PATH}?token={token}", app.config.issuer())
}

/// Whom a live link is for.
pub struct Holder {
    pub user: User,
    /// The address a reset link was mailed to (an administrator's has none).
    pub mailed_to: Option<String>,
}

/// Whom a live link is for (a disabled user has none). Opening a link uses
/// nothing up: mail scanners open links.
pub async fn holder(app: &AppState, token: &str) -> Result<Option<Holder>, store::Error> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let hash = secret::token_hash(token);
    let Some((user_id, mailed_to)) = app.store.password_link_user(&hash, app.clock.now()).await?
    else {
        return Ok(None);
    };
    let user = app.store.user_by_id(&user_id).await?;
    Ok(user
        .filter(|u| !u.is_disabled)
        .map(|user| Holder { user, mailed_to }))
}

/// Why a link did not set a password.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the link has expired or was used")]
    UsedLink,
    #[error("the two passwords differ")]
    NotTheSame,
    #[error(transparent)]
    Refused(#[from] PasswordFault),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<NewPasswordError> for LinkError {
    fn from(err: NewPasswordError) -> Self {
        match err {
            NewPasswordError::Refused(fault) => LinkError::Refused(fault),
            NewPasswordError::Store(err) => LinkError::Store(err),
        }
    }
}

/// Uses the link `token` once: sets the password of its user, ends all of
/// their sessions and refresh tokens, and audits `password_set` (an
/// administrator's link) or `password_reset` (a mailed one, which also
/// verifies the address it went to, when it is still the user's). Returns
/// the user, who is not signed in by it.
pub async fn set_password(
    app: &AppState,
    token: &str,
    password: String,
    again: &str,
    ip: Option<&str>,
) -> Result<User, LinkError> {
    let Holder { user, mailed_to } = holder(app, token).await?.ok_or(LinkError::UsedLink)?;
    if password != again {
        return Err(LinkError::NotTheSame);
    }
    let hash = hash_new(app, password, &[&user.username, &user.email]).await?;
    let token_hash = secret::token_hash(token);
    let now = app.clock.now();
    if !app
        .store
        .set_password_with_link(&token_hash, &user.id, &hash, now)
        .await?
    {
        return Err(LinkError::UsedLink);
    }
    let kind = match mailed_to {
        Some(address) if address.eq_ignore_ascii_case(&user.email) => {
            app.store.verify_email(&user.id, false, now).await?;
            "password_reset"
        }
        Some(_) => "password_reset",
        None => "password_set",
    };
    after_new_password(app, &user, None, kind, ip).await?;
    Ok(user)
}
