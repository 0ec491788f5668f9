//! Token revocation (RFC 7009): a client revokes its own refresh token (and
//! with it the whole grant) or access token.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth::{authenticate_client, form_params, param};
use crate::app::AppState;
use crate::auth::secret;
use crate::http::client_ip::ClientIp;
use crate::http::error::OAuthError;
use crate::oidc::claims::{AccessTokenClaims, ClientAccessTokenClaims, ACCESS_TOKEN_TYP};

pub const PATH: &str = crate::oidc::endpoints::REVOCATION;

pub async fn revoke(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke_token(&app, ip, &headers, &body).await {
        // RFC 7009 §2.2: 200 whether or not the token was valid.
        Ok(()) => (StatusCode::OK, [(CACHE_CONTROL, "no-store")]).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn revoke_token(
    app: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    let params = form_params(headers, body)?;
    let client = authenticate_client(app, headers, &params, ip, PATH).await?;
    let token = param(&params, "token")?
        .ok_or_else(|| OAuthError::InvalidRequest("token is missing".into()))?;
    let now = app.clock.now();
    // The hint only orders the look-ups (RFC 7009 §2.1); both kinds are tried.
    if let Some(grant) = app
        .store
        .refresh_token_grant(&secret::token_hash(token))
        .await?
    {
        if grant.client_id == client.client_id {
            app.store.revoke_grant(&grant.id, now).await?;
        }
        return Ok(());
    }
    if let Ok((payload, Some(typ))) = app.keys.verify(token) {
        if typ == ACCESS_TOKEN_TYP {
            // A user's access token, or one of the client-credentials grant.
            let revocable = serde_json::from_value::<AccessTokenClaims>(payload.clone())
                .map(|c| (c.client_id, c.jti, c.exp))
                .or_else(|_| {
                    serde_json::from_value::<ClientAccessTokenClaims>(payload)
                        .map(|c| (c.client_id, c.jti, c.exp))
                });
            if let Ok((client_id, jti, exp)) = revocable {
                if client_id == client.client_id {
                    app.store.revoke_access_token(&jti, exp).await?;
                }
            }
        }
    }
    Ok(())
}
