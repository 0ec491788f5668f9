//! The device authorization grant (RFC 8628), driven as a command-line tool
//! would (reqwest, following §3.1 to §3.5) and as its user would (a
//! browser, and Chromium): the codes, the `/device` page with sign-in and
//! its second factor, Allow and Deny, and every polling answer.

use std::time::Duration;

use openidconnect::core::CoreDeviceAuthorizationResponse;
use openidconnect::{DeviceAuthorizationUrl, Nonce, OAuth2TokenResponse, Scope, TokenResponse};
use reqwest::StatusCode;
use serde_json::Value;

use crate::account::enable_totp;
use crate::browser::Browser;
use crate::common::*;
use crate::each_backend;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Registers the public client `tool` for the device grant (and `consent`).
async fn register_tool(app: &TestApp, consent: bool) {
    app.state
        .store
        .create_client(gatehouse::store::NewClient {
            client_id: "tool",
            secret_hash: None,
            redirect_uris: &[app.redirect_uri("tool")],
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            id_token_alg: "ES256",
            consent,
            require_par: false,
            jwks: None,
            jwks_uri: None,
            device_grant: true,
            now: app.state.clock.now(),
        })
        .await
        .unwrap();
}

/// What the device got from the device authorization endpoint.
struct Started {
    device_code: String,
    user_code: String,
    complete: String,
}

