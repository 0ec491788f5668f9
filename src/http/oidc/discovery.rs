//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3),
//! built once at start.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

use super::{authorize, introspection, jwks, logout, revocation, token, userinfo};
use crate::app::AppState;
use crate::oidc::scope;

pub const PATH: &str = "/.well-known/openid-configuration";

pub fn document(issuer: &str) -> String {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{}", authorize::PATH),
        "token_endpoint": format!("{issuer}{}", token::PATH),
        "userinfo_endpoint": format!("{issuer}{}", userinfo::PATH),
        "jwks_uri": format!("{issuer}{}", jwks::PATH),
        "end_session_endpoint": format!("{issuer}{}", logout::PATH),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{issuer}{}", revocation::PATH),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": format!("{issuer}{}", introspection::PATH),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "scopes_supported": scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": ["aal1", "aal2"],
        "prompt_values_supported": ["none", "login"],
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp",
            "preferred_username", "name", "email", "email_verified"
        ],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
    .to_string()
}

pub async fn discovery(State(app): State<AppState>) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        app.discovery.clone(),
    )
}
