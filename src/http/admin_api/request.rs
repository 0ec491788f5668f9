//! The API's caller (`ApiActor`, from a Bearer access token with the
//! `admin` scope) and its JSON bodies in and out.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth::admin_rights::Actor;
use crate::http::error::ApiError;
use crate::oidc::claims::{check_admin_api_token, ClientAccessTokenClaims, ACCESS_TOKEN_TYP};

/// A JSON answer that is never cached.
pub fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// A request body as `T`, or a clear error.
pub fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the body is not the JSON expected: {e}")))
}

/// The client behind a valid `admin` access token, as the console's actor.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let missing =
            ApiError::Unauthorized("a Bearer access token with the admin scope is required");
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(missing)?;
        let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized(
                "a Bearer access token with the admin scope is required",
            ));
        }
        let invalid = || ApiError::Unauthorized("the access token is not valid for this API");
        let (payload, typ) = app.keys.verify(token.trim()).map_err(|_| invalid())?;
        if typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(invalid());
        }
        let claims: ClientAccessTokenClaims =
            serde_json::from_value(payload).map_err(|_| invalid())?;
        if !check_admin_api_token(&claims, app.config.issuer(), app.clock.now()) {
            return Err(invalid());
        }
        if app.store.access_token_revoked(&claims.jti).await? {
            return Err(ApiError::Unauthorized("the access token was revoked"));
        }
        // The grant is checked at every request: taking it away stops the client at once.
        let client = app.store.client(&claims.client_id).await?;
        let Some(scope) = client.and_then(|c| c.admin_scope) else {
            return Err(ApiError::Unauthorized(
                "the client no longer has the admin scope",
            ));
        };
        let ip = Some(crate::http::client_ip::of_parts(parts, &app.trusted_proxies).to_string());
        Ok(ApiActor(Actor::of_client(&claims.client_id, &scope, ip)))
    }
}
