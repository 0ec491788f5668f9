//! The consent page of third-party clients: after sign-in, **Allow** records
//! the scopes and the parked request goes on to its code; **Deny** answers
//! the client `access_denied`. `service::consent` decides when it is shown.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::authorize;
use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::form::{self, bounded};
use crate::http::render::Page;
use crate::oidc::authorize_request::RedirectError;
use crate::oidc::params::Params;
use crate::oidc::scope;
use crate::service::consent;
use crate::store::{Session, User};

pub const PATH: &str = crate::oidc::endpoints::CONSENT;

#[derive(Serialize)]
struct ConsentPage {
    csrf_token: String,
    action: &'static str,
    request_id: String,
    client_id: String,
    username: String,
    scopes: Vec<ScopeRow>,
}

/// One scope the client asks for, in words.
#[derive(Serialize)]
struct ScopeRow {
    name: String,
    words: &'static str,
    allowed_before: bool,
}

impl Page for ConsentPage {
    const TEMPLATE: &'static str = "oidc/consent.html";
}

#[derive(Deserialize)]
struct ConsentForm {
    csrf_token: Option<String>,
    request: Option<String>,
    decision: Option<String>,
}

/// The signed-in user of this browser, or the page that says to start over.
async fn signed_in(app: &AppState, headers: &HeaderMap) -> Result<(Session, User), PageError> {
    let session = cookies::current_session(app, headers)
        .await?
        .ok_or_else(authorize::expired_request)?;
    let user = authorize::session_user(app, &session).await?;
    Ok((session, user))
}

pub async fn show(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = Params::parse(query.unwrap_or_default().as_bytes());
    let request_id = query.get("request").ok().flatten().unwrap_or_default();
    let (_, user) = signed_in(&app, &headers).await?;
    let request = authorize::parked(&app, request_id).await?;
    let before = app.store.consent(&user.id, &request.client_id).await?;
    let before = before.map(|c| c.scope).unwrap_or_default();
    let scopes = request
        .scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| ScopeRow {
            name: s.to_string(),
            words: scope::in_words(s),
            allowed_before: scope::contains(&before, s),
        })
        .collect();
    let (csrf_token, cookie) = cookies::csrf_token(&app, &headers);
    let page = ConsentPage {
        csrf_token,
        action: PATH,
        request_id: request_id.to_string(),
        client_id: request.client_id,
        username: user.username,
        scopes,
    };
    let mut response = page.render(&app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

pub async fn submit(
    State(app): State<AppState>,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: ConsentForm = form::read(&body)?;
    if !cookies::csrf_ok(&app, &headers, bounded(&form.csrf_token)) {
        return Err(PageError::Forbidden(
            "This form has expired. Go back to the application and sign in again.".into(),
        ));
    }
    let request_id = bounded(&form.request).unwrap_or_default();
    let (session, user) = signed_in(&app, &headers).await?;
    let request = authorize::parked(&app, request_id).await?;
    let ip = ip.to_string();
    match form.decision.as_deref() {
        Some("allow") => {
            authorize::registered_client(&app, &request).await?;
            consent::allow(&app, &user, &request.client_id, &request.scope, Some(&ip)).await?;
            let completed_by = app.store.auth_request_completed_by(request_id).await?;
            let fresh = completed_by.as_deref() == Some(session.sid.as_str());
            authorize::resume(&app, request_id, &session, fresh).await
        }
        Some("deny") => {
            if !app.store.take_auth_request(request_id).await? {
                return Err(authorize::expired_request());
            }
            consent::deny(&app, &user, &request.client_id, Some(&ip)).await?;
            let err = RedirectError::new("access_denied", "the user denied the request");
            Ok(authorize::refuse(&app, &request, &err))
        }
        _ => Err(form::unreadable()),
    }
}
