//! The OpenID Connect endpoints.

pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod device;
pub mod device_authorization;
pub mod discovery;
pub mod dpop;
pub mod form_post;
pub mod introspection;
pub mod jwks;
pub mod logout;
pub mod par;
pub mod revocation;
pub mod token;
pub mod userinfo;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(discovery::PATH, get(discovery::discovery))
        .route(jwks::PATH, get(jwks::jwks))
        .route(
            authorize::PATH,
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(consent::PATH, get(consent::show).post(consent::submit))
        .route(par::PATH, post(par::push))
        .route(
            device_authorization::PATH,
            post(device_authorization::start),
        )
        .route(device::PATH, get(device::show).post(device::submit))
        .route(
            device::CONFIRM_PATH,
            get(device::show_confirm).post(device::submit_confirm),
        )
        .route(token::PATH, post(token::token))
        .route(revocation::PATH, post(revocation::revoke))
        .route(
            logout::PATH,
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(logout::CONFIRM_PATH, post(logout::submit_confirm))
        .route(introspection::PATH, post(introspection::introspect))
        .route(
            userinfo::PATH,
            get(userinfo::userinfo).post(userinfo::userinfo_post),
        )
}
