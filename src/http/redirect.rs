//! `303 See Other`: where every form and sign-in step sends the browser
//! next, never cached.

use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::PageError;

/// A redirect to `location`; an address that cannot be a header is a 400.
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (
            StatusCode::SEE_OTHER,
            [
                (LOCATION, location),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => {
            PageError::BadRequest("The redirect address is not valid.".into()).into_response()
        }
    }
}
