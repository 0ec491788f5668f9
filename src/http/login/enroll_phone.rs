//! A recovery phone right after enrolling during sign-in: the backup codes
//! page asks for a number, a texted code proves it, and the sign-in goes on
//! where it was going.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::pending::local_path;
use crate::app::AppState;
use crate::http::account::session::Changing;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::login::locked::locked;
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::http::words;
use crate::service::factors::contact_codes::{self, masked, phone_number, Purpose};
use crate::service::factors::{self, Check, Method, Refusal};

pub const PATH: &str = "/login/phone";
pub const CONFIRM_PATH: &str = "/login/phone/confirm";

#[derive(Serialize)]
struct PhonePage {
    csrf_token: String,
    /// Where the sign-in goes on to (a local path).
    next: String,
    phone: Option<String>,
    notice: Option<String>,
    error: Option<&'static str>,
}

impl Page for PhonePage {
    const TEMPLATE: &'static str = "login/phone.html";
}

fn render(
    app: &AppState,
    headers: &HeaderMap,
    page: PhonePage,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let mut response = PhonePage { csrf_token, ..page }.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

/// The phone step's forms: the number, then the code; and where the
/// sign-in goes after.
#[derive(Deserialize)]
pub struct PhoneStepForm {
    next: Option<String>,
    phone: Option<String>,
    code: Option<String>,
}

/// `POST /login/phone`: the number; a code is texted to it.
pub async fn submit_number(
    State(app): State<AppState>,
    Changing { signed_in, form }: Changing<PhoneStepForm>,
) -> Result<Response, PageError> {
    let next = local_path(form.next.as_deref()).unwrap_or_else(|| "/account".into());
    if app.store.phone_state(&signed_in.user.id).await?.is_some() {
        // A recovery phone changes on the security page, through the old number.
        return Ok(see_other(&next));
    }
    let mut page = PhonePage {
        csrf_token: String::new(),
        next,
        phone: None,
        notice: None,
        error: None,
    };
    let typed = form.phone.as_deref().unwrap_or_default();
    let Some(number) = phone_number(typed) else {
        page.error = Some("Enter a mobile number with its country code, such as +44 7700 900123.");
        return render(&app, signed_in.headers(), page, StatusCode::BAD_REQUEST);
    };
    page.phone = Some(masked(&number));
    let user = &signed_in.user;
    let sent = contact_codes::send(&app, user, Purpose::PhoneVerify, &number).await?;
    let (notice, sent) = words::code_sent(&sent, "texted", "");
    page.notice = Some(notice);
    let status = if sent {
        StatusCode::OK
    } else {
        StatusCode::TOO_MANY_REQUESTS
    };
    render(&app, signed_in.headers(), page, status)
}

/// `POST /login/phone/confirm`: the texted code saves the number; the
/// sign-in goes on.
pub async fn submit_confirm(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Changing { signed_in, form }: Changing<PhoneStepForm>,
) -> Result<Response, PageError> {
    let next = local_path(form.next.as_deref()).unwrap_or_else(|| "/account".into());
    let user = &signed_in.user;
    if app.store.phone_state(&user.id).await?.is_some() {
        return Ok(see_other(&next));
    }
    let code = form.code.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    let mut number = None;
    let slot = &mut number;
    let check = factors::gated(&app, user, Some(&ip), |_| async {
        *slot = contact_codes::take(&app, user, Purpose::PhoneVerify, code).await?;
        Ok(match slot {
            Some(_) => Ok(Method::SmsCode),
            None => Err(Refusal::Wrong),
        })
    })
    .await?;
    match (check, number) {
        (Check::Accepted(_), Some(number)) => {
            app.store
                .set_recovery_phone(&user.id, &number, app.clock.now())
                .await?;
            let detail = serde_json::json!({ "phone": masked(&number) });
            factors::audit(&app, "recovery_phone_added", user, Some(&ip), detail).await?;
            Ok(see_other(&next))
        }
        (Check::Locked { until }, _) => locked(&app, until),
        _ => {
            let page = PhonePage {
                csrf_token: String::new(),
                next,
                phone: None,
                notice: None,
                error: Some("That code is not right: use the latest code we texted."),
            };
            render(&app, signed_in.headers(), page, StatusCode::UNAUTHORIZED)
        }
    }
}
