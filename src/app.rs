//! `AppState` and the router: the only place where `main` and the tests build the app.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;

use crate::auth::hash_pool::{HashPool, HashingStopped};
use crate::auth::vault::Vault;
use crate::auth::{password, secret};
use crate::clock::Clock;
use crate::config::Config;
use crate::http;
use crate::http::render::Templates;
use crate::oidc::keys::SigningKeys;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: Arc<SigningKeys>,
    /// Seals TOTP secrets and tags backup codes.
    pub vault: Arc<Vault>,
    pub templates: Arc<Templates>,
    pub clock: Clock,
    /// Verified against when a username is unknown (see `auth::password::dummy_hash`).
    pub dummy_hash: Arc<str>,
    pub client_secrets: Arc<ClientSecretCache>,
    pub discovery: bytes::Bytes,
    /// Wakes the back-channel logout sender when a delivery is queued.
    pub deliveries: Arc<tokio::sync::Notify>,
    /// Wakes the email and SMS sender when a message is queued.
    pub messages: Arc<tokio::sync::Notify>,
    /// Outgoing HTTP (back-channel logout, the SMS webhook).
    pub http: Arc<OutboundHttp>,
    /// The proxies whose forwarding headers name the client.
    pub trusted_proxies: Arc<crate::config::TrustedProxies>,
    /// At most one argon2id hash per core at a time: each takes 19 MiB.
    pub hashing: Arc<HashPool>,
    /// The WebAuthn relying party, or why security keys are unavailable
    /// (an issuer on an IP address).
    pub webauthn: Arc<Result<webauthn_rs::Webauthn, crate::auth::webauthn::Unavailable>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Keys(#[from] crate::oidc::keys::KeyError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Vault(#[from] crate::auth::vault::VaultError),
    #[error("templates: {0}")]
    Templates(#[from] minijinja::Error),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot start the password hashing threads: {0}")]
    Threads(#[from] std::io::Error),
}

/// Outgoing HTTP: no redirects, short timeouts. Built on first use: loading
/// the system's root certificates takes tens of milliseconds that the start
/// need not wait for.
#[derive(Default)]
pub struct OutboundHttp(std::sync::OnceLock<Result<reqwest::Client, String>>);

impl OutboundHttp {
    pub fn client(&self) -> Result<&reqwest::Client, String> {
        self.0
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .map_err(|e| format!("outgoing HTTP is unavailable: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl AppState {
    pub fn new(config: Config, store: Store, clock: Clock) -> Result<AppState, StartError> {
        let now = clock.now();
        let keys = SigningKeys::open(&config.keys_dir, now, config.key_retirement_secs())?;
        let vault = Vault::open(&config.keys_dir)?;
        let dummy_hash = password::dummy_hash(config.hash_cost())?;
        let discovery = bytes::Bytes::from(http::oidc::discovery::document(config.issuer()));
        let trusted_proxies = Arc::new(config.proxies()?);
        if config.is_https() && (config.smtp_url.is_empty() || config.sms_webhook_url.is_empty()) {
            tracing::warn!(
                outbox = %config.outbox_dir.display(),
                "no smtp_url or sms_webhook_url: codes for users are written to the development outbox"
            );
        }
        let webauthn = crate::auth::webauthn::relying_party_for(config.issuer());
        if let Err(reason) = &webauthn {
            tracing::warn!(%reason, "security keys and passkeys are unavailable");
        }
        Ok(AppState {
            webauthn: Arc::new(webauthn),
            trusted_proxies,
            config: Arc::new(config),
            store,
            keys: Arc::new(keys),
            vault: Arc::new(vault),
            templates: Arc::new(Templates::load()?),
            clock,
            dummy_hash: dummy_hash.into(),
            client_secrets: Arc::new(ClientSecretCache::default()),
            discovery,
            deliveries: Arc::new(tokio::sync::Notify::new()),
            messages: Arc::new(tokio::sync::Notify::new()),
            hashing: Arc::new(HashPool::start(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1),
            )?),
            http: Arc::new(OutboundHttp::default()),
        })
    }
}

impl AppState {
    /// Runs a password hash or check off the async runtime, at most one per core.
    pub async fn hash_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashingStopped> {
        self.hashing.run(work).await
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    http::router(state)
}

/// Client secrets already checked with argon2 in this process, so that each
/// token request does not pay for a password hash. An entry holds the stored
/// hash it was checked against (a rotated secret invalidates it) and the
/// SHA-256 of the secret, compared in constant time.
#[derive(Default)]
pub struct ClientSecretCache {
    verified: Mutex<HashMap<String, (String, [u8; 32])>>,
}

impl ClientSecretCache {
    pub fn is_known_good(&self, client_id: &str, stored_hash: &str, presented: &str) -> bool {
        let digest = sha256(presented);
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        match verified.get(client_id) {
            Some((hash, good)) if hash == stored_hash => secret::constant_time_eq(good, &digest),
            _ => false,
        }
    }

    pub fn remember(&self, client_id: &str, stored_hash: &str, presented: &str) {
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified.insert(
            client_id.to_string(),
            (stored_hash.to_string(), sha256(presented)),
        );
    }
}

fn sha256(text: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

/// Serves the app on `listener` until `shutdown` completes, re-reading the
/// keys directory every 30 seconds so that rotations reach a running server.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sender = tokio::spawn(crate::backchannel::run(state.clone()));
    let housekeeping = tokio::spawn(crate::housekeeping::run(state.clone()));
    let messages = tokio::spawn(crate::delivery::run(state.clone()));
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
    let metrics = if state.config.metrics_listen.is_empty() {
        None
    } else {
        crate::telemetry::handle();
        let listener = tokio::net::TcpListener::bind(&state.config.metrics_listen).await?;
        let router = crate::telemetry::router(state.clone());
        Some(tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(%err, "the metrics listener stopped");
            }
        }))
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
    axum_server::tls_rustls::RustlsConfig::from_pem_file(&config.tls_cert, &config.tls_key)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "tls_cert {:?} and tls_key {:?} are not a usable PEM certificate and key: {e}",
                    config.tls_cert, config.tls_key
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_cache_only_vouches_for_the_same_secret_and_hash() {
        let cache = ClientSecretCache::default();
        assert!(!cache.is_known_good("c", "h1", "s"));
        cache.remember("c", "h1", "s");
        assert!(cache.is_known_good("c", "h1", "s"));
        assert!(!cache.is_known_good("c", "h1", "t"));
        assert!(!cache.is_known_good("c", "h2", "s"));
        assert!(!cache.is_known_good("d", "h1", "s"));
    }
}
