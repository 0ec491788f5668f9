//! `gatehouse demo`.

use clap::Args;

use super::common::CliError;
use crate::config::Config;

#[derive(Args)]
pub struct DemoArgs {
    /// Port of the provider; the portal and the backoffice take the next two.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
}

pub async fn run(args: DemoArgs, mut config: Config, own_database: bool) -> Result<(), CliError> {
    // A fresh database and keys in a temporary folder, unless --database-url names one.
    let folder = std::env::temp_dir().join(format!(
        "gatehouse-demo-{}",
        &crate::auth::secret::random_id()[..8]
    ));
    std::fs::create_dir_all(&folder)?;
    if !own_database {
        config.database_url = format!("sqlite://{}/gatehouse.db", folder.display());
    }
    config.keys_dir = folder.join("keys");
    let outbox = config.smtp_url.is_none() || config.sms_webhook_url.is_none();
    if outbox {
        config.outbox_dir = folder.join("outbox");
    }
    let demo = crate::demo::start(config, args.port).await?;
    println!("Gatehouse demo (state in {})", folder.display());
    println!("  provider:   {}", demo.provider_url);
    println!("  portal:     {}", demo.portal_url);
    println!("  backoffice: {}", demo.backoffice_url);
    println!(
        "Sign in at the portal as {} with password {}",
        demo.username, demo.password
    );
    println!("(the account requires two-step verification: have an authenticator app ready). Ctrl-C stops.");
    if outbox {
        println!(
            "Email and text messages (codes, notices) are written to {}",
            folder.join("outbox").display()
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    Ok(())
}
