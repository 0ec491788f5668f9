//! `gatehouse demo`: the provider plus two example relying parties, "portal"
//! and "backoffice", and a demo user in an account that requires 2FA, to see
//! single sign-on with a second factor and single sign-out in a browser.

use crate::auth::factor_kind::FactorKind;
pub mod relying_party;

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::AppState;
use crate::auth::{password, secret};
use crate::clock::Clock;
use crate::config::Config;
use crate::server;
use crate::store::{self, NewClient, NewTenant, NewUser, Store};
use relying_party::{Registration, RelyingParty};

pub const USERNAME: &str = "demo";

/// A running demo.
pub struct Demo {
    pub provider_url: String,
    pub portal_url: String,
    pub backoffice_url: String,
    pub username: String,
    pub password: String,
    pub state: AppState,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot listen on port {0}: {1}")]
    Listen(u16, std::io::Error),
    #[error("the demo needs an empty database: {0}")]
    NotEmpty(String),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Start(#[from] crate::app::StartError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error("an example app could not start: {0}")]
    RelyingParty(String),
}

async fn listen(port: u16) -> Result<(TcpListener, u16), DemoError> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| DemoError::Listen(port, e))?;
    let port = listener
        .local_addr()
        .map_err(|e| DemoError::Listen(port, e))?
        .port();
    Ok((listener, port))
}

/// Starts the provider on `port` (0 for any free port) and the two apps on
/// the next ones, on the database and keys folder that `config` names.
pub async fn start(mut config: Config, port: u16) -> Result<Demo, DemoError> {
    let next = |offset: u16| {
        if port == 0 {
            0
        } else {
            port.saturating_add(offset)
        }
    };
    let (provider, provider_port) = listen(port).await?;
    let (portal, portal_port) = listen(next(1)).await?;
    let (backoffice, backoffice_port) = listen(next(2)).await?;
    let url = |port: u16| format!("http://localhost:{port}");
    config.issuer = url(provider_port);
    config.listen = format!("127.0.0.1:{provider_port}");

    let store = Store::connect(&config.database_url).await?;
    store.migrate().await?;
    let now = Clock::system().now();
    let cost = config.hash_cost();
    let password = secret::random_token(12);
    let factors = [
        FactorKind::Totp,
        FactorKind::Webauthn,
        FactorKind::Passkey,
        FactorKind::Email,
    ]
    .map(|kind| kind.as_str().to_string())
    .to_vec();
    let account_id = secret::random_id();
    let not_empty = |e: store::Error| match e {
        store::Error::Duplicate(what) => DemoError::NotEmpty(format!("{what} exists")),
        other => other.into(),
    };
    store
        .create_tenant(NewTenant {
            id: &account_id,
            name: "demo",
            require_mfa: true,
            factors: &factors,
            now,
        })
        .await
        .map_err(not_empty)?;
    store
        .create_user(NewUser {
            id: &secret::random_id(),
            account_id: &account_id,
            username: USERNAME,
            email: "demo@example.com",
            password_hash: &password::hash(&password, cost)?,
            is_admin: true,
            is_operator: false,
            now,
        })
        .await
        .map_err(not_empty)?;
    let mut secrets = Vec::new();
    for (client_id, port, alg) in [
        ("portal", portal_port, "RS256"),
        ("backoffice", backoffice_port, "ES256"),
    ] {
        let client_secret = secret::random_token(24);
        let base = url(port);
        store
            .create_client(NewClient {
                client_id,
                secret_hash: Some(&password::hash(&client_secret, cost)?),
                redirect_uris: &[format!("{base}/callback")],
                post_logout_redirect_uris: &[format!("{base}/")],
                backchannel_logout_uri: Some(&format!(
                    "http://127.0.0.1:{port}/backchannel-logout"
                )),
                id_token_alg: alg,
                consent: false,
                require_par: false,
                jwks: None,
                jwks_uri: None,
                device_grant: false,
                now,
            })
            .await
            .map_err(not_empty)?;
        secrets.push(client_secret);
    }

    let state = AppState::new(config, store, Clock::system())?;
    let templates = state.templates.clone();
    let mut tasks = vec![tokio::spawn({
        let state = state.clone();
        async move {
            if let Err(err) = server::serve(provider, state, std::future::pending()).await {
                tracing::error!(%err, "the provider stopped");
            }
        }
    })];
    let issuer = url(provider_port);
    let apps = [
        (
            "portal",
            portal,
            portal_port,
            ("backoffice", url(backoffice_port)),
        ),
        (
            "backoffice",
            backoffice,
            backoffice_port,
            ("portal", url(portal_port)),
        ),
    ];
    for ((name, listener, port, other), client_secret) in apps.into_iter().zip(secrets) {
        let registration = Registration {
            name,
            base_url: url(port),
            client_secret,
            other,
        };
        let rp = RelyingParty::discover(&issuer, registration, Arc::clone(&templates))
            .await
            .map_err(DemoError::RelyingParty)?;
        let router = rp.router();
        tasks.push(tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, router).await {
                tracing::error!(%err, "an example app stopped");
            }
        }));
    }
    Ok(Demo {
        provider_url: issuer,
        portal_url: url(portal_port),
        backoffice_url: url(backoffice_port),
        username: USERNAME.to_string(),
        password,
        state,
        tasks,
    })
}
