//! `gatehouse client create`.

use clap::{ArgGroup, Subcommand, ValueEnum};

use super::common::{now, open_store, read_secret_line, CliError};
use crate::auth::password;
use crate::config::Config;
use crate::oidc::registration::{self, Registration};
use crate::store::{self, NewClient};

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

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Register a relying party.
    #[command(group(ArgGroup::new("kind").required(true).args(["secret_stdin", "public"])))]
    Create {
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
        /// A third-party client: each user is asked once per client and
        /// scope set before it gets their data.
        #[arg(long)]
        consent: bool,
        /// Refuse authorization requests the client did not push first (RFC 9126).
        #[arg(long)]
        require_par: bool,
    },
}

pub async fn run(cmd: ClientCommand, config: &Config) -> Result<(), CliError> {
    match cmd {
        ClientCommand::Create {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            id_token_alg,
            secret_stdin,
            public: _,
            consent,
            require_par,
        } => {
            registration::check(&Registration {
                client_id: client_id.clone(),
                redirect_uris: redirect_uris.clone(),
                post_logout_redirect_uris: post_logout_redirect_uris.clone(),
                backchannel_logout_uri: backchannel_logout_uri.clone(),
                id_token_alg: id_token_alg.name().into(),
                consent,
                require_par,
            })
            .map_err(CliError::Usage)?;
            let secret_hash = if secret_stdin {
                let secret = read_secret_line("client secret")?;
                Some(password::hash(&secret, config.hash_cost())?)
            } else {
                None
            };
            let store = open_store(config).await?;
            store
                .create_client(NewClient {
                    client_id: &client_id,
                    secret_hash: secret_hash.as_deref(),
                    redirect_uris: &redirect_uris,
                    post_logout_redirect_uris: &post_logout_redirect_uris,
                    backchannel_logout_uri: backchannel_logout_uri.as_deref(),
                    id_token_alg: id_token_alg.name(),
                    consent,
                    require_par,
                    now: now(),
                })
                .await
                .map_err(|e| match e {
                    store::Error::Duplicate(_) => CliError::Failed(format!(
                        "a client with client_id {client_id:?} already exists"
                    )),
                    other => other.into(),
                })?;
            let kind = if secret_hash.is_some() {
                "confidential"
            } else {
                "public"
            };
            let party = if consent {
                ", third-party (users asked for consent)"
            } else {
                ""
            };
            let par = if require_par {
                ", pushed requests only"
            } else {
                ""
            };
            println!("registered {kind} client {client_id}{party}{par}");
            Ok(())
        }
    }
}