async fn start(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = rp_http()
        .post(app.url("/device_authorization"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn started(app: &TestApp, scope: &str) -> Started {
    let (status, body) = start(app, &[("client_id", "tool"), ("scope", scope)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verification_uri"], app.url("/device"));
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["interval"], 5);
    let user_code = body["user_code"].as_str().unwrap().to_string();
    Started {
        device_code: body["device_code"].as_str().unwrap().to_string(),
        complete: body["verification_uri_complete"]
            .as_str()
            .unwrap()
            .to_string(),
        user_code,
    }
}

/// One poll of the token endpoint with the device code.
async fn poll(app: &TestApp, device_code: &str) -> (StatusCode, Value) {
    let response = rp_http()
        .post(app.url("/token"))
        .form(&[
            ("grant_type", GRANT),
            ("client_id", "tool"),
            ("device_code", device_code),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn error_of(answer: &(StatusCode, Value)) -> (StatusCode, Option<&str>) {
    (answer.0, answer.1["error"].as_str())
}

/// Types `typed` on the code page in `browser`: the response to the POST.
async fn type_code(
    app: &TestApp,
    browser: &reqwest::Client,
    typed: &str,
) -> (StatusCode, Option<String>, String) {
    let (status, _, page) = app.get_in(browser, "/device").await;
    assert_eq!(status, StatusCode::OK);
    app.submit_in(browser, &page, "/device", &[("user_code", typed)])
        .await
}

/// The user's side of a device sign-in in `browser`: the code typed, the
/// sign-in (password only), **Allow**.
async fn allow_in(app: &TestApp, browser: &reqwest::Client, user_code: &str) {
    password_session(app, browser, USERNAME).await;
    let (status, location, _) = type_code(app, browser, user_code).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = app.get_in(browser, &location.unwrap()).await;
    let (status, _, done) = app
        .submit_in(
            browser,
            &page,
            "/device/confirm",
            &[("user_code", user_code), ("decision", "allow")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("Your device is signed in"), "{done}");
}

each_backend! {
    async fn the_openidconnect_crate_signs_in_through_the_device_grant(backend) {
        let app = TestApp::spawn(backend).await;
        register_tool(&app, false).await;
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: Value = serde_json::from_str(&discovery).unwrap();
        let endpoint = discovery["device_authorization_endpoint"].as_str().unwrap().to_string();
        let rp = app
            .rp_with("tool", None)
            .await
            .set_device_authorization_url(DeviceAuthorizationUrl::new(endpoint).unwrap());
        let http = rp_http();
        let details: CoreDeviceAuthorizationResponse = rp
            .exchange_device_code()
            .add_scope(Scope::new("profile".into()))
            .request_async(&http)
            .await
            .expect("the device authorization endpoint answers");
        assert_eq!(details.verification_uri().as_str(), app.url("/device"));
        assert_eq!(details.interval(), Duration::from_secs(5));
        let user_code = details.user_code().secret().clone();

        // The crate polls (each wait moves the provider's clock on by the
        // interval it was told) while the user answers in a browser.
        let clock = app.state.clock.clone();
        let waits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = waits.clone();
        let sleep = move |interval: Duration| {
            let clock = clock.clone();
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                clock.advance(interval.as_secs() as i64);
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        };
        let polling = rp
            .exchange_device_access_token(&details)
            .unwrap()
            .request_async(&http, sleep, Some(Duration::from_secs(60)));
        let answering = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            allow_in(&app, &new_browser(), &user_code).await;
        };
        let (tokens, ()) = tokio::join!(polling, answering);
        let tokens = tokens.expect("the crate gets the tokens once the user allowed");
        assert!(waits.load(std::sync::atomic::Ordering::SeqCst) >= 1, "it was told to wait first");
        let claims = tokens
            .id_token()
            .expect("an ID token")
            .claims(&rp.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .expect("the ID token verifies");
        assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some(USERNAME));
        assert!(tokens.refresh_token().is_some());
    }

    async fn a_tool_signs_a_user_in_with_their_second_factor(backend) {
        let app = TestApp::spawn(backend).await;
        register_tool(&app, false).await;
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: Value = serde_json::from_str(&discovery).unwrap();
        assert_eq!(discovery["device_authorization_endpoint"], app.url("/device_authorization"));
        assert!(discovery["grant_types_supported"].as_array().unwrap().iter().any(|g| g == GRANT));

        // Alice has an authenticator app, added after another browser signed
        // in with her password alone.
        let early = new_browser();
        password_session(&app, &early, USERNAME).await;
        let setup = new_browser();
        password_session(&app, &setup, USERNAME).await;
        let (totp, _) = enable_totp(&app, &setup).await;

        let device = started(&app, "openid profile offline_access").await;
        let shape = regex_lite_shape(&device.user_code);
        assert!(shape, "user code {:?} is ABCD-EFGH of unambiguous letters", device.user_code);
        assert_eq!(device.complete, format!("{}?user_code={}", app.url("/device"), device.user_code));
        assert_eq!(error_of(&poll(&app, &device.device_code).await), (StatusCode::BAD_REQUEST, Some("authorization_pending")));

        // The complete URI prefills the code; typed in lower case without the dash, it is found.
        let browser = new_browser();
        let (status, _, page) = app.get_in(&browser, &device.complete).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains(&format!(r#"value="{}""#, device.user_code)), "{page}");
        let typed = device.user_code.replace('-', "").to_lowercase();
        let (status, location, _) = type_code(&app, &browser, &typed).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let confirm = location.unwrap();
        assert_eq!(confirm, format!("/device/confirm?user_code={}", device.user_code));

        // That earlier session is asked for the app's code first, as
        // /authorize would ask it.
        let (status, location, _) = app.get_in(&early, &confirm).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
        let (_, _, page) = app.get_in(&early, "/account").await;
        let (status, location, _) = app.submit_in(&early, &page, "/device/confirm", &[("user_code", &device.user_code), ("decision", "allow")]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")), "nor can it Allow");
        assert_eq!(error_of(&poll(&app, &device.device_code).await).1, Some("slow_down"));

        // Sign-in first: the password, then the second factor.
        let (status, location, _) = app.get_in(&browser, &confirm).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let login = location.unwrap();
        assert!(login.starts_with("/login?next="), "{login}");
        let (_, _, page) = app.get_in(&browser, &login).await;
        let next = html_unescape(&hidden_input(&page, "next").expect("the sign-in comes back"));
        let (status, location, _) = app.submit_in(&browser, &page, "/login", &[("username", USERNAME), ("password", PASSWORD), ("next", &next)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, location, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(confirm.as_str())));

        // The question names the client and what it gets.
        let (status, _, page) = app.get_in(&browser, &confirm).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("<strong>tool</strong>") && page.contains("Your name and username"), "{page}");
        assert!(page.contains(">Allow</button>") && page.contains(">Deny</button>"));
        let (status, _, done) = app.submit_in(&browser, &page, "/device/confirm", &[("user_code", &device.user_code), ("decision", "allow")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(done.contains("Your device is signed in"), "{done}");

        // The tool's next poll (after its interval) gets the tokens of that sign-in, once.
        app.state.clock.advance(5);
        let (status, tokens) = poll(&app, &device.device_code).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "Bearer");
        let claims = raw_claims(tokens["id_token"].as_str().unwrap());
        assert_eq!(claims["aud"], "tool");
        assert_eq!(claims["acr"], "aal2");
        assert!(claims["amr"].as_array().unwrap().iter().any(|m| m == "otp"), "{claims}");
        let response = rp_http().get(app.url("/userinfo")).bearer_auth(tokens["access_token"].as_str().unwrap()).send().await.unwrap();
        let info: Value = response.json().await.unwrap();
        assert_eq!(info["preferred_username"], USERNAME);
        let refreshed = rp_http().post(app.url("/token"))
            .form(&[("grant_type", "refresh_token"), ("client_id", "tool"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())])
            .send().await.unwrap();
        assert_eq!(refreshed.status(), StatusCode::OK, "its refresh token works");

        app.state.clock.advance(5);
        assert_eq!(error_of(&poll(&app, &device.device_code).await), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "one code redeems once");
        // Answered, the user code is gone.
        let (status, _, page) = type_code(&app, &browser, &device.user_code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("not valid, or it has expired"));
    }

    async fn polling_answers_pending_slow_down_denied_and_expired(backend) {
        let app = TestApp::spawn(backend).await;
        register_tool(&app, false).await;
        let device = started(&app, "openid").await;
        assert_eq!(error_of(&poll(&app, &device.device_code).await).1, Some("authorization_pending"));
        let too_fast = poll(&app, &device.device_code).await;
        assert_eq!(error_of(&too_fast), (StatusCode::BAD_REQUEST, Some("slow_down")), "{}", too_fast.1);
        // The interval is now 10 seconds: 5 is still too soon, 10 is not.
        app.state.clock.advance(5);
        assert_eq!(error_of(&poll(&app, &device.device_code).await).1, Some("slow_down"));
        app.state.clock.advance(15);
        assert_eq!(error_of(&poll(&app, &device.device_code).await).1, Some("authorization_pending"));

        // Deny: the device is told so.
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (_, location, _) = type_code(&app, &browser, &device.user_code).await;
        let (_, _, page) = app.get_in(&browser, &location.unwrap()).await;
        let (status, _, done) = app.submit_in(&browser, &page, "/device/confirm", &[("user_code", &device.user_code), ("decision", "deny")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(done.contains("Device denied"));
        app.state.clock.advance(20);
        assert_eq!(error_of(&poll(&app, &device.device_code).await), (StatusCode::BAD_REQUEST, Some("access_denied")));

        // A code nobody answers expires.
        let late = started(&app, "openid").await;
        app.state.clock.advance(601);
        assert_eq!(error_of(&poll(&app, &late.device_code).await), (StatusCode::BAD_REQUEST, Some("expired_token")));
        let (status, _, _) = type_code(&app, &browser, &late.user_code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "nor can it be answered");

        // Another client's, or a made-up, device code is not valid.
        let other = started(&app, "openid").await;
        assert_eq!(error_of(&poll(&app, "made-up").await), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        let response = rp_http().post(app.url("/token")).basic_auth("portal", Some(PORTAL_SECRET))
            .form(&[("grant_type", GRANT), ("device_code", other.device_code.as_str())]).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized_client", "portal is not registered for the grant");
        let response = rp_http().post(app.url("/token")).form(&[("grant_type", GRANT), ("client_id", "tool")]).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "a poll without its device code");
    }

    async fn only_registered_clients_start_and_wrong_codes_are_limited(backend) {
        let app = TestApp::spawn(backend).await;
        register_tool(&app, true).await;
        let (status, body) = start(&app, &[("client_id", "spa")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")), "{body}");
        let (status, body) = start(&app, &[("client_id", "tool"), ("scope", "email")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")), "{body}");
        let (status, body) = start(&app, &[("client_id", "nobody")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{body}");
        let (status, body) = start(&app, &[("client_id", "tool")]).await;
        assert_eq!(status, StatusCode::OK, "openid by default: {body}");

        // A third-party tool allowed on the device page is a connected app.
        let device = started(&app, "openid email").await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (_, location, _) = type_code(&app, &browser, &device.user_code).await;
        let (_, _, page) = app.get_in(&browser, &location.unwrap()).await;
        app.submit_in(&browser, &page, "/device/confirm", &[("user_code", &device.user_code), ("decision", "allow")]).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("Connected apps") && account.contains("tool"), "{account}");
        // A consent revoked before the device polls takes its tokens with it.
        assert!(app.state.store.revoke_consent("user-alice", "tool", app.state.clock.now()).await.unwrap());
        let (status, body) = poll(&app, &device.device_code).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("consent"), "{body}");

        // A form without its CSRF token changes nothing.
        let second = started(&app, "openid").await;
        let (status, _, _) = app.post_in(&browser, "/device/confirm", &[("user_code", &second.user_code), ("decision", "allow")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_of(&poll(&app, &second.device_code).await).1, Some("authorization_pending"));

        // Guessing: after 20 wrong codes from one address, even a right one waits.
        let guesser = new_browser();
        for _ in 0..20 {
            let (status, _, page) = type_code(&app, &guesser, "BBBB-BBBB").await;
            assert_eq!(status, StatusCode::BAD_REQUEST);
            assert!(page.contains("not valid"));
        }
        let (status, _, page) = type_code(&app, &guesser, &second.user_code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("Too many wrong codes"), "{page}");
        app.state.clock.advance(901);
        let third = started(&app, "openid").await;
        let (status, _, _) = type_code(&app, &guesser, &third.user_code).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the window passes");
    }
}

/// `ABCD-EFGH` of the letters user codes use.
fn regex_lite_shape(code: &str) -> bool {
    let letters = "BCDFGHJKLMNPQRSTVWXZ";
    code.len() == 9
        && code.chars().enumerate().all(|(i, c)| {
            if i == 4 {
                c == '-'
            } else {
                letters.contains(c)
            }
        })
}

/// The device page in Chromium, at phone width: the code from the complete
/// URI, the sign-in, Allow; the tool's poll then gets its tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_page_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    register_tool(&app, false).await;
    let device = started(&app, "openid profile").await;
    let chromium = Browser::start("device", 390, 844).await;
    chromium.goto(&device.complete).await;
    assert_eq!(
        chromium.accessibility_problems().await,
        Vec::<String>::new()
    );
    chromium.screenshot("device-code").await;
    chromium.click_button("Continue").await;
    chromium.wait_for_path("/login").await;
    chromium.fill("#username", USERNAME).await;
    chromium.fill("#password", PASSWORD).await;
    chromium.click_button("Sign in").await;
    chromium.wait_for_path("/device/confirm").await;
    assert!(chromium.text_of("h1").await.contains("tool"));
    assert!(chromium
        .text_of("ul.scopes")
        .await
        .contains("Your name and username"));
    assert_eq!(
        chromium.accessibility_problems().await,
        Vec::<String>::new()
    );
    chromium.screenshot("device-confirm").await;
    chromium.click_button("Allow").await;
    for _ in 0..200 {
        if chromium.source().await.contains("Your device is signed in") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(chromium
        .text_of("h1")
        .await
        .contains("Your device is signed in"));
    chromium.quit().await;
    let (status, tokens) = poll(&app, &device.device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert!(tokens["id_token"].is_string());
}
