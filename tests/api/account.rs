//! The user's security page, the operator's reset, and the password throttle.

use std::process::Command;

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;
use crate::second_factor::first_sign_in_with_enrolment;

async fn account_page(app: &TestApp, browser: &reqwest::Client) -> String {
    let (status, _, page) = app.get_in(browser, "/account").await;
    assert_eq!(status, StatusCode::OK);
    page
}

/// Turns TOTP on from the account page; returns the authenticator and the codes.
pub async fn enable_totp(app: &TestApp, browser: &reqwest::Client) -> (totp_rs::TOTP, Vec<String>) {
    let (status, _, page) = app.get_in(browser, "/account/totp").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let totp = authenticator_from(&page);
    let (status, _, wrong) = app
        .submit_in(browser, &page, "/account/totp", &[("code", "000000")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a wrong confirmation code");
    assert!(wrong.contains("not right"));
    let code = totp.generate(app.state.clock.now() as u64);
    let (status, _, codes_page) = app
        .submit_in(browser, &wrong, "/account/totp", &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{codes_page}");
    assert!(
        codes_page.contains("Sign out my other sessions"),
        "offered after a factor change"
    );
    (totp, backup_codes_on(&codes_page))
}

pub fn run_cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .args(["--database-url", &app.database_url, "--keys-dir"])
        .arg(app.dir.path().join("keys"))
        .output()
        .unwrap()
}

each_backend! {
    async fn the_account_page_needs_a_session(backend) {
        let app = TestApp::spawn(backend).await;
        let (status, location, _) = app.get("/account").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login?next=%2Faccount")));
        let (status, location, _) = app.post_form("/account/backup-codes", &[]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login?next=%2Faccount")));
    }

    async fn showing_the_enrolment_page_again_keeps_its_secret(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let (status, _, first) = app.get("/account/totp").await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, again) = app.get("/account/totp").await;
        let secret = |page: &str| authenticator_from(page).get_secret_base32();
        assert_eq!(secret(&first), secret(&again), "a GET changes nothing");
        // The code of the secret scanned from the first page still confirms.
        let code = authenticator_from(&first).generate(app.state.clock.now() as u64);
        let (status, _, page) = app.submit_in(&app.browser, &again, "/account/totp", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
    }

    async fn turning_totp_on_needs_a_recent_password(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        app.state.clock.advance(301);
        let (status, _, page) = app.get("/account/totp").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(page.contains("Confirm your password"));
        let (status, _, page) = app.submit_in(&app.browser, &page, "/account/reauth", &[("password", "wrong password")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, location, _) = app.submit_in(&app.browser, &page, "/account/reauth", &[("password", PASSWORD), ("next", "/account")]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/account")));
        let (_, codes) = enable_totp(&app, &app.browser).await;
        assert_eq!(codes.len(), 10);
        let page = account_page(&app, &app.browser).await;
        assert!(page.contains("totp-on"));
        assert!(page.contains("Backup codes left: <strong>10</strong>"));

        // The session was raised: the backoffice gets aal2 without a code.
        let backoffice = app.rp("backoffice").await;
        let signed_in = app.sso(&backoffice).await;
        assert_eq!(signed_in.claims.auth_context_ref().map(|a| a.to_string()).as_deref(), Some("aal2"));
        // And a new sign-in asks for the code.
        app.state.clock.advance(30);
        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through_in(&new_browser(), &request, USERNAME, PASSWORD).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"));
    }

    async fn turning_totp_off_needs_the_password_and_a_current_code(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let (totp, codes) = enable_totp(&app, &app.browser).await;
        let page = account_page(&app, &app.browser).await;
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, page) = app.submit_in(&app.browser, &page, "/account/totp/disable", &[("password", "wrong password"), ("code", &code)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, page) = app.submit_in(&app.browser, &page, "/account/totp/disable", &[("password", PASSWORD), ("code", "123456")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("totp-on"), "still on");
        let (status, _, page) = app.submit_in(&app.browser, &page, "/account/totp/disable", &[("password", PASSWORD), ("code", &codes[0])]).await;
        assert_eq!(status, StatusCode::OK, "a backup code also proves the factor");
        assert!(page.contains("totp-off"));
        assert!(page.contains("Sign out my other sessions"), "offered after a factor change");

        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through_in(&new_browser(), &request, USERNAME, PASSWORD).await;
        assert!(location.unwrap().starts_with(&app.redirect_uri("portal")), "no second step any more");
        assert!(app.state.store.active_totp("user-alice").await.unwrap().is_none());
        assert_eq!(app.state.store.backup_code_summary("user-alice").await.unwrap().remaining, 0);
    }

    async fn new_backup_codes_need_aal2_and_a_recent_password_and_replace_the_old(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let (_, old_codes) = enable_totp(&app, &app.browser).await;
        app.state.clock.advance(301);
        let page = account_page(&app, &app.browser).await;
        let (status, _, page) = app.submit_in(&app.browser, &page, "/account/backup-codes", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(page.contains("Confirm your password"));
        let (status, _, _) = app.submit_in(&app.browser, &page, "/account/reauth", &[("password", PASSWORD)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let page = account_page(&app, &app.browser).await;
        let (status, _, codes_page) = app.submit_in(&app.browser, &page, "/account/backup-codes", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let new_codes = backup_codes_on(&codes_page);
        assert_eq!(new_codes.len(), 10);
        assert!(new_codes.iter().all(|c| !old_codes.contains(c)));

        let browser = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &old_codes[1])]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "old codes are gone");
        let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &new_codes[1])]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);

        // An aal1 session of a user with a factor must step up first.
        let aal1 = new_browser();
        app.add_user("carl", PASSWORD).await;
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&aal1, &request, "carl", PASSWORD).await;
        // (Any page with a form carries this browser's CSRF token.)
        let (_, _, page) = app.get_in(&aal1, "/login").await;
        let (status, _, _) = app.submit_in(&aal1, &page, "/account/backup-codes", &[]).await;
        assert_eq!(status, StatusCode::CONFLICT, "no factor, no backup codes");
    }

    async fn signing_out_other_sessions_ends_them(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let other = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&other, &request, USERNAME, PASSWORD).await;
        app.sign_in(&portal).await;
        let (_, _, page) = app.get("/login").await;
        let (status, _, page) = app.submit_in(&app.browser, &page, "/account/sessions/sign-out-others", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Your other sessions are signed out."));
        let probe = app.auth_request(&portal, &[("prompt", "none")]);
        let (_, location, _) = app.get_in(&other, &probe.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
        let (_, location, _) = app.get(&probe.url).await;
        code_from(&location.unwrap(), &probe);
    }

    async fn an_operator_reset_forces_a_new_enrolment_with_a_new_secret(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        // alice's account does not require 2FA; she opted in through a step-up.
        let enrolled = first_sign_in_with_enrolment(&app, &app.browser, &portal, USERNAME, &[("acr_values", "aal2")]).await;
        let refresh = enrolled.signed_in.tokens.refresh_token().unwrap().clone();

        let out = run_cli(&app, &["user", "reset-mfa", USERNAME]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(run_cli(&app, &["user", "reset-mfa", "nobody"]).status.code(), Some(1));

        let probe = app.auth_request(&portal, &[("prompt", "none")]);
        let (_, location, _) = app.get(&probe.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"), "sessions ended");
        let refreshed = portal.exchange_refresh_token(&refresh).unwrap().request_async(&rp_http()).await;
        assert!(refreshed.is_err(), "refresh tokens revoked");

        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
        assert_eq!(location.as_deref(), Some("/login/enroll"), "enrolment is due again");
        let (_, _, page) = app.get("/login/enroll").await;
        let fresh = authenticator_from(&page);
        assert_ne!(fresh.get_secret_base32(), enrolled.totp.get_secret_base32(), "a new secret");
        app.state.clock.advance(30);
        let old_code = enrolled.totp.generate(app.state.clock.now() as u64);
        let (status, _, page) = app.submit_in(&app.browser, &page, "/login/enroll", &[("code", &old_code)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the old secret is refused");
        let code = fresh.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&app.browser, &page, "/login/enroll", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK);
        let kinds: Vec<String> = app.state.store.audit_events_for("user-alice", 100).await.unwrap().into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"second_factor_reset".to_string()));
    }

    async fn repeated_wrong_passwords_throttle_the_user(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[]);
        for _ in 0..10 {
            let (status, _, _) = app.sign_in_through(&request, USERNAME, "wrong password").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, location, page) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
        assert!(location.is_none());
        assert!(page.contains("Too many failed attempts"));
        app.state.clock.advance(901);
        let (status, _, _) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }

    async fn repeated_wrong_passwords_from_one_address_throttle_it(backend) {
        let app = TestApp::spawn_with(backend, |c| c.password_ip_failure_limit = 3).await;
        app.add_user("bob", PASSWORD).await;
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[]);
        for name in ["x1", "x2", "x3"] {
            let (status, _, _) = app.sign_in_through(&request, name, "guess").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, _, _) = app.sign_in_through(&request, "bob", PASSWORD).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "this address is throttled for every user");
    }
}

each_backend! {
    async fn the_account_page_lists_sessions_and_signs_them_out(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let mine = app.sign_in(&portal).await;
        let laptop = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through_in(&laptop, &request, USERNAME, PASSWORD).await;
        let theirs = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        app.add_user("bob", PASSWORD).await;
        let bobs = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through_in(&bobs, &request, "bob", PASSWORD).await;
        let bob = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;

        let page = account_page(&app, &app.browser).await;
        assert_eq!(page.matches(r#"class="session""#).count(), 2, "alice's two sessions, not bob's");
        assert!(page.contains("(this device)"));
        assert!(page.contains(&mine.sid()) && page.contains(&theirs.sid()) && !page.contains(&bob.sid()));

        let (status, _, _) = app.submit_in(&app.browser, &page, "/account/sessions/sign-out", &[("sid", &bob.sid())]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another user's session is out of reach");
        let probe = app.auth_request(&portal, &[("prompt", "none")]);
        let (_, location, _) = app.get_in(&bobs, &probe.url).await;
        assert!(!query_of(&location.unwrap()).contains_key("error"), "bob is still signed in");

        let (status, _, page) = app.submit_in(&app.browser, &page, "/account/sessions/sign-out", &[("sid", &theirs.sid())]).await;
        assert_eq!(status, StatusCode::OK, "{}", page.split("<h1>").nth(1).unwrap_or(""));
        assert_eq!(page.matches(r#"class="session""#).count(), 1);
        let probe = app.auth_request(&portal, &[("prompt", "none")]);
        let (_, location, _) = app.get_in(&laptop, &probe.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));

        let (status, location, _) = app.submit_in(&app.browser, &page, "/account/sessions/sign-out-everywhere", &[]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/")));
        let probe = app.auth_request(&portal, &[("prompt", "none")]);
        let (_, location, _) = app.get(&probe.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
    }

    async fn a_session_ends_after_its_absolute_lifetime_even_when_in_use(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let mut signed_in_probes = 0;
        for _ in 0..29 {
            app.state.clock.advance(3000);
            let probe = app.auth_request(&portal, &[("prompt", "none")]);
            let (_, location, _) = app.get(&probe.url).await;
            if !query_of(&location.unwrap()).contains_key("error") {
                signed_in_probes += 1;
            }
        }
        assert_eq!(signed_in_probes, 28, "in use every 50 minutes, the session lasts 24 hours and no longer");
    }
}
