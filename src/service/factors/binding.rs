//! The one rule for binding a factor: the password must have been entered
//! within `reauth_window_secs`. Every path that adds a factor goes through it:
//! `/account`, the enrolment a sign-in requires, the console's entry and a
//! relying party's step-up, whatever the session's level.

use crate::app::AppState;
use crate::store::{self, PendingLogin, Session};

/// Whether a password entered at `password_at` is recent enough to bind a
/// factor now. A session made without a typed password (a passkey alone)
/// has none, and a second step that raised a session does not count.
pub fn password_is_recent(app: &AppState, password_at: Option<i64>) -> bool {
    let now = app.clock.now();
    password_at.is_some_and(|at| at <= now && now - at <= app.config.reauth_window_secs)
}

/// Whether this session's password is recent enough to bind a factor.
pub fn session_may_bind(app: &AppState, session: &Session) -> bool {
    password_is_recent(app, session.reauthenticated_at)
}

/// Whether a pending sign-in may bind a factor: one that raises a session
/// (a step-up, the console's entry) needs that session's password to be
/// recent; one that the password step began needs that password to be.
pub async fn pending_may_bind(
    app: &AppState,
    pending: &PendingLogin,
) -> Result<bool, store::Error> {
    match &pending.session_sid {
        Some(sid) => Ok(app
            .store
            .live_session_by_sid(sid, app.clock.now())
            .await?
            .is_some_and(|session| session_may_bind(app, &session))),
        None => Ok(password_is_recent(app, Some(pending.created_at))),
    }
}
