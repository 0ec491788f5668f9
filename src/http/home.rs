//! The provider's own front page: who is signed in here.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::render::Page;

#[derive(Serialize)]
struct HomePage {
    username: Option<String>,
}

impl Page for HomePage {
    const TEMPLATE: &'static str = "home.html";
}

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(show_home))
}

async fn show_home(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let username = match cookies::current_session(&app, &headers).await? {
        Some(session) => app
            .store
            .user_by_id(&session.user_id)
            .await?
            .map(|u| u.username),
        None => None,
    };
    HomePage { username }.render(&app)
}
