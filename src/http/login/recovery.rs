//! Recovery with the verified phone: a user who lost their authenticator app
//! gets a code by SMS at the second step; the right code removes the lost
//! app and leads to setting up a new one, in the same sign-in.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::enroll;
use super::locked::locked;
use super::pending::{expired_sign_in, pending_user};
use super::second_factor::{render_with, CodeForm, SecondStep};
use crate::app::AppState;
use crate::auth::login_flow::Stage;
use crate::http::client_ip::ClientIp;
use crate::http::cookies::{self, PendingTarget};
use crate::http::error::PageError;
use crate::http::form::{CsrfOnly, Form};
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::http::words;
use crate::service::factors::contact_codes::{self, masked, Purpose};
use crate::service::factors::{self, Check, Method, Refusal};

pub const PATH: &str = "/login/recovery";
pub const CONFIRM_PATH: &str = "/login/recovery/confirm";

#[derive(Serialize)]
struct RecoveryPage {
    csrf_token: String,
    phone: String,
    notice: Option<String>,
    error: Option<&'static str>,
}

impl Page for RecoveryPage {
    const TEMPLATE: &'static str = "login/recovery.html";
}

async fn render(
    app: &AppState,
    headers: &HeaderMap,
    phone: &str,
    notice: Option<String>,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let page = RecoveryPage {
        csrf_token,
        phone: masked(phone),
        notice,
        error,
    };
    let mut response = page.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

/// `POST /login/recovery`: texts a recovery code.
pub async fn submit_start(
    State(app): State<AppState>,
    headers: HeaderMap,
    SecondStep { user, .. }: SecondStep<CsrfOnly>,
) -> Result<Response, PageError> {
    let Some(phone) = factors::recovery_phone(&app, &user).await? else {
        let message = Some("There is no recovery phone on your account.");
        return render_with(&app, &headers, &user, message, None, StatusCode::CONFLICT).await;
    };
    let sent = contact_codes::send(&app, &user, Purpose::Recovery, &phone).await?;
    let (notice, sent) = words::code_sent(&sent, "texted", "");
    let status = if sent {
        StatusCode::OK
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    render(&app, &headers, &phone, Some(notice), None, status).await
}

/// `POST /login/recovery/confirm`: the texted code. The lost app is removed
/// and the sign-in continues with setting up a new one.
pub async fn submit_confirm(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let (hash, pending) = cookies::current_pending(&app, &headers, Stage::SecondFactor)
        .await?
        .ok_or_else(expired_sign_in)?;
    let user = pending_user(&app, &pending).await?;
    let Some(phone) = factors::recovery_phone(&app, &user).await? else {
        return Err(expired_sign_in());
    };
    if !cookies::csrf_ok(&app, &headers, form.csrf_token.as_deref()) {
        let message = Some("This form has expired. Please try again.");
        return render(&app, &headers, &phone, None, message, StatusCode::FORBIDDEN).await;
    }
    let code = form.code.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    let check = factors::gated(&app, &user, Some(&ip), |_| async {
        Ok(
            match contact_codes::take(&app, &user, Purpose::Recovery, code).await? {
                Some(_) => Ok(Method::SmsCode),
                None => Err(Refusal::Wrong),
            },
        )
    })
    .await?;
    match check {
        Check::Accepted(_) => {}
        Check::Locked { until } => return locked(&app, until),
        Check::Refused(_) => {
            let message = Some("That code is not right: use the latest code we texted.");
            return render(
                &app,
                &headers,
                &phone,
                None,
                message,
                StatusCode::UNAUTHORIZED,
            )
            .await;
        }
    }
    if !app.store.take_pending_login(&hash).await? {
        return Err(expired_sign_in());
    }
    app.store.remove_totp(&user.id).await?;
    app.store.set_must_enroll(&user.id, true).await?;
    factors::audit(
        &app,
        "recovered_by_sms",
        &user,
        Some(&ip),
        serde_json::json!({ "phone": masked(&phone) }),
    )
    .await?;
    let target = PendingTarget {
        request_id: pending.request_id.as_deref(),
        next_path: pending.next_path.as_deref(),
        session_sid: pending.session_sid.as_deref(),
    };
    let cookie = cookies::start_pending(&app, &user.id, Stage::Enroll, target).await?;
    let mut response = see_other(enroll::PATH);
    cookies::attach(&mut response, Some(cookie));
    Ok(response)
}
