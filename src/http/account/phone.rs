//! The recovery phone on the account page: adding a number (an SMS code
//! proves it), changing it (the old number approves first), and removing it
//! (the password and a fresh code).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::page::render_account_with;
use super::session::{
    after_new_factor, password_and_code, Changing, PasswordAndCode, Posted, SignedIn,
};
use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::error::PageError;
use crate::http::form::CsrfOnly;
use crate::http::login::locked::locked;
use crate::http::login::second_factor::CodeForm;
use crate::http::words;
use crate::service::factors::contact_codes::{self, masked, phone_number, Purpose, Sent};
use crate::service::factors::{self, Check, Method, Refusal};

pub const PATH: &str = "/account/phone";
pub const CONFIRM_PATH: &str = "/account/phone/confirm";
pub const REMOVE_CODE_PATH: &str = "/account/phone/remove-code";
pub const REMOVE_PATH: &str = "/account/phone/remove";

const WRONG_CODE: &str =
    "That code is not right: use the latest code we texted, or ask for a new one.";

/// A new recovery phone number, as typed.
#[derive(Deserialize)]
pub struct NumberForm {
    phone: Option<String>,
    /// `call` for the code by a call instead of a text.
    by: Option<String>,
}

async fn sent_page(
    app: &AppState,
    signed_in: &SignedIn,
    sent: Sent,
    what: &str,
    by_call: bool,
) -> Result<Response, PageError> {
    let verb = if by_call { "phoned" } else { "texted" };
    let (notice, sent) = words::code_sent(&sent, verb, what);
    let status = if sent {
        StatusCode::OK
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    render_account_with(app, signed_in, Some(notice), None, status).await
}

/// `POST /account/phone`: a new number; a code goes to it, or first to the
/// current number to approve the change.
pub async fn submit_number(
    State(app): State<AppState>,
    Changing { signed_in, form }: Changing<NumberForm>,
) -> Result<Response, PageError> {
    let typed = form.phone.as_deref().unwrap_or_default();
    let Some(number) = phone_number(typed) else {
        let message = "Enter a mobile number with its country code, such as +44 7700 900123.";
        return signed_in
            .refuse(&app, message, StatusCode::BAD_REQUEST)
            .await;
    };
    let user = &signed_in.user;
    let by_call = form.by.as_deref() == Some("call");
    match app.store.phone_state(&user.id).await? {
        Some((current, _)) if current == number => {
            let message = "That is already your recovery phone.";
            signed_in.refuse(&app, message, StatusCode::CONFLICT).await
        }
        Some((current, _)) => {
            let sent =
                contact_codes::send_to(&app, user, Purpose::PhoneChange, &current, &number).await?;
            let what = " (your current number) to approve the change";
            sent_page(&app, &signed_in, sent, what, false).await
        }
        None => {
            let sent = match by_call {
                true => contact_codes::call(&app, user, Purpose::PhoneVerify, &number).await?,
                false => contact_codes::send(&app, user, Purpose::PhoneVerify, &number).await?,
            };
            sent_page(&app, &signed_in, sent, "", by_call).await
        }
    }
}

/// What a confirmed code did.
enum Confirmed {
    /// The current number approved a change to this one.
    Approved(String),
    /// This number is proven.
    Verified(String),
}

/// `POST /account/phone/confirm`: the code from the text.
pub async fn submit_confirm(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Changing { signed_in, form }: Changing<CodeForm>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    let code = form.code.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    let has_phone = app.store.phone_state(&user.id).await?.is_some();
    let mut confirmed = None;
    let slot = &mut confirmed;
    let check = factors::gated(&app, user, Some(&ip), |_| async {
        if let Some(number) = contact_codes::take(&app, user, Purpose::PhoneChange, code).await? {
            *slot = Some(Confirmed::Approved(number));
        } else if let Some(number) =
            contact_codes::take(&app, user, Purpose::PhoneChangeNew, code).await?
        {
            *slot = Some(Confirmed::Verified(number));
        } else if !has_phone {
            // A first number needs no approval; a change always goes through the old one.
            if let Some(number) =
                contact_codes::take(&app, user, Purpose::PhoneVerify, code).await?
            {
                *slot = Some(Confirmed::Verified(number));
            }
        }
        Ok(match slot {
            Some(_) => Ok(Method::SmsCode),
            None => Err(Refusal::Wrong),
        })
    })
    .await?;
    match (check, confirmed) {
        (Check::Accepted(_), Some(Confirmed::Approved(number))) => {
            let sent = contact_codes::send(&app, user, Purpose::PhoneChangeNew, &number).await?;
            sent_page(&app, &signed_in, sent, " (the new number)", false).await
        }
        (Check::Accepted(_), Some(Confirmed::Verified(number))) => {
            let changed = has_phone;
            let first = !factors::has_factor(&app, user).await?;
            app.store
                .set_recovery_phone(&user.id, &number, app.clock.now())
                .await?;
            let kind = if changed {
                "recovery_phone_changed"
            } else {
                "recovery_phone_added"
            };
            factors::audit(
                &app,
                kind,
                user,
                Some(&ip),
                serde_json::json!({ "phone": masked(&number) }),
            )
            .await?;
            if first && factors::sms_codes_usable(&app, user).await? {
                // Where SMS is a second factor, the phone is the user's first one.
                app.store.set_must_enroll(&user.id, false).await?;
                let amr = Method::SmsCode.amr();
                return after_new_factor(&app, &signed_in, &amr, true, &ip, "phone").await;
            }
            let notice = format!("Your recovery phone is {}.", masked(&number));
            render_account_with(&app, &signed_in, Some(notice), None, StatusCode::OK).await
        }
        (Check::Locked { until }, _) => locked(&app, until),
        _ => {
            signed_in
                .refuse(&app, WRONG_CODE, StatusCode::UNAUTHORIZED)
                .await
        }
    }
}

/// `POST /account/phone/remove-code`: a fresh code to the recovery phone, to remove it.
pub async fn submit_remove_code(
    State(app): State<AppState>,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    let Some((phone, _)) = app.store.phone_state(&user.id).await? else {
        let message = "There is no recovery phone to remove.";
        return signed_in.refuse(&app, message, StatusCode::CONFLICT).await;
    };
    let sent = contact_codes::send(&app, user, Purpose::PhoneRemove, &phone).await?;
    sent_page(&app, &signed_in, sent, ", to remove it", false).await
}

/// `POST /account/phone/remove`: the password and the fresh code remove the phone.
pub async fn submit_remove(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<PasswordAndCode>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    if app.store.phone_state(&user.id).await?.is_none() {
        let message = "There is no recovery phone to remove.";
        return signed_in.refuse(&app, message, StatusCode::CONFLICT).await;
    }
    let ip = ip.to_string();
    let refused = password_and_code(
        &app,
        &signed_in,
        &form,
        &ip,
        Purpose::PhoneRemove,
        WRONG_CODE,
    )
    .await?;
    if let Some(page) = refused {
        return Ok(page);
    }
    app.store.remove_recovery_phone(&user.id).await?;
    factors::audit(
        &app,
        "recovery_phone_removed",
        user,
        Some(&ip),
        serde_json::json!({}),
    )
    .await?;
    let notice = "Your recovery phone is removed.";
    signed_in
        .page(&app, Some(notice), None, StatusCode::OK)
        .await
}
