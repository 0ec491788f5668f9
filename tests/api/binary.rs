//! The real `gatehouse` binary, set up through its own commands and run as a
//! process: for what only a process shows (its logs, signals, crashes).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const PASSWORD_OF_ANN: &str = "ann's long password";
pub const CLIENT_SECRET: &str = "portal-secret-for-the-binary";
pub const REDIRECT: &str = "http://127.0.0.1:9/portal/cb";

/// `gatehouse` with `args` on `dir`'s database and keys, with cheap hashes.
pub fn gatehouse(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .args(args)
        .args([
            "--database-url",
            &format!("sqlite://{}/db.sqlite", dir.display()),
            "--keys-dir",
        ])
        .arg(dir.join("keys"))
        .env("GATEHOUSE_PASSWORD_HASH_MEMORY_KIB", "256")
        .env("GATEHOUSE_PASSWORD_HASH_ITERATIONS", "1")
        .current_dir(dir);
    command
}

/// Runs a command to its end; it must succeed.
pub fn run(dir: &Path, args: &[&str], stdin: Option<&str>) {
    let mut child = gatehouse(dir, args)
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
