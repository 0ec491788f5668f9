//! Settings: defaults, then a TOML file, then `GATEHOUSE_<NAME>` environment
//! variables, then command-line flags (each overriding the one before).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::password::{self, HashCost};

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
    /// ES256 by default, a fraction of RS256's signing cost.
    pub access_token_alg: String,
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
    /// How recent a re-entered password must be to change factors.
    pub reauth_window_secs: i64,
    /// How long a sign-in may wait between its password and its second step.
    pub pending_login_lifetime_secs: i64,
    /// How often expired codes, sessions, tokens and counters are purged.
    pub purge_interval_secs: i64,
    /// Where `/metrics` (Prometheus) is served, apart from the provider; empty: nowhere.
    pub metrics_listen: String,
    /// PEM files of the certificate chain and its private key: with both,
    /// Gatehouse serves HTTPS itself (rustls).
    pub tls_cert: String,
    pub tls_key: String,
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
    /// `smtp://host:port` or `smtps://user:pass@host:port`; empty: the
    /// development outbox.
    pub smtp_url: String,
    /// The sender of email, as `Name <address>` or an address.
    pub mail_from: String,
    /// Where SMS messages are POSTed (JSON, signed with `sms_webhook_secret`);
    /// empty: the development outbox.
    pub sms_webhook_url: String,
    pub sms_webhook_secret: String,
    /// Where messages go when no mail server or SMS gateway is set.
    pub outbox_dir: PathBuf,
}

/// The proxies whose word on the client's address is believed, and the header
/// they write it in.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies {
    pub nets: Vec<ipnet::IpNet>,
    pub header: ForwardedHeader,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl Config {
    /// The trusted proxies and their header, parsed.
    pub fn proxies(&self) -> Result<TrustedProxies, ConfigError> {
        let header = match self.forwarded_header.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ForwardedHeader::XForwardedFor,
            "forwarded" => ForwardedHeader::Forwarded,
            other => {
                return Err(ConfigError::Invalid(format!(
                    "forwarded_header must be \"x-forwarded-for\" or \"forwarded\", not {other:?}"
                )))
            }
        };
        let nets = self
            .trusted_proxies
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        ConfigError::Invalid(format!(
                            "trusted_proxies: {p:?} is neither an IP address nor a CIDR range"
                        ))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { nets, header })
    }

    pub fn serves_tls(&self) -> bool {
        !self.tls_cert.is_empty()
    }
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
            access_token_alg: "ES256".into(),
            totp_issuer: "Gatehouse".into(),
            backup_code_count: 10,
            mfa_failure_limit: 5,
            mfa_lockout_secs: 900,
            password_failure_limit: 10,
            password_ip_failure_limit: 100,
            purge_interval_secs: 300,
            metrics_listen: String::new(),
            tls_cert: String::new(),
            tls_key: String::new(),
            trusted_proxies: String::new(),
            forwarded_header: "x-forwarded-for".into(),
            smtp_url: String::new(),
            mail_from: "Gatehouse <gatehouse@localhost>".into(),
            sms_webhook_url: String::new(),
            sms_webhook_secret: String::new(),
            outbox_dir: PathBuf::from("data/outbox"),
            key_rotation_days: 90,
            password_failure_window_secs: 900,
            reauth_window_secs: 300,
            pending_login_lifetime_secs: 600,
        }
    }
}

