//! The token endpoint (RFC 6749 §3.2, OpenID Connect Core §3.1.3): the
//! `authorization_code` and `refresh_token` grants, with client_secret_basic,
//! client_secret_post, or `none` for public clients.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use super::client_auth::{authenticate_client, form_params, param};
use crate::app::AppState;
use crate::auth::secret;
use crate::http::client_ip::ClientIp;
use crate::http::error::OAuthError;
use crate::oidc::auth_code::{CodeGrant, Refusal};
use crate::oidc::claims::{
    self, AccessTokenClaims, Authentication, ClientAccessTokenClaims, Subject, ACCESS_TOKEN_TYP,
    ADMIN_API_PATH, ADMIN_SCOPE, ID_TOKEN_TYP,
};
use crate::oidc::keys::Alg;
use crate::oidc::params::Params;
use crate::oidc::scope;
use crate::store::{Client, FirstRefresh, Grant, NewGrant, Redemption, RefreshRotation};

pub const PATH: &str = crate::oidc::endpoints::TOKEN;

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: String,
}

pub async fn token(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match exchange(&app, ip, &headers, &body).await {
        Ok(response) => (
            [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
            Json(response),
        )
            .into_response(),
        Err(err) => err.into_response(),
    }
}

async fn exchange(
    app: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let params = form_params(headers, body)?;
    let client = authenticate_client(app, headers, &params, ip).await?;
    let grant = param(&params, "grant_type")?;
    let issued = match grant {
        Some("authorization_code") => authorization_code(app, &client, &params).await,
        Some("refresh_token") => refresh_token(app, &client, &params).await,
        Some("client_credentials") => client_credentials(app, &client, &params),
        Some(_) => Err(OAuthError::UnsupportedGrantType),
        None => Err(OAuthError::InvalidRequest("grant_type is missing".into())),
    };
    if let (Ok(_), Some(grant)) = (&issued, grant) {
        metrics::counter!("gatehouse_tokens_issued_total", "grant" => grant.to_string())
            .increment(1);
    }
    issued
}

/// RFC 6749 §4.4, for the console's API: a confidential client that an
/// operator granted the `admin` scope gets a short-lived access token for it.
fn client_credentials(
    app: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() || client.admin_scope.is_none() {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the client_credentials grant",
        ));
    }
    if let Some(requested) = param(params, "scope")? {
        if requested.split(' ').any(|s| s != ADMIN_SCOPE) {
            return Err(OAuthError::InvalidScope(
                "only the admin scope can be granted",
            ));
        }
    }
    let config = &app.config;
    let now = app.clock.now();
    let claims = ClientAccessTokenClaims {
        iss: config.issuer().to_string(),
        sub: client.client_id.clone(),
        aud: format!("{}{ADMIN_API_PATH}", config.issuer()),
        client_id: client.client_id.clone(),
        exp: now + config.access_token_lifetime_secs,
        iat: now,
        jti: secret::random_id(),
        scope: ADMIN_SCOPE.to_string(),
    };
    let access_token = app
        .keys
        .sign(config.access_token_alg, ACCESS_TOKEN_TYP, &claims)
        .map_err(|e| OAuthError::Internal(e.to_string()))?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: config.access_token_lifetime_secs,
        id_token: None,
        refresh_token: None,
        scope: ADMIN_SCOPE.to_string(),
    })
}

async fn authorization_code(
    app: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let code = param(params, "code")?
        .ok_or_else(|| OAuthError::InvalidRequest("code is missing".into()))?;
    let redirect_uri = param(params, "redirect_uri")?;
    let verifier = param(params, "code_verifier")?;
    let now = app.clock.now();
    let code = CodeGrant::open(&app.vault, code)
        .ok_or(OAuthError::InvalidGrant("the code is not valid"))?;
    match code.check(&client.client_id, redirect_uri, verifier, now) {
        Ok(()) => {}
        Err(Refusal::OtherClient) => {
            return Err(OAuthError::InvalidGrant(
                "the code was issued to another client",
            ))
        }
        // RFC 6749 §4.1.2: a code used before revokes what it was exchanged
        // for, whatever else is wrong with this use of it.
        Err(refusal) => {
            if app.store.grant(&code.grant_id).await?.is_some() {
                return Err(replayed(app, client, &code.grant_id, now).await?);
            }
            return Err(OAuthError::InvalidGrant(match refusal {
                Refusal::Invalid(why) => why,
                _ => "the code has expired",
            }));
        }
    }
    let grant = Grant {
        id: code.grant_id,
        client_id: code.client_id,
        user_id: code.user_id,
        sid: code.sid,
        scope: code.scope,
        nonce: code.nonce,
        auth_time: code.auth_time,
        acr: code.acr,
        amr: code.amr,
        revoked_at: None,
    };
    // The grant and its first refresh token are stored in one write; if the
    // exchange then fails, the token is removed, never having been handed out.
    let refresh_token = secret::random_token(32);
    let refresh_hash = secret::token_hash(&refresh_token);
    let first_refresh = FirstRefresh {
        token_hash: &refresh_hash,
        expires_at: now + app.config.refresh_token_lifetime_secs,
    };
    let new_grant = NewGrant {
        id: &grant.id,
        client_id: &grant.client_id,
        user_id: &grant.user_id,
        sid: &grant.sid,
        scope: &grant.scope,
        nonce: grant.nonce.as_deref(),
        auth_time: grant.auth_time,
        acr: &grant.acr,
        amr: &grant.amr,
        now,
    };
    match app
        .store
        .store_redeemed_grant(&new_grant, first_refresh)
        .await?
    {
        Redemption::Stored => {}
        Redemption::Replayed => return Err(replayed(app, client, &grant.id, now).await?),
        Redemption::SessionEnded => {
            return Err(OAuthError::InvalidGrant(
                "the sign-in that issued the code has ended",
            ))
        }
    }
    let issued = issue_tokens(
        app,
        client,
        &grant,
        &grant.scope,
        grant.nonce.as_deref(),
        now,
        Some(refresh_token),
    )
    .await;
    if issued.is_err() {
        if let Err(err) = app.store.delete_refresh_token(&refresh_hash).await {
            tracing::warn!(error = %err, "an unused refresh token stays until it expires");
        }
    }
    issued
}

