//! The few static files pages use, built into the binary.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/print.js", get(print_js))
        .route("/assets/webauthn.js", get(webauthn_js))
        .route("/assets/form_post.js", get(form_post_js))
}

fn script(text: &'static str) -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        text,
    )
}

async fn print_js() -> impl IntoResponse {
    script(include_str!("../../assets/print.js"))
}

async fn webauthn_js() -> impl IntoResponse {
    script(include_str!("../../assets/webauthn.js"))
}

async fn form_post_js() -> impl IntoResponse {
    script(include_str!("../../assets/form_post.js"))
}
