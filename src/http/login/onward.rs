//! Where a finished sign-in goes: the parked authorization request, resumed
//! (`authorize::resume`), or a local page; and `/login/continue`, which
//! resumes it after the backup codes page.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::pending::expired_sign_in;
use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::oidc::authorize;
use crate::http::redirect::see_other;
use crate::oidc::params::Params;
use crate::store::Session;

/// Where a finished sign-in goes: the parked authorization request, or a local page.
pub async fn onward(
    app: &AppState,
    session: &Session,
    request_id: Option<&str>,
    next: Option<&str>,
) -> Response {
    match request_id {
        Some(id) => authorize::resume(app, id, session, true)
            .await
            .unwrap_or_else(IntoResponse::into_response),
        None => see_other(next.unwrap_or("/account")),
    }
}

pub async fn continue_sign_in(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = Params::parse(query.unwrap_or_default().as_bytes());
    let session = cookies::current_session(&app, &headers)
        .await?
        .ok_or_else(expired_sign_in)?;
    let Some(request_id) = query
        .get("request")
        .ok()
        .flatten()
        .filter(|r| r.len() <= 64)
    else {
        return Ok(see_other("/account"));
    };
    // Only the sign-in that completed the request may resume it from here.
    let completed_by = app.store.auth_request_completed_by(request_id).await?;
    let fresh = completed_by.as_deref() == Some(session.sid.as_str());
    Ok(authorize::resume(&app, request_id, &session, fresh)
        .await
        .unwrap_or_else(IntoResponse::into_response))
}
