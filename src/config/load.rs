//! Where settings come from: the defaults, then a TOML file, then
//! `GATEHOUSE_<NAME>` environment variables, then command-line flags; and
//! the checks the result must pass.

use std::path::Path;

use super::{Config, ConfigError, Overrides};
use crate::auth::{password, password_rules};

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
    "min_password_length",
    "pending_login_lifetime_secs",
];
/// Settings whose environment values are `true` or `false`.
const FLAGS: &[&str] = &[
    "require_pushed_authorization_requests",
    "dpop_require_nonce",
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
            } else if FLAGS.contains(&key.as_str()) {
                let flag = value.trim().parse::<bool>().map_err(|_| {
                    ConfigError::Invalid(format!("{name} must be true or false, not {value:?}"))
                })?;
                table.insert(key, toml::Value::Boolean(flag));
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
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert and tls_key go together: set both (PEM files) to serve HTTPS, or neither"
                    .into(),
            ));
        }
        for (name, path) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
            let Some(path) = path else { continue };
            if std::fs::File::open(path).is_err() {
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
        if self.is_https() && !self.serves_tls() && self.trusted_proxies.is_empty() {
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
        if !(password_rules::MIN_LEN_FLOOR..=64).contains(&self.min_password_length) {
            return Err(ConfigError::Invalid(
                "min_password_length must be between 8 and 64".into(),
            ));
        }
        if !(4..=50).contains(&self.backup_code_count) {
            return Err(ConfigError::Invalid(
                "backup_code_count must be between 4 and 50".into(),
            ));
        }
        if self.totp_issuer.trim().is_empty() {
            return Err(ConfigError::Invalid("totp_issuer must not be empty".into()));
        }
        if let Some(smtp_url) = &self.smtp_url {
            let url = url::Url::parse(smtp_url.expose()).ok();
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
        if let Some(sms_webhook_url) = &self.sms_webhook_url {
            let url = url::Url::parse(sms_webhook_url).ok();
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password::HashCost;
    use std::path::PathBuf;

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
    fn an_empty_optional_setting_is_absent() {
        let none = Config::from_layers(None, &[], Overrides::default()).unwrap();
        assert_eq!((none.smtp_url, none.sms_webhook_url), (None, None));
        assert_eq!((none.metrics_listen, none.tls_cert), (None, None));
        let env = env(&[
            ("GATEHOUSE_SMTP_URL", " "),
            ("GATEHOUSE_SMS_WEBHOOK_URL", ""),
            ("GATEHOUSE_METRICS_LISTEN", "127.0.0.1:9100"),
        ]);
        let config = Config::from_layers(None, &env, Overrides::default()).unwrap();
        assert!(config.smtp_url.is_none() && config.sms_webhook_url.is_none());
        assert_eq!(config.metrics_listen.as_deref(), Some("127.0.0.1:9100"));
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
    fn the_access_token_algorithm_is_parsed_once_at_load() {
        let load = |value: &str| {
            Config::from_layers(
                None,
                &env(&[("GATEHOUSE_ACCESS_TOKEN_ALG", value)]),
                Overrides::default(),
            )
        };
        assert_eq!(
            load("RS256").unwrap().access_token_alg,
            crate::oidc::keys::Alg::RS256
        );
        let err = load("HS256").unwrap_err().to_string();
        assert!(
            err.contains("access_token_alg must be RS256, ES256 or EdDSA"),
            "{err}"
        );
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
