//! Metrics in Prometheus's text format: requests and their latency per
//! endpoint, audit events by kind (sign-ins, failures, locks...), tokens by
//! grant, back-channel deliveries by outcome and queue depth, and the
//! database pool. Served on `metrics_listen` when that is set.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::AppState;

pub const REQUEST_SECONDS: &str = "gatehouse_http_request_duration_seconds";

/// The process's recorder, installed the first time it is asked for.
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), &buckets)
                .and_then(|builder| builder.install_recorder())
                .map_err(|err| tracing::warn!(%err, "metrics are off: no recorder"))
                .ok()
        })
        .as_ref()
}

/// The `/metrics` endpoint, for its own listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(app): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "no recorder\n").into_response();
    };
    let pool = app.store.pool_use();
    metrics::gauge!("gatehouse_db_pool_connections", "state" => "idle").set(pool.idle as f64);
    metrics::gauge!("gatehouse_db_pool_connections", "state" => "in_use").set(pool.in_use as f64);
    match app.store.pending_logout_deliveries().await {
        Ok(pending) => metrics::gauge!("gatehouse_logout_deliveries_pending").set(pending as f64),
        Err(err) => tracing::warn!(%err, "metrics: the delivery queue could not be counted"),
    }
    handle.run_upkeep();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}
