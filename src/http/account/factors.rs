//! Self-service factor changes: turning TOTP on (after re-entering the
//! password), off (with the password and a current code), and new backup codes.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::security::{checked_form, render_account, EXPIRED_FORM, PATH};
use super::{recently_reauthenticated, signed_in};
use crate::app::AppState;
use crate::auth::login_flow::amr_with_totp;
use crate::factors::{self, Check, PasswordCheck};
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::login::enroll::{render_enrolment, BackupCodesPage};
use crate::http::login::second_factor::locked;
use crate::http::render::Page;

const ENABLE_PATH: &str = "/account/totp";
const CONFIRM_PASSWORD: &str = "Confirm your password first (below), then try again.";

pub async fn show_enable_totp(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (session, user) = match signed_in(&app, &headers).await? {
        Ok(found) => found,
        Err(redirect) => return Ok(redirect),
    };
    if factors::has_factor(&app, &user).await? {
        let message = "An authenticator app is already set up. Turn it off first to replace it.";
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(message),
            StatusCode::CONFLICT,
        )
        .await;
    }
    if !recently_reauthenticated(&app, &session) {
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(CONFIRM_PASSWORD),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    render_enrolment(&app, &headers, &user, ENABLE_PATH, false, None).await
}

pub async fn submit_enable_totp(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, user) = match signed_in(&app, &headers).await? {
        Ok(found) => found,
        Err(redirect) => return Ok(redirect),
    };
    let Some(form) = checked_form(&app, &headers, &body) else {
        return render_enrolment(
            &app,
            &headers,
            &user,
            ENABLE_PATH,
            false,
            Some(EXPIRED_FORM),
        )
        .await;
    };
    if factors::has_factor(&app, &user).await? || !recently_reauthenticated(&app, &session) {
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(CONFIRM_PASSWORD),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let ip = peer.ip().to_string();
    let code = form.get("code").ok().flatten().unwrap_or_default();
    let codes = match factors::confirm_enrolment(&app, &user, code, Some(&ip)).await? {
        Ok(codes) => codes,
        Err(message) => {
            return render_enrolment(&app, &headers, &user, ENABLE_PATH, false, Some(message)).await
        }
    };
    // Proving the new factor raises this session to aal2.
    let raised = cookies::raise_session(&app, &session.sid, &amr_with_totp()).await?;
    let (csrf_token, csrf_cookie) = cookies::csrf_token(&app, &headers);
    let mut response =
        BackupCodesPage::new(codes, PATH.to_string(), csrf_token, true).render(&app)?;
    if let Some((_, cookie)) = raised {
        cookies::attach(&mut response, Some(cookie));
    }
    cookies::attach(&mut response, csrf_cookie);
    Ok(response)
}

pub async fn submit_disable_totp(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, user) = match signed_in(&app, &headers).await? {
        Ok(found) => found,
        Err(redirect) => return Ok(redirect),
    };
    let Some(form) = checked_form(&app, &headers, &body) else {
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(EXPIRED_FORM),
            StatusCode::FORBIDDEN,
        )
        .await;
    };
    if !factors::has_factor(&app, &user).await? {
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some("Two-step verification is already off."),
            StatusCode::CONFLICT,
        )
        .await;
    }
    let ip = peer.ip().to_string();
    let password = form
        .get("password")
        .ok()
        .flatten()
        .unwrap_or_default()
        .to_string();
    match factors::check_password(&app, &user.username, Some(&user), password, Some(&ip)).await? {
        PasswordCheck::Correct => {}
        PasswordCheck::Wrong | PasswordCheck::Throttled { .. } => {
            let message = "That password is not right.";
            return render_account(
                &app,
                &headers,
                &session,
                &user,
                None,
                Some(message),
                StatusCode::UNAUTHORIZED,
            )
            .await;
        }
    }
    let code = form.get("code").ok().flatten().unwrap_or_default();
    match factors::check_code(&app, &user, code, Some(&ip)).await? {
        Check::Accepted(_) => {}
        Check::Refused(_) => {
            let message =
                "That code is not right: enter a current code from your app, or a backup code.";
            return render_account(
                &app,
                &headers,
                &session,
                &user,
                None,
                Some(message),
                StatusCode::UNAUTHORIZED,
            )
            .await;
        }
        Check::Locked { until } => return locked(&app, until),
    }
    factors::disable(&app, &user, Some(&ip)).await?;
    let notice = "Two-step verification is off. Your backup codes no longer work.";
    render_account(
        &app,
        &headers,
        &session,
        &user,
        Some(notice),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn submit_regenerate(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (session, user) = match signed_in(&app, &headers).await? {
        Ok(found) => found,
        Err(redirect) => return Ok(redirect),
    };
    if checked_form(&app, &headers, &body).is_none() {
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(EXPIRED_FORM),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !factors::has_factor(&app, &user).await? {
        let message = "Backup codes come with an authenticator app: set one up first.";
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(message),
            StatusCode::CONFLICT,
        )
        .await;
    }
    // A change to a factor needs the highest level the user has, and a fresh password.
    if session.acr != "aal2" {
        let message = "Verify with your authenticator app first (below), then try again.";
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(message),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    if !recently_reauthenticated(&app, &session) {
        return render_account(
            &app,
            &headers,
            &session,
            &user,
            None,
            Some(CONFIRM_PASSWORD),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let ip = peer.ip().to_string();
    let codes = factors::regenerate_backup_codes(&app, &user, Some(&ip)).await?;
    let (csrf_token, cookie) = cookies::csrf_token(&app, &headers);
    let mut response =
        BackupCodesPage::new(codes, PATH.to_string(), csrf_token, true).render(&app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}
