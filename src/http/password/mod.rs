//! The password pages outside a session: `/password?token=` sets one from a
//! one-time link, `/password/forgot` mails a reset link.

pub mod forgot;
pub mod link;

use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new().merge(link::router()).merge(forgot::router())
}