/// Settings whose environment values are numbers; every other setting is text.
const NUMERIC: &[&str] = &[
    "key_rotation_days",
    "purge_interval_secs",
    "password_hash_memory_kib",
    "password_hash_iterations",
    "password_hash_parallelism",
    "code_lifetime_secs",
    "id_token_lifetime_secs",
    "access_token_lifetime_secs",
    "refresh_token_lifetime_secs",
    "session_idle_secs",
    "session_lifetime_secs",
    "login_request_lifetime_secs",
    "backup_code_count",
    "mfa_failure_limit",
    "mfa_lockout_secs",
    "password_failure_limit",
    "password_ip_failure_limit",
    "password_failure_window_secs",
    "reauth_window_secs",
    "pending_login_lifetime_secs",
];
const TEXT: &[&str] = &[
    "listen",
    "issuer",
    "database_url",
    "keys_dir",
    "log",
    "log_format",
    "metrics_listen",
    "tls_cert",
    "tls_key",
    "trusted_proxies",
    "forwarded_header",
    "totp_issuer",
    "access_token_alg",
    "smtp_url",
    "mail_from",
    "sms_webhook_url",
    "sms_webhook_secret",
    "outbox_dir",
];

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
    /// Reads the file (if any), the environment and the flags, and checks the result.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Config::from_layers(file, &env, overrides)
    }

    fn from_layers(
        file: Option<&Path>,
        env: &[(String, String)],
        overrides: Overrides,
    ) -> Result<Config, ConfigError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        for (name, value) in env {
            let Some(key) = name.strip_prefix("GATEHOUSE_").map(str::to_ascii_lowercase) else {
                continue;
            };
            if NUMERIC.contains(&key.as_str()) {
                let number = value.trim().parse::<i64>().map_err(|_| {
                    ConfigError::Invalid(format!("{name} must be a whole number, not {value:?}"))
                })?;
                table.insert(key, toml::Value::Integer(number));
            } else if TEXT.contains(&key.as_str()) {
                table.insert(key, toml::Value::String(value.clone()));
            }
        }
        let flags = [
            ("listen", overrides.listen),
            ("issuer", overrides.issuer),
            ("database_url", overrides.database_url),
            (
                "keys_dir",
                overrides.keys_dir.map(|p| p.display().to_string()),
            ),
        ];
        for (key, value) in flags {
            if let Some(value) = value {
                table.insert(key.into(), toml::Value::String(value));
            }
        }
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| ConfigError::Invalid(format!("issuer {:?}: {e}", self.issuer)))?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.host_str().is_none()
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(ConfigError::Invalid(format!(
                "issuer {:?} must be an http(s) URL with a host and no query or fragment",
                self.issuer
            )));
        }
        password::validate_cost(self.hash_cost())
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let lifetimes = [
            ("code_lifetime_secs", self.code_lifetime_secs),
            ("id_token_lifetime_secs", self.id_token_lifetime_secs),
            (
                "access_token_lifetime_secs",
                self.access_token_lifetime_secs,
            ),
            (
                "refresh_token_lifetime_secs",
                self.refresh_token_lifetime_secs,
            ),
            ("session_idle_secs", self.session_idle_secs),
            ("session_lifetime_secs", self.session_lifetime_secs),
            (
                "login_request_lifetime_secs",
                self.login_request_lifetime_secs,
            ),
            ("purge_interval_secs", self.purge_interval_secs),
        ];
        if self.tls_cert.is_empty() != self.tls_key.is_empty() {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key go together: set both (PEM files) to serve HTTPS, or neither"
                    .into(),
            ));
        }
        for (name, path) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
            if !path.is_empty() && std::fs::File::open(path).is_err() {
                return Err(ConfigError::Invalid(format!(
                    "{name} {path:?} cannot be read: give the path of a PEM file"
                )));
            }
        }
        self.proxies()?;
        if self.key_rotation_days < 0 {
            return Err(ConfigError::Invalid(
                "key_rotation_days must be 0 (no schedule) or a number of days".into(),
            ));
        }
        if self.is_https() && self.tls_cert.is_empty() && self.trusted_proxies.is_empty() {
            return Err(ConfigError::Invalid(format!(
                "the issuer {:?} is https but Gatehouse would serve plain HTTP: set tls_cert and \
                 tls_key, or trusted_proxies when a proxy in front terminates TLS",
                self.issuer
            )));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!(
                "log_format must be \"text\" or \"json\", not {:?}",
                self.log_format
            )));
        }
        for (name, secs) in lifetimes {
            if secs <= 0 {
                return Err(ConfigError::Invalid(format!("{name} must be positive")));
            }
        }
        if !(1..=10).contains(&self.mfa_failure_limit) {
            return Err(ConfigError::Invalid(
                "mfa_failure_limit must be between 1 and 10".into(),
            ));
        }
        if self.password_failure_limit < 1 || self.password_ip_failure_limit < 1 {
            return Err(ConfigError::Invalid(
                "password failure limits must be positive".into(),
            ));
        }
        if !(4..=50).contains(&self.backup_code_count) {
            return Err(ConfigError::Invalid(
                "backup_code_count must be between 4 and 50".into(),
            ));
        }
        if crate::oidc::keys::Alg::parse(&self.access_token_alg).is_none() {
            return Err(ConfigError::Invalid(
                "access_token_alg must be RS256, ES256 or EdDSA".into(),
            ));
        }
        if self.totp_issuer.trim().is_empty() {
            return Err(ConfigError::Invalid("totp_issuer must not be empty".into()));
        }
        if !self.smtp_url.is_empty() {
            let url = url::Url::parse(&self.smtp_url).ok();
            let Some(url) =
                url.filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some())
            else {
                return Err(ConfigError::Invalid(
                    "smtp_url must look like smtp://host:port or smtps://user:pass@host:port"
                        .into(),
                ));
            };
            let tls_required = url.query().is_some_and(|q| q.contains("tls=required"));
            if url.scheme() == "smtp" && url.password().is_some() && !tls_required {
                return Err(ConfigError::Invalid(
                    "smtp_url would send its password (and the codes) unencrypted: use smtps://, \
                     or add ?tls=required for STARTTLS"
                        .into(),
                ));
            }
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "mail_from {:?} is not an address (like Gatehouse <id@example.com>)",
                self.mail_from
            )));
        }
        if !self.sms_webhook_url.is_empty() {
            let url = url::Url::parse(&self.sms_webhook_url).ok();
            if !url.is_some_and(|u| matches!(u.scheme(), "http" | "https")) {
                return Err(ConfigError::Invalid(
                    "sms_webhook_url must be an http(s) URL".into(),
                ));
            }
            if self.sms_webhook_secret.len() < 16 {
                return Err(ConfigError::Invalid(
                    "sms_webhook_secret must be set (at least 16 characters) with sms_webhook_url"
                        .into(),
                ));
            }
        }
        if self.code_lifetime_secs > 600 {
            return Err(ConfigError::Invalid(
                "code_lifetime_secs must be at most 600".into(),
            ));
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_file() {
        let config = Config::from_layers(None, &[], Overrides::default()).unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080");
        assert_eq!(config.issuer(), "http://localhost:8080");
        assert_eq!(config.database_url, "sqlite://data/gatehouse.db");
        assert_eq!(config.keys_dir, PathBuf::from("keys"));
        assert_eq!(config.hash_cost(), HashCost::default());
    }

    #[test]
    fn flags_beat_environment_which_beats_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gatehouse.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1000\"\nissuer = \"https://file.example\"\nsession_idle_secs = 60\n",
        )
        .unwrap();
        let env = env(&[
            ("GATEHOUSE_ISSUER", "https://env.example"),
            ("GATEHOUSE_LISTEN", "127.0.0.1:2000"),
            ("GATEHOUSE_SESSION_LIFETIME_SECS", "7200"),
            ("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.1"),
        ]);
        let flags = Overrides {
            listen: Some("127.0.0.1:3000".into()),
            ..Overrides::default()
        };
        let config = Config::from_layers(Some(&file), &env, flags).unwrap();
        assert_eq!(config.listen, "127.0.0.1:3000");
        assert_eq!(config.issuer(), "https://env.example");
        assert_eq!(config.session_idle_secs, 60);
        assert_eq!(config.session_lifetime_secs, 7200);
        assert!(config.is_https());
    }

    #[test]
    fn mail_and_sms_settings_are_checked() {
        let check = |pairs: &[(&str, &str)]| {
            Config::from_layers(None, &env(pairs), Overrides::default()).map(|_| ())
        };
        assert!(check(&[("GATEHOUSE_SMTP_URL", "smtp://127.0.0.1:2525")]).is_ok());
        assert!(check(&[("GATEHOUSE_SMTP_URL", "smtps://u:p@mail.example:465")]).is_ok());
        assert!(check(&[(
            "GATEHOUSE_SMTP_URL",
            "smtp://u:p@mail.example:587?tls=required"
        )])
        .is_ok());
        let plain = check(&[("GATEHOUSE_SMTP_URL", "smtp://u:p@mail.example:25")]).unwrap_err();
        assert!(plain.to_string().contains("unencrypted"), "{plain}");
        assert!(check(&[("GATEHOUSE_SMTP_URL", "http://mail.example")]).is_err());
        assert!(check(&[("GATEHOUSE_MAIL_FROM", "not an address")]).is_err());
        let unsigned =
            check(&[("GATEHOUSE_SMS_WEBHOOK_URL", "https://sms.example/send")]).unwrap_err();
        assert!(
            unsigned.to_string().contains("sms_webhook_secret"),
            "{unsigned}"
        );
        assert!(check(&[
            ("GATEHOUSE_SMS_WEBHOOK_URL", "https://sms.example/send"),
            ("GATEHOUSE_SMS_WEBHOOK_SECRET", "0123456789abcdef"),
        ])
        .is_ok());
    }

    #[test]
    fn https_needs_tls_or_a_proxy_and_tls_needs_both_files() {
        let https = env(&[("GATEHOUSE_ISSUER", "https://id.example")]);
        let plain = Config::from_layers(None, &https, Overrides::default()).unwrap_err();
        assert!(
            plain
                .to_string()
                .contains("set tls_cert and tls_key, or trusted_proxies"),
            "{plain}"
        );
        let half = Config::from_layers(
            None,
            &env(&[("GATEHOUSE_TLS_CERT", "/etc/hostname")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            half.to_string()
                .contains("tls_cert and tls_key go together"),
            "{half}"
        );
        let missing = Config::from_layers(
            None,
            &env(&[
                ("GATEHOUSE_TLS_CERT", "/nonexistent/cert.pem"),
                ("GATEHOUSE_TLS_KEY", "/nonexistent/key.pem"),
            ]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("tls_cert \"/nonexistent/cert.pem\" cannot be read"),
            "{missing}"
        );
        let proxies = Config::from_layers(
            None,
            &env(&[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, nonsense")]),
            Overrides::default(),
        )
        .unwrap_err();
        assert!(
            proxies.to_string().contains("\"nonsense\" is neither"),
            "{proxies}"
        );
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let bad_number = Config::from_layers(
            None,
            &env(&[("GATEHOUSE_SESSION_IDLE_SECS", "soon")]),
            Overrides::default(),
        );
        assert!(bad_number
            .unwrap_err()
            .to_string()
            .contains("GATEHOUSE_SESSION_IDLE_SECS"));
        let bad_issuer = Config::from_layers(
            None,
            &[],
            Overrides {
                issuer: Some("ftp://x".into()),
                ..Overrides::default()
            },
        );
        assert!(bad_issuer.unwrap_err().to_string().contains("issuer"));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "colour = \"blue\"\n").unwrap();
        let unknown = Config::from_layers(Some(&file), &[], Overrides::default());
        assert!(unknown.unwrap_err().to_string().contains("colour"));
    }
}
