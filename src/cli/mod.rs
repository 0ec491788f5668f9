//! The `gatehouse` command line (clap): serve, migrate, and the operator's
//! commands for accounts, users, clients and keys.

mod account;
mod client;
mod common;
mod demo;
mod keys;
mod serve;
mod user;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::{Config, Overrides};
use common::{open_store, CliError};

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "An OpenID Connect provider with a second-factor step"
)]
pub struct Cli {
    /// TOML settings file.
    #[arg(long, global = true, value_name = "FILE", env = "GATEHOUSE_CONFIG")]
    config: Option<PathBuf>,
    /// sqlite://PATH or postgres://USER@HOST/DB (default sqlite://data/gatehouse.db).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Folder of signing keys (default keys/).
    #[arg(long, global = true, value_name = "DIR")]
    keys_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the provider (the default).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts (tenants).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Manage users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Register relying parties.
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// The provider plus two example relying parties and a demo user.
    Demo(demo::DemoArgs),
}

impl Cli {
    pub async fn run(self) -> Result<(), CliError> {
        let (listen, issuer) = match &self.command {
            Some(Command::Serve(args)) => (args.listen.clone(), args.issuer.clone()),
            _ => (None, None),
        };
        let own_database =
            self.database_url.is_some() || std::env::var_os("GATEHOUSE_DATABASE_URL").is_some();
        let overrides = Overrides {
            listen,
            issuer,
            database_url: self.database_url,
            keys_dir: self.keys_dir,
        };
        let config = Config::load(self.config.as_deref(), overrides)?;
        // Log lines are written by a thread of their own until this guard drops.
        let _log_writer = init_logging(
            &config,
            matches!(self.command, None | Some(Command::Serve(_))),
        );
        match self.command {
            None | Some(Command::Serve(_)) => serve::run(config).await,
            Some(Command::Migrate) => {
                let store = open_store(&config).await?;
                println!(
                    "migrations applied ({})",
                    crate::store::redact_url(&config.database_url)
                );
                store.close().await;
                Ok(())
            }
            Some(Command::Account(cmd)) => account::run(cmd, &config).await,
            Some(Command::User(cmd)) => user::run(cmd, &config).await,
            Some(Command::Client(cmd)) => client::run(cmd, &config).await,
            Some(Command::Keys(cmd)) => keys::run(cmd, &config),
            Some(Command::Demo(args)) => demo::run(args, config, own_database).await,
        }
    }
}

/// Log lines waiting for the writing thread, at most: a few hundred kilobytes.
const LOG_QUEUE_LINES: usize = 2048;

/// Logs to standard error, formatted on the thread that logs and written by a
/// thread of its own (never dropping a line: a full queue makes loggers wait;
/// before, every request waited on standard error's lock and its write),
/// with colours only on a terminal. The guard flushes the queue when dropped.
fn init_logging(config: &Config, serving: bool) -> tracing_appender::non_blocking::WorkerGuard {
    let default = if serving { config.log.as_str() } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG_FILTER")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(default))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .thread_name("gatehouse-log")
        // Buffered: the thread writes what it took off the queue in one go, then flushes.
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(writer);
    let _ = if config.log_format == "json" {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
    guard
}
