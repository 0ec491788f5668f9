//! `gatehouse serve`: run the provider.

use clap::Args;

use super::common::{open_store, CliError};
use crate::app::AppState;
use crate::clock::Clock;
use crate::config::Config;
use crate::server;
use crate::service::setup::setup_link;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Public URL of the provider, as it appears in tokens (default http://localhost:8080).
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
}

pub async fn run(config: Config) -> Result<(), CliError> {
    let store = open_store(&config).await?;
    let addr = config.listen_addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {addr}: {e}")))?;
    let state = AppState::new(config, store.clone(), Clock::system())?;
    if let Some(link) = setup_link(&state).await? {
        // Printed, not logged: the link is a one-time secret for the person starting the server.
        println!("No administrator exists yet. Create one at:\n  {link}");
    }
    let scheme = if state.config.serves_tls() {
        "https"
    } else {
        "http"
    };
    println!(
        "Gatehouse listening on {scheme}://{addr} (issuer {})",
        state.config.issuer()
    );
    server::serve(listener, state, shutdown_signal()).await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
