//! "Remember this device": a browser that gave the second factor with the
//! box ticked signs in with the password alone, truthfully named in `amr`,
//! until anything about the user's factors or password changes, or it is
//! forgotten.

use reqwest::StatusCode;
use totp_rs::TOTP;

use crate::account::{enable_totp, run_cli};
use crate::admin::console_first_visit;
use crate::common::*;
use crate::each_backend;

const DAYS: i64 = 30;

/// An app whose account acme remembers devices for 30 days, and alice's
/// authenticator.
async fn remembering(backend: Backend) -> (TestApp, TOTP) {
    let app = TestApp::spawn(backend).await;
    app.state
        .store
        .set_remember_device_days("acct-acme", DAYS)
        .await
        .unwrap();
    let setup = new_browser();
    password_session(&app, &setup, USERNAME).await;
    let (totp, _) = enable_totp(&app, &setup).await;
    (app, totp)
}

fn next_code(app: &TestApp, totp: &TOTP) -> String {
    app.state.clock.advance(30);
    totp.generate(app.state.clock.now() as u64)
}

/// The password step at the portal in `browser`, with `extra` request
/// parameters: the status and where it leads.
async fn password(
    app: &TestApp,
    browser: &reqwest::Client,
    username: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, Option<String>, AuthRequest) {
    let portal = app.rp("portal").await;
    let request = app.auth_request(&portal, extra);
    let (status, location, _) = app
        .sign_in_through_in(browser, &request, username, PASSWORD)
        .await;
    (status, location, request)
}

/// Signs `username` in with a code in `browser`, ticking the box or not.
async fn with_code(
    app: &TestApp,
    browser: &reqwest::Client,
    username: &str,
    totp: &TOTP,
    remember: bool,
) -> SignedIn {
    let (status, location, request) = password(app, browser, username, &[]).await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/second-factor")),
        "the code is asked for"
    );
    let (_, _, page) = app.get_in(browser, "/login/second-factor").await;
    assert!(
        page.contains(r#"name="remember_device""#),
        "the box is offered: {page}"
    );
    assert!(page.contains(&format!("Remember this device for {DAYS} days")));
    let code = next_code(app, totp);
    let mut form = vec![("code", code.as_str())];
    if remember {
        form.push(("remember_device", "on"));
    }
    let response = browser
        .post(app.url("/login/second-factor"))
        .form(
            &[(
                "csrf_token",
                hidden_input(&page, "csrf_token").unwrap().as_str(),
            )]
            .into_iter()
            .chain(form.iter().copied())
            .collect::<Vec<_>>(),
        )
        .send()
        .await
        .unwrap();
    let device_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("gatehouse_device="))
        .map(str::to_string);
    assert_eq!(device_cookie.is_some(), remember, "{device_cookie:?}");
    if let Some(cookie) = &device_cookie {
        assert!(
            cookie.contains("HttpOnly") && cookie.contains(&format!("Max-Age={}", DAYS * 86400)),
            "{cookie}"
        );
    }
    let (status, location, _) = parts(response).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let portal = app.rp("portal").await;
    app.exchange(&portal, code_from(&location.unwrap(), &request), request)
        .await
}

/// A password-only sign-in in `browser` that the device lets through: the tokens.
async fn password_alone(
    app: &TestApp,
    browser: &reqwest::Client,
    extra: &[(&str, &str)],
) -> SignedIn {
    let (status, location, request) = password(app, browser, USERNAME, extra).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    assert!(
        location.contains("code="),
        "the device stands in for the code: {location}"
    );
    let portal = app.rp("portal").await;
    app.exchange(&portal, code_from(&location, &request), request)
        .await
}

