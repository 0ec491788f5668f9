//! The device authorization endpoint (RFC 8628 §3.1, §3.2): a client
//! registered for the device grant, authenticated as at the token endpoint
//! (a public one by its `client_id`), gets a device code to poll with and
//! a user code for the person to type at `/device`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};

use super::client_auth::{authenticate_client, form_params, param};
use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::error::OAuthError;
use crate::service::device::{self, DeviceError, Started};

pub const PATH: &str = crate::oidc::endpoints::DEVICE_AUTHORIZATION;

pub async fn start(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match started(&app, ip, &headers, &body).await {
        Ok(started) => (
            [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
            Json(started),
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}

async fn started(
    app: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Started, OAuthError> {
    let params = form_params(headers, body)?;
    let client = authenticate_client(app, headers, &params, ip, PATH).await?;
    let scope = param(&params, "scope")?;
    device::start(app, &client, scope)
        .await
        .map_err(|err| match err {
            DeviceError::UnauthorizedClient(why) => OAuthError::UnauthorizedClient(why),
            DeviceError::InvalidScope(why) => OAuthError::InvalidScope(why),
            DeviceError::Store(err) => err.into(),
        })
}
