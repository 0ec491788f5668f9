//! gatehouse-loadgen: a light, closed-loop load generator for any OpenID
//! Provider (adapted from shared/peers/loadgen, with the refresh and sign-in
//! scenarios added).
//!
//! Scenarios (each for a fixed duration at a fixed concurrency, after a warmup):
//!   discovery  GET /.well-known/openid-configuration
//!   jwks       GET jwks_uri
//!   sso        GET authorize (code, PKCE S256, state, nonce) with a session
//!              cookie -> 302 with code -> POST token (client_secret_basic)
//!              -> id_token checked (nonce, iss, aud[, alg]); one op = one round trip
//!   cc         POST token grant_type=client_credentials (skipped when the OP
//!              does not list client_credentials in grant_types_supported)
//!   login      (optional) a fresh session every op via the redirect-following
//!              auto-login, then the code is redeemed (needs --session follow)
//!   refresh    POST token grant_type=refresh_token with the worker's latest
//!              refresh token; expects a rotated one (each worker gets its first
//!              from an SSO round trip)
//!   signin     Gatehouse's full sign-in through its pages: password, then a
//!              TOTP code (users enrolled on first use), then the code redeemed
//!
//! Output: one JSON line per scenario run plus one summary line per scenario
//! (medians over --runs) on stdout; a human table on stderr.

mod cookies;
mod http;
mod signin;

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use bytes::Bytes;
use hyper::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use cookies::Jar;
use http::{param, pct, redirect_params, Client, HttpUrl};

const USAGE: &str = "\
gatehouse-loadgen --issuer http://127.0.0.1:3000 [options]

Target (flags win over environment variables):
  --issuer URL            issuer; discovery at URL/.well-known/openid-configuration  [OIDC_ISSUER]
  --client-id ID          confidential client (client_secret_basic)  [OIDC_CLIENT_ID, default bench]
  --client-secret S       [OIDC_CLIENT_SECRET, default bench-secret]
  --redirect-uri URI      registered redirect_uri  [OIDC_REDIRECT_URI, default http://127.0.0.1:9/cb]
  --scope S               authorize scope  [default \"openid profile email\"]
  --cc-scope S            scope for client_credentials requests  [default: none sent]
  --expect-alg ALG        fail a round trip whose id_token header alg differs

Session for the sso scenario (the pluggable step):
  --session follow        (default) follow redirects from the authorization endpoint with a
                          cookie jar until the redirect_uri is reached: works for OPs with an
                          auto-login dev interaction (the node-oidc-provider peer has one)
  --session-cookie H      use this ready-made Cookie header value  [OIDC_SESSION_COOKIE]
  --session-cmd CMD       run `sh -c CMD`; its stdout is the Cookie header value  [OIDC_SESSION_CMD]
                          (env given to CMD: OIDC_ISSUER OIDC_CLIENT_ID OIDC_REDIRECT_URI
                          OIDC_AUTHORIZATION_ENDPOINT OIDC_SCOPE)
  --shared-session        one session for all workers (default: one per worker, new every run)

Load:
  --scenarios LIST        comma list of discovery,jwks,sso,refresh,cc,login,signin
                          [default discovery,jwks,sso,cc]
  --concurrency N         closed-loop workers, one keep-alive connection each  [default 16]
  --duration SECS         measured time per scenario run  [default 10]
  --warmup SECS           unmeasured time before it  [default 2]
  --runs N                repeat the whole scenario list N times; summary = medians  [default 3]
  --pause SECS            idle time between scenario runs  [default 1]
  --threads N             load generator runtime threads (1 = current-thread)  [default 1]

Sign-in scenario (Gatehouse's pages; users in an account that requires 2FA):
  --signin-users N        users PREFIX0 .. PREFIX<N-1>, not yet enrolled: each is enrolled
                          on first use (the secret is kept for this process only), then
                          signs in at most three times per 30 s TOTP window  [default 0]
  --signin-prefix P       [default signin-]
  --signin-password PW    [default bench-password]

Reporting:
  --label TEXT            carried into every JSON line
  --server-pid PID        sample that process's RSS (/proc) and CPU time during each run
  -h, --help
";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Scenario {
    Discovery,
    Jwks,
    Sso,
    Cc,
    Login,
    Refresh,
    Signin,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Discovery => "discovery",
            Scenario::Jwks => "jwks",
            Scenario::Sso => "sso",
            Scenario::Cc => "cc",
            Scenario::Login => "login",
            Scenario::Refresh => "refresh",
            Scenario::Signin => "signin",
        }
    }
    fn parse(s: &str) -> Result<Scenario, String> {
        Ok(match s.trim() {
            "discovery" => Scenario::Discovery,
            "jwks" => Scenario::Jwks,
            "sso" => Scenario::Sso,
            "cc" | "client_credentials" => Scenario::Cc,
            "login" => Scenario::Login,
            "refresh" => Scenario::Refresh,
            "signin" => Scenario::Signin,
            o => return Err(format!("unknown scenario {o}")),
        })
    }
    fn step_names(self) -> &'static [&'static str] {
        match self {
            Scenario::Sso => &["authorize", "token"],
            Scenario::Login => &["login_to_code", "token"],
            Scenario::Signin => &["signin_to_code", "token"],
            _ => &[],
        }
    }
}

