//! The console's operations as a JSON API under `/admin/api`, for
//! automation: a client that an operator granted the `admin` scope gets an
//! access token from the client-credentials grant and sends it as a Bearer
//! token. Described by the OpenAPI document at `/admin/api/openapi.json`.

pub mod accounts;
pub mod clients;
pub mod members;
pub mod request;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;

use crate::app::AppState;

const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/api/openapi.json", get(openapi))
        .route("/admin/api/accounts", get(accounts::list))
        .route("/admin/api/accounts/{account_id}", get(accounts::show))
        .route(
            "/admin/api/accounts/{account_id}/settings",
            put(accounts::put_settings),
        )
        .route(
            "/admin/api/accounts/{account_id}/members",
            get(accounts::members).post(accounts::create_member),
        )
        .route(
            "/admin/api/accounts/{account_id}/audit",
            get(accounts::audit),
        )
        .route("/admin/api/members/{id}", get(members::show))
        .route(
            "/admin/api/members/{id}/reset-2fa",
            post(members::reset_2fa),
        )
        .route("/admin/api/members/{id}/unlock", post(members::unlock))
        .route("/admin/api/members/{id}/disable", post(members::disable))
        .route("/admin/api/members/{id}/enable", post(members::enable))
        .route(
            "/admin/api/members/{id}/administrator",
            put(members::set_administrator),
        )
        .route(
            "/admin/api/members/{id}/password-link",
            post(members::password_link),
        )
        .route(
            "/admin/api/clients",
            get(clients::list).post(clients::create),
        )
        .route(
            "/admin/api/clients/{client_id}",
            get(clients::show).put(clients::update),
        )
        .route(
            "/admin/api/clients/{client_id}/secret",
            post(clients::rotate),
        )
}

async fn openapi() -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        OPENAPI,
    )
        .into_response()
}
