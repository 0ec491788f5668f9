//! `TestApp`: a fresh provider per test (own database, keys and port), with
//! helpers that speak the protocol.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use gatehouse::app::AppState;
use gatehouse::auth::password::{self, HashCost};
use gatehouse::clock::Clock;
use gatehouse::config::Config;
use gatehouse::server;
use gatehouse::store::{NewClient, NewTenant, NewUser, Store};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;

pub type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub const USERNAME: &str = "alice";
/// A member of the account "fortress", which requires a second factor.
pub const MIA: &str = "mia";
pub const PASSWORD: &str = "correct horse battery";
pub const PORTAL_SECRET: &str = "portal-secret-0123456789";
pub const BACKOFFICE_SECRET: &str = "backoffice-secret-0123456789";
pub const EDGE_SECRET: &str = "edge-secret-0123456789";
pub const CHEAP: HashCost = HashCost {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// SQLite always; PostgreSQL too when GATEHOUSE_TEST_PG_URL is set.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if std::env::var("GATEHOUSE_TEST_PG_URL").is_ok_and(|u| !u.is_empty()) {
        backends.push(Backend::Postgres);
    }
    backends
}

/// Runs a test body once per backend.
#[macro_export]
macro_rules! each_backend {
    ($(async fn $name:ident($backend:ident) $body:block)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for $backend in $crate::common::backends() {
                eprintln!("{} on {:?}", stringify!($name), $backend);
                $body
            }
        }
    )*};
}

