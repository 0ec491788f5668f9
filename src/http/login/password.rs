//! The password step of signing in: `GET /login` shows the form, `POST /login`
//! checks the password and, on success, starts the session and resumes the
//! authorization request that sent the user here.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::login_flow::{after_password, Facts, Next};
use crate::auth::policy;
use crate::http::client_ip::ClientIp;
use crate::http::cookies::{self, PendingTarget};
use crate::http::error::PageError;
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::oidc::authorize_request::AuthorizeRequest;
use crate::oidc::params::Params;
use crate::service::factors::{self, security_keys, PasswordCheck};

pub const PATH: &str = "/login";

/// Longer input is refused before it reaches argon2.
const MAX_FIELD_LEN: usize = 1024;

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
        && app.store.any_account_allows("passkey").await?;
    let mut response = page.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn submit_login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Params::parse(&body);
    let field = |name: &str| {
        form.get(name)
            .ok()
            .flatten()
            .filter(|v| v.len() <= MAX_FIELD_LEN)
    };
    let request_id = field("request")
        .filter(|r| r.len() <= 64)
        .map(str::to_string);
    let next = super::pending::local_path(field("next"));
    let username = field("username").unwrap_or_default().trim().to_string();
    let mut page = LoginPage {
        csrf_token: String::new(),
        request: request_id.clone(),
        next: next.clone(),
        client_id: None,
        username: username.clone(),
        error: None,
        offer_passkey: false,
    };
    let parked_request = match &request_id {
        Some(id) => parked(&app, id).await?,
        None => None,
    };
    page.client_id = parked_request.as_ref().map(|r| r.client_id.clone());
    if !cookies::csrf_ok(&app, &headers, field("csrf_token")) {
        page.error = Some("This form has expired. Please sign in again.");
        return render(&app, &headers, page, StatusCode::FORBIDDEN).await;
    }
    let Some(password) = field("password").map(str::to_string) else {
        page.error = Some("Enter your username and password.");
        return render(&app, &headers, page, StatusCode::BAD_REQUEST).await;
    };
    let user = if username.is_empty() {
        None
    } else {
        app.store.user_by_username(&username).await?
    };
    let ip = ip.to_string();
    let user =
        match factors::check_password(&app, &username, user.as_ref(), password, Some(&ip)).await? {
            PasswordCheck::Correct => {
                user.ok_or_else(|| PageError::Internal("a correct password without a user".into()))?
            }
            PasswordCheck::Wrong => {
                tracing::info!(%ip, "sign-in failed");
                page.error = Some("The username or password is incorrect.");
                return render(&app, &headers, page, StatusCode::UNAUTHORIZED).await;
            }
            PasswordCheck::Throttled { until } => {
                let minutes = ((until - app.clock.now()) as f64 / 60.0).ceil().max(1.0) as i64;
                page.error = Some("Too many failed attempts. Wait a few minutes, then try again.");
                tracing::warn!(%ip, minutes, "sign-in throttled");
                return render(&app, &headers, page, StatusCode::TOO_MANY_REQUESTS).await;
            }
        };
    let account = app.store.account_of(&user).await?;
    let facts = Facts {
        has_factor: factors::has_factor(&app, &user).await?,
        must_enroll: user.must_enroll,
        account_requires_mfa: policy::enrolment_required(
            &account,
            user.sign_ins_without_factor,
            app.clock.now(),
        ),
        wants_aal2: parked_request.as_ref().is_some_and(|r| r.wants_aal2()),
    };
    match after_password(&facts) {
        Next::Done => {
            if account.require_mfa {
                // A sign-in within the grace period of the account's 2FA requirement.
                app.store.count_sign_in_without_factor(&user.id).await?;
            }
            let amr = vec!["pwd".to_string()];
            let (session, cookie) = cookies::start_session(
                &app,
                &headers,
                &user,
                Acr::Aal1,
                &amr,
                Some(&ip),
                Some(app.clock.now()),
            )
            .await?;
            factors::audit(
                &app,
                "signed_in",
                &user,
                Some(&ip),
                serde_json::json!({ "acr": Acr::Aal1 }),
            )
            .await?;
            let mut response = super::onward::onward(
                &app,
                &session,
                request_id.as_deref(),
                Some(next.as_deref().unwrap_or("/")),
            )
            .await;
            cookies::attach(&mut response, Some(cookie));
            Ok(response)
        }
        Next::Then(stage) => {
            let target = PendingTarget {
                request_id: request_id.as_deref(),
                next_path: next.as_deref(),
                session_sid: None,
            };
            let cookie = cookies::start_pending(&app, &user.id, stage, target).await?;
            let mut response = see_other(super::pending::stage_path(stage));
            cookies::attach(&mut response, Some(cookie));
            Ok(response)
        }
    }
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
