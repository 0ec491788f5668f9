//! `/password`: a member created in the console sets their password through
//! the one-time link an administrator gave them.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::{password, secret};
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::render::Page;
use crate::oidc::params::Params;
use crate::service::setup::MIN_PASSWORD_LEN;
use crate::store::User;

pub const PATH: &str = "/password";
pub fn router() -> Router<AppState> {
    Router::new().route(PATH, get(show).post(submit))
}

#[derive(Serialize)]
struct SetPasswordPage {
    csrf_token: String,
    token: String,
    username: String,
    min_password_len: usize,
    error: Option<&'static str>,
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
        "This link is not valid: it has expired or was already used. Ask an administrator \
         of your account for a new one."
            .into(),
    )
}

/// The member a live link is for.
async fn member(app: &AppState, token: &str) -> Result<User, PageError> {
    if token.is_empty() || token.len() > 64 {
        return Err(used_link());
    }
    let Some(user_id) = app
        .store
        .password_link_user(&secret::token_hash(token), app.clock.now())
        .await?
    else {
        return Err(used_link());
    };
    app.store
        .user_by_id(&user_id)
        .await?
        .filter(|u| !u.is_disabled)
        .ok_or_else(used_link)
}

fn render(
    app: &AppState,
    headers: &HeaderMap,
    token: String,
    user: &User,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let mut response = SetPasswordPage {
        csrf_token,
        token,
        username: user.username.clone(),
        min_password_len: MIN_PASSWORD_LEN,
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
    let user = member(&app, token).await?;
    render(
        &app,
        &headers,
        token.to_string(),
        &user,
        None,
        StatusCode::OK,
    )
}

async fn submit(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Params::parse(&body);
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or_default();
    let token = field("token").to_string();
    let user = member(&app, &token).await?;
    let refuse = |error, status| render(&app, &headers, token.clone(), &user, Some(error), status);
    if !cookies::csrf_ok(&app, &headers, form.get("csrf_token").ok().flatten()) {
        return refuse(
            "This form has expired. Please enter your password again.",
            StatusCode::FORBIDDEN,
        );
    }
    let new = field("password").to_string();
    if new.chars().count() < MIN_PASSWORD_LEN || new.len() > 1024 {
        return refuse(
            "The password must have at least 8 characters.",
            StatusCode::BAD_REQUEST,
        );
    }
    if new != field("password_again") {
        return refuse(
            "The two passwords are not the same.",
            StatusCode::BAD_REQUEST,
        );
    }
    let cost = app.config.hash_cost();
    let hash = app
        .hash_blocking(move || password::hash(&new, cost))
        .await
        .map_err(|e| PageError::Internal(format!("hashing: {e}")))?
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let now = app.clock.now();
    if !app
        .store
        .set_password_with_link(&secret::token_hash(&token), &user.id, &hash, now)
        .await?
    {
        return Err(used_link());
    }
    // A new password ends whatever the old one opened.
    app.store.end_sessions_of_user(&user.id, None, now).await?;
    app.store.revoke_grants_of_user(&user.id, now).await?;
    app.deliveries.notify_one();
    crate::service::factors::audit(&app, "password_set", &user, None, serde_json::json!({}))
        .await?;
    DonePage {
        username: user.username,
    }
    .render(&app)
}
