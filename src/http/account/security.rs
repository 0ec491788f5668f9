//! The account page's actions: showing it, the password re-entry that guards
//! changes, the step-up to the second factor, changing the password, and
//! signing sessions out.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::page::{DEVICE_FORGOTTEN, PASSWORD_CHANGED, SESSION_ENDED, SIGNED_OUT_OTHERS};
use super::session::{Posted, SignedIn};
use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::cookies::{self, PendingTarget};
use crate::http::error::PageError;
use crate::http::form::CsrfOnly;
use crate::http::login::pending;
use crate::http::redirect::see_other;
use crate::service::devices;
use crate::service::factors::{self, PasswordCheck};
use crate::service::password::change::{self, ChangeError, PasswordChange};

pub use super::session::PATH;

pub async fn show_account(
    State(app): State<AppState>,
    signed_in: SignedIn,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let notice = match query.as_deref() {
        Some("added=key") => Some("The key is added: use it the next time you sign in."),
        Some("added=email") => Some("Email codes are on: ask for one at your next sign-in."),
        Some("added=phone") => Some("Your recovery phone is verified: codes can be texted to it."),
        _ => None,
    };
    signed_in.page(&app, notice, None, StatusCode::OK).await
}

/// The password re-entered, and where to go after.
#[derive(Deserialize)]
pub struct ReauthForm {
    password: Option<String>,
    next: Option<String>,
}

/// One of the user's sessions.
#[derive(Deserialize)]
pub struct SessionForm {
    sid: Option<String>,
}

const THROTTLED: &str = "Too many failed attempts. Wait a few minutes, then try again.";

pub async fn submit_reauth(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<ReauthForm>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    let password = form.password.unwrap_or_default();
    let ip = ip.to_string();
    match factors::check_password(&app, &user.username, Some(user), password, Some(&ip)).await? {
        PasswordCheck::Correct => {
            app.store
                .mark_reauthenticated(&signed_in.session.sid, app.clock.now())
                .await?;
            let next =
                pending::local_path(form.next.as_deref()).unwrap_or_else(|| PATH.to_string());
            Ok(see_other(&next))
        }
        PasswordCheck::Wrong => {
            signed_in
                .refuse(
                    &app,
                    "That password is not right.",
                    StatusCode::UNAUTHORIZED,
                )
                .await
        }
        PasswordCheck::Throttled { .. } => {
            signed_in
                .refuse(&app, THROTTLED, StatusCode::TOO_MANY_REQUESTS)
                .await
        }
    }
}

/// Raises an `aal1` session of a user who has a factor, to change that factor.
pub async fn submit_step_up(
    State(app): State<AppState>,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    if !factors::has_factor(&app, &signed_in.user).await? {
        return signed_in
            .refuse(
                &app,
                "There is no second factor to verify with yet.",
                StatusCode::CONFLICT,
            )
            .await;
    }
    let target = PendingTarget {
        request_id: None,
        next_path: Some(PATH),
        session_sid: Some(&signed_in.session.sid),
    };
    pending::to_second_factor(&app, &signed_in.user.id, target).await
}

/// Signs one of the user's own sessions out (another device, or this one).
pub async fn submit_sign_out_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<SessionForm>,
) -> Result<Response, PageError> {
    let sid = form.sid.unwrap_or_default();
    // Only the user's own sessions, whatever id the form carries.
    if app.store.session_owner(&sid).await?.as_deref() != Some(signed_in.user.id.as_str()) {
        return signed_in
            .refuse(
                &app,
                "That session is already signed out.",
                StatusCode::NOT_FOUND,
            )
            .await;
    }
    app.store.end_session(&sid, app.clock.now()).await?;
    app.deliveries.notify_one();
    let ip = ip.to_string();
    factors::audit(
        &app,
        "session_ended",
        &signed_in.user,
        Some(&ip),
        serde_json::json!({}),
    )
    .await?;
    if sid == signed_in.session.sid {
        let mut response = see_other("/");
        cookies::attach(&mut response, Some(cookies::clear_session(&app)));
        return Ok(response);
    }
    signed_in
        .page(&app, Some(SESSION_ENDED), None, StatusCode::OK)
        .await
}

