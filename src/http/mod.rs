//! The HTTP surface (axum only): each area has its own `router()`, merged here
//! with the layers every response gets.

pub mod account;
pub mod admin;
pub mod admin_api;
pub mod assets;
pub mod ceremony;
pub mod client_ip;
pub mod cookies;
pub mod error;
pub mod form;
pub mod health;
pub mod home;
pub mod login;
pub mod metrics;
pub mod oidc;
pub mod password;
pub mod redirect;
pub mod render;
pub mod request_log;
pub mod setup;
pub mod words;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::HeaderValue;
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;
use error::PageError;

/// Form bodies and query strings of this protocol are small; anything larger is hostile.
const BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    let https = state.config.is_https();
    let mut router = Router::new()
        .merge(oidc::router())
        .merge(login::router())
        .merge(setup::router())
        .merge(password::router())
        .merge(home::router())
        .merge(health::router())
        .merge(account::router())
        .merge(admin::router())
        .merge(admin_api::router())
        .merge(assets::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            render::error_pages,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_log::log_requests,
        ))
        // A page that sets a stricter policy of its own (form_post) keeps it.
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; \
                 frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ));
    if https {
        router = router.layer(SetResponseHeaderLayer::overriding(
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    router.with_state(state)
}

async fn not_found() -> PageError {
    PageError::NotFound("There is no page at this address.".into())
}
