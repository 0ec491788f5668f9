//! The second step of signing in: a TOTP code or a backup code, with the
//! lock-out after repeated failures.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;

use super::{expired_sign_in, finish_second_step, onward, pending_user};
use crate::app::AppState;
use crate::auth::login_flow::Stage;
use crate::factors::{self, Check, Refusal};
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::render::Page;
use crate::oidc::params::Params;

pub const PATH: &str = "/login/second-factor";

#[derive(Serialize)]
struct SecondFactorPage {
    csrf_token: String,
    error: Option<&'static str>,
}

impl Page for SecondFactorPage {
    const TEMPLATE: &'static str = "login/second_factor.html";
}

#[derive(Serialize)]
pub struct LockedPage {
    pub minutes: i64,
}

impl Page for LockedPage {
    const TEMPLATE: &'static str = "login/locked.html";
}

/// The page that says the second step is locked, with HTTP 429.
pub fn locked(app: &AppState, until: i64) -> Result<Response, PageError> {
    let minutes = ((until - app.clock.now()) as f64 / 60.0).ceil().max(1.0) as i64;
    let mut response = LockedPage { minutes }.render(app)?;
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    Ok(response)
}

fn render(
    app: &AppState,
    headers: &HeaderMap,
    error: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let mut response = SecondFactorPage { csrf_token, error }.render(app)?;
    *response.status_mut() = status;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn show_second_factor(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    cookies::current_pending(&app, &headers, Stage::SecondFactor)
        .await?
        .ok_or_else(expired_sign_in)?;
    render(&app, &headers, None, StatusCode::OK)
}

pub async fn submit_second_factor(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (hash, pending) = cookies::current_pending(&app, &headers, Stage::SecondFactor)
        .await?
        .ok_or_else(expired_sign_in)?;
    let form = Params::parse(&body);
    if !cookies::csrf_ok(&app, &headers, form.get("csrf_token").ok().flatten()) {
        return render(
            &app,
            &headers,
            Some("This form has expired. Please enter the code again."),
            StatusCode::FORBIDDEN,
        );
    }
    let code = form.get("code").ok().flatten().unwrap_or_default();
    if code.len() > 64 {
        return render(
            &app,
            &headers,
            Some("That code is not right."),
            StatusCode::BAD_REQUEST,
        );
    }
    let user = pending_user(&app, &pending).await?;
    let ip = ip.to_string();
    match factors::check_code(&app, &user, code, Some(&ip)).await? {
        Check::Accepted(method) => {
            let amr = method.amr();
            let (session, cookie) =
                finish_second_step(&app, &headers, &ip, &hash, &pending, &user, &amr).await?;
            let mut response = onward(
                &app,
                &session,
                pending.request_id.as_deref(),
                pending.next_path.as_deref(),
            )
            .await;
            cookies::attach(&mut response, Some(cookie));
            cookies::attach(&mut response, Some(cookies::clear_pending(&app)));
            Ok(response)
        }
        Check::Refused(Refusal::AlreadyUsed) => render(
            &app,
            &headers,
            Some("That code was already used. Wait for the next code in your app."),
            StatusCode::UNAUTHORIZED,
        ),
        Check::Refused(_) => render(
            &app,
            &headers,
            Some("That code is not right."),
            StatusCode::UNAUTHORIZED,
        ),
        Check::Locked { until } => locked(&app, until),
    }
}