/// Signs every session of the user out, this one included.
pub async fn submit_sign_out_everywhere(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    let ended = app
        .store
        .end_sessions_of_user(&signed_in.user.id, None, app.clock.now())
        .await?;
    app.deliveries.notify_one();
    let ip = ip.to_string();
    let detail = serde_json::json!({ "sessions": ended });
    factors::audit(
        &app,
        "signed_out_everywhere",
        &signed_in.user,
        Some(&ip),
        detail,
    )
    .await?;
    let mut response = see_other("/");
    cookies::attach(&mut response, Some(cookies::clear_session(&app)));
    Ok(response)
}

pub async fn submit_sign_out_others(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    let now = app.clock.now();
    let ended = app
        .store
        .end_sessions_of_user(&signed_in.user.id, Some(&signed_in.session.sid), now)
        .await?;
    app.deliveries.notify_one();
    let ip = ip.to_string();
    factors::audit(
        &app,
        "other_sessions_ended",
        &signed_in.user,
        Some(&ip),
        serde_json::json!({ "sessions": ended }),
    )
    .await?;
    signed_in
        .page(&app, Some(SIGNED_OUT_OTHERS), None, StatusCode::OK)
        .await
}

/// The change-password form as posted.
#[derive(Deserialize)]
pub struct ChangePasswordForm {
    current_password: Option<String>,
    new_password: Option<String>,
    new_password_again: Option<String>,
}

/// Changes the password: this session stays, the others end.
pub async fn submit_change_password(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<ChangePasswordForm>,
) -> Result<Response, PageError> {
    let field = |value: Option<String>| value.unwrap_or_default();
    let change = PasswordChange {
        current: field(form.current_password),
        new: field(form.new_password),
        again: field(form.new_password_again),
    };
    let ip = ip.to_string();
    let outcome = change::change(&app, &signed_in.user, &signed_in.session, change, &ip).await;
    let (error, status) = match outcome {
        Ok(()) => {
            return signed_in
                .page(&app, Some(PASSWORD_CHANGED), None, StatusCode::OK)
                .await
        }
        Err(ChangeError::Store(err)) => return Err(err.into()),
        Err(ChangeError::Refused(fault)) => {
            return signed_in
                .refuse_with(&app, fault.words(), StatusCode::BAD_REQUEST)
                .await
        }
        Err(ChangeError::SecondFactorFirst) => (
            "Verify with your second factor first (below), then change your password.",
            StatusCode::FORBIDDEN,
        ),
        Err(ChangeError::WrongCurrent) => (
            "That current password is not right.",
            StatusCode::UNAUTHORIZED,
        ),
        Err(ChangeError::Throttled { .. }) => (
            "Too many wrong passwords. Wait a few minutes, then try again.",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(ChangeError::NotTheSame) => (
            "The two new passwords are not the same.",
            StatusCode::BAD_REQUEST,
        ),
    };
    signed_in.refuse(&app, error, status).await
}

/// The form of a device's **Forget** button.
#[derive(Deserialize)]
pub struct ForgetDeviceForm {
    device: Option<String>,
}

/// Forgets one of the user's remembered devices.
pub async fn submit_forget_device(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<ForgetDeviceForm>,
) -> Result<Response, PageError> {
    let id = form.device.unwrap_or_default();
    let ip = ip.to_string();
    if !devices::forget_one(&app, &signed_in.user, &id, None, Some(&ip)).await? {
        let error = "That device is not one of your remembered devices.";
        return signed_in.refuse(&app, error, StatusCode::NOT_FOUND).await;
    }
    signed_in
        .page(&app, Some(DEVICE_FORGOTTEN), None, StatusCode::OK)
        .await
}
