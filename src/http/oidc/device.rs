//! The device verification page (RFC 8628 §3.3): `/device` asks for the
//! user code (prefilled from `verification_uri_complete`); a waiting code
//! leads to `/device/confirm`, which signs the person in as anywhere else
//! (second factor included: a session that lacks a factor its user has
//! gives it first, as at `/authorize`) and asks **Allow** or **Deny**,
//! naming the client and what it gets. `service::device` keeps the codes.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::http::account::session::signed_in;
use crate::http::client_ip::ClientIp;
use crate::http::cookies::{self, PendingTarget};
use crate::http::error::PageError;
use crate::http::form::{self, bounded};
use crate::http::login::pending;
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::oidc::scope;
use crate::service::device::{self, Lookup};
use crate::service::factors;
use crate::store::{PendingDevice, Session, User};

pub const PATH: &str = crate::oidc::endpoints::DEVICE;
pub const CONFIRM_PATH: &str = "/device/confirm";

const NOT_FOUND: &str =
    "That code is not valid, or it has expired. Check the code your device shows.";
const THROTTLED: &str = "Too many wrong codes from here. Try again in 15 minutes.";
const EXPIRED_FORM: &str = "This form has expired. Please enter the code again.";

#[derive(Serialize)]
struct CodePage {
    csrf_token: String,
    action: &'static str,
    user_code: String,
    error: Option<&'static str>,
}

impl Page for CodePage {
    const TEMPLATE: &'static str = "oidc/device.html";
}

#[derive(Serialize)]
struct ConfirmPage {
    csrf_token: String,
    action: &'static str,
    user_code: String,
    client_id: String,
    username: String,
    scopes: Vec<&'static str>,
}

impl Page for ConfirmPage {
    const TEMPLATE: &'static str = "oidc/device_confirm.html";
}

#[derive(Serialize)]
struct DonePage {
    allowed: bool,
    client_id: String,
}

impl Page for DonePage {
    const TEMPLATE: &'static str = "oidc/device_done.html";
}

#[derive(Deserialize)]
struct CodeForm {
    csrf_token: Option<String>,
    user_code: Option<String>,
    decision: Option<String>,
}

/// The code page, with the code typed so far and what is wrong with it.
fn code_page(
    app: &AppState,
    headers: &HeaderMap,
    user_code: &str,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let page = CodePage {
        csrf_token,
        action: PATH,
        user_code: user_code.chars().take(32).collect(),
        error,
    };
    let mut response = page.render(app)?;
    if error.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    cookies::attach(&mut response, cookie);
    Ok(response)
}

fn query_code(query: Option<String>) -> String {
    let query = Params::parse(query.unwrap_or_default().as_bytes());
    let code = query.get("user_code").ok().flatten().unwrap_or_default();
    code.chars().take(32).collect()
}

pub async fn show(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    code_page(&app, &headers, &query_code(query), None)
}

/// The typed code: a waiting one goes on to sign-in and the question.
pub async fn submit(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: CodeForm = form::read(&body)?;
    let typed = bounded(&form.user_code).unwrap_or_default().to_string();
    if !cookies::csrf_ok(&app, &headers, bounded(&form.csrf_token)) {
        return code_page(&app, &headers, &typed, Some(EXPIRED_FORM));
    }
    match device::pending(&app, &typed, &ip.to_string()).await? {
        Lookup::Waiting(waiting) => Ok(see_other(&confirm_path(&waiting.user_code))),
        Lookup::NotFound => code_page(&app, &headers, &typed, Some(NOT_FOUND)),
        Lookup::Throttled => code_page(&app, &headers, &typed, Some(THROTTLED)),
    }
}

/// The rule `/authorize` applies to a session: one below `aal2` that lacks
/// a factor its user has now (added elsewhere since it began) gives that
/// factor first, then comes back here.
async fn second_step(
    app: &AppState,
    session: &Session,
    user: &User,
    typed: &str,
) -> Result<Option<Response>, PageError> {
    if session.acr == Acr::Aal2 {
        return Ok(None);
    }
    let factors = factors::level::of(app, user).await?;
    if factors.met_by(session.acr, &session.amr) {
        return Ok(None);
    }
    let back = confirm_path(typed);
    let target = PendingTarget {
        request_id: None,
        next_path: Some(&back),
        session_sid: Some(&session.sid),
    };
    Ok(Some(
        pending::to_second_factor(app, &user.id, target).await?,
    ))
}

fn confirm_path(user_code: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("user_code", user_code)
        .finish();
    format!("{CONFIRM_PATH}?{query}")
}

/// The waiting authorization of `typed`, or the code page that says why not.
async fn waiting(
    app: &AppState,
    headers: &HeaderMap,
    typed: &str,
    ip: &str,
) -> Result<Result<PendingDevice, Response>, PageError> {
    Ok(match device::pending(app, typed, ip).await? {
        Lookup::Waiting(waiting) => Ok(waiting),
        Lookup::NotFound => Err(code_page(app, headers, typed, Some(NOT_FOUND))?),
        Lookup::Throttled => Err(code_page(app, headers, typed, Some(THROTTLED))?),
    })
}

pub async fn show_confirm(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let typed = query_code(query);
    let (session, user) = match signed_in(&app, &headers, &confirm_path(&typed)).await? {
        Ok(signed_in) => signed_in,
        Err(to_login) => return Ok(to_login),
    };
    if let Some(second_step) = second_step(&app, &session, &user, &typed).await? {
        return Ok(second_step);
    }
    let waiting = match waiting(&app, &headers, &typed, &ip.to_string()).await? {
        Ok(waiting) => waiting,
        Err(page) => return Ok(page),
    };
    let (csrf_token, cookie) = cookies::csrf_token(&app, &headers);
    let page = ConfirmPage {
        csrf_token,
        action: CONFIRM_PATH,
        scopes: waiting
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(scope::in_words)
            .collect(),
        user_code: waiting.user_code,
        client_id: waiting.client_id,
        username: user.username,
    };
    let mut response = page.render(&app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn submit_confirm(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: CodeForm = form::read(&body)?;
    let typed = bounded(&form.user_code).unwrap_or_default().to_string();
    if !cookies::csrf_ok(&app, &headers, bounded(&form.csrf_token)) {
        return code_page(&app, &headers, &typed, Some(EXPIRED_FORM));
    }
    let allow = match form.decision.as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => return Err(form::unreadable()),
    };
    let (session, user) = match signed_in(&app, &headers, &confirm_path(&typed)).await? {
        Ok(signed_in) => signed_in,
        Err(to_login) => return Ok(to_login),
    };
    if let Some(second_step) = second_step(&app, &session, &user, &typed).await? {
        return Ok(second_step);
    }
    let ip = ip.to_string();
    let waiting = match waiting(&app, &headers, &typed, &ip).await? {
        Ok(waiting) => waiting,
        Err(page) => return Ok(page),
    };
    if !device::answer(&app, &waiting, &session, &user, allow, Some(&ip)).await? {
        return code_page(&app, &headers, &typed, Some(NOT_FOUND));
    }
    let page = DonePage {
        allowed: allow,
        client_id: waiting.client_id,
    };
    page.render(&app)
}
