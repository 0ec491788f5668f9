//! Settings: defaults, then a TOML file, then `GATEHOUSE_<NAME>` environment
//! variables, then command-line flags (each overriding the one before).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use crate::auth::password::HashCost;
use crate::oidc::keys::Alg;

mod load;
mod proxies;
mod secret;

pub use proxies::{ForwardedHeader, TrustedProxies};
pub use secret::Secret;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    pub issuer: String,
    pub database_url: String,
    pub keys_dir: PathBuf,
    pub password_hash_memory_kib: u32,
    pub password_hash_iterations: u32,
    pub password_hash_parallelism: u32,
    pub code_lifetime_secs: i64,
    pub id_token_lifetime_secs: i64,
    pub access_token_lifetime_secs: i64,
    pub refresh_token_lifetime_secs: i64,
    pub session_idle_secs: i64,
    pub session_lifetime_secs: i64,
    pub login_request_lifetime_secs: i64,
    pub log: String,
    /// `text` (for people) or `json` (one object per line, for log collectors).
    pub log_format: String,
    /// The algorithm of access tokens (ID tokens use each client's):
    /// ES256 by default, a fraction of RS256's signing cost. Parsed once, at load.
    #[serde(deserialize_with = "algorithm")]
    pub access_token_alg: Alg,
    /// The name authenticator apps show next to the account.
    pub totp_issuer: String,
    pub backup_code_count: usize,
    /// Consecutive second-factor failures that lock the second step.
    pub mfa_failure_limit: i64,
    pub mfa_lockout_secs: i64,
    /// Wrong passwords per user, and per client IP, within the window before
    /// further attempts are refused until it ends.
    pub password_failure_limit: i64,
    pub password_ip_failure_limit: i64,
    pub password_failure_window_secs: i64,
    /// The fewest characters a new password may have (8 to 64; NIST SP
    /// 800-63B-4 asks for 15 where the password is the only factor).
    pub min_password_length: usize,
    /// How recent a re-entered password must be to change factors.
    pub reauth_window_secs: i64,
    /// How long a sign-in may wait between its password and its second step.
    pub pending_login_lifetime_secs: i64,
    /// How often expired codes, sessions, tokens and counters are purged.
    pub purge_interval_secs: i64,
    /// Where `/metrics` (Prometheus) is served, apart from the provider;
    /// absent (or empty): nowhere.
    #[serde(deserialize_with = "present")]
    pub metrics_listen: Option<String>,
    /// PEM files of the certificate chain and its private key: with both,
    /// Gatehouse serves HTTPS itself (rustls).
    #[serde(deserialize_with = "present")]
    pub tls_cert: Option<String>,
    #[serde(deserialize_with = "present")]
    pub tls_key: Option<String>,
    /// Signing keys older than this many days are replaced (0: only by `keys rotate`).
    pub key_rotation_days: i64,
    /// Proxies (addresses or CIDR ranges, comma-separated) whose
    /// `forwarded_header` names the client.
    pub trusted_proxies: String,
    /// The one header the trusted proxies append the client's address to:
    /// `x-forwarded-for` (nginx, Caddy, Traefik, HAProxy's `forwardfor`, AWS
    /// load balancers) or `forwarded` (RFC 7239; HAProxy's `forwarded`,
    /// Envoy when so configured). The other is ignored, so a client cannot
    /// send it to choose its own address.
    pub forwarded_header: String,
    /// `smtp://host:port` or `smtps://user:pass@host:port`; absent (or
    /// empty): the development outbox.
    #[serde(deserialize_with = "present")]
    pub smtp_url: Option<Secret>,
    /// The sender of email, as `Name <address>` or an address.
    pub mail_from: String,
    /// Where SMS messages are POSTed (JSON, signed with `sms_webhook_secret`);
    /// absent (or empty): the development outbox.
    #[serde(deserialize_with = "present")]
    pub sms_webhook_url: Option<String>,
    pub sms_webhook_secret: Secret,
    /// Where messages go when no mail server or SMS gateway is set.
    pub outbox_dir: PathBuf,
    /// Every client must push its authorization requests (RFC 9126 §6),
    /// as those registered with `require_par` must.
    pub require_pushed_authorization_requests: bool,
    /// DPoP proofs must carry a nonce from the provider (RFC 9449 §8).
    pub dpop_require_nonce: bool,
}

