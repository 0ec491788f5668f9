//! "Forgot your password?": a reset link mailed on request. The request is
//! answered the same way, at once, whether or not an account matches: the
//! lookup and the message happen after the answer. At most 5 links an hour
//! per user and 20 requests an hour per client address. The link (30
//! minutes, `link::url`, from the configured issuer only) goes to the
//! user's address; a new one voids the older.

use super::link;
use crate::app::AppState;
use crate::auth::secret;
use crate::service::delivery::{self, Channel, Message};
use crate::service::factors::throttle::{open_gate, Gate, Limit};
use crate::store::{self, NewAuditEvent, User};

/// How long a reset link works.
pub const LINK_LIFETIME_SECS: i64 = 30 * 60;
const HOUR: i64 = 3600;
const PER_USER: Limit = Limit {
    limit: 5,
    window_secs: HOUR,
    lock_secs: HOUR,
};
const PER_ADDRESS: Limit = Limit {
    limit: 20,
    window_secs: HOUR,
    lock_secs: HOUR,
};
/// Users sharing one email address who each get a link.
const MAX_USERS_PER_ADDRESS: i64 = 5;

/// What a request for a reset link gets.
#[derive(Debug, PartialEq, Eq)]
pub enum Requested {
    /// The same answer whether or not an account matched.
    Accepted,
    /// Too many requests from this client address.
    Throttled,
}

/// Takes a request for a reset link for `identifier` (a username or an
/// email address) from `ip`: counted against the address, then answered;
/// the lookup and the message follow on their own task.
pub async fn request(
    app: &AppState,
    identifier: &str,
    ip: &str,
) -> Result<Requested, store::Error> {
    let now = app.clock.now();
    let key = format!("reset:ip:{ip}");
    if let Gate::Locked { .. } = open_gate(&app.store, &key, PER_ADDRESS, now).await? {
        return Ok(Requested::Throttled);
    }
    let identifier = identifier.trim().to_string();
    if identifier.is_empty() || identifier.len() > 254 {
        return Ok(Requested::Accepted);
    }
    let app = app.clone();
    let ip = ip.to_string();
    tokio::spawn(async move {
        if let Err(err) = send_links(&app, &identifier, &ip).await {
            tracing::error!(%err, "a password reset link was not sent");
        }
    });
    Ok(Requested::Accepted)
}

/// The users `identifier` names: the one with that username, or those with
/// that email address.
async fn matching(app: &AppState, identifier: &str) -> Result<Vec<User>, store::Error> {
    if let Some(user) = app.store.user_by_username(identifier).await? {
        return Ok(vec![user]);
    }
    if !identifier.contains('@') {
        return Ok(Vec::new());
    }
    app.store
        .users_by_email(identifier, MAX_USERS_PER_ADDRESS)
        .await
}

/// Mails a link to each enabled user `identifier` names, within their limit.
async fn send_links(app: &AppState, identifier: &str, ip: &str) -> Result<(), store::Error> {
    for user in matching(app, identifier).await? {
        if user.is_disabled {
            continue;
        }
        let now = app.clock.now();
        let key = format!("reset:user:{}", user.id);
        let sent = match open_gate(&app.store, &key, PER_USER, now).await? {
            Gate::Open(_) => {
                send_link(app, &user, now).await?;
                "password_reset_requested"
            }
            Gate::Locked { .. } => "password_reset_throttled",
        };
        app.store
            .audit(NewAuditEvent {
                kind: sent,
                account_id: Some(&user.account_id),
                user_id: Some(&user.id),
                actor_id: None,
                ip: Some(ip),
                detail: serde_json::json!({}),
                now,
            })
            .await?;
    }
    Ok(())
}

/// A new link for `user` (voiding any earlier one), mailed to their address.
async fn send_link(app: &AppState, user: &User, now: i64) -> Result<(), store::Error> {
    let token = secret::random_token(32);
    let hash = secret::token_hash(&token);
    let expires_at = now + LINK_LIFETIME_SECS;
    app.store
        .put_password_link(&hash, &user.id, Some(&user.email), now, expires_at)
        .await?;
    let body = wording(&user.username, &link::url(app, &token), app.config.issuer());
    let message = Message {
        channel: Channel::Email,
        to: &user.email,
        subject: SUBJECT,
        body: &body,
    };
    // Not counted against the user's daily codes: anyone may ask for a
    // reset, and must not use up the codes the user signs in with.
    delivery::queue(app, None, message).await
}

/// The subject of the reset email.
pub const SUBJECT: &str = "Reset your password";

/// The text of the reset email.
pub fn wording(username: &str, link: &str, issuer: &str) -> String {
    format!(
        "Someone asked to reset the password of {username} at {issuer}.\n\n\
         To choose a new password, open this link within 30 minutes:\n\n{link}\n\n\
         The link works once. Your two-step verification stays as it is: you will \
         still be asked for your code when you sign in.\n\n\
         If you did not ask for this, ignore this message: your password has not changed.\n\n\
         Gatehouse"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_names_the_user_the_link_and_that_the_second_factor_stays() {
        let text = wording(
            "ann",
            "https://id.example/password?token=t",
            "https://id.example",
        );
        assert!(text.contains("password of ann at https://id.example."));
        assert!(text.contains("\n\nhttps://id.example/password?token=t\n\n"));
        assert!(text.contains("30 minutes") && text.contains("still be asked for your code"));
    }
}
