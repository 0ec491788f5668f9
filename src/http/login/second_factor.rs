//! The second step of signing in: a TOTP code, a backup code or a security
//! key, with the lock-out after repeated failures.

use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::locked::locked;
use super::onward::onward;
use super::pending::{expired_sign_in, finish_second_step, pending_user};
use crate::app::AppState;
use crate::auth::login_flow::Stage;
use crate::http::ceremony::{self, KeyAnswer};
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form;
use crate::http::render::Page;
use crate::service::devices;
use crate::service::factors::{self, security_keys, Check, FactorOverview, Refusal};
use crate::store::{PendingLogin, User};

pub const PATH: &str = super::pending::SECOND_FACTOR_PATH;
pub const KEY_PATH: &str = "/login/security-key";
pub const KEY_FINISH_PATH: &str = "/login/security-key/finish";
/// The same, for a sign-in whose browser is to be remembered.
const KEY_FINISH_REMEMBER_PATH: &str = "/login/security-key/finish?remember_device=on";

#[derive(Serialize)]
struct SecondFactorPage {
    csrf_token: String,
    error: Option<&'static str>,
    notice: Option<String>,
    has_totp: bool,
    has_keys: bool,
    email_codes: bool,
    sms_codes: bool,
    /// A code to the recovery phone can replace a lost authenticator app.
    recovery_phone: bool,
    /// Days the account remembers a device (0: the box is not offered).
    remember_days: i64,
}

impl Page for SecondFactorPage {
    const TEMPLATE: &'static str = "login/second_factor.html";
}

async fn render(
    app: &AppState,
    headers: &HeaderMap,
    user: &User,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    render_with(app, headers, user, error, None, status).await
}

/// The second-factor page with an error or a notice (such as where a code went).
pub async fn render_with(
    app: &AppState,
    headers: &HeaderMap,
    user: &User,
    error: Option<&'static str>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let factors = FactorOverview::load(app, user).await?;
    let mut response = SecondFactorPage {
        csrf_token,
        error,
        notice,
        has_totp: factors.has_totp(),
        has_keys: security_keys::relying_party(app).is_some() && !factors.keys.is_empty(),
        email_codes: factors.level().email_offered(),
        sms_codes: factors.sms_codes_usable(),
        recovery_phone: factors.recovery_phone().is_some(),
        // A device stands in only for factors that reach aal2.
        remember_days: match factors.level().reach_aal2() {
            true => factors.tenant.settings.remember_device_days,
            false => 0,
        },
    }
    .render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn show_second_factor(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, pending) = cookies::current_pending(&app, &headers, Stage::SecondFactor)
        .await?
        .ok_or_else(expired_sign_in)?;
    let user = pending_user(&app, &pending).await?;
    render(&app, &headers, &user, None, StatusCode::OK).await
}

/// A form posted at the second step, as a handler's last extractor: this
/// browser's pending sign-in (its hash), its user and the form `F`, when the
/// CSRF token holds. Otherwise the second-factor page saying the form
/// expired, or the error page when the sign-in has.
pub struct SecondStep<F> {
    pub hash: String,
    pub pending: PendingLogin,
    pub user: User,
    pub form: F,
}

impl<F: DeserializeOwned> FromRequest<AppState> for SecondStep<F> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Response> {
        let (headers, body) = form::split(request, app).await?;
        let found = cookies::current_pending(app, &headers, Stage::SecondFactor).await;
        let (hash, pending) = found
            .map_err(PageError::from)
            .and_then(|found| found.ok_or_else(expired_sign_in))
            .map_err(IntoResponse::into_response)?;
        let user = pending_user(app, &pending)
            .await
            .map_err(IntoResponse::into_response)?;
        if !form::csrf_holds(app, &headers, &body) {
            let message = Some("This form has expired. Please try again.");
            let page = render_with(app, &headers, &user, message, None, StatusCode::FORBIDDEN);
            return Err(page.await.into_response());
        }
        let form = form::read(&body).map_err(IntoResponse::into_response)?;
        Ok(SecondStep {
            hash,
            pending,
            user,
            form,
        })
    }
}

/// A code typed at the second step.
#[derive(Deserialize)]
pub struct CodeForm {
    pub csrf_token: Option<String>,
    pub code: Option<String>,
    /// `on` when "Remember this device" is ticked.
    pub remember_device: Option<String>,
}

/// The second step's choice of "Remember this device".
#[derive(Deserialize, Default)]
pub struct RememberChoice {
    pub remember_device: Option<String>,
}

impl RememberChoice {
    pub fn ticked(&self) -> bool {
        self.remember_device.as_deref() == Some("on")
    }
}

