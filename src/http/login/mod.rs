//! The sign-in pages.

pub mod password;

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        password::PATH,
        get(password::show_login).post(password::submit_login),
    )
}
