//! Hostile input never produces a 5xx, a panic or internals in a body.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

each_backend! {
    async fn hostile_requests_never_get_a_server_error(backend) {
        let app = TestApp::spawn(backend).await;
        let http = rp_http();
        let long = "a".repeat(10_000);
        let gets = [
            "/authorize".to_string(),
            "/authorize?%".to_string(),
            "/authorize?client_id=%ff%fe&redirect_uri=%00".to_string(),
            "/authorize?client_id=%00&redirect_uri=x".to_string(),
            "/authorize?client_id=portal%00&redirect_uri=x".to_string(),
            "/authorize?client_id=portal&client_id=spa&redirect_uri=x".to_string(),
            format!("/authorize?client_id={long}&redirect_uri={long}"),
            "/authorize?client_id=portal&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fportal%2Fcb&response_type=code&scope=openid&state=a&state=b".to_string(),
            "/authorize?client_id=portal&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fportal%2Fcb&response_type=code&scope=openid&max_age=99999999999999999999999".to_string(),
            format!("/authorize?client_id=portal&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fportal%2Fcb&response_type=code&scope=openid&nonce={long}"),
            "/authorize?client_id=portal&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fportal%2Fcb&response_type=code&scope=openid&id_token_hint=....".to_string(),
            "/login?request=%ff".to_string(),
            format!("/login?request={long}"),
            "/setup?token=nope".to_string(),
            "/userinfo".to_string(),
            "/no/such/page".to_string(),
            "/../../etc/passwd".to_string(),
        ];
        for path in &gets {
            let response = http.get(app.url(path)).send().await.unwrap();
            let status = response.status();
            let body = response.text().await.unwrap();
            let shown: String = path.chars().take(120).collect();
            assert!(status.is_client_error() || status.is_redirection(), "GET {shown} gave {status}");
            assert!(!body.contains("panicked") && !body.contains("sqlx"), "internals leaked for {shown}");
        }

        let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
            ("/token", "application/x-www-form-urlencoded", b"grant_type=authorization_code&code=%ff%fe&redirect_uri=\xff".to_vec()),
            ("/token", "application/x-www-form-urlencoded", b"grant_type=authorization_code&grant_type=refresh_token".to_vec()),
            ("/token", "application/json", br#"{"grant_type":"authorization_code"}"#.to_vec()),
            ("/token", "application/x-www-form-urlencoded", vec![b'a'; 200_000]),
            ("/token", "application/x-www-form-urlencoded", b"client_id=portal&client_secret=x&grant_type=refresh_token&refresh_token=%00".to_vec()),
            ("/login", "application/x-www-form-urlencoded", b"username=%ff&password=\xff\xfe&csrf_token=".to_vec()),
            ("/login", "application/x-www-form-urlencoded", b"username=al%00ice&password=x%00".to_vec()),
            ("/token", "application/x-www-form-urlencoded", b"grant_type=authorization_code&client_id=%00&code=%00".to_vec()),
            ("/login", "application/x-www-form-urlencoded", format!("username=alice&password={long}&request={long}").into_bytes()),
            ("/login", "text/plain", b"\x00\x01\x02".to_vec()),
            ("/setup", "application/x-www-form-urlencoded", b"token=x&account=a&username=b&password=c".to_vec()),
            ("/authorize", "application/x-www-form-urlencoded", b"client_id=%".to_vec()),
            ("/authorize", "text/plain", b"client_id=portal".to_vec()),
            ("/userinfo", "application/x-www-form-urlencoded", b"access_token=x".to_vec()),
        ];
        // No pooled connections here: the server closes the one it refused an
        // oversize body on, and a request reusing it would fail in transit.
        let fresh = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).pool_max_idle_per_host(0).build().unwrap();
        for (path, content_type, body) in bodies {
            let oversize = body.len() > 64 * 1024;
            let response = match fresh.post(app.url(path)).header("content-type", content_type).body(body).send().await {
                Ok(response) => response,
                // The server may answer 413 and close before an oversize body is fully sent.
                Err(err) if oversize => {
                    assert!(err.is_request(), "{err}");
                    continue;
                }
                Err(err) => panic!("POST {path}: {err}"),
            };
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            assert!(status.is_client_error() || status.is_redirection(), "POST {path} ({content_type}) gave {status}");
            assert!(!text.contains("panicked") && !text.contains("sqlx"), "internals leaked for {path}");
        }

        let headers = [
            ("authorization", "Basic %%%"),
            ("authorization", "Basic Og=="),
            ("authorization", "Basic JTAwOnNlY3JldA=="),
            ("authorization", "Bearer"),
            ("authorization", "Digest x"),
            ("cookie", "gatehouse_session=%%%; gatehouse_session=x; =;;"),
        ];
        for (name, value) in headers {
            for path in ["/token", "/userinfo"] {
                let status = http.post(app.url(path)).header(name, value).form(&[("grant_type", "refresh_token")]).send().await.unwrap().status();
                assert!(status.is_client_error(), "{path} with {name}: {value} gave {status}");
            }
            let status = http.get(app.url("/authorize?client_id=portal")).header(name, value).send().await.unwrap().status();
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
    }

    async fn the_factor_routes_refuse_garbage_without_a_server_error(backend) {
        let mut app = TestApp::spawn_with(backend, |config| {
            config.issuer = config.issuer.replace("127.0.0.1", "localhost");
        })
        .await;
        app.base = app.state.config.issuer().to_string();
        let browser = new_browser();
        let (_, _, login) = app.get_in(&browser, "/login?next=/account").await;
        app.submit_in(&browser, &login, "/login", &[("username", USERNAME), ("password", PASSWORD)]).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let csrf = hidden_input(&account, "csrf_token").unwrap();
        // Longer than a key's answer may be (16 KiB), within the 64 KiB body limit.
        let long = "9".repeat(17_000);
        let garbage = ["%ff%fe", "\u{0}", "{\"id\":[1,2,3],\"rawId\":null}", long.as_str(), "[]", "null"];
        let routes = [
            "/account/keys/new", "/account/keys", "/account/keys/remove",
            "/account/email-codes", "/account/email-codes/confirm", "/account/email-codes/off-code", "/account/email-codes/off",
            "/account/phone", "/account/phone/confirm", "/account/phone/remove-code", "/account/phone/remove",
            "/login/passkey", "/login/passkey/finish", "/login/security-key", "/login/security-key/finish",
            "/login/email-code", "/login/sms-code", "/login/sms-call", "/login/recovery", "/login/recovery/confirm",
            "/password", "/password/forgot", "/account/password", "/account/devices/forget",
            "/account/email", "/account/email/confirm",
            "/login/enroll/key", "/login/enroll/key/finish", "/login/phone", "/login/phone/confirm",
            "/device", "/device/confirm",
        ];
        for route in routes {
            for value in garbage {
                let short = &value[..value.len().min(1000)];
                let form = [
                    ("csrf_token", csrf.as_str()), ("kind", short), ("name", short), ("challenge", short),
                    ("credential", value), ("code", short), ("phone", short), ("id", short),
                    ("password", short), ("next", short), ("request", short),
                    ("user_code", short), ("decision", short),
                ];
                let response = browser.post(app.url(route)).form(&form).send().await.unwrap();
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                assert!(!status.is_server_error(), "POST {route} with {:?} gave {status}", &value[..value.len().min(20)]);
                assert!(!text.contains("panicked") && !text.contains("sqlx"), "internals leaked for {route}");
            }
        }
    }

    async fn pages_carry_the_security_headers(backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/", "/login", "/authorize", "/.well-known/openid-configuration"] {
            let response = rp_http().get(app.url(path)).send().await.unwrap();
            let csp = response.headers().get("content-security-policy").unwrap().to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'"), "{path}");
            assert_eq!(response.headers().get("x-frame-options").unwrap(), "DENY");
            assert_eq!(response.headers().get("x-content-type-options").unwrap(), "nosniff");
        }
        let response = app.browser.get(app.url("/login")).send().await.unwrap();
        let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain-http issuer: no Secure flag");
    }
}

each_backend! {
    async fn a_lost_database_is_a_clear_503_and_never_internals(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let request = app.auth_request(&rp, &[]);
        app.state.store.close().await;

        let (status, _, body) = app.get(&request.url).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("Temporarily unavailable") && !body.contains("pool"), "{body}");

        let response = rp_http()
            .post(app.url("/token"))
            .basic_auth("portal", Some(PORTAL_SECRET))
            .form(&[("grant_type", "authorization_code"), ("code", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
    }
}
