//! The one-time setup link for the first administrator.

use gatehouse::service::setup::setup_link;
use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

each_backend! {
    async fn the_setup_link_creates_the_first_administrator_once(backend) {
        let app = TestApp::spawn(backend).await;
        // The seeded database has users, so no link is offered.
        assert!(setup_link(&app.state).await.unwrap().is_none());

        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, dir.path()).await;
        let store = gatehouse::store::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let state = gatehouse::app::AppState { store: store.clone(), ..app.state.clone() };
        let link = setup_link(&state).await.unwrap().expect("an empty database offers a link");
        assert!(link.starts_with(&format!("{}/setup?token=", app.base)));
        let token = link.split("token=").nth(1).unwrap().to_string();

        // Serve the empty database on its own port.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(gatehouse::server::serve(listener, state, std::future::pending()));
        let browser = new_browser();
        let (status, _, page) = parts(browser.get(format!("{base}/setup?token={token}")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = hidden_input(&page, "csrf_token").unwrap();
        let short = [("csrf_token", csrf.as_str()), ("token", &token), ("account", "acme"), ("username", "root"), ("email", "root@example.com"), ("password", "short")];
        let (status, _, page) = parts(browser.post(format!("{base}/setup")).form(&short).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("at least 8 characters"), "the form explains; the link still works");

        let good = [("csrf_token", csrf.as_str()), ("token", &token), ("account", "acme"), ("username", "root"), ("email", "root@example.com"), ("password", "a long admin password")];
        let (status, _, page) = parts(browser.post(format!("{base}/setup")).form(&good).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let admin = store.user_by_username("root").await.unwrap().expect("administrator created");
        assert!(admin.is_admin && admin.is_operator);

        let (status, _, _) = parts(browser.post(format!("{base}/setup")).form(&good).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the link works once");
        let (status, _, _) = parts(browser.get(format!("{base}/setup?token={token}")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(setup_link(&state_with(&app, store)).await.unwrap().is_none(), "no link once a user exists");
    }
}

each_backend! {
    async fn the_setup_link_is_refused_once_any_user_exists(backend) {
        let app = TestApp::spawn(backend).await;
        let dir = tempfile::tempdir().unwrap();
        let url = fresh_database(backend, dir.path()).await;
        let store = gatehouse::store::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let state = state_with(&app, store.clone());
        let link = setup_link(&state).await.unwrap().expect("an empty database offers a link");
        let token = link.split("token=").nth(1).unwrap().to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(gatehouse::server::serve(listener, state.clone(), std::future::pending()));
        let browser = new_browser();
        let (status, _, page) = parts(browser.get(format!("{base}/setup?token={token}")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let csrf = hidden_input(&page, "csrf_token").unwrap();

        // The README's way of provisioning: an account and a user made by the CLI.
        let bin = env!("CARGO_BIN_EXE_gatehouse");
        let cli = |args: &[&str], stdin: &str| {
            use std::io::Write;
            let mut child = std::process::Command::new(bin)
                .args(args)
                .args(["--database-url", &url, "--keys-dir", dir.path().join("keys").to_str().unwrap()])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        cli(&["account", "create", "acme"], "");
        cli(&["user", "create", "--username", "ann", "--email", "ann@example.com", "--account", "acme", "--password-stdin"], "a long password for ann\n");

        let (status, _, _) = parts(browser.get(format!("{base}/setup?token={token}")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "the link is spent once a user exists");
        let good = [("csrf_token", csrf.as_str()), ("token", &token), ("account", "other"), ("username", "root"), ("email", "root@example.com"), ("password", "a long admin password")];
        let (status, _, _) = parts(browser.post(format!("{base}/setup")).form(&good).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(store.user_by_username("root").await.unwrap().is_none(), "no operator was made");

        // A token that appears beside existing users (a race with the CLI) is
        // refused by the transaction that would use it.
        let now = app.state.clock.now();
        store.put_setup_token(&gatehouse::auth::secret::token_hash(&token), now, now + 3600).await.unwrap();
        let (status, _, _) = parts(browser.post(format!("{base}/setup")).form(&good).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(store.user_by_username("root").await.unwrap().is_none(), "no operator was made");
    }
}

fn state_with(app: &TestApp, store: gatehouse::store::Store) -> gatehouse::app::AppState {
    gatehouse::app::AppState {
        store,
        ..app.state.clone()
    }
}
