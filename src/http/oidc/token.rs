//! The token endpoint (RFC 6749 §3.2, OpenID Connect Core §3.1.3): the
//! `authorization_code`, `refresh_token` and `client_credentials` grants,
//! with client_secret_basic, client_secret_post, or `none` for public
//! clients, or a client assertion (`private_key_jwt`). A `DPoP` proof
//! (RFC 9449 §5) binds the tokens to its key. The request is parsed here;
//! `service::tokens` issues.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::client_auth::{authenticate_client, form_params, param};
use crate::app::AppState;
use crate::http::client_ip::ClientIp;
use crate::http::error::{OAuthError, DPOP_NONCE};
use crate::oidc::params::Params;
use crate::service::dpop;
use crate::service::tokens::{Issued, Issuer};
use crate::store::Client;

pub const PATH: &str = crate::oidc::endpoints::TOKEN;

pub async fn token(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut response = match exchange(&app, ip, &headers, &body).await {
        Ok(response) => (
            [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
            Json(response),
        )
            .into_response(),
        Err(err) => err.into_response(),
    };
    if let Some(nonce) = dpop::current_nonce(&app).and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert(DPOP_NONCE, nonce);
    }
    response
}

async fn exchange(
    app: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Issued, OAuthError> {
    let params = form_params(headers, body)?;
    // The proof is checked before the client (whose assertion, if any, is
    // then used up) and its jti taken after: a client told to use a nonce
    // sends the same request again with a new proof.
    let proof = match super::dpop::proof_of(headers)? {
        Some(proof) => Some(dpop::verify(app, proof, "POST", PATH, None)?),
        None => None,
    };
    let client = authenticate_client(app, headers, &params, ip, PATH).await?;
    if let Some(proof) = &proof {
        dpop::take(app, proof).await?;
    }
    let grant = param(&params, "grant_type")?;
    let issuer = Issuer::new(app).bound_to(proof.map(|p| p.jkt));
    let issued = grant_tokens(&issuer, &client, grant, &params).await;
    if let (Ok(_), Some(grant)) = (&issued, grant) {
        metrics::counter!("gatehouse_tokens_issued_total", "grant" => grant.to_string())
            .increment(1);
    }
    issued
}

/// One grant's parameters, handed to the issuer.
async fn grant_tokens(
    issuer: &Issuer<'_>,
    client: &Client,
    grant: Option<&str>,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let required = |name: &'static str| -> Result<&str, OAuthError> {
        param(params, name)?.ok_or_else(|| OAuthError::InvalidRequest(format!("{name} is missing")))
    };
    Ok(match grant {
        Some("authorization_code") => {
            let code = required("code")?;
            let redirect_uri = param(params, "redirect_uri")?;
            let verifier = param(params, "code_verifier")?;
            issuer
                .redeem_code(client, code, redirect_uri, verifier)
                .await?
        }
        Some("refresh_token") => {
            let token = required("refresh_token")?;
            issuer
                .refresh(client, token, param(params, "scope")?)
                .await?
        }
        Some("client_credentials") => issuer.client_credentials(client, param(params, "scope")?)?,
        Some(crate::oidc::device::GRANT_TYPE) => {
            issuer.device_code(client, required("device_code")?).await?
        }
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
        None => return Err(OAuthError::InvalidRequest("grant_type is missing".into())),
    })
}
