//! A password the user knows, changed on `/account`: the current one (behind
//! the sign-in throttle), the new one twice under the rules, from a session
//! at the level the user's factors reach; the other sessions end, this one
//! stays.

use super::{after_new_password, hash_new, NewPasswordError};
use crate::app::AppState;
use crate::auth::password_rules::PasswordFault;
use crate::service::factors::{self, check_password, PasswordCheck};
use crate::store::{self, Session, User};

/// The change form's fields.
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub again: String,
}

/// Why a password was not changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the session has not given the user's second factor")]
    SecondFactorFirst,
    #[error("the current password is wrong")]
    WrongCurrent,
    #[error("too many wrong passwords")]
    Throttled { until: i64 },
    #[error("the two new passwords differ")]
    NotTheSame,
    #[error(transparent)]
    Refused(#[from] PasswordFault),
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl From<NewPasswordError> for ChangeError {
    fn from(err: NewPasswordError) -> Self {
        match err {
            NewPasswordError::Refused(fault) => ChangeError::Refused(fault),
            NewPasswordError::Store(err) => ChangeError::Store(err),
        }
    }
}

/// Changes `user`'s password from `session`, audited as `password_changed`.
pub async fn change(
    app: &AppState,
    user: &User,
    session: &Session,
    form: PasswordChange,
    ip: &str,
) -> Result<(), ChangeError> {
    let level = factors::level::of(app, user).await?;
    if !level.met_by(session.acr, &session.amr) {
        return Err(ChangeError::SecondFactorFirst);
    }
    match check_password(app, &user.username, Some(user), form.current, Some(ip)).await? {
        PasswordCheck::Correct => {}
        PasswordCheck::Wrong => return Err(ChangeError::WrongCurrent),
        PasswordCheck::Throttled { until } => return Err(ChangeError::Throttled { until }),
    }
    // The hash the check just verified (or made again): a password set
    // meanwhile by a link makes the swap below fail rather than be lost.
    let verified = app.store.user_by_id(&user.id).await?;
    let verified = verified.map(|u| u.password_hash).unwrap_or_default();
    if form.new != form.again {
        return Err(ChangeError::NotTheSame);
    }
    let hash = hash_new(app, form.new, &[&user.username, &user.email]).await?;
    let now = app.clock.now();
    let live = app.store.live_session_by_sid(&session.sid, now).await?;
    if live.is_none()
        || !app
            .store
            .replace_password_hash(&user.id, &verified, &hash)
            .await?
    {
        return Err(ChangeError::WrongCurrent);
    }
    after_new_password(app, user, Some(&session.sid), "password_changed", Some(ip)).await?;
    Ok(())
}
