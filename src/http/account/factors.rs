//! Self-service factor changes: turning TOTP on (after re-entering the
//! password), off (with the password and a current code), and new backup codes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::session::{recently_reauthenticated, PasswordAndCode, Posted, SignedIn};
use super::session::{EXPIRED_FORM, PATH};
use crate::app::AppState;
use crate::auth::factor_kind::FactorKind;
use crate::auth::login_flow::amr_with_totp;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form::{CsrfOnly, Form};
use crate::http::login::enroll::{render_enrolment, BackupCodesPage};
use crate::http::login::locked::locked;
use crate::http::login::second_factor::CodeForm;
use crate::http::render::Page;
use crate::http::words;
use crate::service::factors::EnrolmentError;
use crate::service::factors::{self, Check, PasswordCheck};

const ENABLE_PATH: &str = "/account/totp";
const CONFIRM_PASSWORD: &str = "Confirm your password first (below), then try again.";
const ALREADY_ON: &str = "An authenticator app is already set up. Turn it off first to replace it.";

/// Why the authenticator app cannot be set up now, if it cannot.
async fn may_enable(
    app: &AppState,
    signed_in: &SignedIn,
) -> Result<Option<(&'static str, StatusCode)>, PageError> {
    if factors::has_totp(app, &signed_in.user).await? {
        return Ok(Some((ALREADY_ON, StatusCode::CONFLICT)));
    }
    if !factors::account_allows(app, &signed_in.user, FactorKind::Totp).await? {
        let message =
            "Your organisation does not use authenticator apps: add a security key instead.";
        return Ok(Some((message, StatusCode::FORBIDDEN)));
    }
    if !super::session::session_meets_factors(app, signed_in).await? {
        let message = "Verify with your security key first (below), then try again.";
        return Ok(Some((message, StatusCode::FORBIDDEN)));
    }
    if !recently_reauthenticated(app, &signed_in.session) {
        return Ok(Some((CONFIRM_PASSWORD, StatusCode::FORBIDDEN)));
    }
    Ok(None)
}

pub async fn show_enable_totp(
    State(app): State<AppState>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    if let Some((message, status)) = may_enable(&app, &signed_in).await? {
        return signed_in.refuse(&app, message, status).await;
    }
    if !recently_reauthenticated(&app, &signed_in.session) {
        return signed_in
            .refuse(&app, CONFIRM_PASSWORD, StatusCode::FORBIDDEN)
            .await;
    }
    render_enrolment(
        &app,
        signed_in.headers(),
        &signed_in.user,
        ENABLE_PATH,
        false,
        None,
    )
    .await
}

pub async fn submit_enable_totp(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    signed_in: SignedIn,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (headers, user) = (signed_in.headers(), &signed_in.user);
    if !cookies::csrf_ok(&app, headers, form.csrf_token.as_deref()) {
        return render_enrolment(&app, headers, user, ENABLE_PATH, false, Some(EXPIRED_FORM)).await;
    }
    if let Some((message, status)) = may_enable(&app, &signed_in).await? {
        return signed_in.refuse(&app, message, status).await;
    }
    let ip = ip.to_string();
    let code = form.code.as_deref().unwrap_or_default();
    let codes = match factors::confirm_enrolment(&app, user, code, Some(&ip)).await {
        Ok(codes) => codes,
        Err(EnrolmentError::Store(err)) => return Err(err.into()),
        Err(EnrolmentError::Refused(refusal)) => {
            let message = Some(words::enrolment_refused(refusal));
            return render_enrolment(&app, headers, user, ENABLE_PATH, false, message).await;
        }
    };
    // Proving the new factor raises this session to aal2.
    let raised = cookies::raise_session(&app, &signed_in.session.sid, &amr_with_totp()).await?;
    let (csrf_token, csrf_cookie) = cookies::csrf_token(&app, headers);
    let mut response =
        BackupCodesPage::new(codes, PATH.to_string(), csrf_token, true).render(&app)?;
    cookies::attach(&mut response, raised.map(|(_, cookie)| cookie));
    cookies::attach(&mut response, csrf_cookie);
    Ok(response)
}

pub async fn submit_disable_totp(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<PasswordAndCode>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    if !factors::has_totp(&app, user).await? {
        return signed_in
            .refuse(
                &app,
                "The authenticator app is already off.",
                StatusCode::CONFLICT,
            )
            .await;
    }
    let ip = ip.to_string();
    let password = form.password.unwrap_or_default();
    if factors::check_password(&app, &user.username, Some(user), password, Some(&ip)).await?
        != PasswordCheck::Correct
    {
        return signed_in
            .refuse(
                &app,
                "That password is not right.",
                StatusCode::UNAUTHORIZED,
            )
            .await;
    }
    let code = form.code.as_deref().unwrap_or_default();
    match factors::check_code(&app, user, code, Some(&ip)).await? {
        Check::Accepted(_) => {}
        Check::Refused(_) => {
            let message =
                "That code is not right: enter a current code from your app, or a backup code.";
            return signed_in
                .refuse(&app, message, StatusCode::UNAUTHORIZED)
                .await;
        }
        Check::Locked { until } => return locked(&app, until),
    }
    factors::disable(&app, user, Some(&ip)).await?;
    let notice = if factors::has_factor(&app, user).await? {
        "The authenticator app is off. Your security keys still protect your account."
    } else {
        "Two-step verification is off. Your backup codes no longer work."
    };
    signed_in
        .page(&app, Some(notice), None, StatusCode::OK)
        .await
}

pub async fn submit_regenerate(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    if !factors::has_factor(&app, &signed_in.user).await? {
        let message = "Backup codes come with a second factor: set one up first.";
        return signed_in.refuse(&app, message, StatusCode::CONFLICT).await;
    }
    // A change to a factor needs the highest level the user has, and a fresh password.
    if !super::session::session_meets_factors(&app, &signed_in).await? {
        let message = "Verify with your second factor first (below), then try again.";
        return signed_in.refuse(&app, message, StatusCode::FORBIDDEN).await;
    }
    if !recently_reauthenticated(&app, &signed_in.session) {
        return signed_in
            .refuse(&app, CONFIRM_PASSWORD, StatusCode::FORBIDDEN)
            .await;
    }
    let ip = ip.to_string();
    let codes = factors::regenerate_backup_codes(&app, &signed_in.user, Some(&ip)).await?;
    let (csrf_token, cookie) = cookies::csrf_token(&app, signed_in.headers());
    let mut response =
        BackupCodesPage::new(codes, PATH.to_string(), csrf_token, true).render(&app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}