fn amr(signed: &SignedIn) -> Vec<String> {
    let id_token = signed.tokens.extra_fields().id_token().unwrap().to_string();
    let claims = raw_claims(&id_token);
    claims["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn acr(signed: &SignedIn) -> String {
    signed
        .claims
        .auth_context_ref()
        .unwrap()
        .as_str()
        .to_string()
}

/// Whether `browser` is asked for the code at its next sign-in.
async fn asked_for_the_code(app: &TestApp, browser: &reqwest::Client) -> bool {
    let (status, location, _) = password(app, browser, USERNAME, &[("prompt", "login")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    !location.unwrap().contains("code=")
}

async fn audited(app: &TestApp, user_id: &str, kind: &str) -> Vec<serde_json::Value> {
    let events = app
        .state
        .store
        .audit_events_for(user_id, 500)
        .await
        .unwrap();
    events
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| serde_json::from_str(&e.detail).unwrap_or_default())
        .collect()
}

each_backend! {
    async fn the_box_is_off_by_default(backend) {
        let app = TestApp::spawn(backend).await;
        let setup = new_browser();
        password_session(&app, &setup, USERNAME).await;
        let (_totp, _) = enable_totp(&app, &setup).await;
        let browser = new_browser();
        let (_, location, _) = password(&app, &browser, USERNAME, &[]).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"));
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        assert!(!page.contains("remember_device"), "no box where the account does not remember devices");
        assert_eq!(app.state.store.tenant_by_id("acct-acme").await.unwrap().unwrap().settings.remember_device_days, 0);
    }

    async fn a_ticked_box_lets_that_browser_in_with_the_password_alone_and_says_so(backend) {
        let (app, totp) = remembering(backend).await;
        let browser = new_browser();
        let first = with_code(&app, &browser, USERNAME, &totp, true).await;
        assert_eq!(acr(&first), "aal2");
        assert_eq!(amr(&first), ["pwd", "otp", "mfa"]);

        // prompt=login and max_age still ask for the password; the device stands in for the code.
        let again = password_alone(&app, &browser, &[("prompt", "login")]).await;
        assert_eq!(acr(&again), "aal2", "acr_values=aal2 is satisfied");
        assert_eq!(amr(&again), ["pwd", "device"], "never otp for a code not given");
        let aged = password_alone(&app, &browser, &[("max_age", "0"), ("acr_values", "aal2")]).await;
        assert_eq!(amr(&aged), ["pwd", "device"]);

        // Another browser is asked for the code; so is this one without the box.
        let other = new_browser();
        let (_, location, _) = password(&app, &other, USERNAME, &[]).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"));
        let unticked = new_browser();
        with_code(&app, &unticked, USERNAME, &totp, false).await;
        assert!(asked_for_the_code(&app, &unticked).await);

        // The account page lists the device, this browser marked; changing a
        // factor or the password still needs the factor itself.
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("Remembered devices") && account.contains("(this device)"), "{account}");
        let (status, _, refused) = app.submit_in(&browser, &account, "/account/password", &[("current_password", PASSWORD), ("new_password", "a new one for alice"), ("new_password_again", "a new one for alice")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a device is not a factor for changes: {refused}");
        assert_eq!(audited(&app, "user-alice", "device_remembered").await.len(), 1);
    }

    async fn a_remembered_device_is_no_factor_for_the_console(backend) {
        let (app, _) = remembering(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        let ada = console_first_visit(&app, &new_browser(), "ada").await;
        let browser = new_browser();
        with_code(&app, &browser, "ada", &ada, true).await;
        let (_, location, _) = password(&app, &browser, "ada", &[("prompt", "login")]).await;
        assert!(location.unwrap().contains("code="), "the device stands in for the code at a relying party");
        let (status, location, _) = app.get_in(&browser, "/admin").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")), "the console asks for the factor itself");
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        let code = next_code(&app, &ada);
        let (status, location, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin")));
        assert_eq!(app.get_in(&browser, "/admin").await.0, StatusCode::OK);
    }

    async fn two_users_in_one_browser_never_share_a_device(backend) {
        let (app, totp) = remembering(backend).await;
        let bob_totp = {
            app.add_user("bob", PASSWORD).await;
            let setup = new_browser();
            password_session(&app, &setup, "bob").await;
            enable_totp(&app, &setup).await.0
        };
        let browser = new_browser();
        with_code(&app, &browser, USERNAME, &totp, true).await;
        let (_, location, _) = password(&app, &browser, "bob", &[("prompt", "login")]).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"), "alice's device is not bob's");
        let _ = bob_totp;
    }

    async fn every_way_of_forgetting_asks_for_the_code_again(backend) {
        let (app, totp) = remembering(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        let console = new_browser();
        console_first_visit(&app, &console, "ada").await;

        // Forget on the account page.
        let browser = new_browser();
        with_code(&app, &browser, USERNAME, &totp, true).await;
        assert!(!asked_for_the_code(&app, &browser).await);
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let id = hidden_input(&account, "device").unwrap();
        let (status, _, page) = app.submit_in(&browser, &account, "/account/devices/forget", &[("device", &id)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("That device is forgotten"), "{page}");
        assert!(asked_for_the_code(&app, &browser).await, "forgotten on /account");
        assert_eq!(audited(&app, "user-alice", "remembered_device_forgotten").await.len(), 1);

        // Forget on the console's member page.
        let browser = new_browser();
        with_code(&app, &browser, USERNAME, &totp, true).await;
        let (_, _, member) = app.get_in(&console, "/admin/contacts/user-alice").await;
        assert!(member.contains("Remembered devices"), "{member}");
        let id = hidden_input(&member, "device").unwrap();
        let (status, _, _) = app.submit_in(&console, &member, "/admin/contacts/user-alice/devices/forget", &[("device", &id)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(asked_for_the_code(&app, &browser).await, "forgotten on the console");

        // A change to the factors: new backup codes, from a session that gave the code.
        let browser = new_browser();
        with_code(&app, &browser, USERNAME, &totp, true).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (_, _, reauth) = app.submit_in(&browser, &account, "/account/reauth", &[("password", PASSWORD), ("next", "/account")]).await;
        let _ = reauth;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/backup-codes", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(asked_for_the_code(&app, &browser).await, "forgotten by a factor change");

        // A password change.
        let browser = new_browser();
        let session = with_code(&app, &browser, USERNAME, &totp, true).await;
        let _ = session;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let new = "alice's second password";
        let (status, _, page) = app.submit_in(&browser, &account, "/account/password", &[("current_password", PASSWORD), ("new_password", new), ("new_password_again", new)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let (_, location, _) = {
            let portal = app.rp("portal").await;
            let request = app.auth_request(&portal, &[("prompt", "login")]);
            app.sign_in_through_in(&browser, &request, USERNAME, new).await
        };
        assert_eq!(location.as_deref(), Some("/login/second-factor"), "forgotten by a password change");
        let id = app.state.store.user_by_username(USERNAME).await.unwrap().unwrap().id;
        let hash = gatehouse::auth::password::hash(PASSWORD, CHEAP).unwrap();
        let current = app.state.store.user_by_id(&id).await.unwrap().unwrap().password_hash;
        assert!(app.state.store.replace_password_hash(&id, &current, &hash).await.unwrap());

        // A password set through a one-time link (a reset's or an administrator's).
        let browser = new_browser();
        with_code(&app, &browser, USERNAME, &totp, true).await;
        let token = gatehouse::auth::secret::random_token(32);
        let now = app.state.clock.now();
        app.state.store.put_password_link(&gatehouse::auth::secret::token_hash(&token), &id, None, now, now + 600).await.unwrap();
        let visitor = new_browser();
        let (_, _, page) = app.get_in(&visitor, &format!("/password?token={token}")).await;
        let third = "alice's third password";
        let (status, _, done) = app.submit_in(&visitor, &page, "/password", &[("token", &token), ("password", third), ("password_again", third)]).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        let current = app.state.store.user_by_id(&id).await.unwrap().unwrap().password_hash;
        assert!(app.state.store.replace_password_hash(&id, &current, &hash).await.unwrap());
        assert!(asked_for_the_code(&app, &browser).await, "forgotten by a password set with a link");

        // Signing out everywhere.
        let browser = new_browser();
        with_code(&app, &browser, USERNAME, &totp, true).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/sessions/sign-out-everywhere", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(asked_for_the_code(&app, &browser).await, "forgotten by signing out everywhere");

        // An ordinary sign-out keeps it.
        let browser = new_browser();
        let signed = with_code(&app, &browser, USERNAME, &totp, true).await;
        let id_token = signed.tokens.extra_fields().id_token().unwrap().to_string();
        let (status, _, _) = app.get_in(&browser, &format!("/logout?id_token_hint={id_token}")).await;
        assert!(status.is_success() || status.is_redirection(), "{status}");
        assert!(!asked_for_the_code(&app, &browser).await, "an ordinary sign-out keeps the device");

        // Reset 2FA by the operator's command: the next sign-in enrols again.
        let out = run_cli(&app, &["user", "reset-mfa", USERNAME]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let (_, location, _) = password(&app, &browser, USERNAME, &[("prompt", "login")]).await;
        assert_eq!(location.as_deref(), Some("/login/enroll"), "a reset forgets the device: enrolment, not a session");
        let reasons: Vec<String> = audited(&app, "user-alice", "remembered_devices_forgotten").await.iter().map(|d| d["reason"].as_str().unwrap_or_default().to_string()).collect();
        for reason in ["backup_codes_regenerated", "password_changed", "password_set", "signed_out_everywhere"] {
            assert!(reasons.iter().any(|r| r == reason), "{reason} in {reasons:?}");
        }
        let reset = audited(&app, "user-alice", "second_factor_reset").await;
        assert_eq!(reset.last().unwrap()["devices_forgotten"], 1, "{reset:?}");
    }

    async fn the_number_of_days_is_a_setting_of_the_account(backend) {
        let app = TestApp::spawn(backend).await;
        let out = run_cli(&app, &["account", "set", "acme", "--remember-device-days", "91"]);
        assert!(!out.status.success(), "at most 90");
        let out = run_cli(&app, &["account", "set", "acme", "--remember-device-days", "14"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let acme = app.state.store.tenant_by_id("acct-acme").await.unwrap().unwrap();
        assert_eq!(acme.settings.remember_device_days, 14);
        let out = run_cli(&app, &["account", "create", "globex", "--remember-device-days", "7"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let globex = app.state.store.tenant_by_name("globex").await.unwrap().unwrap();
        assert_eq!(globex.settings.remember_device_days, 7);
    }
}