#[derive(Clone, Debug)]
enum SessionSource {
    Follow,
    Cookie(String),
    Cmd(String),
}

#[derive(Clone, Debug)]
struct Config {
    issuer: String,
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    scope: String,
    cc_scope: Option<String>,
    expect_alg: Option<String>,
    session: SessionSource,
    shared_session: bool,
    scenarios: Vec<Scenario>,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
    runs: usize,
    pause: Duration,
    threads: usize,
    label: String,
    server_pid: Option<u32>,
    signin_users: usize,
    signin_prefix: String,
    signin_password: String,
}

fn parse_args() -> Result<Config, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let mut cfg = Config {
        issuer: env("OIDC_ISSUER").unwrap_or_default(),
        client_id: env("OIDC_CLIENT_ID").unwrap_or_else(|| "bench".into()),
        client_secret: env("OIDC_CLIENT_SECRET").unwrap_or_else(|| "bench-secret".into()),
        redirect_uri: env("OIDC_REDIRECT_URI").unwrap_or_else(|| "http://127.0.0.1:9/cb".into()),
        scope: "openid profile email".into(),
        cc_scope: None,
        expect_alg: None,
        session: match (env("OIDC_SESSION_COOKIE"), env("OIDC_SESSION_CMD")) {
            (Some(c), _) => SessionSource::Cookie(c),
            (None, Some(c)) => SessionSource::Cmd(c),
            _ => SessionSource::Follow,
        },
        shared_session: false,
        scenarios: vec![
            Scenario::Discovery,
            Scenario::Jwks,
            Scenario::Sso,
            Scenario::Cc,
        ],
        concurrency: 16,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        runs: 3,
        pause: Duration::from_secs(1),
        threads: 1,
        label: String::new(),
        server_pid: None,
        signin_users: 0,
        signin_prefix: "signin-".into(),
        signin_password: "bench-password".into(),
    };
    let mut args = std::env::args().skip(1).peekable();
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = || -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => args.next().ok_or_else(|| format!("{flag} needs a value")),
            }
        };
        let secs = |s: String| -> Result<Duration, String> {
            s.parse::<f64>()
                .ok()
                .filter(|v| *v >= 0.0 && *v < 86400.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("bad seconds: {s}"))
        };
        let num = |s: String| -> Result<usize, String> {
            s.parse::<usize>()
                .ok()
                .filter(|v| *v > 0)
                .ok_or_else(|| format!("bad number: {s}"))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            "--issuer" => cfg.issuer = val()?,
            "--client-id" => cfg.client_id = val()?,
            "--client-secret" => cfg.client_secret = val()?,
            "--redirect-uri" => cfg.redirect_uri = val()?,
            "--scope" => cfg.scope = val()?,
            "--cc-scope" => cfg.cc_scope = Some(val()?),
            "--expect-alg" => cfg.expect_alg = Some(val()?),
            "--session" => {
                let v = val()?;
                if v != "follow" {
                    return Err(format!("--session accepts only `follow` (got {v}); see --session-cookie / --session-cmd"));
                }
                cfg.session = SessionSource::Follow;
            }
            "--session-cookie" => cfg.session = SessionSource::Cookie(val()?),
            "--session-cmd" => cfg.session = SessionSource::Cmd(val()?),
            "--shared-session" => cfg.shared_session = true,
            "--scenarios" => {
                cfg.scenarios = val()?
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(Scenario::parse)
                    .collect::<Result<_, _>>()?
            }
            "--concurrency" | "-c" => cfg.concurrency = num(val()?)?,
            "--duration" | "-d" => cfg.duration = secs(val()?)?,
            "--warmup" => cfg.warmup = secs(val()?)?,
            "--runs" => cfg.runs = num(val()?)?,
            "--pause" => cfg.pause = secs(val()?)?,
            "--threads" => cfg.threads = num(val()?)?,
            "--label" => cfg.label = val()?,
            "--signin-users" => cfg.signin_users = num(val()?)?,
            "--signin-prefix" => cfg.signin_prefix = val()?,
            "--signin-password" => cfg.signin_password = val()?,
            "--server-pid" => {
                cfg.server_pid = Some(val()?.parse().map_err(|_| "bad --server-pid".to_string())?)
            }
            o => return Err(format!("unknown argument {o}\n\n{USAGE}")),
        }
    }
    if cfg.issuer.is_empty() {
        return Err(format!("--issuer (or OIDC_ISSUER) is required\n\n{USAGE}"));
    }
    cfg.issuer = cfg.issuer.trim_end_matches('/').to_string();
    if cfg.scenarios.contains(&Scenario::Login) && !matches!(cfg.session, SessionSource::Follow) {
        return Err("scenario `login` needs the redirect-following session mode".into());
    }
    if cfg.duration.is_zero() {
        return Err("--duration must be > 0".into());
    }
    Ok(cfg)
}

/// Everything a worker needs, resolved once from discovery.
struct Target {
    cfg: Config,
    discovery_url: HttpUrl,
    jwks_url: HttpUrl,
    token_url: HttpUrl,
    /// authorization endpoint + static query prefix, ends with '&'
    authorize_prefix: String,
    authorization_endpoint: String,
    basic: String,
    cc_supported: bool,
    cc_body: Bytes,
    /// The sign-in scenario's users; worker `w` of `c` takes `w`, `w + c`, ...
    users: Vec<tokio::sync::Mutex<signin::BenchUser>>,
}

