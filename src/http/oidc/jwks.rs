//! The JWKS (RFC 7517): every published signing key.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

use crate::app::AppState;

pub const PATH: &str = crate::oidc::endpoints::JWKS;

pub async fn jwks(State(app): State<AppState>) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "application/jwk-set+json"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        app.keys.jwks(),
    )
}
