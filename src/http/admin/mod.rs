//! The provider console at `/admin`: account administrators manage their
//! account, operators every account. Every page needs an `aal2` session;
//! an administrator without one is sent through the second step (or to enrol
//! a factor) first, and comes back here.

pub mod audit;
pub mod clients;
pub mod contacts;
pub mod frame;
pub mod members;
pub mod overview;
pub mod settings;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;
use frame::PATH;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(PATH, get(overview::show))
        .route(overview::FIND_PATH, get(overview::show_find))
        .route(contacts::PATH, get(contacts::show_menu))
        .route(contacts::ALL_PATH, get(contacts::show_all))
        .route(settings::PATH, get(settings::show).post(settings::submit))
        .route(audit::PATH, get(audit::show))
        .route(clients::PATH, get(clients::show_list))
        .route(
            clients::NEW_PATH,
            get(clients::show_new).post(clients::submit_new),
        )
        .route(
            "/admin/clients/{client_id}",
            get(clients::show_client).post(clients::submit_client),
        )
        .route(
            "/admin/clients/{client_id}/secret",
            post(clients::submit_rotate),
        )
        .route(
            members::NEW_PATH,
            get(members::show_new).post(members::submit_new),
        )
        .route("/admin/contacts/{id}", get(members::show_member))
        .route(
            "/admin/contacts/{id}/reset-2fa",
            get(contacts::confirm_reset).post(contacts::submit_reset),
        )
        .route(
            "/admin/contacts/{id}/{action}",
            post(members::submit_switch),
        )
        .route("/admin/contacts/{id}/role", post(members::submit_role))
        .route(
            "/admin/contacts/{id}/devices/forget",
            post(members::submit_forget_device),
        )
        .route(
            "/admin/contacts/{id}/apps/revoke",
            post(members::submit_revoke_app),
        )
        .route(
            "/admin/contacts/{id}/password-link",
            post(members::submit_password_link),
        )
}
