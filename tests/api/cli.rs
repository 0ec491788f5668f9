//! The command line: commands, standard input for secrets, exit codes.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::*;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gatehouse(db: &str, dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .args(["--database-url", db, "--keys-dir"])
        .arg(dir.join("keys"))
        .env("GATEHOUSE_PASSWORD_HASH_MEMORY_KIB", "256")
        .env("GATEHOUSE_PASSWORD_HASH_ITERATIONS", "1")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn the_cli_creates_accounts_users_and_clients_and_refuses_bad_input() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let db = fresh_database(backend, dir.path()).await;
        let run = |args: &[&str], stdin: Option<&str>| gatehouse(&db, dir.path(), args, stdin);

        let migrate = run(&["migrate"], None);
        assert_eq!(migrate.code, 0, "{}", migrate.stderr);

        assert_eq!(
            run(
                &[
                    "account",
                    "create",
                    "acme",
                    "--require-mfa",
                    "--factors",
                    "totp,webauthn"
                ],
                None
            )
            .code,
            0
        );
        let duplicate = run(&["account", "create", "acme"], None);
        assert_eq!(duplicate.code, 1);
        assert!(
            duplicate.stderr.contains("already exists"),
            "{}",
            duplicate.stderr
        );
        assert_eq!(
            duplicate.stderr.lines().count(),
            1,
            "one clear line: {}",
            duplicate.stderr
        );
        assert_eq!(
            run(&["account", "set", "acme", "--require-mfa", "false"], None).code,
            0
        );
        assert_eq!(
            run(
                &["account", "set", "nobody", "--require-mfa", "false"],
                None
            )
            .code,
            1
        );
        assert_eq!(
            run(
                &["account", "create", "x", "--factors", "carrier-pigeon"],
                None
            )
            .code,
            2
        );

        let user = [
            "user",
            "create",
            "--username",
            "ann",
            "--email",
            "ann@example.com",
            "--account",
            "acme",
            "--password-stdin",
        ];
        let common = run(&user, Some("password123\n"));
        assert_eq!(common.code, 2, "{}", common.stderr);
        assert!(common.stderr.contains("too common"), "{}", common.stderr);
        let created = run(&user, Some("a long password\n"));
        assert_eq!(created.code, 0, "{}", created.stderr);
        assert!(
            !created.stdout.contains("a long password")
                && !created.stderr.contains("a long password")
        );
        let again = run(&user, Some("a long password\n"));
        assert_eq!(again.code, 1);
        assert!(again.stderr.contains("already exists"));
        assert_eq!(
            run(&user[..user.len() - 1], None).code,
            2,
            "the password only comes from stdin"
        );
        let empty = run(
            &[
                "user",
                "create",
                "--username",
                "bo",
                "--email",
                "bo@example.com",
                "--account",
                "acme",
                "--password-stdin",
            ],
            Some(""),
        );
        assert_eq!(empty.code, 2, "{}", empty.stderr);

        let client = [
            "client",
            "create",
            "--client-id",
            "portal",
            "--redirect-uri",
            "https://portal.example/cb",
            "--secret-stdin",
        ];
        assert_eq!(run(&client, Some("portal-secret-123\n")).code, 0);
        assert_eq!(
            run(&client, Some("portal-secret-123\n")).code,
            1,
            "duplicate client id"
        );
        let bad_uri = run(
            &[
                "client",
                "create",
                "--client-id",
                "x",
                "--redirect-uri",
                "not a uri",
                "--public",
            ],
            None,
        );
        assert_eq!(bad_uri.code, 2);
        assert!(bad_uri.stderr.contains("not an absolute URI"));
        assert_eq!(
            run(
                &[
                    "client",
                    "create",
                    "--client-id",
                    "y",
                    "--redirect-uri",
                    "https://a/cb"
                ],
                None
            )
            .code,
            2,
            "secret or --public"
        );
        assert_eq!(
            run(
                &[
                    "client",
                    "create",
                    "--client-id",
                    "z",
                    "--redirect-uri",
                    "https://a/cb",
                    "--public",
                    "--id-token-alg",
                    "EdDSA"
                ],
                None
            )
            .code,
            0
        );

        let third_party = run(
            &[
                "client",
                "create",
                "--client-id",
                "partner",
                "--redirect-uri",
                "https://partner.example/cb",
                "--public",
                "--consent",
                "--require-par",
                "--device",
            ],
            None,
        );
        assert_eq!(third_party.code, 0, "{}", third_party.stderr);
        assert!(
            third_party
                .stdout
                .contains("third-party (users asked for consent)"),
            "{}",
            third_party.stdout
        );
        assert!(
            third_party.stdout.contains("device grant"),
            "{}",
            third_party.stdout
        );

        // A client with only a key pair: its public keys from a file or a URI.
        let pair = josekit::jws::ES256.generate_key_pair().unwrap();
        let public = serde_json::to_value(pair.to_jwk_public_key().as_ref()).unwrap();
        let private = serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap();
        let (public_file, private_file) = (
            dir.path().join("public.json"),
            dir.path().join("private.json"),
        );
        std::fs::write(
            &public_file,
            serde_json::json!({ "keys": [public] }).to_string(),
        )
        .unwrap();
        std::fs::write(
            &private_file,
            serde_json::json!({ "keys": [private] }).to_string(),
        )
        .unwrap();
        let keyed = |id: &str, keys: [&str; 2]| {
            let mut args = vec![
                "client",
                "create",
                "--client-id",
                id,
                "--redirect-uri",
                "https://cli.example/cb",
                "--auth-method",
                "private_key_jwt",
            ];
            args.extend(keys.iter().filter(|k| !k.is_empty()));
            run(&args, None)
        };
        let file = public_file.to_str().unwrap();
        let created = keyed("keyed", ["--jwks-file", file]);
        assert_eq!(created.code, 0, "{}", created.stderr);
        assert!(
            created.stdout.contains("confidential (private_key_jwt)"),
            "{}",
            created.stdout
        );
        let by_uri = keyed("fetched", ["--jwks-uri", "https://keys.example/jwks"]);
        assert_eq!(by_uri.code, 0, "{}", by_uri.stderr);
        let refused = [
            (
                keyed("k1", ["--jwks-file", private_file.to_str().unwrap()]),
                "only public keys",
            ),
            (
                keyed("k2", ["--jwks-uri", "http://keys.example/jwks"]),
                "must use https",
            ),
            (keyed("k3", ["", ""]), "--jwks"),
            (
                keyed("k4", ["--jwks-file", "/no/such/file"]),
                "/no/such/file",
            ),
        ];
        for (output, words) in refused {
            assert_eq!(output.code, 2, "{words}: {}", output.stderr);
            assert!(output.stderr.contains(words), "{words}: {}", output.stderr);
        }
        let with_secret = run(
            &[
                "client",
                "create",
                "--client-id",
                "k5",
                "--redirect-uri",
                "https://a/cb",
                "--secret-stdin",
                "--jwks-uri",
                "https://keys.example/jwks",
            ],
            Some("s\n"),
        );
        assert_eq!(
            with_secret.code, 2,
            "keys need --auth-method: {}",
            with_secret.stderr
        );

        let rotated = run(&["keys", "rotate"], None);
        assert_eq!(rotated.code, 0, "{}", rotated.stderr);
        assert_eq!(
            std::fs::read_dir(dir.path().join("keys/signing"))
                .unwrap()
                .count(),
            6
        );
        assert_eq!(run(&["no-such-command"], None).code, 2);
    }
}

