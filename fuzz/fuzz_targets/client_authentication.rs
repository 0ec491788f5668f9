//! Client authentication: any `Authorization` header with any form fields.
#![no_main]

use axum::http::{header::AUTHORIZATION, HeaderMap, HeaderValue};
use gatehouse::http::oidc::client_auth::presented_credentials;
use gatehouse::oidc::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The header up to the first newline, the form body after it.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(&data[..split]) {
        headers.insert(AUTHORIZATION, value);
    }
    let params = Params::parse(data.get(split + 1..).unwrap_or_default());
    let _ = presented_credentials(&headers, &params);
});
