//! Metrics in Prometheus's text format: requests and their latency per
//! endpoint, audit events by kind (sign-ins, failures, locks...), tokens by
//! grant, back-channel deliveries by outcome and queue depth, and the
//! database pool. The recorder lives here; `http::metrics` serves it on
//! `metrics_listen` when that is set.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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
