//! Enrolling an authenticator app during sign-in (forced by the account's
//! policy, an operator's reset, or a relying party asking for `aal2`): QR
//! code, typed key and `otpauth://` link; a code to confirm; the backup codes.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::pending::{continue_link, finish_second_step};
use super::second_factor::CodeForm;
use crate::app::AppState;
use crate::auth::factor_kind::FactorKind;
use crate::auth::login_flow::amr_with_totp;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form::{self};
use crate::http::render::Page;
use crate::http::words;
use crate::service::factors::EnrolmentError;
use crate::service::factors::{self, security_keys};
use crate::store::{PendingLogin, User};

pub const PATH: &str = super::pending::ENROLL_PATH;

/// A form posted during a pending enrolment, as a handler's last
/// extractor: the pending sign-in (its hash), its user and the form `F`,
/// when the enrolment is still due and may bind a factor
/// (`pending::pending_enrolment`) and the CSRF token holds; otherwise the
/// enrolment page saying the form expired, or the error page.
pub struct EnrolStep<F> {
    pub hash: String,
    pub pending: PendingLogin,
    pub user: User,
    pub form: F,
}

impl<F: DeserializeOwned> FromRequest<AppState> for EnrolStep<F> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Response> {
        let (headers, body) = form::split(request, app).await?;
        let (hash, pending, user) = super::pending::pending_enrolment(app, &headers)
            .await
            .map_err(IntoResponse::into_response)?;
        if !form::csrf_holds(app, &headers, &body) {
            let message = Some("This form has expired. Please try again.");
            let page = render_enrolment(app, &headers, &user, PATH, true, message);
            return Err(page.await.into_response());
        }
        let form = form::read(&body).map_err(IntoResponse::into_response)?;
        Ok(EnrolStep {
            hash,
            pending,
            user,
            form,
        })
    }
}

/// The enrolment page, here and on the account page.
#[derive(Serialize)]
pub struct EnrollPage {
    pub csrf_token: String,
    pub action: &'static str,
    pub qr_svg: String,
    pub otpauth_url: String,
    pub secret_grouped: String,
    pub error: Option<&'static str>,
    pub required: bool,
    /// A security key may be enrolled instead (during sign-in only).
    pub offer_key: bool,
    /// The account allows authenticator apps.
    pub offer_app: bool,
    /// Days the account remembers a device, offered during sign-in (0: not).
    pub remember_days: i64,
}

impl Page for EnrollPage {
    const TEMPLATE: &'static str = "login/enroll.html";
}

/// The page that shows new backup codes once.
#[derive(Serialize)]
pub struct BackupCodesPage {
    pub codes: Vec<String>,
    pub download: String,
    pub continue_href: String,
    pub offer_sign_out_others: bool,
    pub csrf_token: String,
    /// During a sign-in's enrolment, a user without a recovery phone is asked
    /// for one here (`required` when the account asks every member).
    pub offer_phone: bool,
    pub phone_required: bool,
}

impl Page for BackupCodesPage {
    const TEMPLATE: &'static str = "login/backup_codes.html";
}

impl BackupCodesPage {
    pub fn new(
        codes: Vec<String>,
        continue_href: String,
        csrf_token: String,
        offer_sign_out_others: bool,
    ) -> Self {
        let text = format!(
            "Gatehouse backup codes. Each works once.\n\n{}\n",
            codes.join("\n")
        );
        let download: String = url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        BackupCodesPage {
            codes,
            download: format!(
                "data:text/plain;charset=utf-8,{}",
                download.replace('+', "%20")
            ),
            continue_href,
            offer_sign_out_others,
            csrf_token,
            offer_phone: false,
            phone_required: false,
        }
    }
}