/// What a worker keeps between its operations.
struct WorkerState {
    index: usize,
    refresh: Option<String>,
    cursor: usize,
}

/// A sign-in worker whose users have all used their steps of this window.
const EXHAUSTED: &str = "exhausted";

struct AuthzRequest {
    url: String,
    verifier: String,
    state: String,
    nonce: String,
}

fn rand_b64(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| fastrand::u8(..)).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn snippet(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(160)]).replace(['\n', '\r'], " ");
    s
}

impl Target {
    fn authorize_request(&self) -> AuthzRequest {
        let verifier = rand_b64(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = rand_b64(12);
        let nonce = rand_b64(12);
        let url = format!(
            "{}state={state}&nonce={nonce}&code_challenge={challenge}&code_challenge_method=S256",
            self.authorize_prefix
        );
        AuthzRequest {
            url,
            verifier,
            state,
            nonce,
        }
    }

    fn is_redirect_uri(&self, loc: &str) -> bool {
        loc.starts_with(&self.cfg.redirect_uri)
            && matches!(
                loc.as_bytes().get(self.cfg.redirect_uri.len()),
                None | Some(b'?') | Some(b'#')
            )
    }

    fn code_from_redirect(&self, loc: &str, state: &str) -> Result<String, String> {
        let params = redirect_params(loc);
        if let Some(err) = param(&params, "error") {
            return Err(format!(
                "authorize error={err}: {}",
                param(&params, "error_description").unwrap_or("")
            ));
        }
        if param(&params, "state") != Some(state) {
            return Err("authorize: state mismatch".into());
        }
        if let Some(iss) = param(&params, "iss") {
            if iss != self.cfg.issuer {
                return Err(format!("authorize: iss mismatch {iss}"));
            }
        }
        param(&params, "code")
            .map(str::to_string)
            .ok_or_else(|| "authorize: redirect without code".into())
    }

    async fn token_post(&self, client: &mut Client, body: Bytes) -> Result<Value, String> {
        let resp = client
            .request(
                Method::POST,
                &self.token_url,
                &[
                    ("authorization", self.basic.as_str()),
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("accept", "application/json"),
                ],
                Some(body),
            )
            .await?;
        if resp.status != 200 {
            return Err(format!(
                "token: HTTP {} {}",
                resp.status,
                snippet(&resp.body)
            ));
        }
        serde_json::from_slice(&resp.body).map_err(|e| format!("token: bad JSON: {e}"))
    }

    fn check_id_token(&self, id_token: &str, nonce: &str) -> Result<(), String> {
        let mut parts = id_token.split('.');
        let (Some(h), Some(p), Some(_s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("id_token: not a compact JWS".into());
        };
        let dec = |x: &str| -> Result<Value, String> {
            let raw = URL_SAFE_NO_PAD
                .decode(x)
                .map_err(|e| format!("id_token: base64: {e}"))?;
            serde_json::from_slice(&raw).map_err(|e| format!("id_token: JSON: {e}"))
        };
        if let Some(alg) = &self.cfg.expect_alg {
            let hv = dec(h)?;
            if hv["alg"].as_str() != Some(alg.as_str()) {
                return Err(format!("id_token: alg {} != {alg}", hv["alg"]));
            }
        }
        let pv = dec(p)?;
        if pv["nonce"].as_str() != Some(nonce) {
            return Err("id_token: nonce mismatch".into());
        }
        if pv["iss"].as_str() != Some(self.cfg.issuer.as_str()) {
            return Err(format!("id_token: iss {}", pv["iss"]));
        }
        let aud_ok = match &pv["aud"] {
            Value::String(a) => *a == self.cfg.client_id,
            Value::Array(a) => a
                .iter()
                .any(|x| x.as_str() == Some(self.cfg.client_id.as_str())),
            _ => false,
        };
        if !aud_ok {
            return Err(format!("id_token: aud {}", pv["aud"]));
        }
        Ok(())
    }

    async fn redeem(
        &self,
        client: &mut Client,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Value, String> {
        let body = format!(
            "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={verifier}",
            pct(code),
            pct(&self.cfg.redirect_uri)
        );
        let v = self.token_post(client, Bytes::from(body)).await?;
        let id_token = v["id_token"]
            .as_str()
            .ok_or("token: response without id_token")?;
        self.check_id_token(id_token, nonce)?;
        Ok(v)
    }

    /// An SSO round trip with the worker's session: the token response.
    async fn sso_tokens(&self, client: &mut Client, jar: &mut Jar) -> Result<Value, String> {
        let req = self.authorize_request();
        let url = HttpUrl::parse(&req.url)?;
        let cookie = jar.header_for(url.path());
        let resp = match cookie.as_deref() {
            Some(c) => client.get(&url, &[("cookie", c)]).await?,
            None => client.get(&url, &[]).await?,
        };
        jar.update(&resp.headers, url.path());
        let loc = resp.header("location").ok_or("authorize: no Location")?;
        if !self.is_redirect_uri(loc) {
            return Err("authorize: no session for the refresh scenario".into());
        }
        let code = self.code_from_redirect(loc, &req.state)?;
        self.redeem(client, &code, &req.verifier, &req.nonce).await
    }

    /// One sign-in of the worker's next user with a step left, or `EXHAUSTED`.
    async fn signin_op(
        &self,
        client: &mut Client,
        ws: &mut WorkerState,
        steps: &mut [Vec<u32>],
        record: bool,
    ) -> Result<(), String> {
        let (n, c) = (self.users.len(), self.cfg.concurrency);
        let mine: Vec<usize> = (ws.index..n).step_by(c.max(1)).collect();
        if mine.is_empty() {
            return Err("signin: more workers than users (--signin-users)".into());
        }
        let now = signin::now_step();
        for k in 0..mine.len() {
            let i = mine[(ws.cursor + k) % mine.len()];
            let mut user = self.users[i].lock().await;
            let Some(step) = user.next_step(now) else {
                continue;
            };
            ws.cursor = (ws.cursor + k + 1) % mine.len();
            let t0 = Instant::now();
            let req = self.authorize_request();
            let loc = {
                let mut browser = signin::Browser {
                    client: &mut *client,
                    jar: Jar::new(),
                };
                signin::sign_in(
                    &mut browser,
                    &req.url,
                    &mut user,
                    &self.cfg.signin_password,
                    step,
                )
                .await?
            };
            drop(user);
            if !self.is_redirect_uri(&loc) {
                return Err(format!(
                    "signin: ended at {} instead of redirect_uri",
                    &loc[..loc.len().min(40)]
                ));
            }
            let code = self.code_from_redirect(&loc, &req.state)?;
            let t1 = Instant::now();
            self.redeem(client, &code, &req.verifier, &req.nonce)
                .await?;
            if record {
                steps[0].push(us(t1 - t0));
                steps[1].push(us(t1.elapsed()));
            }
            return Ok(());
        }
        Err(EXHAUSTED.into())
    }

    /// Redirect-following login: from a cookieless authorization request to the
    /// redirect_uri, collecting cookies. Returns (code, request) on success.
    async fn follow_login(
        &self,
        client: &mut Client,
        jar: &mut Jar,
    ) -> Result<(String, AuthzRequest), String> {
        let req = self.authorize_request();
        let mut url = HttpUrl::parse(&req.url)?;
        for _ in 0..12 {
            let cookie = jar.header_for(url.path());
            let mut hdrs: Vec<(&str, &str)> = vec![("accept", "text/html")];
            if let Some(c) = cookie.as_deref() {
                hdrs.push(("cookie", c));
            }
            let resp = client.get(&url, &hdrs).await?;
            jar.update(&resp.headers, url.path());
            if (300..400).contains(&resp.status) {
                let loc = resp
                    .header("location")
                    .ok_or("login: redirect without Location")?;
                if self.is_redirect_uri(loc) {
                    let code = self.code_from_redirect(loc, &req.state)?;
                    return Ok((code, req));
                }
                url = url.resolve(loc)?;
                continue;
            }
            return Err(format!(
                "login: HTTP {} at {} (not an auto-login flow? use --session-cookie or --session-cmd): {}",
                resp.status,
                url.path(),
                snippet(&resp.body)
            ));
        }
        Err("login: too many redirects".into())
    }

    async fn acquire_session(&self, client: &mut Client) -> Result<Jar, String> {
        match &self.cfg.session {
            SessionSource::Cookie(h) => Ok(Jar::from_header(h)),
            SessionSource::Cmd(cmd) => {
                let out = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(cmd)
                    .env("OIDC_ISSUER", &self.cfg.issuer)
                    .env("OIDC_CLIENT_ID", &self.cfg.client_id)
                    .env("OIDC_REDIRECT_URI", &self.cfg.redirect_uri)
                    .env("OIDC_AUTHORIZATION_ENDPOINT", &self.authorization_endpoint)
                    .env("OIDC_SCOPE", &self.cfg.scope)
                    .output()
                    .await
                    .map_err(|e| format!("session-cmd: {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "session-cmd exited {}: {}",
                        out.status,
                        snippet(&out.stderr)
                    ));
                }
                let h = String::from_utf8_lossy(&out.stdout).trim().to_string();
                let h = h
                    .strip_prefix("Cookie:")
                    .map(str::trim)
                    .unwrap_or(&h)
                    .to_string();
                if h.is_empty() {
                    return Err("session-cmd printed no cookie".into());
                }
                Ok(Jar::from_header(&h))
            }
            SessionSource::Follow => {
                let mut jar = Jar::new();
                self.follow_login(client, &mut jar).await?;
                if jar.is_empty() {
                    return Err("login finished but the OP set no cookie".into());
                }
                Ok(jar)
            }
        }
    }

    /// One operation. Step latencies (µs) are pushed into `steps` when `record`.
    async fn op(
        &self,
        scen: Scenario,
        client: &mut Client,
        jar: &mut Jar,
        ws: &mut WorkerState,
        steps: &mut [Vec<u32>],
        record: bool,
    ) -> Result<(), String> {
        match scen {
            Scenario::Refresh => {
                let token = match ws.refresh.take() {
                    Some(token) => token,
                    None => {
                        let v = self.sso_tokens(client, jar).await?;
                        v["refresh_token"]
                            .as_str()
                            .ok_or("refresh: the code exchange gave no refresh_token")?
                            .to_string()
                    }
                };
                let body = format!("grant_type=refresh_token&refresh_token={}", pct(&token));
                let v = self.token_post(client, Bytes::from(body)).await?;
                if v["access_token"].as_str().is_none() {
                    return Err("refresh: no access_token".into());
                }
                let next = v["refresh_token"]
                    .as_str()
                    .ok_or("refresh: not rotated (no refresh_token)")?;
                if next == token {
                    return Err("refresh: the same refresh_token came back".into());
                }
                ws.refresh = Some(next.to_string());
                Ok(())
            }
            Scenario::Signin => self.signin_op(client, ws, steps, record).await,
            Scenario::Discovery | Scenario::Jwks => {
                let url = if scen == Scenario::Discovery {
                    &self.discovery_url
                } else {
                    &self.jwks_url
                };
                let resp = client.get(url, &[("accept", "application/json")]).await?;
                if resp.status != 200 || resp.body.is_empty() {
                    return Err(format!("{}: HTTP {}", scen.name(), resp.status));
                }
                Ok(())
            }
            Scenario::Cc => {
                let v = self.token_post(client, self.cc_body.clone()).await?;
                if v["access_token"].as_str().is_none() {
                    return Err("cc: no access_token".into());
                }
                Ok(())
            }
            Scenario::Sso => {
                let t0 = Instant::now();
                let req = self.authorize_request();
                let url = HttpUrl::parse(&req.url)?;
                let cookie = jar.header_for(url.path());
                let resp = match cookie.as_deref() {
                    Some(c) => client.get(&url, &[("cookie", c)]).await?,
                    None => client.get(&url, &[]).await?,
                };
                jar.update(&resp.headers, url.path());
                if !(300..400).contains(&resp.status) {
                    return Err(format!(
                        "authorize: HTTP {} {}",
                        resp.status,
                        snippet(&resp.body)
                    ));
                }
                let loc = resp.header("location").ok_or("authorize: no Location")?;
                if !self.is_redirect_uri(loc) {
                    let l = &loc[..loc.len().min(40)];
                    return Err(format!("authorize: redirected to {l}... instead of redirect_uri (no session, or no consent for the scope)"));
                }
                let code = self.code_from_redirect(loc, &req.state)?;
                let t1 = Instant::now();
                self.redeem(client, &code, &req.verifier, &req.nonce)
                    .await?;
                if record {
                    steps[0].push(us(t1 - t0));
                    steps[1].push(us(t1.elapsed()));
                }
                Ok(())
            }
            Scenario::Login => {
                let t0 = Instant::now();
                let mut fresh = Jar::new();
                let (code, req) = self.follow_login(client, &mut fresh).await?;
                let t1 = Instant::now();
                self.redeem(client, &code, &req.verifier, &req.nonce)
                    .await?;
                if record {
                    steps[0].push(us(t1 - t0));
                    steps[1].push(us(t1.elapsed()));
                }
                Ok(())
            }
        }
    }
}

fn us(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

#[derive(Default)]
struct WorkerStats {
    lat: Vec<u32>,
    steps: Vec<Vec<u32>>,
    ok: u64,
    errors: u64,
    samples: Vec<String>,
}

async fn worker(
    t: Arc<Target>,
    scen: Scenario,
    mut jar: Jar,
    index: usize,
    measure_start: Instant,
    end: Instant,
) -> WorkerStats {
    let mut client = Client::new();
    let mut ws = WorkerState {
        index,
        refresh: None,
        cursor: 0,
    };
    let mut st = WorkerStats {
        steps: vec![Vec::new(); scen.step_names().len()],
        lat: Vec::with_capacity(4096),
        ..Default::default()
    };
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let record = t0 >= measure_start;
        let r = t
            .op(scen, &mut client, &mut jar, &mut ws, &mut st.steps, record)
            .await;
        if matches!(&r, Err(e) if e == EXHAUSTED) {
            // Every user of this worker used its steps: wait for the next window.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let failed = r.is_err();
        if record {
            match r {
                Ok(()) => {
                    st.ok += 1;
                    st.lat.push(us(t0.elapsed()));
                }
                Err(e) => {
                    st.errors += 1;
                    if st.samples.len() < 3 {
                        st.samples.push(e);
                    }
                }
            }
        }
        if failed {
            // keep a failing target (refused connections, ...) from becoming a hot loop
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    st
}

fn clk_tck() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0)
}

fn proc_cpu_ticks(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ut: f64 = f.get(11)?.parse().ok()?;
    let st: f64 = f.get(12)?.parse().ok()?;
    Some(ut + st)
}

fn proc_rss_kb(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

struct Sampled {
    server_rss_start_kb: Option<u64>,
    server_rss_max_kb: Option<u64>,
    server_cpu_s: Option<f64>,
    self_cpu_s: Option<f64>,
}

async fn sampler(
    server_pid: Option<u32>,
    tck: f64,
    measure_start: Instant,
    end: Instant,
) -> Sampled {
    tokio::time::sleep_until(measure_start.into()).await;
    let spid = server_pid.map(|p| p.to_string());
    let s_cpu0 = spid.as_deref().and_then(proc_cpu_ticks);
    let me_cpu0 = proc_cpu_ticks("self");
    let rss0 = spid.as_deref().and_then(proc_rss_kb);
    let mut rss_max = rss0;
    while Instant::now() < end {
        let next = (Instant::now() + Duration::from_millis(100)).min(end);
        tokio::time::sleep_until(next.into()).await;
        if let Some(r) = spid.as_deref().and_then(proc_rss_kb) {
            rss_max = Some(rss_max.map_or(r, |m| m.max(r)));
        }
    }
    let s_cpu1 = spid.as_deref().and_then(proc_cpu_ticks);
    let me_cpu1 = proc_cpu_ticks("self");
    Sampled {
        server_rss_start_kb: rss0,
        server_rss_max_kb: rss_max,
        server_cpu_s: s_cpu0.zip(s_cpu1).map(|(a, b)| (b - a) / tck),
        self_cpu_s: me_cpu0.zip(me_cpu1).map(|(a, b)| (b - a) / tck),
    }
}

fn pctl(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx] as f64 / 1000.0
}

fn r3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

/// Signs every user who has no secret yet in once (unmeasured): their first
/// sign-in enrols them, and the load generator keeps the secret.
async fn enrol_users(t: &Arc<Target>) -> Result<(), String> {
    let c = t.cfg.concurrency.min(t.users.len()).max(1);
    let tasks: Vec<_> = (0..c)
        .map(|w| {
            let t = t.clone();
            tokio::spawn(async move {
                let mut client = Client::new();
                for i in (w..t.users.len()).step_by(c) {
                    let mut user = t.users[i].lock().await;
                    if user.secret.is_some() {
                        continue;
                    }
                    let req = t.authorize_request();
                    let mut browser = signin::Browser {
                        client: &mut client,
                        jar: Jar::new(),
                    };
                    let step = signin::now_step();
                    signin::sign_in(
                        &mut browser,
                        &req.url,
                        &mut user,
                        &t.cfg.signin_password,
                        step,
                    )
                    .await
                    .map_err(|e| format!("{}: {e}", user.name))?;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn run_scenario(t: Arc<Target>, scen: Scenario, run: usize, tck: f64) -> Value {
    let cfg = &t.cfg;
    let c = cfg.concurrency;
    // Sessions (sso only): acquired fresh before each run.
    let mut jars = vec![Jar::new(); c];
    if scen == Scenario::Signin {
        if t.users.is_empty() {
            return json!({"type": "result", "label": cfg.label, "scenario": scen.name(), "run": run,
                "fatal": "the signin scenario needs --signin-users N (users in an account that requires 2FA)"});
        }
        if let Err(e) = enrol_users(&t).await {
            return json!({"type": "result", "label": cfg.label, "scenario": scen.name(), "run": run,
                "fatal": format!("could not enrol the sign-in users: {e}")});
        }
    }
    if scen == Scenario::Sso || scen == Scenario::Refresh {
        let mut client = Client::new();
        let n = if cfg.shared_session
            || !matches!(cfg.session, SessionSource::Follow | SessionSource::Cmd(_))
        {
            1
        } else {
            c
        };
        let mut got = Vec::with_capacity(n);
        for _ in 0..n {
            match t.acquire_session(&mut client).await {
                Ok(j) => got.push(j),
                Err(e) => {
                    return json!({"type": "result", "label": cfg.label, "scenario": scen.name(), "run": run,
                        "fatal": format!("could not obtain a session: {e}")});
                }
            }
        }
        for (i, j) in jars.iter_mut().enumerate() {
            *j = got[i % got.len()].clone();
        }
    }

    let start = Instant::now() + Duration::from_millis(20);
    let measure_start = start + cfg.warmup;
    let end = measure_start + cfg.duration;
    let samp = tokio::spawn(sampler(cfg.server_pid, tck, measure_start, end));
    let handles: Vec<_> = jars
        .into_iter()
        .enumerate()
        .map(|(i, j)| tokio::spawn(worker(t.clone(), scen, j, i, measure_start, end)))
        .collect();
    let mut all = WorkerStats {
        steps: vec![Vec::new(); scen.step_names().len()],
        ..Default::default()
    };
    for h in handles {
        if let Ok(w) = h.await {
            all.ok += w.ok;
            all.errors += w.errors;
            all.lat.extend(w.lat);
            for (a, b) in all.steps.iter_mut().zip(w.steps) {
                a.extend(b);
            }
            for s in w.samples {
                if all.samples.len() < 5 && !all.samples.contains(&s) {
                    all.samples.push(s);
                }
            }
        }
    }
    let wall = end.saturating_duration_since(measure_start).as_secs_f64();
    let sampled = samp.await.ok();
    all.lat.sort_unstable();
    let mean = if all.lat.is_empty() {
        f64::NAN
    } else {
        all.lat.iter().map(|&x| x as f64).sum::<f64>() / all.lat.len() as f64 / 1000.0
    };
    let mut steps = serde_json::Map::new();
    for (name, mut v) in scen.step_names().iter().zip(all.steps) {
        v.sort_unstable();
        steps.insert(
            name.to_string(),
            json!({"p50_ms": r3(pctl(&v, 0.5)), "p99_ms": r3(pctl(&v, 0.99))}),
        );
    }
    let rps = all.ok as f64 / wall;
    let mut out = json!({
        "type": "result",
        "label": cfg.label,
        "scenario": scen.name(),
        "run": run,
        "concurrency": c,
        "duration_s": r3(cfg.duration.as_secs_f64()),
        "warmup_s": r3(cfg.warmup.as_secs_f64()),
        "ok": all.ok,
        "errors": all.errors,
        "rps": r3(rps),
        "p50_ms": r3(pctl(&all.lat, 0.5)),
        "p90_ms": r3(pctl(&all.lat, 0.9)),
        "p99_ms": r3(pctl(&all.lat, 0.99)),
        "max_ms": r3(pctl(&all.lat, 1.0)),
        "mean_ms": r3(mean),
    });
    if !steps.is_empty() {
        out["steps"] = Value::Object(steps);
    }
    if !all.samples.is_empty() {
        out["error_samples"] = json!(all.samples);
    }
    if let Some(s) = sampled {
        if let Some(pid) = cfg.server_pid {
            let cpu = s.server_cpu_s;
            out["server"] = json!({
                "pid": pid,
                "rss_mb_start": s.server_rss_start_kb.map(|k| r3(k as f64 / 1024.0)),
                "rss_mb_max": s.server_rss_max_kb.map(|k| r3(k as f64 / 1024.0)),
                "cpu_s": cpu.map(r3),
                "cpu_cores": cpu.map(|x| r3(x / wall)),
                "cpu_ms_per_op": cpu.filter(|_| all.ok > 0).map(|x| r3(x * 1000.0 / all.ok as f64)),
            });
        }
        out["loadgen"] = json!({
            "cpu_s": s.self_cpu_s.map(r3),
            "cpu_cores": s.self_cpu_s.map(|x| r3(x / wall)),
        });
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn num(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_f64().unwrap_or(f64::NAN)
}

fn summarize(cfg: &Config, scen: Scenario, runs: &[Value]) -> Value {
    let med = |path: &[&str]| r3(median(runs.iter().map(|r| num(r, path)).collect()));
    let max = |path: &[&str]| {
        let m = runs
            .iter()
            .map(|r| num(r, path))
            .filter(|x| x.is_finite())
            .fold(f64::NAN, f64::max);
        r3(m)
    };
    let mut s = json!({
        "type": "summary",
        "label": cfg.label,
        "scenario": scen.name(),
        "runs": runs.len(),
        "concurrency": cfg.concurrency,
        "duration_s": r3(cfg.duration.as_secs_f64()),
        "rps": med(&["rps"]),
        "p50_ms": med(&["p50_ms"]),
        "p99_ms": med(&["p99_ms"]),
        "errors": runs.iter().map(|r| r["errors"].as_u64().unwrap_or(0)).sum::<u64>(),
        "rps_runs": runs.iter().map(|r| r["rps"].clone()).collect::<Vec<_>>(),
        "loadgen_cpu_cores": med(&["loadgen", "cpu_cores"]),
    });
    if cfg.server_pid.is_some() {
        s["server_cpu_ms_per_op"] = med(&["server", "cpu_ms_per_op"]);
        s["server_cpu_cores"] = med(&["server", "cpu_cores"]);
        s["server_rss_mb_max"] = max(&["server", "rss_mb_max"]);
    }
    for st in scen.step_names() {
        s[format!("{st}_p50_ms")] = med(&["steps", st, "p50_ms"]);
    }
    if let Some(f) = runs.iter().find_map(|r| r.get("fatal")) {
        s["fatal"] = f.clone();
    }
    s
}

fn fmt(v: &Value, w: usize, prec: usize) -> String {
    match v.as_f64() {
        Some(x) => format!("{x:>w$.prec$}"),
        None => format!("{:>w$}", "-"),
    }
}

fn table(cfg: &Config, rows: &[Value]) {
    let mut t = String::new();
    t.push_str(&format!(
        "\n{}  issuer {}  concurrency {}  {} s measured (+{} s warmup) x {} runs, loadgen threads {}\n",
        if cfg.label.is_empty() { "oidc-loadgen" } else { &cfg.label },
        cfg.issuer,
        cfg.concurrency,
        cfg.duration.as_secs_f64(),
        cfg.warmup.as_secs_f64(),
        cfg.runs,
        cfg.threads
    ));
    t.push_str(&format!(
        "{:<10} {:>10} {:>9} {:>9} {:>7} {:>12} {:>12} {:>11} {:>9}   {}\n",
        "scenario",
        "req/s med",
        "p50 ms",
        "p99 ms",
        "errors",
        "srv ms/op",
        "srv cores",
        "srv RSS MB",
        "lg cores",
        "req/s per run"
    ));
    for r in rows {
        let runs: Vec<String> = r["rps_runs"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.as_f64().map(|f| format!("{f:.0}")).unwrap_or("-".into()))
                    .collect()
            })
            .unwrap_or_default();
        t.push_str(&format!(
            "{:<10} {} {} {} {:>7} {} {} {} {}   {}\n",
            r["scenario"].as_str().unwrap_or(""),
            fmt(&r["rps"], 10, 0),
            fmt(&r["p50_ms"], 9, 2),
            fmt(&r["p99_ms"], 9, 2),
            r["errors"]
                .as_u64()
                .map(|e| e.to_string())
                .unwrap_or("-".into()),
            fmt(&r["server_cpu_ms_per_op"], 12, 3),
            fmt(&r["server_cpu_cores"], 12, 2),
            fmt(&r["server_rss_mb_max"], 11, 1),
            fmt(&r["loadgen_cpu_cores"], 9, 2),
            runs.join(" / "),
        ));
        if let Some(f) = r.get("fatal") {
            t.push_str(&format!("           FATAL: {f}\n"));
        }
    }
    eprint!("{t}");
}

async fn discover(cfg: &Config) -> Result<Target, String> {
    let discovery_url =
        HttpUrl::parse(&format!("{}/.well-known/openid-configuration", cfg.issuer))?;
    let mut client = Client::new();
    let resp = client
        .get(&discovery_url, &[("accept", "application/json")])
        .await?;
    if resp.status != 200 {
        return Err(format!("discovery: HTTP {}", resp.status));
    }
    let d: Value =
        serde_json::from_slice(&resp.body).map_err(|e| format!("discovery JSON: {e}"))?;
    if d["issuer"].as_str() != Some(cfg.issuer.as_str()) {
        return Err(format!(
            "discovery issuer {} != {}",
            d["issuer"], cfg.issuer
        ));
    }
    let s = |k: &str| {
        d[k].as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("discovery: no {k}"))
    };
    let authorization_endpoint = s("authorization_endpoint")?;
    let sep = if authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let authorize_prefix = format!(
        "{authorization_endpoint}{sep}response_type=code&client_id={}&redirect_uri={}&scope={}&",
        pct(&cfg.client_id),
        pct(&cfg.redirect_uri),
        pct(&cfg.scope)
    );
    HttpUrl::parse(&authorize_prefix)?;
    let grant_types: Vec<String> = d["grant_types_supported"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_else(|| vec!["authorization_code".into(), "implicit".into()]);
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            pct(&cfg.client_id),
            pct(&cfg.client_secret)
        ))
    );
    let mut cc_body = "grant_type=client_credentials".to_string();
    if let Some(sc) = &cfg.cc_scope {
        cc_body.push_str(&format!("&scope={}", pct(sc)));
    }
    Ok(Target {
        discovery_url,
        jwks_url: HttpUrl::parse(&s("jwks_uri")?)?,
        token_url: HttpUrl::parse(&s("token_endpoint")?)?,
        authorize_prefix,
        authorization_endpoint,
        basic,
        cc_supported: grant_types.iter().any(|g| g == "client_credentials"),
        cc_body: Bytes::from(cc_body),
        users: (0..cfg.signin_users)
            .map(|i| {
                tokio::sync::Mutex::new(signin::BenchUser::new(format!("{}{i}", cfg.signin_prefix)))
            })
            .collect(),
        cfg: cfg.clone(),
    })
}

async fn amain(cfg: Config) -> Result<(), String> {
    let tck = clk_tck();
    let t = Arc::new(discover(&cfg).await?);
    println!(
        "{}",
        json!({
            "type": "config",
            "label": cfg.label,
            "issuer": cfg.issuer,
            "client_id": cfg.client_id,
            "scope": cfg.scope,
            "scenarios": cfg.scenarios.iter().map(|s| s.name()).collect::<Vec<_>>(),
            "concurrency": cfg.concurrency,
            "duration_s": cfg.duration.as_secs_f64(),
            "warmup_s": cfg.warmup.as_secs_f64(),
            "runs": cfg.runs,
            "threads": cfg.threads,
            "session": match &cfg.session { SessionSource::Follow => "follow", SessionSource::Cookie(_) => "cookie", SessionSource::Cmd(_) => "cmd" },
            "shared_session": cfg.shared_session,
            "server_pid": cfg.server_pid,
            "cc_supported": t.cc_supported,
        })
    );
    let mut per: Vec<(Scenario, Vec<Value>)> =
        cfg.scenarios.iter().map(|s| (*s, Vec::new())).collect();
    let mut summaries = Vec::new();
    for run in 1..=cfg.runs {
        for (scen, results) in per.iter_mut() {
            if *scen == Scenario::Cc && !t.cc_supported {
                if run == 1 {
                    println!(
                        "{}",
                        json!({"type": "skipped", "label": cfg.label, "scenario": "cc",
                            "reason": "client_credentials not in grant_types_supported"})
                    );
                }
                continue;
            }
            let r = run_scenario(t.clone(), *scen, run, tck).await;
            println!("{r}");
            let fatal = r.get("fatal").is_some();
            results.push(r);
            if fatal {
                eprintln!("{}: {}", scen.name(), results.last().unwrap()["fatal"]);
            }
            tokio::time::sleep(cfg.pause).await;
        }
    }
    for (scen, results) in &per {
        if results.is_empty() {
            continue;
        }
        let s = summarize(&cfg, *scen, results);
        println!("{s}");
        summaries.push(s);
    }
    table(&cfg, &summaries);
    Ok(())
}

fn main() {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let rt = if cfg.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cfg.threads)
            .enable_all()
            .build()
    }
    .expect("tokio runtime");
    if let Err(e) = rt.block_on(amain(cfg)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
