//! The `Cookie` header: any bytes, read for the session cookie.
#![no_main]

use axum::http::{header::COOKIE, HeaderMap, HeaderValue};
use gatehouse::http::cookies::read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(line) {
            headers.append(COOKIE, value);
        }
    }
    for name in [
        "gatehouse_session",
        "__Host-gatehouse_session",
        "gatehouse_csrf",
    ] {
        let _ = read(&headers, name);
    }
});
