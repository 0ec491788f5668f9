//! The provider's endpoints (their paths under the issuer) and the
//! discovery document that lists them with what each supports (OpenID
//! Connect Discovery 1.0 §3).

use super::client_assertion;
use crate::auth::acr::Acr;

pub const DISCOVERY: &str = "/.well-known/openid-configuration";
pub const AUTHORIZE: &str = "/authorize";
pub const TOKEN: &str = "/token";
pub const USERINFO: &str = "/userinfo";
pub const JWKS: &str = "/jwks";
pub const LOGOUT: &str = "/logout";
pub const REVOCATION: &str = "/revoke";
pub const INTROSPECTION: &str = "/introspect";
pub const PAR: &str = "/par";
/// The consent page of third-party clients (a page, not in discovery).
pub const CONSENT: &str = "/consent";
/// Where a device asks for its codes (RFC 8628 §3.1).
pub const DEVICE_AUTHORIZATION: &str = "/device_authorization";
/// Where the person types a device's user code (RFC 8628 §3.3).
pub const DEVICE: &str = "/device";

/// How clients authenticate at the token, PAR, revocation and introspection endpoints.
const AUTH_METHODS: [&str; 4] = [
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
];

/// The discovery document of a provider at `issuer`; `require_par` when
/// every client must push its authorization requests.
pub fn discovery_document(issuer: &str, require_par: bool) -> String {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}{AUTHORIZE}"),
        "token_endpoint": format!("{issuer}{TOKEN}"),
        "userinfo_endpoint": format!("{issuer}{USERINFO}"),
        "jwks_uri": format!("{issuer}{JWKS}"),
        "end_session_endpoint": format!("{issuer}{LOGOUT}"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "revocation_endpoint": format!("{issuer}{REVOCATION}"),
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": client_assertion::ALGS,
        "introspection_endpoint": format!("{issuer}{INTROSPECTION}"),
        "pushed_authorization_request_endpoint": format!("{issuer}{PAR}"),
        "device_authorization_endpoint": format!("{issuer}{DEVICE_AUTHORIZATION}"),
        "require_pushed_authorization_requests": require_par,
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": client_assertion::ALGS,
        "scopes_supported": super::scope::SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": [
            "authorization_code", "refresh_token", "client_credentials", super::device::GRANT_TYPE
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": client_assertion::ALGS,
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": super::dpop::ALGS,
        "acr_values_supported": Acr::ALL,
        "prompt_values_supported": ["none", "login", "consent"],
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
