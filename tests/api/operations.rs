//! Running it: health and readiness, and the purge of what has expired.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

each_backend! {
    async fn health_and_readiness_answer_and_readiness_follows_the_database(backend) {
        let app = TestApp::spawn(backend).await;
        let response = reqwest::get(app.url("/healthz")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "ok\n");
        let response = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body, serde_json::json!({ "status": "ready", "database": "ok", "migrations": "applied", "keys": "loaded" }));

        // The database goes away: not ready, at once, and the process still answers.
        app.state.store.close().await;
        let started = std::time::Instant::now();
        let response = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "answered within the second it may wait");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!((body["status"].as_str(), body["database"].as_str()), (Some("not ready"), Some("unreachable")));
        assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), StatusCode::OK);
    }

    async fn hundreds_of_concurrent_queries_share_the_connections(backend) {
        // A node that has just started: on PostgreSQL most of its connections
        // are not open yet, so many requests open and look at slots at once.
        let app = TestApp::spawn(backend).await;
        let node = app.second_node().await;
        for _ in 0..20 {
            let queries = (0..300).map(|_| {
                let store = node.store.clone();
                tokio::spawn(async move { store.grant("no-such-grant").await.map(|g| g.is_none()) })
            });
            let results = futures::future::join_all(queries).await;
            let failed: Vec<_> = results.iter().filter(|r| !matches!(r, Ok(Ok(true)))).collect();
            assert!(failed.is_empty(), "every query got a connection: {failed:?}");
        }
    }

    async fn the_purge_removes_what_expired_and_keeps_what_lives(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let request = app.auth_request(&portal, &[("prompt", "login")]);
        app.sign_in_through_in(&new_browser(), &request, USERNAME, "wrong password").await;
        let nothing_yet = gatehouse::service::housekeeping::purge(&app.state).await.unwrap();
        assert_eq!(nothing_yet.sessions + nothing_yet.refresh_tokens + nothing_yet.grants, 0, "nothing live is purged: {nothing_yet:?}");

        // A month and a day later everything of that sign-in has expired.
        app.state.clock.advance(app.state.config.refresh_token_lifetime_secs + 86_400);
        let fresh = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (status, _, _) = app.sign_in_through_in(&fresh, &request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let purged = gatehouse::service::housekeeping::purge(&app.state).await.unwrap();
        assert!(purged.sessions >= 1 && purged.refresh_tokens >= 1 && purged.grants >= 1, "{purged:?}");
        assert!(purged.rows > purged.sessions + purged.refresh_tokens + purged.grants, "the failure counter too: {purged:?}");
        assert_eq!(app.get_in(&fresh, "/account").await.0, StatusCode::OK, "the live session stays");
        let again = gatehouse::service::housekeeping::purge(&app.state).await.unwrap();
        assert_eq!(again.rows, 0, "a second purge finds nothing: {again:?}");
    }

    async fn the_purge_goes_in_batches_and_follows_each_use_of_a_session(backend) {
        let app = TestApp::spawn(backend).await;
        let store = &app.state.store;
        let start = app.state.clock.now();
        let idle = 600;
        // More than a batch of sessions left idle, and one used until later.
        for n in 0..700 {
            let (id_hash, sid) = (format!("hash-{n}"), format!("sid-{n}"));
            store.create_session(gatehouse::store::NewSession {
                id_hash: &id_hash, sid: &sid, user_id: "user-alice", auth_time: start, acr: gatehouse::auth::acr::Acr::Aal1,
                amr: &[], ip: None, user_agent: None, expires_at: start + 86_400, idle_secs: idle, reauthenticated_at: None,
            }).await.unwrap();
        }
        store.touch_session("sid-0", start + idle - 10).await.unwrap();
        app.state.clock.advance(idle + 5);
        let purged = gatehouse::service::housekeeping::purge(&app.state).await.unwrap();
        assert_eq!(purged.sessions, 699, "every idle session, batch after batch: {purged:?}");
        assert!(store.session_owner("sid-0").await.unwrap().is_some(), "the one used since stays");
        app.state.clock.advance(idle);
        assert_eq!(gatehouse::service::housekeeping::purge(&app.state).await.unwrap().sessions, 1, "until it idles too");
    }

    async fn metrics_count_requests_sign_ins_and_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let node = app.node_with(&app.database_url, |c| c.metrics_listen = Some(format!("127.0.0.1:{port}"))).await;
        // A sign-in and a token exchange through that node, and a wrong password.
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[]);
        let browser = new_browser();
        let (_, location, _) = parts(browser.get(request.url.replace(&app.base, &node.base)).send().await.unwrap()).await;
        let (_, _, login) = parts(browser.get(node.url(&location.unwrap())).send().await.unwrap()).await;
        let csrf = hidden_input(&login, "csrf_token").unwrap();
        let request_id = hidden_input(&login, "request").unwrap();
        let wrong = [("csrf_token", csrf.as_str()), ("request", request_id.as_str()), ("username", USERNAME), ("password", "wrong password")];
        assert_eq!(browser.post(node.url("/login")).form(&wrong).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let right = [("csrf_token", csrf.as_str()), ("request", request_id.as_str()), ("username", USERNAME), ("password", PASSWORD)];
        let (status, location, _) = parts(browser.post(node.url("/login")).form(&right).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let code = code_from(&location.unwrap(), &request);
        let token = reqwest::Client::new().post(node.url("/token")).basic_auth("portal", Some(PORTAL_SECRET))
            .form(&[("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", app.redirect_uri("portal").as_str()), ("code_verifier", request.verifier.as_ref().unwrap().secret().as_str())])
            .send().await.unwrap();
        assert_eq!(token.status(), StatusCode::OK);

        let scraped = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
        assert_eq!(scraped.status(), StatusCode::OK);
        let text = scraped.text().await.unwrap();
        let value = |series: &str| -> f64 {
            text.lines().find(|l| l.starts_with(series)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
        };
        assert!(value(r#"gatehouse_http_requests_total{endpoint="/token",method="POST",status="200"}"#) >= 1.0);
        assert!(value(r#"gatehouse_http_requests_total{endpoint="/login",method="POST",status="401"}"#) >= 1.0);
        assert!(value(r#"gatehouse_http_request_duration_seconds_bucket{endpoint="/token",le="+Inf"}"#) >= 1.0);
        assert!(value(r#"gatehouse_events_total{kind="signed_in"}"#) >= 1.0, "sign-ins by outcome");
        assert!(value(r#"gatehouse_events_total{kind="password_failed"}"#) >= 1.0);
        assert!(value(r#"gatehouse_tokens_issued_total{grant="authorization_code"}"#) >= 1.0);
        assert!(value(r#"gatehouse_db_pool_connections{state="idle"}"#) >= 0.0);
        assert!(value("gatehouse_logout_deliveries_pending") >= 0.0);
        assert!(text.contains("# TYPE gatehouse_http_request_duration_seconds histogram"));
        assert_eq!(reqwest::get(node.url("/metrics")).await.unwrap().status(), StatusCode::NOT_FOUND, "not on the provider's own listener");
    }

    async fn tls_serves_https_that_clients_verify(backend) {
        let app = TestApp::spawn(backend).await;
        let (cert, key) = (app.dir.path().join("cert.pem"), app.dir.path().join("key.pem"));
        let made = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout"])
            .arg(&key).arg("-out").arg(&cert).output().unwrap();
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let (cert_path, key_path) = (cert.display().to_string(), key.display().to_string());
        let node = app.node_with(&app.database_url, move |c| {
            c.tls_cert = Some(cert_path);
            c.tls_key = Some(key_path);
            c.issuer = format!("https://{}", c.listen);
        }).await;
        let https = node.base.replace("http://", "https://");
        let root = reqwest::Certificate::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
        let client = reqwest::Client::builder().add_root_certificate(root).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let discovery = client.get(format!("{https}/.well-known/openid-configuration")).send().await.unwrap();
        assert_eq!(discovery.status(), StatusCode::OK);
        assert!(discovery.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="));
        let doc: serde_json::Value = discovery.json().await.unwrap();
        assert_eq!(doc["issuer"], https.as_str());
        let login = client.get(format!("{https}/login")).send().await.unwrap();
        let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("__Host-") && cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
        let unverified = reqwest::Client::new().get(format!("{https}/healthz")).send().await;
        assert!(unverified.is_err(), "a client that does not trust the certificate refuses it");
        assert!(!reqwest::get(node.url("/healthz")).await.map(|r| r.status().is_success()).unwrap_or(false), "no plain HTTP on the TLS port");
    }

    async fn forwarded_addresses_are_believed_only_from_trusted_proxies(backend) {
        let app = TestApp::spawn(backend).await;
        let behind = app.node_with(&app.database_url, |c| c.trusted_proxies = "127.0.0.1/32, 10.0.0.0/8".into()).await;
        // A wrong password through each: the audit log records the address it believed.
        async fn wrong_password(url: String, forwarded: &str) -> Option<String> {
            wrong_password_with(url, &[("x-forwarded-for", forwarded)]).await
        }
        async fn wrong_password_with(url: String, sent: &[(&str, &str)]) -> Option<String> {
            let browser = new_browser();
            let (_, _, page) = parts(browser.get(format!("{url}/login")).send().await.unwrap()).await;
            let csrf = hidden_input(&page, "csrf_token").unwrap();
            let mut request = browser.post(format!("{url}/login"));
            for (name, value) in sent {
                request = request.header(*name, *value);
            }
            let response = request
                .form(&[("csrf_token", csrf.as_str()), ("username", USERNAME), ("password", "wrong password")]).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_string())
        }
        let last_ip = |app: &TestApp| {
            let store = app.state.store.clone();
            async move {
                store.audit_events_for("user-alice", 1).await.unwrap().pop().unwrap().ip
            }
        };
        wrong_password(app.base.clone(), "203.0.113.7").await;
        assert_eq!(last_ip(&app).await.as_deref(), Some("127.0.0.1"), "not trusted: the header is ignored");
        wrong_password(behind.base.clone(), "198.51.100.1, 203.0.113.7, 10.2.3.4").await;
        assert_eq!(last_ip(&app).await.as_deref(), Some("203.0.113.7"), "trusted: the nearest untrusted hop");
        // A client's own Forwarded header does not outrank the X-Forwarded-For its proxy appended.
        wrong_password_with(behind.base.clone(), &[("forwarded", "for=192.0.2.99"), ("x-forwarded-for", "203.0.113.8")]).await;
        assert_eq!(last_ip(&app).await.as_deref(), Some("203.0.113.8"), "only the configured header counts");
        // Malformed hops fall back to the proxy's own address and skip nothing.
        for malformed in ["a", "1.2.3", "203.0.113.9, a", "203.0.113.9, , 10.1.1.1"] {
            wrong_password(behind.base.clone(), malformed).await;
            assert_eq!(last_ip(&app).await.as_deref(), Some("127.0.0.1"), "{malformed:?}");
        }
    }
}
