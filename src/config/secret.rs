//! A setting that is a secret (the SMS webhook's key, a mail server URL with
//! its password): read like any text, but its `Debug` prints nothing of it,
//! so that logging a `Config` never writes one.

use serde::Deserialize;

#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Its length in bytes, for the minimum a setting asks.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret(text.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(unset)"
        } else {
            "Secret(..)"
        })
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let config = crate::config::Config {
            smtp_url: Some("smtps://mailer:hunter2-long-password@mail.example:465".into()),
            sms_webhook_secret: "0123456789abcdef-webhook".into(),
            ..Default::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("Secret(..)"));
        assert_eq!(
            config.sms_webhook_secret.expose(),
            "0123456789abcdef-webhook"
        );
    }
}
