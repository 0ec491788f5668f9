//! Outages outside the process: the PostgreSQL server stopped under a running
//! provider and started again, and a disk that fills up under SQLite. The
//! provider answers 503 quickly and comes back by itself, without a restart.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::binary::*;
use crate::common::*;

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// The newest PostgreSQL server binaries of the machine (Debian's layout).
fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries under /usr/lib/postgresql")
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().expect("pg_ctl under /usr/lib/postgresql/*/bin")
}

/// A PostgreSQL cluster of this test's own, in a temporary folder, so that
/// stopping it disturbs no other test.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn tool(&self, name: &str) -> Command {
        // The server refuses to run as root: run it as the postgres user then.
        if is_root() {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join(name));
            command
        } else {
            Command::new(self.bin.join(name))
        }
    }

    fn must(mut command: Command, what: &str) {
        let out = command.stdin(Stdio::null()).output().unwrap();
        assert!(
            out.status.success(),
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn create() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-pg")
            .tempdir()
            .unwrap();
        if is_root() {
            Cluster::must(
                {
                    let mut chown = Command::new("chown");
                    chown.arg("postgres:postgres").arg(dir.path());
                    chown
                },
                "chown",
            );
        }
        let cluster = Cluster {
            dir,
            bin: postgres_bin(),
            port: free_port(),
        };
        let mut initdb = cluster.tool("initdb");
        initdb.arg("-D").arg(cluster.data()).args([
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        Cluster::must(initdb, "initdb");
        cluster.start();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let mut start = self.tool("pg_ctl");
        start
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.path().display()
            ))
            .args(["-w", "start"]);
        Cluster::must(start, "pg_ctl start");
    }

    fn stop(&self, mode: &str) {
        let mut stop = self.tool("pg_ctl");
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "stop"]);
        Cluster::must(stop, "pg_ctl stop");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut stop = self.tool("pg_ctl");
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = stop.status();
    }
}

/// The first step of a sign-in (it parks the request: a write), with how long it took.
async fn authorize(base: &str) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let response = new_browser()
        .get(authorize_url(base, ""))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap(), started.elapsed())
}

async fn refresh(base: &str, refresh_token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth("portal", Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap()
}

/// Signs in until it works again; service must return within `limit`.
async fn signs_in_again_within(base: &str, limit: Duration) -> Issued {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(issued) = sign_in(base).await {
            return issued;
        }
        assert!(Instant::now() < deadline, "service did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn session_still_signed_in(base: &str, issued: &Issued) {
    let sso = issued
        .browser
        .get(authorize_url(base, "&prompt=none"))
        .send()
        .await
        .unwrap();
    let location = sso.headers()["location"].to_str().unwrap().to_string();
    assert!(query_of(&location).contains_key("code"), "{location}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_stopped_and_started_again_under_a_running_provider() {
    if std::env::var("GATEHOUSE_TEST_PG_URL").is_err() {
        // The suite runs without PostgreSQL only when the README's command was not used.
        return;
    }
    let cluster = Cluster::create();
    let (_dir, path) = temp_dir();
    set_up_on(&path, &cluster.url(), false);
    let mut server = Server::start(&path, free_port(), |command| {
        command.env("GATEHOUSE_DATABASE_URL", cluster.url());
    })
    .await;
    let base = server.base.clone();
    let before = sign_in(&base).await.expect("signed in before the stop");

    cluster.stop("fast");
    let (status, page, took) = authorize(&base).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
    assert!(
        page.contains("Temporarily unavailable"),
        "a clear page: {page}"
    );
    assert!(took < Duration::from_millis(1500), "answered in {took:?}");
    let token = refresh(&base, &before.refresh_token).await;
    assert_eq!(token.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = token.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "the process itself is fine"
    );

    cluster.start();
    signs_in_again_within(&base, Duration::from_secs(15)).await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the same process, never restarted"
    );
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    session_still_signed_in(&base, &before).await;
    let token = refresh(&base, &before.refresh_token).await;
    assert_eq!(token.status(), StatusCode::OK, "the refresh token survives");
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: &Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs needs root");
        SmallDisk {
            path: path.to_path_buf(),
        }
    }

    /// Writes a file until the disk refuses more.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        loop {
            if let Err(err) = file.write_all(&chunk).and_then(|_| file.sync_all()) {
                assert_eq!(err.raw_os_error(), Some(28), "ENOSPC: {err}");
                // Whatever fits in the last partial chunk too.
                let _ = file.write_all(&chunk[..4096]);
                return filler;
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs, which needs root: .ci/run runs it with --ignored"]
async fn a_full_disk_gets_clear_503s_and_service_returns_when_space_is_freed() {
    let (_dir, path) = temp_dir();
    let disk = SmallDisk::mount(&path.join("disk"), "16m");
    let database_url = format!("sqlite://{}/gatehouse.db", disk.path.display());
    set_up_on(&path, &database_url, false);
    let server = Server::start(&path, free_port(), |command| {
        command.env("GATEHOUSE_DATABASE_URL", &database_url);
    })
    .await;
    let base = server.base.clone();
    let before = sign_in(&base)
        .await
        .expect("signed in before the disk filled");

    let filler = disk.fill();
    // Writes fail once the database's files need a page the disk cannot give.
    let mut refused = None;
    for attempt in 0..3000 {
        let (status, page, _) = authorize(&base).await;
        match status {
            StatusCode::SEE_OTHER => continue,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(
                    page.contains("Temporarily unavailable"),
                    "a clear page: {page}"
                );
                refused = Some(attempt);
                break;
            }
            other => panic!("attempt {attempt}: {other}: {page}"),
        }
    }
    let refused = refused.expect("a full disk refuses writes");
    eprintln!("the first write refused was attempt {refused}");
    // A refresh on the full disk: refused as unavailable, or (when its one
    // transaction fits in a page freed meanwhile) done; never half done.
    let token = refresh(&base, &before.refresh_token).await;
    let status = token.status();
    let body: serde_json::Value = token.json().await.unwrap();
    let current = match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            assert_eq!(body["error"], "temporarily_unavailable");
            before.refresh_token.clone()
        }
        StatusCode::OK => body["refresh_token"].as_str().unwrap().to_string(),
        other => panic!("a refresh on a full disk: {other} {body}"),
    };
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    std::fs::remove_file(filler).unwrap();
    signs_in_again_within(&base, Duration::from_secs(10)).await;
    session_still_signed_in(&base, &before).await;
    let token = refresh(&base, &current).await;
    assert_eq!(token.status(), StatusCode::OK, "the refresh token survives");
    drop(server);
}
