//! One log line per request, under a request id that the response carries in
//! `X-Request-Id` and that every line logged while serving it names. Only the
//! path is logged, never the query (codes, tokens and hints travel there).

use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderName, HeaderValue, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::app::AppState;
use crate::auth::secret;
use crate::http::client_ip;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request id from a proxy in front, if it is a plain token; else a new one.
fn request_id(incoming: Option<&HeaderValue>) -> String {
    incoming
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (8..=64).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
        .unwrap_or_else(secret::random_id)
}

pub async fn log_requests(
    State(app): State<AppState>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let id = request_id(request.headers().get(&REQUEST_ID));
    // The route's pattern, not the path: ids in paths must not multiply the series.
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let (parts, body) = request.into_parts();
    let ip = client_ip::of_parts(&parts, &app.trusted_proxies);
    let request = Request::from_parts(parts, body);
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let micros = elapsed.as_micros() as u64;
    metrics::counter!(
        "gatehouse_http_requests_total",
        "endpoint" => endpoint.clone(),
        "method" => method.to_string(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(crate::telemetry::REQUEST_SECONDS, "endpoint" => endpoint)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            target: "gatehouse::request",
            %method,
            %path,
            status,
            micros,
            %ip,
            "request"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxys_request_id_is_kept_when_plain() {
        let plain = HeaderValue::from_static("abc-123_DEF-456");
        assert_eq!(request_id(Some(&plain)), "abc-123_DEF-456");
        for odd in ["short", "has space inside it", "new\\nline-injection"] {
            let value = HeaderValue::from_str(odd).unwrap();
            assert_ne!(request_id(Some(&value)), odd);
        }
        assert_eq!(request_id(None).len(), secret::random_id().len());
    }
}
