//! Pages as responses: the typed `Page` contexts rendered with the
//! built-in `templates`, and the error pages.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Request};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;

use super::error::{ErrorPage, PageError};
use crate::app::AppState;

/// A time as people read it on a page: `2026-11-25 14:03 UTC`.
pub fn when(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => "an unknown time".into(),
    }
}

/// A page with its typed context.
pub trait Page: Serialize {
    const TEMPLATE: &'static str;

    fn render(&self, app: &AppState) -> Result<Response, PageError> {
        let html = app.templates.render(Self::TEMPLATE, self)?;
        let mut response = Html(html).into_response();
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(response)
    }
}

#[derive(Serialize)]
struct ErrorContext<'a> {
    title: &'a str,
    message: &'a str,
}

/// Turns responses that carry an `ErrorPage` into the rendered error page.
pub async fn error_pages(
    State(app): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let context = ErrorContext {
        title: page.title,
        message: &page.message,
    };
    match app.templates.render("oidc/error.html", context) {
        Ok(html) => {
            let (mut parts, _) = response.into_parts();
            parts.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            parts
                .headers
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(html))
        }
        Err(_) => response,
    }
}
