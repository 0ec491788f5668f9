//! The real `gatehouse` binary, set up through its own commands and run as a
//! process: for what only a process shows (its logs, signals, crashes).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::common::{hidden_input, new_browser, query_of};

pub const PASSWORD_OF_ANN: &str = "ann's long password";
pub const CLIENT_SECRET: &str = "portal-secret-for-the-binary";
pub const REDIRECT: &str = "http://127.0.0.1:9/portal/cb";

/// The SQLite database in `dir` that the binary uses unless told otherwise.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/db.sqlite", dir.display())
}

/// `gatehouse` with `args` on `dir`'s database and keys, with cheap hashes.
/// The database comes from `GATEHOUSE_DATABASE_URL`, so `.env` can change it.
pub fn gatehouse(dir: &Path, args: &[&str]) -> Command {
    gatehouse_on(dir, &sqlite_url(dir), args)
}

/// `gatehouse` as above, on the database at `database_url`.
pub fn gatehouse_on(dir: &Path, database_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .arg("--keys-dir")
        .arg(dir.join("keys"))
        .env("GATEHOUSE_DATABASE_URL", database_url)
        .env("GATEHOUSE_PASSWORD_HASH_MEMORY_KIB", "256")
        .env("GATEHOUSE_PASSWORD_HASH_ITERATIONS", "1")
        .current_dir(dir);
    command
}

/// Runs a command on the database at `database_url` to its end; it must succeed.
pub fn run_on(dir: &Path, database_url: &str, args: &[&str], stdin: Option<&str>) {
    let mut child = gatehouse_on(dir, database_url, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Account `acme` (2FA required when `require_mfa`), user `ann`, client `portal`.
pub fn set_up(dir: &Path, require_mfa: bool) {
    set_up_on(dir, &sqlite_url(dir), require_mfa)
}

/// As `set_up`, on the database at `database_url`.
pub fn set_up_on(dir: &Path, database_url: &str, require_mfa: bool) {
    let run =
        |dir: &Path, args: &[&str], stdin: Option<&str>| run_on(dir, database_url, args, stdin);
    let mut account = vec!["account", "create", "acme"];
    if require_mfa {
        account.push("--require-mfa");
    }
    run(dir, &account, None);
    run(
        dir,
        &[
            "user",
            "create",
            "--username",
            "ann",
            "--email",
            "ann@example.com",
            "--account",
            "acme",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD_OF_ANN}\n")),
    );
    run(
        dir,
        &[
            "client",
            "create",
            "--client-id",
            "portal",
            "--redirect-uri",
            REDIRECT,
            "--secret-stdin",
        ],
        Some(&format!("{CLIENT_SECRET}\n")),
    );
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `gatehouse serve` on `port`, changed by `adjust`, and waits until it answers.
    pub async fn start(dir: &Path, port: u16, adjust: impl FnOnce(&mut Command)) -> Server {
        let base = format!("http://127.0.0.1:{port}");
        let mut command = gatehouse(
            dir,
            &[
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--issuer",
                &base,
            ],
        );
        command.stdout(Stdio::null()).stderr(Stdio::null());
        adjust(&mut command);
        let child = command.spawn().unwrap();
        let server = Server { child, base };
        for _ in 0..200 {
            if reqwest::get(format!("{}/healthz", server.base))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn temp_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("gatehouse-binary")
        .tempdir()
        .unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// What a completed sign-in holds: its browser (the session) and its refresh token.
pub struct Issued {
    pub browser: reqwest::Client,
    pub refresh_token: String,
}

pub const CHALLENGE_VERIFIER: &str = "a-pkce-verifier-that-is-long-enough-0123456789abcdef";

pub fn challenge() -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(CHALLENGE_VERIFIER.as_bytes()))
}

pub fn authorize_url(base: &str, extra: &str) -> String {
    format!(
        "{base}/authorize?response_type=code&client_id=portal&redirect_uri={REDIRECT}&scope=openid&state=s&nonce=n&code_challenge={}&code_challenge_method=S256{extra}",
        challenge()
    )
}

/// A whole sign-in and token exchange; `None` when the server stops answering.
pub async fn sign_in(base: &str) -> Option<Issued> {
    let browser = new_browser();
    let response = browser.get(authorize_url(base, "")).send().await.ok()?;
    let login = response
        .headers()
        .get("location")?
        .to_str()
        .ok()?
        .to_string();
    let page = browser
        .get(format!("{base}{login}"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let form = [
        ("csrf_token", hidden_input(&page, "csrf_token")?),
        ("request", hidden_input(&page, "request")?),
        ("username", "ann".to_string()),
        ("password", PASSWORD_OF_ANN.to_string()),
    ];
    let response = browser
        .post(format!("{base}/login"))
        .form(&form)
        .send()
        .await
        .ok()?;
    let location = response
        .headers()
        .get("location")?
        .to_str()
        .ok()?
        .to_string();
    let code = query_of(&location).get("code")?.clone();
    let tokens = reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth("portal", Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", CHALLENGE_VERIFIER),
        ])
        .send()
        .await
        .ok()?;
    if tokens.status() != StatusCode::OK {
        return None;
    }
    let tokens: serde_json::Value = tokens.json().await.ok()?;
    Some(Issued {
        browser,
        refresh_token: tokens["refresh_token"].as_str()?.to_string(),
    })
}
