//! `gatehouse account create|set`.

use crate::auth::factor_kind::FactorKind;
use crate::auth::policy::MAX_REMEMBER_DEVICE_DAYS;
use clap::{Subcommand, ValueEnum};

use super::common::{now, open_store, CliError};
use crate::auth::secret;
use crate::config::Config;
use crate::store::{self, NewTenant};

#[derive(Clone, Copy, ValueEnum)]
pub enum Factor {
    Totp,
    Webauthn,
    Passkey,
    Email,
    Sms,
}

impl Factor {
    fn name(self) -> &'static str {
        let kind = match self {
            Factor::Totp => FactorKind::Totp,
            Factor::Webauthn => FactorKind::Webauthn,
            Factor::Passkey => FactorKind::Passkey,
            Factor::Email => FactorKind::Email,
            Factor::Sms => FactorKind::Sms,
        };
        kind.as_str()
    }
}

fn factor_names(factors: &[Factor]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for factor in factors {
        if !names.iter().any(|n| n == factor.name()) {
            names.push(factor.name().to_string());
        }
    }
    names
}

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account (tenant).
    Create {
        name: String,
        /// Every member must enrol a second factor at next sign-in.
        #[arg(long)]
        require_mfa: bool,
        /// Factor kinds members may use (default totp,webauthn).
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        factors: Option<Vec<Factor>>,
        /// Days a browser that gave the second factor signs in with the
        /// password alone, when its user ticks the box (0: off).
        #[arg(long, value_name = "N", default_value_t = 0,
              value_parser = clap::value_parser!(i64).range(0..=MAX_REMEMBER_DEVICE_DAYS))]
        remember_device_days: i64,
    },
    /// Change an account's policies.
    Set {
        name: String,
        #[arg(long, value_name = "true|false")]
        require_mfa: Option<bool>,
        #[arg(long, value_delimiter = ',', value_name = "LIST")]
        factors: Option<Vec<Factor>>,
        #[arg(long, value_name = "N",
              value_parser = clap::value_parser!(i64).range(0..=MAX_REMEMBER_DEVICE_DAYS))]
        remember_device_days: Option<i64>,
    },
}

fn check_name(name: &str) -> Result<(), CliError> {
    if name.trim().is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(CliError::Usage(
            "an account name has 1 to 100 printable characters".into(),
        ));
    }
    Ok(())
}

pub async fn run(cmd: AccountCommand, config: &Config) -> Result<(), CliError> {
    match cmd {
        AccountCommand::Create {
            name,
            require_mfa,
            factors,
            remember_device_days,
        } => {
            check_name(&name)?;
            let factors =
                factor_names(&factors.unwrap_or_else(|| vec![Factor::Totp, Factor::Webauthn]));
            let store = open_store(config).await?;
            let id = secret::random_id();
            store
                .create_tenant(NewTenant {
                    id: &id,
                    name: &name,
                    require_mfa,
                    factors: &factors,
                    now: now(),
                })
                .await
                .map_err(|e| match e {
                    store::Error::Duplicate(_) => {
                        CliError::Failed(format!("an account named {name:?} already exists"))
                    }
                    other => other.into(),
                })?;
            if remember_device_days > 0 {
                store
                    .set_remember_device_days(&id, remember_device_days)
                    .await?;
            }
            println!("created account {name}");
            Ok(())
        }
        AccountCommand::Set {
            name,
            require_mfa,
            factors,
            remember_device_days,
        } => {
            if require_mfa.is_none() && factors.is_none() && remember_device_days.is_none() {
                return Err(CliError::Usage(
                    "nothing to change: give --require-mfa, --factors or --remember-device-days"
                        .into(),
                ));
            }
            let store = open_store(config).await?;
            let Some(account) = store.tenant_by_name(&name).await? else {
                return Err(CliError::Failed(format!("no account named {name:?}")));
            };
            if require_mfa.is_some() || factors.is_some() {
                let factors = factors.map(|f| factor_names(&f));
                store
                    .update_tenant_policy(&name, require_mfa, factors.as_deref(), now())
                    .await?;
            }
            if let Some(days) = remember_device_days {
                store.set_remember_device_days(&account.id, days).await?;
            }
            println!("updated account {name}");
            Ok(())
        }
    }
}