impl Default for Config {
    fn default() -> Self {
        let cost = HashCost::default();
        Config {
            listen: "127.0.0.1:8080".into(),
            issuer: "http://localhost:8080".into(),
            database_url: "sqlite://data/gatehouse.db".into(),
            keys_dir: PathBuf::from("keys"),
            password_hash_memory_kib: cost.memory_kib,
            password_hash_iterations: cost.iterations,
            password_hash_parallelism: cost.parallelism,
            code_lifetime_secs: 60,
            id_token_lifetime_secs: 3600,
            access_token_lifetime_secs: 3600,
            refresh_token_lifetime_secs: 30 * 24 * 3600,
            // NIST SP 800-63B AAL2: re-authenticate after 1 hour idle, 24 hours in all.
            session_idle_secs: 3600,
            session_lifetime_secs: 24 * 3600,
            login_request_lifetime_secs: 1800,
            log: "info".into(),
            log_format: "text".into(),
            access_token_alg: Alg::ES256,
            totp_issuer: "Gatehouse".into(),
            backup_code_count: 10,
            mfa_failure_limit: 5,
            mfa_lockout_secs: 900,
            password_failure_limit: 10,
            password_ip_failure_limit: 100,
            purge_interval_secs: 300,
            metrics_listen: None,
            tls_cert: None,
            tls_key: None,
            trusted_proxies: String::new(),
            forwarded_header: "x-forwarded-for".into(),
            smtp_url: None,
            mail_from: "Gatehouse <gatehouse@localhost>".into(),
            sms_webhook_url: None,
            sms_webhook_secret: Secret::default(),
            outbox_dir: PathBuf::from("data/outbox"),
            require_pushed_authorization_requests: false,
            dpop_require_nonce: false,
            key_rotation_days: 90,
            password_failure_window_secs: 900,
            reauth_window_secs: 300,
            min_password_length: 8,
            pending_login_lifetime_secs: 600,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config: {0}")]
    Invalid(String),
}

/// Values given on the command line; `None` leaves the layer below in force.
#[derive(Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub issuer: Option<String>,
    pub database_url: Option<String>,
    pub keys_dir: Option<PathBuf>,
}

impl Config {
    pub fn serves_tls(&self) -> bool {
        self.tls_cert.is_some()
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError::Invalid(format!("listen {:?} is not an address:port", self.listen))
        })
    }

    /// The issuer without a trailing slash, as it appears in tokens.
    pub fn issuer(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    pub fn hash_cost(&self) -> HashCost {
        HashCost {
            memory_kib: self.password_hash_memory_kib,
            iterations: self.password_hash_iterations,
            parallelism: self.password_hash_parallelism,
        }
    }

    /// How long a retired signing key stays published: the longest life of a token it signed.
    pub fn key_retirement_secs(&self) -> i64 {
        self.id_token_lifetime_secs
            .max(self.access_token_lifetime_secs)
    }
}

/// An optional text setting: empty (or only spaces) is absent, as an unset
/// environment variable is.
fn present<'de, D: Deserializer<'de>, T: From<String>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok((!text.trim().is_empty()).then(|| T::from(text)))
}

/// An algorithm setting by its JOSE name: RS256, ES256 or EdDSA.
fn algorithm<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Alg, D::Error> {
    let name = String::deserialize(deserializer)?;
    Alg::parse(&name).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "access_token_alg must be RS256, ES256 or EdDSA, not {name:?}"
        ))
    })
}
