//! The server: the HTTP surface (`http::router`), the background tasks
//! (back-channel logout, email and SMS, housekeeping, key reloads), the
//! metrics listener and TLS. The top of the house with `cli`: it may use
//! every layer, and nothing but `cli`, `demo` and the tests use it.

use axum::Router;

use crate::app::AppState;
use crate::http;
use crate::service::{backchannel, delivery, housekeeping};

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    http::router(state)
}

/// Serves the app on `listener` until `shutdown` completes, re-reading the
/// keys directory every 30 seconds so that rotations reach a running server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sender = tokio::spawn(backchannel::run(state.clone()));
    let housekeeping = tokio::spawn(housekeeping::run(state.clone()));
    let messages = tokio::spawn(delivery::run(state.clone()));
    let keys = state.keys.clone();
    let clock = state.clock.clone();
    let (keys_dir, rotation_days) = (
        state.config.keys_dir.clone(),
        state.config.key_rotation_days,
    );
    let reload = tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
        tick.tick().await;
        loop {
            tick.tick().await;
            if rotation_days > 0 {
                match crate::oidc::keys::rotate_if_older(
                    &keys_dir,
                    clock.now(),
                    rotation_days * 86_400,
                ) {
                    Ok(made) if !made.is_empty() => {
                        tracing::info!(keys = made.len(), "signing keys rotated on schedule");
                    }
                    Ok(_) => {}
                    Err(err) => tracing::error!(%err, "rotating signing keys failed"),
                }
            }
            if let Err(err) = keys.reload(clock.now()) {
                tracing::error!(%err, "reloading signing keys failed; keeping the loaded ones");
            }
        }
    });
    let metrics = if let Some(address) = &state.config.metrics_listen {
        crate::telemetry::handle();
        let listener = tokio::net::TcpListener::bind(address).await?;
        let router = http::metrics::router(state.clone());
        Some(tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(%err, "the metrics listener stopped");
            }
        }))
    } else {
        None
    };
    let tls = if state.config.serves_tls() {
        Some(tls_config(&state.config).await?)
    } else {
        None
    };
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = match tls {
        Some(tls) => {
            // Stop accepting at the signal; requests in flight get time to finish.
            let handle = axum_server::Handle::new();
            let stopping = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopping.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
            });
            axum_server::from_tcp_rustls(listener.into_std()?, tls)?
                .handle(handle)
                .serve(app)
                .await
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
        }
    };
    reload.abort();
    sender.abort();
    messages.abort();
    housekeeping.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    served
}

/// The certificate and key of `tls_cert` and `tls_key`, for rustls (with ring).
async fn tls_config(
    config: &crate::config::Config,
) -> std::io::Result<axum_server::tls_rustls::RustlsConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Err(std::io::Error::other(
            "tls_cert and tls_key are not both set",
        ));
    };
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "tls_cert {cert:?} and tls_key {key:?} are not a usable PEM certificate and key: {e}"
                ),
            )
        })
}
