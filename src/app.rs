//! `AppState`: what every request and background task shares (settings,
//! the store, keys, the vault, templates, the clock). Imports only the
//! layer below (`store`, `auth`, `oidc`, `config`, `clock`, `templates`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::hash_pool::{HashPool, HashingStopped};
use crate::auth::vault::Vault;
use crate::auth::{password, secret};
use crate::clock::Clock;
use crate::config::Config;
use crate::oidc::client_assertion::ClientKeys;
use crate::oidc::keys::SigningKeys;
use crate::store::Store;
use crate::templates::Templates;

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
    pub client_keys: Arc<ClientKeyCache>,
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
        let discovery = bytes::Bytes::from(crate::oidc::endpoints::discovery_document(
            config.issuer(),
            config.require_pushed_authorization_requests,
        ));
        let trusted_proxies = Arc::new(config.proxies()?);
        if config.is_https() && (config.smtp_url.is_none() || config.sms_webhook_url.is_none()) {
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
            client_keys: Arc::new(ClientKeyCache::default()),
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

/// Key sets fetched from clients' `jwks_uri`, by URI: the keys last
/// fetched, if any, and when a fetch was last begun, failed or not.
#[derive(Default)]
pub struct ClientKeyCache {
    fetched: Mutex<HashMap<String, FetchedKeys>>,
}

#[derive(Clone, Default)]
pub struct FetchedKeys {
    pub keys: Option<Arc<ClientKeys>>,
    pub attempted_at: i64,
}

impl ClientKeyCache {
    pub fn get(&self, uri: &str) -> Option<FetchedKeys> {
        let fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        fetched.get(uri).cloned()
    }

    /// Whether this caller may fetch `uri` now: no fetch of it was begun in
    /// the last `every` seconds. The attempt is recorded at once, so that
    /// callers at the same moment do not fetch it too.
    pub fn claim_fetch(&self, uri: &str, now: i64, every: i64) -> bool {
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        let entry = fetched.entry(uri.to_string()).or_default();
        if entry.attempted_at > 0 && entry.attempted_at + every > now {
            return false;
        }
        entry.attempted_at = now;
        true
    }

    pub fn put(&self, uri: &str, keys: Arc<ClientKeys>) {
        let mut fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
        fetched.entry(uri.to_string()).or_default().keys = Some(keys);
    }
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
