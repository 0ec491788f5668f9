//! The console's operations as a JSON API under `/admin/api`, for
//! automation: a client that an operator granted the `admin` scope gets an
//! access token from the client-credentials grant and sends it as a Bearer
//! token. Described by the OpenAPI document at `/admin/api/openapi.json`.

pub mod accounts;
pub mod clients;
pub mod members;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::auth::admin_rights::Actor;
use crate::oidc::claims::{check_admin_api_token, ClientAccessTokenClaims, ACCESS_TOKEN_TYP};
use crate::service::console::ConsoleError;
use crate::store;

const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/openapi.json", get(openapi))
        .route("/admin/api/accounts", get(accounts::list))
        .route("/admin/api/accounts/{account_id}", get(accounts::show))
        .route(
            "/admin/api/accounts/{account_id}/settings",
            put(accounts::put_settings),
        )
        .route(
            "/admin/api/accounts/{account_id}/members",
            get(accounts::members).post(accounts::create_member),
        )
        .route(
            "/admin/api/accounts/{account_id}/audit",
            get(accounts::audit),
        )
        .route("/admin/api/members/{id}", get(members::show))
        .route(
            "/admin/api/members/{id}/reset-2fa",
            post(members::reset_2fa),
        )
        .route("/admin/api/members/{id}/unlock", post(members::unlock))
        .route("/admin/api/members/{id}/disable", post(members::disable))
        .route("/admin/api/members/{id}/enable", post(members::enable))
        .route(
            "/admin/api/members/{id}/administrator",
            put(members::set_administrator),
        )
        .route(
            "/admin/api/members/{id}/password-link",
            post(members::password_link),
        )
        .route(
            "/admin/api/clients",
            get(clients::list).post(clients::create),
        )
        .route(
            "/admin/api/clients/{client_id}",
            get(clients::show).put(clients::update),
        )
        .route(
            "/admin/api/clients/{client_id}/secret",
            post(clients::rotate),
        )
}

async fn openapi() -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        OPENAPI,
    )
        .into_response()
}

/// An error of the API, as JSON `{"error", "error_description"}`.
#[derive(Debug)]
pub enum ApiError {
    Unauthorized(&'static str),
    Forbidden(String),
    NotFound(String),
    BadRequest(String),
    Conflict(String),
    Unavailable,
    Internal(String),
}

impl From<ConsoleError> for ApiError {
    fn from(err: ConsoleError) -> Self {
        match err {
            ConsoleError::Denied(denied) => ApiError::Forbidden(denied.message().into()),
            ConsoleError::NotFound(what) => ApiError::NotFound(what.into()),
            ConsoleError::Invalid(why) => ApiError::BadRequest(why),
            ConsoleError::Duplicate(why) => ApiError::Conflict(why),
            ConsoleError::Store(e) => e.into(),
            ConsoleError::Hashing(e) => ApiError::Internal(e),
        }
    }
}

impl From<store::Error> for ApiError {
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Unavailable(detail) => {
                tracing::error!(%detail, "database unavailable");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, description) = match self {
            ApiError::Unauthorized(d) => (StatusCode::UNAUTHORIZED, "invalid_token", d.to_string()),
            ApiError::Forbidden(d) => (StatusCode::FORBIDDEN, "forbidden", d),
            ApiError::NotFound(d) => (StatusCode::NOT_FOUND, "not_found", d),
            ApiError::BadRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
            ApiError::Conflict(d) => (StatusCode::CONFLICT, "conflict", d),
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the database is unavailable; try again shortly".into(),
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "admin API request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the request failed".into(),
                )
            }
        };
        let body = serde_json::json!({ "error": code, "error_description": description });
        let mut response = (status, [(CACHE_CONTROL, "no-store")], Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Bearer error="invalid_token""#),
            );
        }
        response
    }
}

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
