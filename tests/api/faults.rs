//! Faults of the database: unreachable, then back; read-only. Requests get a
//! clear 503 quickly, `/readyz` says so, and service returns by itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::common::*;
use crate::each_backend;

/// A TCP proxy to PostgreSQL that can cut every connection and refuse new ones:
/// the database becomes unreachable for whoever connects through it.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (accepting_up, cuts) = (up.clone(), cut.subscribe());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !accepting_up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cuts = cuts.clone();
                // Only cuts after this connection began end it.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Proxy { port, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// A sign-in's first step through `node`: the authorization request (a database read).
async fn authorize_status(node: &Node, app: &TestApp) -> (StatusCode, String, Duration) {
    let portal = app.rp("portal").await;
    let request = app.auth_request(&portal, &[]);
    let url = request.url.replace(&app.base, &node.base);
    let started = Instant::now();
    let response = new_browser().get(url).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap(), started.elapsed())
}

each_backend! {
    async fn an_unreachable_database_gets_quick_503s_and_service_returns_by_itself(backend) {
        if matches!(backend, Backend::Postgres) {
            let app = TestApp::spawn(backend).await;
            let url = url::Url::parse(&app.database_url).unwrap();
            let proxy = Proxy::start(format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432))).await;
            let mut through = url.clone();
            through.set_port(Some(proxy.port)).unwrap();
            let node = app.node_on(through.as_str()).await;
            let (status, _, _) = authorize_status(&node, &app).await;
            assert_eq!(status, StatusCode::SEE_OTHER, "served through the proxy");

            proxy.down();
            let (status, page, took) = authorize_status(&node, &app).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{page}");
            assert!(page.contains("Temporarily unavailable"), "a clear page: {page}");
            assert!(took < Duration::from_millis(1500), "answered in {took:?}");
            let token = reqwest::Client::new().post(node.url("/token")).basic_auth("portal", Some(PORTAL_SECRET))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]).send().await.unwrap();
            assert_eq!(token.status(), StatusCode::SERVICE_UNAVAILABLE);
            let body: serde_json::Value = token.json().await.unwrap();
            assert_eq!(body["error"], "temporarily_unavailable");
            let ready = reqwest::get(node.url("/readyz")).await.unwrap();
            assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

            proxy.restore();
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let (status, _, _) = authorize_status(&node, &app).await;
                if status == StatusCode::SEE_OTHER {
                    break;
                }
                assert!(Instant::now() < deadline, "service did not come back: {status}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert_eq!(reqwest::get(node.url("/readyz")).await.unwrap().status(), StatusCode::OK);
        }
    }

    async fn a_read_only_database_gets_a_clear_503_for_writes(backend) {
        let app = TestApp::spawn(backend).await;
        let read_only = match backend {
            Backend::Sqlite => format!("{}?mode=ro", app.database_url.split('?').next().unwrap()),
            Backend::Postgres => {
                // New connections of this role start read-only.
                let url = url::Url::parse(&app.database_url).unwrap();
                let name = url.path().trim_start_matches('/').to_string();
                let admin = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
                sqlx::query(&format!("alter database {name} set default_transaction_read_only = on")).execute(&admin).await.unwrap();
                admin.close().await;
                app.database_url.clone()
            }
        };
        let node = app.node_on(&read_only).await;
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[]);
        let browser = new_browser();
        let url = request.url.replace(&app.base, &node.base);
        let (status, location, _) = parts(browser.get(url).send().await.unwrap()).await;
        // Parking the request is a write.
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{location:?}");
        let (status, _, login) = parts(browser.get(node.url("/login")).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "the sign-in page needs no write");
        let csrf = hidden_input(&login, "csrf_token").unwrap();
        let (status, _, page) = parts(browser.post(node.url("/login")).form(&[("csrf_token", csrf.as_str()), ("username", USERNAME), ("password", PASSWORD)]).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "counting the attempt is a write: {page}");
        assert!(page.contains("Temporarily unavailable"));
        let token = reqwest::Client::new().post(node.url("/token")).basic_auth("portal", Some(PORTAL_SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]).send().await.unwrap();
        assert!(token.status() == StatusCode::BAD_REQUEST || token.status() == StatusCode::SERVICE_UNAVAILABLE, "a read needs no write: {}", token.status());
        assert_eq!(reqwest::get(node.url("/healthz")).await.unwrap().status(), StatusCode::OK);
    }
}
