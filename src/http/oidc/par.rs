//! Pushed authorization requests (RFC 9126): the client posts what it would
//! put in the authorization URL, authenticated as at the token endpoint;
//! the request is checked as `/authorize` would check it and parked for 60
//! seconds under a `request_uri` that `/authorize` takes once.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};

use super::client_auth::{authenticate_client, form_params, param};
use crate::app::AppState;
use crate::auth::secret;
use crate::http::client_ip::ClientIp;
use crate::http::error::OAuthError;
use crate::oidc::authorize_request::{AuthorizeRequest, Target};
use crate::oidc::par;
use crate::oidc::registration;

pub const PATH: &str = crate::oidc::endpoints::PAR;

pub async fn push(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match pushed(&app, ip, &headers, &body).await {
        Ok(request_uri) => {
            let answer = serde_json::json!({
                "request_uri": request_uri,
                "expires_in": par::LIFETIME_SECS,
            });
            let headers = [(CACHE_CONTROL, "no-store")];
            (StatusCode::CREATED, headers, Json(answer)).into_response()
        }
        Err(err) => err.into_response(),
    }
}

/// Checks and parks a pushed request; its `request_uri`.
async fn pushed(
    app: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, OAuthError> {
    let params = form_params(headers, body)?;
    if param(&params, "request_uri")?.is_some() {
        return Err(OAuthError::InvalidRequest(
            "a pushed request cannot itself name a request_uri".into(),
        ));
    }
    let client = authenticate_client(app, headers, &params, ip, PATH).await?;
    let target = Target::from_params(&params).map_err(|e| OAuthError::InvalidRequest(e.0))?;
    if target.client_id != client.client_id {
        return Err(OAuthError::InvalidRequest(
            "client_id is not the authenticated client".into(),
        ));
    }
    if !registration::uri_is_registered(&client.redirect_uris, &target.redirect_uri) {
        return Err(OAuthError::InvalidRequest(
            "redirect_uri is not registered for the client".into(),
        ));
    }
    let request = AuthorizeRequest::from_params(&params, target, client.is_public())
        .map_err(|e| OAuthError::Refused(e.error, e.description))?;
    let parked =
        serde_json::to_string(&request).map_err(|e| OAuthError::Internal(e.to_string()))?;
    let id = par::parked_id(&secret::random_token(24));
    let now = app.clock.now();
    app.store
        .put_auth_request(&id, &parked, now, now + par::LIFETIME_SECS)
        .await?;
    Ok(par::request_uri(&id))
}
