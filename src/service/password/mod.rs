//! New passwords, the one way every form sets one (setup, an
//! administrator's link, a reset by email, a change on `/account`): the
//! rules of `auth::password_rules` at the configured minimum, the hash, and
//! what a new password ends.

pub mod change;
pub mod link;
pub mod reset;

use crate::app::AppState;
use crate::auth::password;
use crate::auth::password_rules::{self, PasswordFault};
use crate::store::{self, User};

/// Why a new password was not set.
#[derive(Debug, thiserror::Error)]
pub enum NewPasswordError {
    #[error(transparent)]
    Refused(#[from] PasswordFault),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// Checks `password` against the rules, for a user known by `context`
/// (username, email address), and hashes it at the configured cost; both
/// off the async runtime.
pub async fn hash_new(
    app: &AppState,
    password: String,
    context: &[&str],
) -> Result<String, NewPasswordError> {
    let min_len = app.config.min_password_length;
    let cost = app.config.hash_cost();
    let context: Vec<String> = context.iter().map(|c| c.to_string()).collect();
    let hashed = app
        .hash_blocking(move || {
            let context: Vec<&str> = context.iter().map(String::as_str).collect();
            match password_rules::fault(&password, min_len, &context) {
                Some(fault) => Err(NewPasswordError::Refused(fault)),
                None => password::hash(&password, cost)
                    .map_err(|e| store::Error::Corrupt(e.to_string()).into()),
            }
        })
        .await
        .map_err(|e| store::Error::Corrupt(format!("hashing: {e}")))?;
    hashed
}

/// After a user's password changed: every session but `keep_sid` ends
/// (back-channel logouts queued), with the refresh tokens of the ended
/// ones and of no session; the user is told (a notice to a verified
/// address) and the change is audited as `kind`.
pub async fn after_new_password(
    app: &AppState,
    user: &User,
    keep_sid: Option<&str>,
    kind: &str,
    ip: Option<&str>,
) -> Result<(), store::Error> {
    let now = app.clock.now();
    let ended = app
        .store
        .end_sessions_of_user(&user.id, keep_sid, now)
        .await?;
    let revoked = app
        .store
        .revoke_grants_of_user(&user.id, keep_sid, now)
        .await?;
    app.deliveries.notify_one();
    let detail = serde_json::json!({ "sessions_ended": ended, "grants_revoked": revoked });
    crate::service::factors::audit(app, kind, user, ip, detail).await
}
