//! Token introspection (RFC 7662): whether a token is active, for the client
//! it was issued to.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::client_auth::{authenticate_client, form_params, param};
use crate::app::AppState;
use crate::auth::secret;
use crate::http::client_ip::ClientIp;
use crate::http::error::OAuthError;
use crate::oidc::claims::{check_access_token, AccessTokenClaims, Confirmation, ACCESS_TOKEN_TYP};

pub const PATH: &str = crate::oidc::endpoints::INTROSPECTION;

#[derive(Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<String>,
    /// RFC 9449 §6.2: the key a DPoP-bound token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation>,
}

pub async fn introspect(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match inspect(&app, ip, &headers, &body).await {
        Ok(answer) => ([(CACHE_CONTROL, "no-store")], Json(answer)).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn inspect(
    app: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Introspection, OAuthError> {
    let params = form_params(headers, body)?;
    let client = authenticate_client(app, headers, &params, ip, PATH).await?;
    let token = param(&params, "token")?
        .ok_or_else(|| OAuthError::InvalidRequest("token is missing".into()))?;
    let now = app.clock.now();
    let inactive = Introspection::default();
    if let Some(refresh) = app
        .store
        .refresh_token_status(&secret::token_hash(token), now)
        .await?
    {
        let grant = refresh.grant;
        // Only the client the token was issued to learns anything about it.
        if grant.client_id != client.client_id || grant.revoked_at.is_some() {
            return Ok(inactive);
        }
        return Ok(Introspection {
            active: true,
            scope: Some(grant.scope),
            client_id: Some(grant.client_id),
            sub: Some(grant.user_id),
            token_type: Some("refresh_token"),
            exp: Some(refresh.expires_at),
            iat: Some(refresh.created_at),
            iss: Some(app.config.issuer().to_string()),
            sid: Some(grant.sid),
            acr: Some(grant.acr),
            cnf: grant.dpop_jkt.map(|jkt| Confirmation { jkt }),
        });
    }
    let Ok((payload, Some(typ))) = app.keys.verify(token) else {
        return Ok(inactive);
    };
    if typ != ACCESS_TOKEN_TYP {
        return Ok(inactive);
    }
    let Ok(claims) = serde_json::from_value::<AccessTokenClaims>(payload) else {
        return Ok(inactive);
    };
    if claims.client_id != client.client_id
        || !check_access_token(&claims, app.config.issuer(), now)
        || app.store.access_token_revoked(&claims.jti).await?
    {
        return Ok(inactive);
    }
    let grant = app.store.grant(&claims.gid).await?;
    if grant.is_none_or(|g| g.revoked_at.is_some()) {
        return Ok(inactive);
    }
    Ok(Introspection {
        active: true,
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        sub: Some(claims.sub),
        token_type: Some(if claims.cnf.is_some() {
            "DPoP"
        } else {
            "Bearer"
        }),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        iss: Some(claims.iss),
        sid: Some(claims.sid),
        acr: Some(claims.acr),
        cnf: claims.cnf,
    })
}
