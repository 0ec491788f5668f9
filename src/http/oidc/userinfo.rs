//! The userinfo endpoint (OpenID Connect Core §5.3): GET and POST, with the
//! access token in a Bearer header (RFC 6750 §2.1).

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::app::AppState;
use crate::http::error::OAuthError;
use crate::oidc::claims::{
    check_access_token, AccessTokenClaims, ProfileClaims, Subject, ACCESS_TOKEN_TYP,
};

pub const PATH: &str = "/userinfo";

#[derive(Serialize)]
struct UserInfo {
    sub: String,
    #[serde(flatten)]
    profile: ProfileClaims,
}

pub async fn userinfo(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match lookup(&app, &headers).await {
        Ok(info) => ([(CACHE_CONTROL, "no-store")], Json(info)).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn lookup(app: &AppState, headers: &HeaderMap) -> Result<UserInfo, OAuthError> {
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(OAuthError::InvalidToken(
            "a Bearer access token is required",
        ))?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(OAuthError::InvalidToken(
            "a Bearer access token is required",
        ));
    }
    let invalid = OAuthError::InvalidToken("the access token is not valid");
    let (payload, typ) = app.keys.verify(token.trim()).map_err(|_| invalid)?;
    if typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(OAuthError::InvalidToken("not an access token"));
    }
    let claims: AccessTokenClaims = serde_json::from_value(payload)
        .map_err(|_| OAuthError::InvalidToken("not an access token"))?;
    if !check_access_token(&claims, app.config.issuer(), app.clock.now()) {
        return Err(OAuthError::InvalidToken("the access token has expired"));
    }
    if app.store.access_token_revoked(&claims.jti).await? {
        return Err(OAuthError::InvalidToken("the access token was revoked"));
    }
    let grant = app.store.grant(&claims.gid).await?;
    if !grant.is_some_and(|g| g.revoked_at.is_none() && g.user_id == claims.sub) {
        return Err(OAuthError::InvalidToken("the access token was revoked"));
    }
    let user = app
        .store
        .user_by_id(&claims.sub)
        .await?
        .filter(|u| !u.is_disabled)
        .ok_or(OAuthError::InvalidToken("the user no longer exists"))?;
    let subject = Subject {
        id: &user.id,
        username: &user.username,
        email: &user.email,
    };
    Ok(UserInfo {
        sub: user.id.clone(),
        profile: ProfileClaims::for_scope(&subject, &claims.scope),
    })
}
