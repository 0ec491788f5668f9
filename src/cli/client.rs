//! `gatehouse client create`.

use clap::{ArgGroup, Subcommand, ValueEnum};

use super::common::{now, open_store, read_secret_line, CliError};
use crate::auth::password;
use crate::config::Config;
use crate::oidc::registration::{self, Registration};
use crate::service::console::new_client;
use crate::store;

#[derive(Clone, Copy, ValueEnum)]
pub enum IdTokenAlg {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
    #[value(name = "EdDSA")]
    EdDsa,
}

impl IdTokenAlg {
    fn name(self) -> &'static str {
        match self {
            IdTokenAlg::Rs256 => "RS256",
            IdTokenAlg::Es256 => "ES256",
            IdTokenAlg::EdDsa => "EdDSA",
        }
    }
}

/// How a client authenticates at the token endpoint, beside a secret.
#[derive(Clone, Copy, ValueEnum)]
pub enum AuthMethod {
    /// RFC 7523 client assertions signed with the client's own key.
    #[value(name = "private_key_jwt")]
    PrivateKeyJwt,
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a relying party.
    Create(CreateArgs),
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("kind").required(true).args(["secret_stdin", "public", "auth_method"])))]
#[command(group(ArgGroup::new("keys").args(["jwks_uri", "jwks_file"])))]
pub struct CreateArgs {
    #[arg(long)]
    client_id: String,
    #[arg(long = "redirect-uri", value_name = "URI", required = true)]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Vec<String>,
    #[arg(long, value_name = "URI")]
    backchannel_logout_uri: Option<String>,
    #[arg(long, value_enum, default_value = "RS256")]
    id_token_alg: IdTokenAlg,
    /// A confidential client: read its secret from standard input.
    #[arg(long)]
    secret_stdin: bool,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    public: bool,
    /// A confidential client with a key pair instead of a secret: its
    /// public keys from `--jwks-file` or `--jwks-uri`.
    #[arg(long, value_enum, requires = "keys")]
    auth_method: Option<AuthMethod>,
    /// Where the client publishes its public keys (https, or http on loopback).
    #[arg(long, value_name = "URI", requires = "auth_method")]
    jwks_uri: Option<String>,
    /// A file holding the client's public keys as a JWK Set.
    #[arg(long, value_name = "FILE", requires = "auth_method")]
    jwks_file: Option<std::path::PathBuf>,
    /// A third-party client: each user is asked once per client and
    /// scope set before it gets their data.
    #[arg(long)]
    consent: bool,
    /// Refuse authorization requests the client did not push first (RFC 9126).
    #[arg(long)]
    require_par: bool,
    /// Open the device authorization grant (RFC 8628) to the client: for
    /// command-line tools and devices without a browser.
    #[arg(long)]
    device: bool,
}

pub async fn run(cmd: ClientCommand, config: &Config) -> Result<(), CliError> {
    match cmd {
        ClientCommand::Create(args) => create(args, config).await,
    }
}

async fn create(args: CreateArgs, config: &Config) -> Result<(), CliError> {
    let jwks = match &args.jwks_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("the JWK Set {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let registration = Registration {
        client_id: args.client_id.clone(),
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        backchannel_logout_uri: args.backchannel_logout_uri,
        id_token_alg: args.id_token_alg.name().into(),
        consent: args.consent,
        require_par: args.require_par,
        device_grant: args.device,
        jwks,
        jwks_uri: args.jwks_uri,
    };
    registration::check(&registration).map_err(CliError::Usage)?;
    let secret_hash = if args.secret_stdin {
        let secret = read_secret_line("client secret")?;
        Some(password::hash(&secret, config.hash_cost())?)
    } else {
        None
    };
    let store = open_store(config).await?;
    let client_id = &registration.client_id;
    store
        .create_client(new_client(&registration, secret_hash.as_deref(), now()))
        .await
        .map_err(|e| match e {
            store::Error::Duplicate(_) => CliError::Failed(format!(
                "a client with client_id {client_id:?} already exists"
            )),
            other => other.into(),
        })?;
    let kind = match (&secret_hash, args.auth_method) {
        (Some(_), _) => "confidential",
        (None, Some(AuthMethod::PrivateKeyJwt)) => "confidential (private_key_jwt)",
        (None, None) => "public",
    };
    let party = match registration.consent {
        true => ", third-party (users asked for consent)",
        false => "",
    };
    let par = match registration.require_par {
        true => ", pushed requests only",
        false => "",
    };
    let device = match registration.device_grant {
        true => ", device grant",
        false => "",
    };
    println!("registered {kind} client {client_id}{party}{par}{device}");
    Ok(())
}
