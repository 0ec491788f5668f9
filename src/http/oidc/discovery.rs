//! `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3):
//! `oidc::endpoints::discovery_document`, built once at start.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;

use crate::app::AppState;
use crate::oidc::endpoints;

pub const PATH: &str = endpoints::DISCOVERY;

pub async fn discovery(State(app): State<AppState>) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "application/json"),
            (CACHE_CONTROL, "public, max-age=300"),
        ],
        app.discovery.clone(),
    )
}