/// A code came back after its redemption: what it was exchanged for is revoked.
async fn replayed(
    app: &AppState,
    client: &Client,
    grant_id: &str,
    now: i64,
) -> Result<OAuthError, OAuthError> {
    app.store.revoke_grant(grant_id, now).await?;
    tracing::warn!(client_id = %client.client_id, "authorization code replayed; grant revoked");
    Ok(OAuthError::InvalidGrant("the code was already used"))
}

async fn refresh_token(
    app: &AppState,
    client: &Client,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let token = param(params, "refresh_token")?
        .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is missing".into()))?;
    let requested_scope = param(params, "scope")?;
    let now = app.clock.now();
    // The next token is stored with the old one's use, in one transaction.
    let next = secret::random_token(32);
    let next_hash = secret::token_hash(&next);
    let following = FirstRefresh {
        token_hash: &next_hash,
        expires_at: now + app.config.refresh_token_lifetime_secs,
    };
    let grant = match app
        .store
        .use_refresh_token(
            &secret::token_hash(token),
            &client.client_id,
            following,
            now,
        )
        .await?
    {
        RefreshRotation::Rotated(grant) => grant,
        RefreshRotation::Reused { grant_id } => {
            // A rotated token came back: whoever holds the family may be an
            // attacker, so the whole family is revoked.
            app.store.revoke_grant(&grant_id, now).await?;
            tracing::warn!(client_id = %client.client_id, "refresh token reused; family revoked");
            return Err(OAuthError::InvalidGrant(
                "the refresh token was already used",
            ));
        }
        // Also another client's token: it is left as it was.
        RefreshRotation::Invalid => {
            return Err(OAuthError::InvalidGrant("the refresh token is not valid"))
        }
    };
    if grant.revoked_at.is_some() {
        return Err(OAuthError::InvalidGrant("the refresh token was revoked"));
    }
    // RFC 6749 §6: a narrower scope applies to the new access token only.
    let scope = match requested_scope {
        Some(requested) if !scope::is_subset(requested, &grant.scope) => {
            return Err(OAuthError::InvalidScope(
                "the requested scope exceeds the original grant",
            ));
        }
        Some(requested) => scope::normalize(requested),
        None => grant.scope.clone(),
    };
    issue_tokens(app, client, &grant, &scope, None, now, Some(next)).await
}

/// Signs the ID and access tokens, with `stored_refresh` as the refresh token
/// when it is already stored, else with a new one stored now.
async fn issue_tokens(
    app: &AppState,
    client: &Client,
    grant: &Grant,
    scope: &str,
    nonce: Option<&str>,
    now: i64,
    stored_refresh: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let user = app
        .store
        .user_by_id(&grant.user_id)
        .await?
        .filter(|u| !u.is_disabled)
        .ok_or(OAuthError::InvalidGrant("the user can no longer sign in"))?;
    let config = &app.config;
    let alg = Alg::parse(&client.id_token_alg).unwrap_or(Alg::RS256);
    let subject = Subject {
        id: &user.id,
        username: &user.username,
        email: &user.email,
    };
    let auth = Authentication {
        sid: &grant.sid,
        auth_time: grant.auth_time,
        acr: &grant.acr,
        amr: &grant.amr,
    };
    let id_claims = claims::id_token(
        config.issuer(),
        &client.client_id,
        &subject,
        &auth,
        nonce,
        scope,
        now,
        config.id_token_lifetime_secs,
    );
    let access_claims = AccessTokenClaims {
        iss: config.issuer().to_string(),
        sub: user.id.clone(),
        aud: client.client_id.clone(),
        client_id: client.client_id.clone(),
        exp: now + config.access_token_lifetime_secs,
        iat: now,
        jti: secret::random_id(),
        scope: scope.to_string(),
        sid: grant.sid.clone(),
        gid: grant.id.clone(),
        auth_time: grant.auth_time,
        acr: grant.acr.clone(),
    };
    let sign_error = |e: crate::oidc::keys::KeyError| OAuthError::Internal(e.to_string());
    let id_token = app
        .keys
        .sign(alg, ID_TOKEN_TYP, &id_claims)
        .map_err(sign_error)?;
    let access_token = app
        .keys
        .sign(config.access_token_alg, ACCESS_TOKEN_TYP, &access_claims)
        .map_err(sign_error)?;
    let refresh_token = match stored_refresh {
        Some(token) => token,
        None => {
            let token = secret::random_token(32);
            app.store
                .put_refresh_token(
                    &secret::token_hash(&token),
                    &grant.id,
                    now,
                    now + config.refresh_token_lifetime_secs,
                )
                .await?;
            token
        }
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: config.access_token_lifetime_secs,
        id_token: Some(id_token),
        refresh_token: Some(refresh_token),
        scope: scope.to_string(),
    })
}
