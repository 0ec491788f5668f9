//! The email address on the account page: verifying it alone (a code to it
//! proves it), and email codes: turning them on (the same proof), and off
//! (the password and a fresh code).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::session::{
    after_new_factor, may_change, password_and_code, Changing, PasswordAndCode, Posted, SignedIn,
};
use crate::app::AppState;
use crate::auth::factor_kind::FactorKind;
use crate::auth::login_flow::amr_with_email;
use crate::http::client_ip::ClientIp;
use crate::http::error::PageError;
use crate::http::form::CsrfOnly;
use crate::http::login::locked::locked;
use crate::http::login::second_factor::CodeForm;
use crate::http::words;
use crate::service::factors::contact_codes::{self, Purpose, Sent};
use crate::service::factors::{self, Check, Method, Refusal};

pub const ADDRESS_PATH: &str = "/account/email";
pub const ADDRESS_CONFIRM_PATH: &str = "/account/email/confirm";
pub const ON_PATH: &str = "/account/email-codes";
pub const CONFIRM_PATH: &str = "/account/email-codes/confirm";
pub const OFF_CODE_PATH: &str = "/account/email-codes/off-code";
pub const OFF_PATH: &str = "/account/email-codes/off";

const NOT_ALLOWED: &str = "Your organisation does not allow email codes.";
const WRONG_CODE: &str =
    "That code is not right: use the latest code we emailed you, or ask for a new one.";

/// The account page after asking for a code: where it went, or when to ask again.
async fn after_sending(
    app: &AppState,
    signed_in: &SignedIn,
    sent: Sent,
) -> Result<Response, PageError> {
    let (notice, sent) = words::code_sent(&sent, "emailed", "");
    let status = if sent {
        StatusCode::OK
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    super::page::render_account_with(app, signed_in, Some(notice), None, status).await
}

/// Checks an emailed code behind the second step's lock-out; the page to
/// answer with when it is refused.
async fn check(
    app: &AppState,
    signed_in: &SignedIn,
    purpose: Purpose,
    code: &str,
    ip: &str,
) -> Result<Option<Response>, PageError> {
    let user = &signed_in.user;
    let check = factors::gated(app, user, Some(ip), |_| async move {
        let target = contact_codes::take(app, user, purpose, code).await?;
        Ok(match target {
            Some(target) if target == user.email => Ok(Method::EmailCode { counted: false }),
            _ => Err(Refusal::Wrong),
        })
    })
    .await?;
    match check {
        Check::Accepted(_) => Ok(None),
        Check::Refused(_) => Ok(Some(
            signed_in
                .refuse(app, WRONG_CODE, StatusCode::UNAUTHORIZED)
                .await?,
        )),
        Check::Locked { until } => Ok(Some(locked(app, until)?)),
    }
}

/// `POST /account/email`: sends a code that verifies the address alone.
pub async fn submit_verify_address(
    State(app): State<AppState>,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    if app.store.email_state(&user.id).await?.0.is_some() {
        let message = "Your email address is already verified.";
        return signed_in.refuse(&app, message, StatusCode::CONFLICT).await;
    }
    let sent = contact_codes::send(&app, user, Purpose::EmailAddress, &user.email).await?;
    after_sending(&app, &signed_in, sent).await
}

/// `POST /account/email/confirm`: the code from the email verifies the
/// address; email codes stay as they were.
pub async fn submit_confirm_address(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<CodeForm>,
) -> Result<Response, PageError> {
    let code = form.code.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    if let Some(refused) = check(&app, &signed_in, Purpose::EmailAddress, code, &ip).await? {
        return Ok(refused);
    }
    let user = &signed_in.user;
    app.store
        .verify_email(&user.id, false, app.clock.now())
        .await?;
    let detail = serde_json::json!({ "email": user.email });
    factors::audit(&app, "email_verified", user, Some(&ip), detail).await?;
    let notice = "Your email address is verified: notices about your account go to it.";
    super::page::render_account_with(&app, &signed_in, Some(notice.into()), None, StatusCode::OK)
        .await
}

/// `POST /account/email-codes`: sends a code to the user's address.
pub async fn submit_turn_on(
    State(app): State<AppState>,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    if !factors::account_allows(&app, user, FactorKind::Email).await? {
        return signed_in
            .refuse(&app, NOT_ALLOWED, StatusCode::FORBIDDEN)
            .await;
    }
    if factors::email_codes_on(&app, user).await? {
        let message = "Email codes are already on.";
        return signed_in.refuse(&app, message, StatusCode::CONFLICT).await;
    }
    if let Some(refusal) = may_change(&app, &signed_in).await? {
        return signed_in.refuse(&app, refusal, StatusCode::FORBIDDEN).await;
    }
    let sent = contact_codes::send(&app, user, Purpose::EmailVerify, &user.email).await?;
    after_sending(&app, &signed_in, sent).await
}

/// `POST /account/email-codes/confirm`: the code from the email turns email
/// codes on; as the first second factor, with backup codes.
pub async fn submit_confirm(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Changing { signed_in, form }: Changing<CodeForm>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    if !factors::account_allows(&app, user, FactorKind::Email).await? {
        return signed_in
            .refuse(&app, NOT_ALLOWED, StatusCode::FORBIDDEN)
            .await;
    }
    let code = form.code.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    if let Some(refused) = check(&app, &signed_in, Purpose::EmailVerify, code, &ip).await? {
        return Ok(refused);
    }
    let first = !factors::has_factor(&app, user).await?;
    app.store
        .verify_email(&user.id, true, app.clock.now())
        .await?;
    app.store.set_must_enroll(&user.id, false).await?;
    factors::audit(
        &app,
        "email_codes_on",
        user,
        Some(&ip),
        serde_json::json!({}),
    )
    .await?;
    // Proving the address raises this session (to aal2 where the account
    // counts an email code).
    let counted = factors::level::of(&app, user).await?.email_counts();
    let amr = amr_with_email(counted);
    after_new_factor(&app, &signed_in, &amr, first, &ip, "email").await
}

/// `POST /account/email-codes/off-code`: a fresh code, to turn email codes off.
pub async fn submit_off_code(
    State(app): State<AppState>,
    Posted { signed_in, .. }: Posted<CsrfOnly>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    if !app.store.email_state(&user.id).await?.1 {
        let message = "Email codes are already off.";
        return signed_in.refuse(&app, message, StatusCode::CONFLICT).await;
    }
    let sent = contact_codes::send(&app, user, Purpose::EmailDisable, &user.email).await?;
    after_sending(&app, &signed_in, sent).await
}

/// `POST /account/email-codes/off`: the password and a fresh code turn email codes off.
pub async fn submit_turn_off(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Posted { signed_in, form }: Posted<PasswordAndCode>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    if !app.store.email_state(&user.id).await?.1 {
        let message = "Email codes are already off.";
        return signed_in.refuse(&app, message, StatusCode::CONFLICT).await;
    }
    let ip = ip.to_string();
    let refused = password_and_code(
        &app,
        &signed_in,
        &form,
        &ip,
        Purpose::EmailDisable,
        WRONG_CODE,
    )
    .await?;
    if let Some(page) = refused {
        return Ok(page);
    }
    app.store.email_codes_off(&user.id).await?;
    factors::audit(
        &app,
        "email_codes_off",
        user,
        Some(&ip),
        serde_json::json!({}),
    )
    .await?;
    let notice = "Email codes are off: codes are no longer emailed to you.";
    signed_in
        .page(&app, Some(notice), None, StatusCode::OK)
        .await
}
