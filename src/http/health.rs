//! `/healthz` (the process answers) and `/readyz` (the database answers, every
//! migration is applied, a signing key is loaded for each algorithm): cheap
//! enough for a load balancer to poll every second.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::app::AppState;
use crate::oidc::keys::Alg;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Response {
    ([(CACHE_CONTROL, "no-store")], "ok\n").into_response()
}

/// How long `/readyz` waits for the database before saying it is unreachable.
const DATABASE_WAIT: Duration = Duration::from_secs(1);

async fn readyz(State(app): State<AppState>) -> Response {
    let keys = Alg::ALL
        .iter()
        .all(|&alg| app.keys.active_kid(alg).is_some());
    let (database, migrations) =
        match tokio::time::timeout(DATABASE_WAIT, app.store.readiness()).await {
            Ok(Ok(readiness)) => (
                "ok",
                if readiness.migrations_applied >= readiness.migrations_known {
                    "applied"
                } else {
                    "pending"
                },
            ),
            Ok(Err(err)) => {
                tracing::warn!(%err, "readiness: the database does not answer");
                ("unreachable", "unknown")
            }
            Err(_) => ("unreachable", "unknown"),
        };
    let ready = keys && database == "ok" && migrations == "applied";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "database": database,
        "migrations": migrations,
        "keys": if keys { "loaded" } else { "missing" },
    });
    (status, [(CACHE_CONTROL, "no-store")], Json(body)).into_response()
}
