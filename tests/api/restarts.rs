//! Restarts: a crash (SIGKILL) in the middle of sign-ins and token requests
//! loses nothing that was answered as issued, and SIGTERM lets the requests
//! in flight finish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;

use crate::binary::*;
use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_under_load_loses_nothing_that_was_answered() {
    let (_dir, path) = temp_dir();
    set_up(&path, false);
    let port = free_port();
    let mut server = Server::start(&path, port, |_| {}).await;
    let base = server.base.clone();
    let issued = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (issued, stop, base) = (issued.clone(), stop.clone(), base.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match sign_in(&base).await {
                    Some(done) => issued.lock().unwrap().push(done),
                    None => break,
                }
            }
        }));
    }
    // The crash comes under load, once some sign-ins have completed (a slow
    // machine takes longer to complete them).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for _ in 0..300 {
        if issued.lock().unwrap().len() >= 8 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let issued = std::mem::take(&mut *issued.lock().unwrap());
    assert!(
        issued.len() >= 8,
        "some sign-ins completed before the crash: {}",
        issued.len()
    );

    let server = Server::start(&path, port, |_| {}).await;
    for (n, done) in issued.iter().enumerate() {
        let refreshed = reqwest::Client::new()
            .post(format!("{}/token", server.base))
            .basic_auth("portal", Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", done.refresh_token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            refreshed.status(),
            StatusCode::OK,
            "refresh token {n} of {} survives",
            issued.len()
        );
        let sso = done
            .browser
            .get(authorize_url(&server.base, "&prompt=none"))
            .send()
            .await
            .unwrap();
        let location = sso.headers()["location"].to_str().unwrap().to_string();
        assert!(
            query_of(&location).contains_key("code"),
            "session {n} survives: {location}"
        );
    }

    // Nothing half-written: every refresh token has its grant, the file is sound.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&sqlite_url(&path)).await.unwrap();
    for sql in [
        "select count(*) from refresh_tokens r where not exists (select 1 from grants g where g.id = r.grant_id)",
        "select count(*) from sessions s where not exists (select 1 from users u where u.id = s.user_id)",
    ] {
        let (orphans,): (i64,) = sqlx::query_as(sql).fetch_one(&db).await.unwrap();
        assert_eq!(orphans, 0, "{sql}");
    }
    let (check,): (String,) = sqlx::query_as("pragma integrity_check")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_requests_in_flight_finish() {
    let (_dir, path) = temp_dir();
    set_up(&path, false);
    // Costly password hashes make each sign-in last long enough to be in flight.
    let server = Server::start(&path, free_port(), |command| {
        command
            .env("GATEHOUSE_PASSWORD_HASH_MEMORY_KIB", "65536")
            .env("GATEHOUSE_PASSWORD_HASH_ITERATIONS", "12");
    })
    .await;
    let base = server.base.clone();
    // Four browsers at the password form, then their sign-ins sent at once.
    let mut ready = Vec::new();
    for _ in 0..4 {
        let browser = new_browser();
        let response = browser.get(authorize_url(&base, "")).send().await.unwrap();
        let login = response.headers()["location"].to_str().unwrap().to_string();
        let page = browser
            .get(format!("{base}{login}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = vec![
            ("csrf_token", hidden_input(&page, "csrf_token").unwrap()),
            ("request", hidden_input(&page, "request").unwrap()),
            ("username", "ann".to_string()),
            ("password", PASSWORD_OF_ANN.to_string()),
        ];
        ready.push((browser, form));
    }
    let started = std::time::Instant::now();
    let in_flight: Vec<_> = ready
        .into_iter()
        .map(|(browser, form)| {
            let url = format!("{base}/login");
            tokio::spawn(async move { browser.post(url).form(&form).send().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "no new connections after SIGTERM"
    );
    for request in in_flight {
        let response = request
            .await
            .unwrap()
            .expect("a sign-in in flight at SIGTERM is answered");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        assert!(query_of(&location).contains_key("code"), "{location}");
    }
    assert!(
        started.elapsed() > Duration::from_millis(500),
        "the sign-ins were still running at SIGTERM"
    );
    let mut server = server;
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "a clean exit: {status}");
}