/// Keys generated once per test process and copied into each app's folder,
/// since RSA key generation is slow.
fn template_keys() -> &'static Path {
    static KEYS: OnceLock<PathBuf> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-keys")
            .tempdir()
            .unwrap()
            .keep();
        gatehouse::oidc::keys::ensure(&dir, Clock::system().now()).unwrap();
        dir
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A database of its own: a SQLite file, or a new PostgreSQL database.
pub async fn fresh_database(backend: Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/gatehouse.db", dir.display()),
        Backend::Postgres => {
            let base = std::env::var("GATEHOUSE_TEST_PG_URL").unwrap();
            let name = format!(
                "gatehouse_test_{}",
                &gatehouse::auth::secret::random_id()[..16]
            );
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&base)
                .await
                .expect("PostgreSQL reachable");
            drop_old_test_databases(&admin).await;
            sqlx::query(&format!("create database {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
    }
}

/// Once per test process, before it creates any: removes the databases that
/// earlier runs left behind, so that they do not pile up.
async fn drop_old_test_databases(admin: &sqlx::AnyPool) {
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CLEANED
        .get_or_init(|| async {
            let old: Vec<(String,)> = sqlx::query_as(
                "select datname::text from pg_database where datname like 'gatehouse_test_%'",
            )
            .fetch_all(admin)
            .await
            .unwrap();
            for (name,) in old {
                let dropped = sqlx::query(&format!("drop database if exists {name} with (force)"))
                    .execute(admin)
                    .await;
                if let Err(err) = dropped {
                    eprintln!("could not drop {name}: {err}");
                }
            }
        })
        .await;
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member,
    Administrator,
    Operator,
}

/// Changes to the test defaults of a provider's settings.
pub type Tweak = std::sync::Arc<dyn Fn(&mut Config) + Send + Sync>;

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    /// A browser: keeps cookies, does not follow redirects.
    pub browser: reqwest::Client,
    addr: std::net::SocketAddr,
    tweak: Tweak,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        TestApp::spawn_with(backend, |_| {}).await
    }

    /// A provider whose settings `tweak` changes from the test defaults.
    pub async fn spawn_with(
        backend: Backend,
        tweak: impl Fn(&mut Config) + Send + Sync + 'static,
    ) -> TestApp {
        let tweak: Tweak = std::sync::Arc::new(tweak);
        // Server logs appear with a failing test's output.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("gatehouse=info")
            .try_init();
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-test")
            .tempdir()
            .unwrap();
        copy_dir(template_keys(), &dir.path().join("keys"));
        let database_url = fresh_database(backend, dir.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut app = TestApp {
            base: format!("http://{addr}"),
            state: build_state(dir.path(), &database_url, addr, Clock::system(), &tweak).await,
            tweak,
            dir,
            database_url,
            browser: new_browser(),
            addr,
            stop: None,
            server: None,
        };
        app.seed().await;
        app.start(listener);
        app
    }

    fn start(&mut self, listener: tokio::net::TcpListener) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = self.state.clone();
        self.server = Some(tokio::spawn(async move {
            server::serve(listener, state, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        }));
        self.stop = Some(stop);
    }

    /// Stops the server and starts a new process-equivalent on the same
    /// database, keys folder and port: nothing survives but what is stored.
    pub async fn restart(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
        self.state.store.close().await;
        self.state = build_state(
            self.dir.path(),
            &self.database_url,
            self.addr,
            self.state.clock.clone(),
            &self.tweak,
        )
        .await;
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.start(listener);
    }

    /// Another node on the same database and keys (not serving HTTP).
    pub async fn second_node(&self) -> AppState {
        build_state(
            self.dir.path(),
            &self.database_url,
            self.addr,
            self.state.clock.clone(),
            &self.tweak,
        )
        .await
    }

    async fn seed(&self) {
        let store = &self.state.store;
        let now = self.state.clock.now();
        let factors = vec!["totp".to_string(), "webauthn".to_string()];
        store
            .create_tenant(NewTenant {
                id: "acct-acme",
                name: "acme",
                require_mfa: false,
                factors: &factors,
                now,
            })
            .await
            .unwrap();
        self.add_user(USERNAME, PASSWORD).await;
        store
            .create_tenant(NewTenant {
                id: "acct-fortress",
                name: "fortress",
                require_mfa: true,
                factors: &factors,
                now,
            })
            .await
            .unwrap();
        self.add_user_to(MIA, PASSWORD, "acct-fortress").await;
        let clients = [
            ("portal", Some(PORTAL_SECRET), "RS256"),
            ("backoffice", Some(BACKOFFICE_SECRET), "ES256"),
            ("edge", Some(EDGE_SECRET), "EdDSA"),
            ("spa", None, "RS256"),
        ];
        for (client_id, secret, alg) in clients {
            let hash = secret.map(|s| password::hash(s, CHEAP).unwrap());
            store
                .create_client(NewClient {
                    client_id,
                    secret_hash: hash.as_deref(),
                    redirect_uris: &[self.redirect_uri(client_id)],
                    post_logout_redirect_uris: &[],
                    backchannel_logout_uri: None,
                    id_token_alg: alg,
                    consent: false,
                    require_par: false,
                    jwks: None,
                    jwks_uri: None,
                    device_grant: false,
                    now,
                })
                .await
                .unwrap();
        }
    }

    pub async fn add_user(&self, username: &str, password: &str) -> String {
        self.add_user_to(username, password, "acct-acme").await
    }

    pub async fn add_user_to(&self, username: &str, password: &str, account_id: &str) -> String {
        self.add_member(username, password, account_id, Role::Member)
            .await
    }

    /// A user of `account_id` in `role`; their id is `user-<username>`.
    pub async fn add_member(
        &self,
        username: &str,
        password: &str,
        account_id: &str,
        role: Role,
    ) -> String {
        let id = format!("user-{username}");
        self.state
            .store
            .create_user(NewUser {
                id: &id,
                account_id,
                username,
                email: &format!("{username}@example.com"),
                password_hash: &password::hash(password, CHEAP).unwrap(),
                is_admin: role == Role::Administrator,
                is_operator: role == Role::Operator,
                now: self.state.clock.now(),
            })
            .await
            .unwrap();
        id
    }

    pub fn redirect_uri(&self, client_id: &str) -> String {
        format!("http://127.0.0.1:9/{client_id}/cb")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A relying party for `client_id`, configured by discovery.
    pub async fn rp(&self, client_id: &str) -> Rp {
        let secret = match client_id {
            "portal" => Some(PORTAL_SECRET),
            "backoffice" => Some(BACKOFFICE_SECRET),
            "edge" => Some(EDGE_SECRET),
            _ => None,
        };
        self.rp_with(client_id, secret).await
    }

    /// A relying party `client_id` with `secret`, redirecting to `redirect_uri(client_id)`.
    pub async fn rp_with(&self, client_id: &str, secret: Option<&str>) -> Rp {
        let http = rp_http();
        let metadata =
            CoreProviderMetadata::discover_async(IssuerUrl::new(self.base.clone()).unwrap(), &http)
                .await
                .expect("discovery works");
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.to_string()),
            secret.map(|s| ClientSecret::new(s.to_string())),
        )
        .set_redirect_uri(RedirectUrl::new(self.redirect_uri(client_id)).unwrap())
    }

    /// Starts an authorization request as `rp` would and follows it in the
    /// browser until the provider answers with something other than a redirect
    /// to itself.
    pub fn auth_request(&self, rp: &Rp, extra: &[(&str, &str)]) -> AuthRequest {
        request_for(rp, &["email", "profile"], extra)
    }

    /// GETs `url` in the browser and returns (status, Location header, body).
    pub async fn get(&self, url: &str) -> (StatusCode, Option<String>, String) {
        self.get_in(&self.browser, url).await
    }

    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        self.post_in(&self.browser, path, form).await
    }

    /// GETs `url` (absolute, or a path here) in `browser`.
    pub async fn get_in(
        &self,
        browser: &reqwest::Client,
        url: &str,
    ) -> (StatusCode, Option<String>, String) {
        let url = if url.starts_with('/') {
            self.url(url)
        } else {
            url.to_string()
        };
        parts(browser.get(url).send().await.unwrap()).await
    }

    pub async fn post_in(
        &self,
        browser: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        parts(
            browser
                .post(self.url(path))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Submits a page's form: its hidden CSRF token plus `fields`.
    pub async fn submit_in(
        &self,
        browser: &reqwest::Client,
        page: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let csrf = hidden_input(page, "csrf_token").expect("the page has a CSRF token");
        let mut form = vec![("csrf_token", csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_in(browser, path, &form).await
    }

    /// Runs the authorization request through the sign-in page with
    /// `username`/`password`; returns the final response after the login POST.
    pub async fn sign_in_through(
        &self,
        request: &AuthRequest,
        username: &str,
        password: &str,
    ) -> (StatusCode, Option<String>, String) {
        self.sign_in_through_in(&self.browser, request, username, password)
            .await
    }

    /// The password step of `request` in `browser`: the response to the login POST.
    pub async fn sign_in_through_in(
        &self,
        browser: &reqwest::Client,
        request: &AuthRequest,
        username: &str,
        password: &str,
    ) -> (StatusCode, Option<String>, String) {
        let (status, location, _) = self.get_in(browser, &request.url).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "authorization request goes to sign-in"
        );
        let login = location.expect("a Location");
        assert!(login.starts_with("/login?request="), "sent to {login}");
        let (status, _, page) = self.get_in(browser, &login).await;
        assert_eq!(status, StatusCode::OK);
        let request_id = hidden_input(&page, "request").expect("the form carries the request");
        self.submit_in(
            browser,
            &page,
            "/login",
            &[
                ("request", &request_id),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    /// Signs in as alice through `rp` and exchanges the code: a full code flow.
    pub async fn sign_in(&self, rp: &Rp) -> SignedIn {
        let request = self.auth_request(rp, &[]);
        let (status, location, body) = self.sign_in_through(&request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "login succeeds: {body}");
        let code = code_from(&location.unwrap(), &request);
        self.exchange(rp, code, request).await
    }

    /// A relying party's authorization request answered from the existing session.
    pub async fn sso(&self, rp: &Rp) -> SignedIn {
        let request = self.auth_request(rp, &[]);
        let (status, location, _) = self.get(&request.url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let code = code_from(&location.expect("a redirect"), &request);
        self.exchange(rp, code, request).await
    }

    /// Exchanges a code and verifies the ID token, as the relying party would.
    pub async fn exchange(&self, rp: &Rp, code: String, request: AuthRequest) -> SignedIn {
        let mut exchange = rp.exchange_code(AuthorizationCode::new(code)).unwrap();
        if let Some(verifier) = request.verifier {
            exchange = exchange.set_pkce_verifier(verifier);
        }
        let tokens: CoreTokenResponse = exchange
            .request_async(&rp_http())
            .await
            .expect("code exchange works");
        let claims = verify_id_token(rp, &tokens, &request.nonce);
        SignedIn {
            access_token: tokens.access_token().secret().clone(),
            tokens,
            claims,
        }
    }
}

/// An authorization request of `rp` for `openid` and `scopes`, with PKCE and `extra`.
pub fn request_for(rp: &Rp, scopes: &[&str], extra: &[(&str, &str)]) -> AuthRequest {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut builder = rp
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        builder = builder.add_scope(Scope::new(scope.to_string()));
    }
    for (k, v) in extra {
        builder = builder.add_extra_param(*k, *v);
    }
    let (url, state, nonce) = builder.url();
    AuthRequest {
        url: url.to_string(),
        state,
        nonce,
        verifier: Some(verifier),
    }
}

pub fn verify_id_token(rp: &Rp, tokens: &CoreTokenResponse, nonce: &Nonce) -> CoreIdTokenClaims {
    let verifier = rp.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    tokens
        .id_token()
        .expect("an ID token")
        .claims(&verifier, nonce)
        .expect("the ID token verifies")
        .clone()
}

/// Every claim of a token's payload, read without verification (after the
/// relying party verified it), for claims the `openidconnect` types do not name.
pub fn raw_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

impl SignedIn {
    pub fn sid(&self) -> String {
        let id_token = self.tokens.extra_fields().id_token().unwrap().to_string();
        raw_claims(&id_token)["sid"]
            .as_str()
            .expect("a sid claim")
            .to_string()
    }
}

pub struct AuthRequest {
    pub url: String,
    pub state: CsrfToken,
    pub nonce: Nonce,
    pub verifier: Option<PkceCodeVerifier>,
}

pub struct SignedIn {
    pub tokens: CoreTokenResponse,
    pub claims: CoreIdTokenClaims,
    pub access_token: String,
}

/// The HTTP client relying parties use: no redirects (as oauth2 advises).
pub fn rp_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn parts(response: reqwest::Response) -> (StatusCode, Option<String>, String) {
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    (status, location, response.text().await.unwrap_or_default())
}

/// The query parameters of a redirect back to the relying party.
pub fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(location)
        .expect("absolute redirect")
        .query_pairs()
        .into_owned()
        .collect()
}

/// The code from a successful redirect, after checking `state` and `iss`.
pub fn code_from(location: &str, request: &AuthRequest) -> String {
    let query = query_of(location);
    assert_eq!(
        query.get("state"),
        Some(request.state.secret()),
        "state echoed"
    );
    assert!(!query.contains_key("error"), "no error: {location}");
    query.get("code").expect("a code").clone()
}

/// Reverses minijinja's HTML escaping of attribute values.
pub fn html_unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The authenticator an enrolment page provisions, read off its otpauth link.
pub fn authenticator_from(page: &str) -> totp_rs::TOTP {
    let marker = r#"class="otpauth" href=""#;
    let start = page.find(marker).expect("an otpauth link") + marker.len();
    let end = page[start..].find('"').unwrap();
    let url = html_unescape(&page[start..start + end]);
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    totp_rs::TOTP::from_url(&url).expect("a valid otpauth link")
}

/// The backup codes a page shows.
pub fn backup_codes_on(page: &str) -> Vec<String> {
    page.split(r#"class="backup-code">"#)
        .skip(1)
        .map(|rest| rest[..rest.find('<').unwrap()].to_string())
        .collect()
}

pub fn hidden_input(page: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_string())
}

/// Another node serving HTTP on its own port, on the same keys and clock as
/// `app` but reaching its database through `database_url` (not migrated).
pub struct Node {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl TestApp {
    pub async fn node_on(&self, database_url: &str) -> Node {
        self.node_with(database_url, |_| {}).await
    }

    /// A node as `node_on`, with its settings changed by `change`.
    pub async fn node_with(&self, database_url: &str, change: impl FnOnce(&mut Config)) -> Node {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config {
            listen: addr.to_string(),
            issuer: format!("http://{addr}"),
            database_url: database_url.to_string(),
            ..self.state.config.as_ref().clone()
        };
        change(&mut config);
        let store = Store::connect(database_url).await.unwrap();
        let state = AppState::new(config, store, self.state.clock.clone()).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = server::serve(listener, state, async move {
                let _ = stopped.await;
            })
            .await;
        });
        Node {
            base: format!("http://{addr}"),
            stop: Some(stop),
        }
    }
}

async fn build_state(
    dir: &Path,
    database_url: &str,
    addr: std::net::SocketAddr,
    clock: Clock,
    tweak: &Tweak,
) -> AppState {
    let mut config = Config {
        listen: addr.to_string(),
        issuer: format!("http://{addr}"),
        database_url: database_url.to_string(),
        keys_dir: dir.join("keys"),
        outbox_dir: dir.join("outbox"),
        password_hash_memory_kib: CHEAP.memory_kib,
        password_hash_iterations: CHEAP.iterations,
        password_hash_parallelism: CHEAP.parallelism,
        ..Config::default()
    };
    tweak(&mut config);
    let store = Store::connect(database_url).await.unwrap();
    store.migrate().await.unwrap();
    AppState::new(config, store, clock).unwrap()
}

/// Signs `username` in with the password alone in `browser`, towards `/account`.
pub async fn password_session(app: &TestApp, browser: &reqwest::Client, username: &str) {
    let (_, _, page) = app.get_in(browser, "/login?next=/account").await;
    let (status, location, _) = app
        .submit_in(
            browser,
            &page,
            "/login",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/account")),
        "{username} signs in"
    );
}

/// The secret of the confidential client `robot` that `register_robot` makes.
pub const ROBOT_SECRET: &str = "robot-secret-0123456789";

/// Registers confidential client `client_id` with `secret`, redirecting to
/// `redirect_uri(client_id)`; `consent` makes it a third-party client.
pub async fn register_confidential(app: &TestApp, client_id: &str, secret: &str, consent: bool) {
    let hash = gatehouse::auth::password::hash(secret, CHEAP).unwrap();
    app.state
        .store
        .create_client(gatehouse::store::NewClient {
            client_id,
            secret_hash: Some(&hash),
            redirect_uris: &[app.redirect_uri(client_id)],
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            id_token_alg: "RS256",
            consent,
            require_par: false,
            jwks: None,
            jwks_uri: None,
            device_grant: false,
            now: app.state.clock.now(),
        })
        .await
        .unwrap();
}

/// Registers confidential client `robot` with the `admin` grant over `scope`
/// (an account id or `*`), or with none.
pub async fn register_robot(app: &TestApp, scope: Option<&str>) {
    register_confidential(app, "robot", ROBOT_SECRET, false).await;
    app.state
        .store
        .set_client_admin_scope("robot", scope)
        .await
        .unwrap();
}
