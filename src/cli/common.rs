//! What the commands share: their error, the store, a secret from standard
//! input, and the time.

use std::io::BufRead;
use std::process::ExitCode;

use crate::config::Config;
use crate::store::Store;

/// A failed command: usage errors exit 2, everything else 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Failed(_) => ExitCode::from(1),
        }
    }
}

macro_rules! failed_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CliError {
            fn from(err: $t) -> Self {
                CliError::Failed(err.to_string())
            }
        }
    )*};
}

failed_from!(
    crate::store::Error,
    crate::config::ConfigError,
    crate::oidc::keys::KeyError,
    crate::auth::password::PasswordError,
    crate::app::StartError,
    crate::demo::DemoError,
    std::io::Error
);

/// Connects and applies pending migrations.
pub(super) async fn open_store(config: &Config) -> Result<Store, CliError> {
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|err| match err {
            crate::store::Error::Unavailable(_) => CliError::Failed(format!(
                "{err}; check that the database runs and that database_url \
                 (GATEHOUSE_DATABASE_URL or --database-url) names it"
            )),
            other => other.into(),
        })?;
    store.migrate().await?;
    Ok(store)
}

/// Reads a secret from standard input: up to the first newline, which is not part of it.
pub(super) fn read_secret_line(what: &str) -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| {
        CliError::Failed(format!("cannot read the {what} from standard input: {e}"))
    })?;
    let secret = line.strip_suffix('\n').unwrap_or(&line);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    if secret.is_empty() {
        return Err(CliError::Usage(format!("no {what} on standard input")));
    }
    if secret.chars().count() < 8 {
        return Err(CliError::Usage(format!(
            "the {what} must have at least 8 characters"
        )));
    }
    Ok(secret.to_string())
}

pub(super) fn now() -> i64 {
    crate::clock::Clock::system().now()
}
