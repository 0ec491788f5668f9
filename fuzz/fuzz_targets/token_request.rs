//! The token request's body, under each content type a client may send.
#![no_main]

use axum::http::{header::CONTENT_TYPE, HeaderMap, HeaderValue};
use gatehouse::http::oidc::client_auth::{form_params, param};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    let content_type = match data.first().map(|b| b % 3) {
        Some(0) => "application/x-www-form-urlencoded",
        Some(1) => "application/x-www-form-urlencoded; charset=UTF-8",
        _ => "application/json",
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(params) = form_params(&headers, data.get(1..).unwrap_or_default()) {
        for name in [
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "refresh_token",
            "scope",
            "client_id",
        ] {
            let _ = param(&params, name);
        }
    }
});
