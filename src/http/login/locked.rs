//! The page that says the second step is locked (HTTP 429), for every code
//! entry: the sign-in's second step and the account page's code forms.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::render::Page;

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
