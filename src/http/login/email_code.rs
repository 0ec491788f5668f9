//! "Email me a code", "Text me a code" and "Call me with a code" on the
//! second-factor page: a code for the `code` input, sent to the user's
//! verified address or phone where the account allows that channel.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::second_factor::{render_with, SecondStep};
use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::form::CsrfOnly;
use crate::http::words;
use crate::service::factors;
use crate::service::factors::contact_codes::{self, Purpose};
use crate::store::User;

pub const PATH: &str = "/login/email-code";
pub const SMS_PATH: &str = "/login/sms-code";
pub const CALL_PATH: &str = "/login/sms-call";

pub async fn submit_send(
    State(app): State<AppState>,
    headers: HeaderMap,
    step: SecondStep<CsrfOnly>,
) -> Result<Response, PageError> {
    send(app, headers, step.user, Purpose::EmailSignIn, false).await
}

pub async fn submit_send_sms(
    State(app): State<AppState>,
    headers: HeaderMap,
    step: SecondStep<CsrfOnly>,
) -> Result<Response, PageError> {
    send(app, headers, step.user, Purpose::SmsSignIn, false).await
}

pub async fn submit_call(
    State(app): State<AppState>,
    headers: HeaderMap,
    step: SecondStep<CsrfOnly>,
) -> Result<Response, PageError> {
    send(app, headers, step.user, Purpose::SmsSignIn, true).await
}

async fn send(
    app: AppState,
    headers: HeaderMap,
    user: User,
    purpose: Purpose,
    by_call: bool,
) -> Result<Response, PageError> {
    let target = match purpose {
        Purpose::EmailSignIn if factors::email_codes_offered(&app, &user).await? => {
            Some(user.email.clone())
        }
        Purpose::SmsSignIn if factors::sms_codes_usable(&app, &user).await? => app
            .store
            .phone_state(&user.id)
            .await?
            .map(|(phone, _)| phone),
        _ => None,
    };
    let Some(target) = target else {
        let message =
            Some("Codes by this channel are not on for your account: use another way to verify.");
        return render_with(&app, &headers, &user, message, None, StatusCode::CONFLICT).await;
    };
    let (verb, sent) = match (purpose, by_call) {
        (Purpose::SmsSignIn, true) => (
            "phoned",
            contact_codes::call(&app, &user, purpose, &target).await?,
        ),
        (Purpose::SmsSignIn, false) => (
            "texted",
            contact_codes::send(&app, &user, purpose, &target).await?,
        ),
        _ => (
            "emailed",
            contact_codes::send(&app, &user, purpose, &target).await?,
        ),
    };
    let (notice, sent) = words::code_sent(&sent, verb, "");
    let status = if sent {
        StatusCode::OK
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    render_with(&app, &headers, &user, None, Some(notice), status).await
}
