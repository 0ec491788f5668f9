//! The userinfo endpoint (OpenID Connect Core §5.3): GET and POST, with the
//! access token in a Bearer header (RFC 6750 §2.1) or, on POST, in a
//! form-encoded body (RFC 6750 §2.2); never both. A DPoP-bound token comes
//! with the DPoP scheme and a proof of its key (RFC 9449 §7); sent as a
//! Bearer token it is refused.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::app::AppState;
use crate::http::error::{OAuthError, DPOP_NONCE};
use crate::oidc::claims::{
    check_access_token, AccessTokenClaims, ProfileClaims, Subject, ACCESS_TOKEN_TYP,
};
use crate::oidc::params::Params;
use crate::service::dpop;

pub const PATH: &str = crate::oidc::endpoints::USERINFO;

#[derive(Serialize)]
struct UserInfo {
    sub: String,
    #[serde(flatten)]
    profile: ProfileClaims,
}

/// How the token came.
enum Presented {
    Bearer(String),
    /// With the DPoP scheme: checked with the request's proof.
    Dpop(String),
}

pub async fn userinfo(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let token = authorization(&headers).and_then(|t| t.ok_or_else(token_required));
    respond(token, &app, &headers, "GET").await
}

pub async fn userinfo_post(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = match (authorization(&headers), body_token(&headers, &body)) {
        (Ok(Some(_)), Ok(Some(_))) => Err(OAuthError::InvalidRequest(
            "send the access token in one place: the Authorization header or the body".into(),
        )),
        (_, Ok(Some(token))) => Ok(Presented::Bearer(token)),
        (header, Ok(None)) => header.and_then(|t| t.ok_or_else(token_required)),
        (_, Err(err)) => Err(err),
    };
    respond(token, &app, &headers, "POST").await
}

fn token_required() -> OAuthError {
    OAuthError::InvalidToken("an access token is required")
}

async fn respond(
    token: Result<Presented, OAuthError>,
    app: &AppState,
    headers: &HeaderMap,
    method: &str,
) -> Response {
    let info = match token {
        Ok(Presented::Bearer(token)) => lookup(app, &token, None).await,
        Ok(Presented::Dpop(token)) => with_proof(app, &token, headers, method)
            .await
            .map_err(|err| OAuthError::AtDpopResource(Box::new(err))),
        Err(err) => Err(err),
    };
    let mut response = match info {
        Ok(info) => ([(CACHE_CONTROL, "no-store")], Json(info)).into_response(),
        Err(err) => err.into_response(),
    };
    if let Some(nonce) = dpop::current_nonce(app).and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert(DPOP_NONCE, nonce);
    }
    response
}

/// A token sent with the DPoP scheme: the request's proof must be for this
/// request and this token, made with the key the token is bound to.
async fn with_proof(
    app: &AppState,
    token: &str,
    headers: &HeaderMap,
    method: &str,
) -> Result<UserInfo, OAuthError> {
    let Some(proof) = super::dpop::proof_of(headers)? else {
        return Err(OAuthError::InvalidDpopProof(
            "a DPoP access token needs a DPoP proof",
        ));
    };
    let proof = dpop::check(app, proof, method, PATH, Some(token)).await?;
    lookup(app, token, Some(&proof.jkt)).await
}

/// The token of an `Authorization` header with the Bearer or DPoP scheme;
/// `None` without the header.
fn authorization(headers: &HeaderMap) -> Result<Option<Presented>, OAuthError> {
    let Some(header) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let refused = || OAuthError::InvalidToken("send the access token as Bearer or DPoP");
    let header = header.to_str().map_err(|_| refused())?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(refused());
    }
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Some(Presented::Bearer(token)))
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Ok(Some(Presented::Dpop(token)))
    } else {
        Err(refused())
    }
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

/// The user a valid access token speaks for; `jkt` is the key of the
/// request's DPoP proof, which a bound token must match and an unbound one
/// must not come with.
async fn lookup(app: &AppState, token: &str, jkt: Option<&str>) -> Result<UserInfo, OAuthError> {
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
    match (claims.cnf.as_ref().map(|c| c.jkt.as_str()), jkt) {
        (None, None) => {}
        (Some(bound), Some(proved)) if bound == proved => {}
        (Some(_), None) => {
            return Err(OAuthError::InvalidToken(
                "the access token is DPoP-bound: send it with the DPoP scheme and a proof",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidToken(
                "the DPoP proof is not made with the access token's key",
            ))
        }
        (None, Some(_)) => {
            return Err(OAuthError::InvalidToken(
                "the access token is not DPoP-bound: send it as a Bearer token",
            ))
        }
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