/// Renders the enrolment page for `user` posting to `action`.
pub async fn render_enrolment(
    app: &AppState,
    headers: &HeaderMap,
    user: &User,
    action: &'static str,
    required: bool,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let offer_app = factors::account_allows(app, user, FactorKind::Totp).await?;
    let (qr_svg, otpauth_url, secret_grouped) = if offer_app {
        let enrolment = factors::enrolment(app, user).await?;
        let p = enrolment.provisioning;
        (enrolment.qr_svg, p.url, p.secret_grouped)
    } else {
        Default::default()
    };
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let tenant = app.store.tenant_of(user).await?;
    let offer_key =
        action == PATH && security_keys::relying_party(app).is_some() && tenant.allows_keys();
    let remember_days = match action == PATH {
        true => tenant.settings.remember_device_days,
        false => 0,
    };
    let page = EnrollPage {
        offer_key,
        offer_app,
        csrf_token,
        action,
        qr_svg,
        otpauth_url,
        secret_grouped,
        error,
        required,
        remember_days,
    };
    let mut response = page.render(app)?;
    if error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn show_enroll(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, _, user) = super::pending::pending_enrolment(&app, &headers).await?;
    render_enrolment(&app, &headers, &user, PATH, true, None).await
}

pub async fn submit_enroll(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    step: EnrolStep<CodeForm>,
) -> Result<Response, PageError> {
    let EnrolStep {
        hash,
        pending,
        user,
        form,
    } = step;
    let code = form.code.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    let codes = match factors::confirm_enrolment(&app, &user, code, Some(&ip)).await {
        Ok(codes) => codes,
        Err(EnrolmentError::Store(err)) => return Err(err.into()),
        Err(EnrolmentError::Refused(refusal)) => {
            let message = Some(words::enrolment_refused(refusal));
            return render_enrolment(&app, &headers, &user, PATH, true, message).await;
        }
    };
    let enrolled = Enrolled {
        hash: &hash,
        pending: &pending,
        user: &user,
        amr: &amr_with_totp(),
        remember: form.remember_device.as_deref() == Some("on"),
    };
    finish_enrolment(&app, &headers, &ip, enrolled, Some(codes)).await
}

/// A sign-in whose new factor was just proven.
pub struct Enrolled<'a> {
    pub hash: &'a str,
    pub pending: &'a PendingLogin,
    pub user: &'a User,
    pub amr: &'a [String],
    /// "Remember this device" was ticked.
    pub remember: bool,
}

/// Ends an enrolment during sign-in: the `aal2` session, then the new backup
/// codes, shown once, with the way on. `None` makes the codes once this
/// sign-in is finished (so that only the sign-in that finishes shows codes).
pub async fn finish_enrolment(
    app: &AppState,
    headers: &HeaderMap,
    ip: &str,
    enrolled: Enrolled<'_>,
    codes: Option<Vec<String>>,
) -> Result<Response, PageError> {
    let Enrolled {
        hash,
        pending,
        user,
        amr,
        remember,
    } = enrolled;
    let (session, cookie) = finish_second_step(app, headers, ip, hash, pending, user, amr).await?;
    let codes = match codes {
        Some(codes) => codes,
        None => factors::regenerate_backup_codes(app, user, Some(ip)).await?,
    };
    // After the factor change, which forgets the user's earlier devices.
    let device = match remember {
        true => super::second_factor::remembered(app, headers, user, ip).await?,
        false => None,
    };
    if let Some(request_id) = &pending.request_id {
        app.store
            .complete_auth_request(request_id, &session.sid)
            .await?;
    }
    let (csrf_token, csrf_cookie) = cookies::csrf_token(app, headers);
    let href = continue_link(pending.request_id.as_deref(), pending.next_path.as_deref());
    let mut page = BackupCodesPage::new(codes, href, csrf_token, false);
    if app.store.phone_state(&user.id).await?.is_none() {
        page.offer_phone = true;
        page.phone_required = app
            .store
            .tenant_of(user)
            .await?
            .settings
            .require_recovery_phone;
    }
    let mut response = page.render(app)?;
    cookies::attach(&mut response, Some(cookie));
    cookies::attach(&mut response, csrf_cookie);
    cookies::attach(&mut response, device);
    cookies::end_pending(app, &mut response);
    Ok(response)
}
