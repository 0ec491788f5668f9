//! `gatehouse keys rotate`.

use clap::Subcommand;

use super::common::{now, CliError};
use crate::config::Config;
use crate::oidc::keys;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key per algorithm; older keys stay published until their tokens expire.
    Rotate,
}

pub fn run(cmd: KeysCommand, config: &Config) -> Result<(), CliError> {
    match cmd {
        KeysCommand::Rotate => {
            keys::ensure(&config.keys_dir, now())?;
            for path in keys::rotate(&config.keys_dir, now())? {
                println!("new key {}", path.display());
            }
            println!("running servers pick the new keys up within 30 seconds");
            Ok(())
        }
    }
}
