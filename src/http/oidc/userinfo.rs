//! The userinfo endpoint (OpenID Connect Core §5.3): GET and POST, with the
//! access token in a Bearer header (RFC 6750 §2.1) or, on POST, in a
//! form-encoded body (RFC 6750 §2.2); never both.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::app::AppState;
use crate::http::error::OAuthError;
use crate::oidc::claims::{
    check_access_token, AccessTokenClaims, ProfileClaims, Subject, ACCESS_TOKEN_TYP,
};
use crate::oidc::params::Params;

pub const PATH: &str = crate::oidc::endpoints::USERINFO;

#[derive(Serialize)]
struct UserInfo {
    sub: String,
    #[serde(flatten)]
    profile: ProfileClaims,
}

pub async fn userinfo(State(app): State<AppState>, headers: HeaderMap) -> Response {
    respond(bearer(&headers).map(str::to_string), &app).await
}

pub async fn userinfo_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match (bearer(&headers), body_token(&headers, &body)) {
        (Ok(_), Ok(Some(_))) => Err(OAuthError::InvalidRequest(
            "send the access token in one place: the Authorization header or the body".into(),
        )),
        (_, Ok(Some(token))) => Ok(token),
        (header, Ok(None)) => header.map(str::to_string),
        (_, Err(err)) => Err(err),
    };
    respond(token, &app).await
}

async fn respond(token: Result<String, OAuthError>, app: &AppState) -> Response {
    let info = match token {
        Ok(token) => lookup(app, &token).await,
        Err(err) => Err(err),
    };
    match info {
        Ok(info) => ([(CACHE_CONTROL, "no-store")], Json(info)).into_response(),
        Err(err) => err.into_response(),
    }
}

/// The token of an `Authorization: Bearer` header.
fn bearer(headers: &HeaderMap) -> Result<&str, OAuthError> {
    let required = || OAuthError::InvalidToken("a Bearer access token is required");
    let header = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(required)?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(required());
    }
    Ok(token.trim())
}

/// The `access_token` of a form-encoded body, if the body is one and has it.
fn body_token(headers: &HeaderMap, body: &[u8]) -> Result<Option<String>, OAuthError> {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Ok(None);
    }
    let params = Params::parse(body);
    match params.get("access_token") {
        Ok(Some(token)) if !token.trim().is_empty() => Ok(Some(token.trim().to_string())),
        Ok(_) => Ok(None),
        Err(_) => Err(OAuthError::InvalidRequest(
            "access_token is given more than once".into(),
        )),
    }
}

async fn lookup(app: &AppState, token: &str) -> Result<UserInfo, OAuthError> {
    let invalid = OAuthError::InvalidToken("the access token is not valid");
    let (payload, typ) = app.keys.verify(token).map_err(|_| invalid)?;
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
