//! `gatehouse user create`.

use clap::Subcommand;

use super::common::{now, open_store, read_secret_line, CliError};
use crate::auth::{password, password_rules, secret};
use crate::config::Config;
use crate::store::{self, NewUser};

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// The account the user belongs to.
        #[arg(long)]
        account: String,
        /// Make the user an administrator of the account.
        #[arg(long)]
        admin: bool,
        /// Read the password from standard input (required: never from argv).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove every second factor of a user, end their sessions and revoke
    /// their tokens; they enrol again at next sign-in.
    ResetMfa {
        /// The username.
        username: String,
    },
}

pub async fn run(cmd: UserCommand, config: &Config) -> Result<(), CliError> {
    match cmd {
        UserCommand::ResetMfa { username } => {
            let store = open_store(config).await?;
            let user = store
                .user_by_username(&username)
                .await?
                .ok_or_else(|| CliError::Failed(format!("no user named {username:?}")))?;
            crate::service::factors::reset(&store, &user, None, None, now()).await?;
            // The notice waits in the database for a running node to send it
            // (sealed with the provider's key, so only where that key is).
            let vault = crate::auth::vault::Vault::exists(&config.keys_dir)
                .then(|| crate::auth::vault::Vault::open(&config.keys_dir));
            match vault {
                None => eprintln!("the user was not notified: no secrets key in the keys folder"),
                Some(Ok(vault)) => {
                    let detail = serde_json::json!({});
                    let kind = "second_factor_reset";
                    crate::service::delivery::notices::notify_in(
                        &store,
                        &vault,
                        now(),
                        &user,
                        kind,
                        &detail,
                    )
                    .await?;
                }
                Some(Err(err)) => eprintln!("the user was not notified: {err}"),
            }
            println!("reset two-step verification of {username}: sessions ended, tokens revoked; they enrol again at next sign-in");
            Ok(())
        }
        UserCommand::Create {
            username,
            email,
            account,
            admin,
            password_stdin: _,
        } => {
            let username = username.trim().to_string();
            if username.is_empty() || username.len() > 100 || username.chars().any(char::is_control)
            {
                return Err(CliError::Usage(
                    "a username has 1 to 100 printable characters".into(),
                ));
            }
            if !email.contains('@') || email.len() > 254 {
                return Err(CliError::Usage(format!(
                    "{email:?} is not an email address"
                )));
            }
            let password = read_secret_line("password")?;
            let min_len = config.min_password_length;
            if let Some(fault) = password_rules::fault(&password, min_len, &[&username, &email]) {
                return Err(CliError::Usage(fault.words()));
            }
            let store = open_store(config).await?;
            let account = store
                .tenant_by_name(&account)
                .await?
                .ok_or_else(|| CliError::Failed(format!("no account named {account:?}")))?;
            let password_hash = password::hash(&password, config.hash_cost())?;
            let id = secret::random_id();
            store
                .create_user(NewUser {
                    id: &id,
                    account_id: &account.id,
                    username: &username,
                    email: &email,
                    password_hash: &password_hash,
                    is_admin: admin,
                    is_operator: false,
                    now: now(),
                })
                .await
                .map_err(|e| match e {
                    store::Error::Duplicate(_) => {
                        CliError::Failed(format!("a user named {username:?} already exists"))
                    }
                    other => other.into(),
                })?;
            println!("created user {username} ({id})");
            Ok(())
        }
    }
}
