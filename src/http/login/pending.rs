//! A sign-in between its steps: the pending sign-in's user and stage, the
//! pages of the stages, the end of the second step (a session), and the
//! start of an enrolment over a session. Used by the steps and by the
//! authorization endpoint's step-up; imports neither.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::login_flow::Stage;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::service::factors;
use crate::store::{PendingLogin, Session, User};

/// The second-factor page.
pub const SECOND_FACTOR_PATH: &str = "/login/second-factor";
/// The enrolment page.
pub const ENROLL_PATH: &str = "/login/enroll";
/// Resumes a parked request once the backup codes are saved.
pub const CONTINUE_PATH: &str = "/login/continue";

/// The page of a sign-in stage.
pub fn stage_path(stage: Stage) -> &'static str {
    match stage {
        Stage::SecondFactor => SECOND_FACTOR_PATH,
        Stage::Enroll => ENROLL_PATH,
    }
}

/// A local path to return to after signing in, if `next` is one (never another site).
pub fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?;
    let is_local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 256
        && next.chars().all(|c| c.is_ascii_graphic());
    is_local.then(|| next.to_string())
}

pub fn expired_sign_in() -> PageError {
    PageError::BadRequest(
        "This sign-in has expired. Go back to the application and sign in again.".into(),
    )
}

/// The user of a pending sign-in, if they may still sign in.
pub async fn pending_user(app: &AppState, pending: &PendingLogin) -> Result<User, PageError> {
    app.store
        .user_by_id(&pending.user_id)
        .await?
        .filter(|u| !u.is_disabled)
        .ok_or_else(expired_sign_in)
}

/// Ends a pending sign-in with the session its second step gives (`aal2`,
/// or `aal1` for an email code the account does not count): a new one, or
/// the raised session of a step-up. Returns the session and its cookie.
pub async fn finish_second_step(
    app: &AppState,
    headers: &HeaderMap,
    ip: &str,
    pending_hash: &str,
    pending: &PendingLogin,
    user: &User,
    amr: &[String],
) -> Result<(Session, HeaderValue), PageError> {
    if !app.store.take_pending_login(pending_hash).await? {
        return Err(expired_sign_in());
    }
    match &pending.session_sid {
        Some(sid) => cookies::raise_session(app, sid, amr)
            .await?
            .ok_or_else(expired_sign_in),
        None => Ok(cookies::start_session(
            app,
            headers,
            user,
            Acr::of(amr),
            amr,
            Some(ip),
            Some(pending.created_at),
        )
        .await?),
    }
}

/// Sends a signed-in user without a factor on to enrol one, raising
/// `target`'s session when done. Binding a factor needs the password
/// (`factors::binding`): with this session's entered recently enough the
/// enrolment starts now, else the browser goes to `login_again`, the sign-in
/// page, which asks for it and comes back.
/// Sends a signed-in user to give their second factor now, then on to
/// `target` (the session given is raised, not replaced): the one way every
/// page that finds a session below what the user's factors reach asks for it.
pub async fn to_second_factor(
    app: &AppState,
    user_id: &str,
    target: cookies::PendingTarget<'_>,
) -> Result<Response, PageError> {
    let cookie = cookies::start_pending(app, user_id, Stage::SecondFactor, target).await?;
    let mut response = see_other(stage_path(Stage::SecondFactor));
    cookies::attach(&mut response, Some(cookie));
    Ok(response)
}

pub async fn enrol_from_session(
    app: &AppState,
    user: &User,
    session: &Session,
    target: cookies::PendingTarget<'_>,
    login_again: &str,
) -> Result<Response, PageError> {
    if !factors::binding::session_may_bind(app, session) {
        return Ok(see_other(login_again));
    }
    let cookie = cookies::start_pending(app, &user.id, Stage::Enroll, target).await?;
    let mut response = see_other(stage_path(Stage::Enroll));
    cookies::attach(&mut response, Some(cookie));
    Ok(response)
}

/// The pending enrolment of this browser and its user, refused when it may
/// not bind a factor (its password is no longer recent: the user signs in
/// again), and expired when the enrolment is no longer due: the user has
/// since got a factor this sign-in has not given.
pub async fn pending_enrolment(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<(String, PendingLogin, User), PageError> {
    let (hash, pending) = cookies::current_pending(app, headers, Stage::Enroll)
        .await?
        .ok_or_else(expired_sign_in)?;
    if !factors::binding::pending_may_bind(app, &pending).await? {
        return Err(PageError::Forbidden(
            "Setting up a second factor needs your password from the last few minutes. \
             Go back to the application and sign in again."
                .into(),
        ));
    }
    let user = pending_user(app, &pending).await?;
    let factors = factors::level::of(app, &user).await?;
    let given = match &pending.session_sid {
        Some(sid) => app
            .store
            .live_session_by_sid(sid, app.clock.now())
            .await?
            .is_some_and(|s| factors.met_by(s.acr, &s.amr)),
        None => !factors.any(),
    };
    if factors.reach_aal2() || !given {
        return Err(expired_sign_in());
    }
    Ok((hash, pending, user))
}

/// The link of the backup-codes page: resumes the parked request (or goes to
/// `next`) once the user has saved their codes.
pub fn continue_link(request_id: Option<&str>, next: Option<&str>) -> String {
    match (request_id, next) {
        (Some(id), _) => format!("{CONTINUE_PATH}?request={id}"),
        (None, Some(next)) => next.to_string(),
        (None, None) => "/account".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/account")), Some("/account".into()));
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "account",
            "/a b",
        ] {
            assert_eq!(local_path(Some(bad)), None, "{bad}");
        }
        assert_eq!(local_path(None), None);
    }
}