#[test]
fn an_unreachable_database_is_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let run = gatehouse(
        "postgres://nobody@127.0.0.1:1/none",
        dir.path(),
        &["migrate"],
        None,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("error: the database is unavailable"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("database_url (GATEHOUSE_DATABASE_URL or --database-url)"),
        "the error names the setting: {}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
    let run = gatehouse("mysql://x", dir.path(), &["migrate"], None);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("unsupported database URL"));
}

#[test]
fn an_unusable_keys_directory_names_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the keys folder should be.
    std::fs::write(dir.path().join("keys"), "not a folder").unwrap();
    let db = format!("sqlite://{}/db.sqlite", dir.path().display());
    let run = gatehouse(&db, dir.path(), &["serve", "--listen", "127.0.0.1:0"], None);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("keys_dir (GATEHOUSE_KEYS_DIR or --keys-dir) must name a folder"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
}

#[test]
fn the_default_database_is_the_owners_alone() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let migrate = || {
        let out = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("migrate")
            .env_remove("GATEHOUSE_DATABASE_URL")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // The embedded default: sqlite://data/gatehouse.db under the working folder.
    migrate();
    let data = dir.path().join("data");
    let db = data.join("gatehouse.db");
    assert_eq!(mode(&data), 0o700, "the data folder");
    assert_eq!(mode(&db), 0o600, "the database");
    for companion in ["gatehouse.db-wal", "gatehouse.db-shm"] {
        let path = data.join(companion);
        if path.exists() {
            assert_eq!(mode(&path) & 0o077, 0, "{companion}");
        }
    }
    // A database an earlier version left world-readable is narrowed.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    migrate();
    assert_eq!(mode(&db), 0o600);
}
