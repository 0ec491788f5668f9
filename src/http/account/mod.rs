//! The user's own security page at `/account`: their second factors, backup
//! codes, and sessions.

pub mod factors;
pub mod security;

use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::oidc::authorize::see_other;
use crate::store::{Session, User};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(security::PATH, get(security::show_account))
        .route("/account/reauth", post(security::submit_reauth))
        .route("/account/step-up", post(security::submit_step_up))
        .route(
            "/account/sessions/sign-out-others",
            post(security::submit_sign_out_others),
        )
        .route(
            "/account/totp",
            get(factors::show_enable_totp).post(factors::submit_enable_totp),
        )
        .route("/account/totp/disable", post(factors::submit_disable_totp))
        .route("/account/backup-codes", post(factors::submit_regenerate))
        .route(
            "/account/sessions/sign-out",
            post(security::submit_sign_out_session),
        )
        .route(
            "/account/sessions/sign-out-everywhere",
            post(security::submit_sign_out_everywhere),
        )
}

/// The signed-in user of this browser, or a redirect to sign in first.
pub async fn signed_in(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Result<(Session, User), Response>, PageError> {
    let Some(session) = cookies::current_session(app, headers).await? else {
        return Ok(Err(see_other("/login?next=/account")));
    };
    match app
        .store
        .user_by_id(&session.user_id)
        .await?
        .filter(|u| !u.is_disabled)
    {
        Some(user) => Ok(Ok((session, user))),
        None => Ok(Err(see_other("/login?next=/account"))),
    }
}

/// Whether the password was re-entered in this session recently enough to change factors.
pub fn recently_reauthenticated(app: &AppState, session: &Session) -> bool {
    // Only a typed password counts: a second step that raised the session does not.
    let now = app.clock.now();
    session
        .reauthenticated_at
        .is_some_and(|at| now - at <= app.config.reauth_window_secs)
}
