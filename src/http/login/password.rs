//! The password step of signing in: `GET /login` shows the form, `POST /login`
//! checks the password and, on success, starts the session and resumes the
//! authorization request that sent the user here.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::factor_kind::FactorKind;
use crate::auth::login_flow;
use crate::http::client_ip::ClientIp;
use crate::http::cookies::{self, PendingTarget};
use crate::http::error::PageError;
use crate::http::form::{bounded, Form};
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::oidc::authorize_request::AuthorizeRequest;
use crate::oidc::params::Params;
use crate::service::factors::{self, security_keys};
use crate::service::sign_in::{self, PasswordStep};
use crate::store::User;

pub const PATH: &str = "/login";

#[derive(Serialize)]
struct LoginPage {
    csrf_token: String,
    request: Option<String>,
    next: Option<String>,
    client_id: Option<String>,
    username: String,
    error: Option<&'static str>,
    offer_passkey: bool,
}

impl Page for LoginPage {
    const TEMPLATE: &'static str = "login/password.html";
}

/// The parked request's client and login hint, or `None` when `id` is unknown or expired.
async fn parked(app: &AppState, id: &str) -> Result<Option<AuthorizeRequest>, PageError> {
    if id.len() > 64 {
        return Ok(None);
    }
    let Some((params, _)) = app.store.auth_request(id, app.clock.now()).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&params).ok())
}

pub async fn show_login(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = Params::parse(query.unwrap_or_default().as_bytes());
    let request_id = query.get("request").ok().flatten().map(str::to_string);
    let mut page = LoginPage {
        csrf_token: String::new(),
        request: None,
        next: super::pending::local_path(query.get("next").ok().flatten()),
        client_id: None,
        username: String::new(),
        error: None,
        offer_passkey: false,
    };
    if let Some(id) = request_id {
        let request = parked(&app, &id).await?.ok_or_else(|| {
            PageError::BadRequest(
                "This sign-in request has expired. Go back to the application and sign in again."
                    .into(),
            )
        })?;
        page.client_id = Some(request.client_id);
        page.username = request.login_hint.unwrap_or_default();
        page.request = Some(id);
    }
    render(&app, &headers, page, StatusCode::OK).await
}

async fn render(
    app: &AppState,
    headers: &HeaderMap,
    mut page: LoginPage,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (token, cookie) = cookies::csrf_token(app, headers);
    page.csrf_token = token;
    page.offer_passkey = security_keys::relying_party(app).is_some()
        && app.store.any_tenant_allows(FactorKind::Passkey).await?;
    let mut response = page.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

/// The sign-in form as posted.
#[derive(Deserialize)]
pub struct LoginForm {
    csrf_token: Option<String>,
    request: Option<String>,
    next: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

pub async fn submit_login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let (page, wants_aal2) = LoginPage::again(&app, &form).await?;
    let refused = |mut page: LoginPage, error, status| {
        page.error = Some(error);
        render(&app, &headers, page, status)
    };
    if !cookies::csrf_ok(&app, &headers, bounded(&form.csrf_token)) {
        return refused(
            page,
            "This form has expired. Please sign in again.",
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let Some(password) = bounded(&form.password).map(str::to_string) else {
        return refused(
            page,
            "Enter your username and password.",
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let ip = ip.to_string();
    let device = cookies::device_token(&app, &headers);
    let username = &page.username;
    let step = sign_in::password_step(&app, username, password, &ip, wants_aal2, device.as_deref())
        .await?;
    answer(&app, &headers, page, step, &ip).await
}

/// The response to what a password gave: the session or the next step, or
/// the sign-in page again saying why not.
async fn answer(
    app: &AppState,
    headers: &HeaderMap,
    mut page: LoginPage,
    step: PasswordStep,
    ip: &str,
) -> Result<Response, PageError> {
    let target = PendingTarget {
        request_id: page.request.as_deref(),
        next_path: page.next.as_deref(),
        session_sid: None,
    };
    let (error, status) = match step {
        PasswordStep::SignedIn(user) => {
            let level = (Acr::Aal1, vec!["pwd".to_string()]);
            return signed_in(app, headers, &user, level, ip, target).await;
        }
        PasswordStep::Remembered(user) => {
            let level = (Acr::Aal2, login_flow::amr_with_device());
            return signed_in(app, headers, &user, level, ip, target).await;
        }
        PasswordStep::Then(user, stage) => {
            let cookie = cookies::start_pending(app, &user.id, stage, target).await?;
            let mut response = see_other(super::pending::stage_path(stage));
            cookies::attach(&mut response, Some(cookie));
            return Ok(response);
        }
        PasswordStep::Wrong => {
            tracing::info!(%ip, "sign-in failed");
            let error = "The username or password is incorrect.";
            (error, StatusCode::UNAUTHORIZED)
        }
        PasswordStep::Throttled { until } => {
            let minutes = ((until - app.clock.now()) as f64 / 60.0).ceil().max(1.0) as i64;
            tracing::warn!(%ip, minutes, "sign-in throttled");
            let error = "Too many failed attempts. Wait a few minutes, then try again.";
            (error, StatusCode::TOO_MANY_REQUESTS)
        }
    };
    page.error = Some(error);
    render(app, headers, page, status).await
}

impl LoginPage {
    /// The page for a posted form, before its outcome is known, and whether
    /// its parked request asks for `aal2`.
    async fn again(app: &AppState, form: &LoginForm) -> Result<(LoginPage, bool), PageError> {
        let request = bounded(&form.request).filter(|r| r.len() <= 64);
        let parked_request = match request {
            Some(id) => parked(app, id).await?,
            None => None,
        };
        let page = LoginPage {
            csrf_token: String::new(),
            request: request.map(str::to_string),
            next: super::pending::local_path(bounded(&form.next)),
            client_id: parked_request.as_ref().map(|r| r.client_id.clone()),
            username: bounded(&form.username)
                .unwrap_or_default()
                .trim()
                .to_string(),
            error: None,
            offer_passkey: false,
        };
        Ok((page, parked_request.is_some_and(|r| r.wants_aal2())))
    }
}

/// A sign-in with nothing more due (an `aal1` password, or a password from
/// a remembered device): the session starts at `level`, and the parked
/// request (or `next`) resumes.
async fn signed_in(
    app: &AppState,
    headers: &HeaderMap,
    user: &User,
    (acr, amr): (Acr, Vec<String>),
    ip: &str,
    target: PendingTarget<'_>,
) -> Result<Response, PageError> {
    let now = Some(app.clock.now());
    let (session, cookie) =
        cookies::start_session(app, headers, user, acr, &amr, Some(ip), now).await?;
    let detail = serde_json::json!({ "acr": acr, "amr": amr });
    factors::audit(app, "signed_in", user, Some(ip), detail).await?;
    let next = Some(target.next_path.unwrap_or("/"));
    let mut response = super::onward::onward(app, &session, target.request_id, next).await;
    cookies::attach(&mut response, Some(cookie));
    Ok(response)
}

/// The sign-in page again with `error`, keeping the parked request and `next`.
pub async fn refuse(
    app: &AppState,
    headers: &HeaderMap,
    request: Option<String>,
    next: Option<String>,
    error: &'static str,
    status: StatusCode,
) -> Result<Response, PageError> {
    let client_id = match &request {
        Some(id) => parked(app, id).await?.map(|r| r.client_id),
        None => None,
    };
    let page = LoginPage {
        csrf_token: String::new(),
        request,
        next,
        client_id,
        username: String::new(),
        error: Some(error),
        offer_passkey: false,
    };
    render(app, headers, page, status).await
}
