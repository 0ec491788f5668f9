//! `/metrics` on its own listener (`metrics_listen`): the recorder of
//! `telemetry` rendered in Prometheus's text format, with the pool and the
//! delivery queue read at each scrape.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::app::AppState;
use crate::telemetry::handle;

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
