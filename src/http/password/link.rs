//! `/password?token=`: the set-password page of a one-time link, an
//! administrator's or a reset mailed on request (`service::password::link`).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form::{bounded, Form};
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::service::password::link::{self, LinkError, PATH};
use crate::store::User;

pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(show).post(submit))
}

#[derive(Serialize)]
struct SetPasswordPage {
    csrf_token: String,
    token: String,
    username: String,
    min_password_len: usize,
    error: Option<String>,
}

impl Page for SetPasswordPage {
    const TEMPLATE: &'static str = "password/set.html";
}

#[derive(Serialize)]
struct DonePage {
    username: String,
}

impl Page for DonePage {
    const TEMPLATE: &'static str = "password/done.html";
}

fn used_link() -> PageError {
    PageError::NotFound(
        "This link is not valid: it has expired or was already used. Ask for a new one with \
         \"Forgot your password?\" on the sign-in page, or ask an administrator of your account."
            .into(),
    )
}

fn render(
    app: &AppState,
    headers: &HeaderMap,
    token: String,
    user: &User,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let mut response = SetPasswordPage {
        csrf_token,
        token,
        username: user.username.clone(),
        min_password_len: app.config.min_password_length,
        error,
    }
    .render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

async fn show(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = Params::parse(query.unwrap_or_default().as_bytes());
    let token = query.get("token").ok().flatten().unwrap_or_default();
    let holder = link::holder(&app, token).await?.ok_or_else(used_link)?;
    render(
        &app,
        &headers,
        token.into(),
        &holder.user,
        None,
        StatusCode::OK,
    )
}

/// The set-password form as posted.
#[derive(Deserialize)]
struct SetPasswordForm {
    csrf_token: Option<String>,
    token: Option<String>,
    password: Option<String>,
    password_again: Option<String>,
}

async fn submit(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response, PageError> {
    let token = bounded(&form.token).unwrap_or_default().to_string();
    let user = link::holder(&app, &token)
        .await?
        .ok_or_else(used_link)?
        .user;
    let refuse =
        |error: String, status| render(&app, &headers, token.clone(), &user, Some(error), status);
    if !cookies::csrf_ok(&app, &headers, bounded(&form.csrf_token)) {
        let error = "This form has expired. Please enter your password again.";
        return refuse(error.into(), StatusCode::FORBIDDEN);
    }
    let password = form.password.clone().unwrap_or_default();
    let again = form.password_again.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    match link::set_password(&app, &token, password, again, Some(&ip)).await {
        Ok(user) => DonePage {
            username: user.username,
        }
        .render(&app),
        Err(LinkError::UsedLink) => Err(used_link()),
        Err(LinkError::NotTheSame) => refuse(
            "The two passwords are not the same.".into(),
            StatusCode::BAD_REQUEST,
        ),
        Err(LinkError::Refused(fault)) => refuse(fault.words(), StatusCode::BAD_REQUEST),
        Err(LinkError::Store(err)) => Err(err.into()),
    }
}