pub async fn submit_second_factor(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    step: SecondStep<CodeForm>,
) -> Result<Response, PageError> {
    let SecondStep {
        hash,
        pending,
        user,
        form,
    } = step;
    let code = form.code.as_deref().unwrap_or_default();
    if code.len() > 64 {
        let message = Some("That code is not right.");
        return render(&app, &headers, &user, message, StatusCode::BAD_REQUEST).await;
    }
    let ip = ip.to_string();
    let check = factors::check_code(&app, &user, code, Some(&ip)).await?;
    let remember = form.remember_device.as_deref() == Some("on");
    let how = Answer {
        by_key: false,
        remember,
    };
    conclude(&app, &headers, &ip, &hash, &pending, &user, check, how).await
}

/// How a second-factor attempt was made.
struct Answer {
    by_key: bool,
    /// Whether the browser is to be remembered once it is accepted.
    remember: bool,
}

#[allow(clippy::too_many_arguments)]
/// Ends a second-factor attempt: onward when accepted, the page again with
/// the reason when refused, the lock page when locked.
async fn conclude(
    app: &AppState,
    headers: &HeaderMap,
    ip: &str,
    hash: &str,
    pending: &PendingLogin,
    user: &User,
    check: Check,
    how: Answer,
) -> Result<Response, PageError> {
    let by_key = how.by_key;
    match check {
        Check::Accepted(method) => {
            let amr = method.amr();
            let (session, cookie) =
                finish_second_step(app, headers, ip, hash, pending, user, &amr).await?;
            let device = match how.remember {
                true => remembered(app, headers, user, ip).await?,
                false => None,
            };
            let mut response = onward(
                app,
                &session,
                pending.request_id.as_deref(),
                pending.next_path.as_deref(),
            )
            .await;
            cookies::attach(&mut response, Some(cookie));
            cookies::attach(&mut response, device);
            cookies::end_pending(app, &mut response);
            Ok(response)
        }
        Check::Refused(refusal) => {
            let message = match refusal {
                Refusal::AlreadyUsed => {
                    "That code was already used. Wait for the next code in your app."
                }
                Refusal::Wrong if by_key => {
                    "The key's answer was not accepted. Use a key registered for this account, on this site."
                }
                Refusal::Wrong => "That code is not right.",
                Refusal::StaleChallenge => {
                    "That request to your key expired or was already answered. Try again."
                }
                Refusal::Cloned => {
                    "This key looks copied and is refused. Use another factor, and tell your administrator."
                }
            };
            render(app, headers, user, Some(message), StatusCode::UNAUTHORIZED).await
        }
        Check::Locked { until } => locked(app, until),
    }
}

/// The cookie that remembers this browser for `user`, where the account
/// remembers devices.
pub async fn remembered(
    app: &AppState,
    headers: &HeaderMap,
    user: &User,
    ip: &str,
) -> Result<Option<axum::http::HeaderValue>, PageError> {
    let agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    if !factors::level::of(app, user).await?.reach_aal2() {
        return Ok(None);
    }
    let remembered = devices::remember(app, user, agent, Some(ip)).await?;
    Ok(remembered.map(|(token, max_age)| cookies::remember_device(app, token, max_age)))
}

/// `POST /login/security-key`: begins the key's ceremony for this sign-in.
pub async fn submit_use_key(
    State(app): State<AppState>,
    headers: HeaderMap,
    SecondStep {
        hash, user, form, ..
    }: SecondStep<RememberChoice>,
) -> Result<Response, PageError> {
    let Some(ceremony) = security_keys::start_second_factor(&app, &user, &hash).await? else {
        let message = "There is no security key to use: enter a code instead.";
        return render(&app, &headers, &user, Some(message), StatusCode::CONFLICT).await;
    };
    let text = ceremony::Text {
        heading: "Use your security key",
        instructions:
            "Insert or unlock your security key or passkey, and touch it or confirm when asked.",
        button: "Use my key",
        mode: "get",
        action: match form.ticked() {
            true => KEY_FINISH_REMEMBER_PATH,
            false => KEY_FINISH_PATH,
        },
        back: PATH.to_string(),
        back_label: "Use a code instead",
    };
    ceremony::render(&app, &headers, text, ceremony, None, None)
}

/// `POST /login/security-key/finish`: the key's answer.
pub async fn submit_key_answer(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Query(choice): Query<RememberChoice>,
    step: SecondStep<KeyAnswer>,
) -> Result<Response, PageError> {
    let SecondStep {
        hash,
        pending,
        user,
        form,
    } = step;
    let (token, answer) = form.parts();
    let ip = ip.to_string();
    let check =
        security_keys::check_second_factor(&app, &user, token, &hash, answer, Some(&ip)).await?;
    let how = Answer {
        by_key: true,
        remember: choice.ticked(),
    };
    conclude(&app, &headers, &ip, &hash, &pending, &user, check, how).await
}
