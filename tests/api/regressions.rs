//! One test per class of bug that recurs in identity providers: factor
//! changes from weak sessions, a password alone for a user with a factor,
//! lock-outs at every code entry, token refusals, sign-ins bound to their
//! browser, revocation everywhere at once, and TOTP replay.

use gatehouse::auth::admin_rights::Actor;
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::each_backend;
use crate::second_factor::first_sign_in_with_enrolment;

const ALICE: &str = "user-alice";

/// The account `acme` lets its members use every kind of factor.
async fn allow_every_factor(app: &TestApp) {
    let factors: Vec<String> = ["totp", "webauthn", "email", "sms"]
        .map(String::from)
        .to_vec();
    app.state
        .store
        .update_tenant_policy("acme", None, Some(&factors), app.state.clock.now())
        .await
        .unwrap();
}

/// Turns the authenticator app on from `browser`'s account page.
async fn enable_totp(app: &TestApp, browser: &reqwest::Client) -> totp_rs::TOTP {
    let (status, _, page) = app.get_in(browser, "/account/totp").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let totp = authenticator_from(&page);
    let code = totp.generate(app.state.clock.now() as u64);
    let (status, _, page) = app
        .submit_in(browser, &page, "/account/totp", &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    totp
}

/// What protects alice now, to compare before and after a refused change.
async fn protection(app: &TestApp) -> (Option<String>, bool, bool, usize, Vec<String>) {
    let store = &app.state.store;
    let totp = store.active_totp(ALICE).await.unwrap().map(|t| t.id);
    let email_codes = store.email_state(ALICE).await.unwrap().1;
    let phone = store.phone_state(ALICE).await.unwrap().is_some();
    let keys = store.webauthn_credentials(ALICE).await.unwrap().len();
    let changes: Vec<String> = store
        .audit_events_for(ALICE, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .filter(|k| {
            [
                "backup_codes_regenerated",
                "webauthn_registered",
                "second_factor_disabled",
                "email_codes_on",
                "email_codes_off",
                "phone_verify",
                "phone_remove",
                "second_factor_reset",
            ]
            .contains(&k.as_str())
        })
        .collect();
    (totp, email_codes, phone, keys, changes)
}

/// Every factor change the security page offers, attempted without the
/// step it needs; each must be refused and change nothing.
async fn every_factor_change_is_refused(app: &TestApp, browser: &reqwest::Client, why: &str) {
    let before = protection(app).await;
    let attempts: [(&str, Vec<(&str, &str)>); 8] = [
        (
            "/account/keys/new",
            vec![("kind", "security_key"), ("name", "a key")],
        ),
        (
            "/account/keys/new",
            vec![("kind", "passkey"), ("name", "a passkey")],
        ),
        ("/account/email-codes", vec![]),
        ("/account/phone", vec![("phone", "+15555550123")]),
        ("/account/backup-codes", vec![]),
        ("/account/totp/disable", vec![("password", PASSWORD)]),
        ("/account/email-codes/off", vec![("password", PASSWORD)]),
        ("/account/keys/remove", vec![("id", "any")]),
    ];
    for (path, form) in attempts {
        let (_, _, page) = app.get_in(browser, "/account").await;
        let (status, location, body) = app.submit_in(browser, &page, path, &form).await;
        assert!(
            status.is_client_error(),
            "{why}: {path} answered {status} {location:?}: {body}"
        );
    }
    assert_eq!(protection(app).await, before, "{why}: nothing changed");
}

each_backend! {
    async fn factor_changes_from_a_weak_session_are_refused_on_every_path(backend) {
        let app = TestApp::spawn(backend).await;
        allow_every_factor(&app).await;
        let portal = app.rp("portal").await;
        // A password session from before the factor existed.
        let weak = new_browser();
        password_session(&app, &weak, USERNAME).await;
        let elsewhere = new_browser();
        password_session(&app, &elsewhere, USERNAME).await;
        let totp = enable_totp(&app, &elsewhere).await;
        every_factor_change_is_refused(&app, &weak, "an aal1 session of a user with a factor").await;

        // The same session raised by a step-up, once its password is old.
        app.state.clock.advance(301);
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (_, location, _) = app.get_in(&weak, &request.url).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"));
        let (_, _, page) = app.get_in(&weak, "/login/second-factor").await;
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&weak, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        every_factor_change_is_refused(&app, &weak, "a stepped-up session with an old password").await;

        // A full sign-in (password and code), once its password is old.
        let full = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&full, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&full, "/login/second-factor").await;
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&full, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        app.state.clock.advance(301);
        every_factor_change_is_refused(&app, &full, "an aal2 session with an old password").await;
        // Passkey-only sessions: security_keys::key_changes_need_a_fresh_password_the_factor_a_name_and_a_live_challenge.
    }

    async fn the_password_alone_never_signs_in_a_user_who_has_a_factor(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let before = app.sign_in(&portal).await;
        assert_eq!(raw_claims(&before.tokens.extra_fields().id_token().unwrap().to_string())["amr"], serde_json::json!(["pwd"]));
        // A factor is added elsewhere: the password session no longer answers.
        let elsewhere = new_browser();
        password_session(&app, &elsewhere, USERNAME).await;
        let totp = enable_totp(&app, &elsewhere).await;
        let request = app.auth_request(&portal, &[]);
        let (status, location, _) = app.get(&request.url).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")), "the factor is asked for");
        let request = app.auth_request(&portal, &[("prompt", "none")]);
        let (_, location, _) = app.get(&request.url).await;
        let answer = query_of(&location.unwrap());
        assert_eq!(answer.get("error").map(String::as_str), Some("interaction_required"));
        assert!(!answer.contains_key("code"));

        // A fresh browser: the password leads to the second step, and no session.
        let fresh = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through_in(&fresh, &request, USERNAME, PASSWORD).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"));
        let (_, location, _) = app.get_in(&fresh, "/account").await;
        assert_eq!(location.as_deref(), Some("/login?next=%2Faccount"), "no session from the password");
        let again = app.auth_request(&portal, &[("prompt", "none")]);
        let (_, location, _) = app.get_in(&fresh, &again.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
        let (_, _, page) = app.get_in(&fresh, "/login/second-factor").await;
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let (_, location, _) = app.submit_in(&fresh, &page, "/login/second-factor", &[("code", &code)]).await;
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = raw_claims(&signed_in.tokens.extra_fields().id_token().unwrap().to_string());
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]), "exactly what was checked");
        assert_eq!(claims["acr"], "aal2");

        // Once the factor is gone (an operator's reset), the level follows the factors.
        let operator = Actor { id: "operator".into(), name: "operator".into(), operator: true, account_id: None, ip: None };
        gatehouse::service::console::reset_2fa(&app.state, &operator, ALICE).await.unwrap();
        app.state.store.set_must_enroll(ALICE, false).await.unwrap();
        let later = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (status, location, _) = app.sign_in_through_in(&later, &request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = raw_claims(&signed_in.tokens.extra_fields().id_token().unwrap().to_string());
        assert_eq!((claims["acr"].as_str(), &claims["amr"]), (Some("aal1"), &serde_json::json!(["pwd"])));
    }
}

/// How a wrong code is given at one entry point of the second step, after
/// the password; `ask` asks for a new code first where the entry sends one.
#[derive(Clone, Copy, Debug)]
enum Entry {
    Totp,
    BackupCode,
    EmailCode,
    SmsCode,
    Recovery,
}

impl Entry {
    /// The page to ask for a code from, the form to send a code to.
    fn ask(self) -> Option<&'static str> {
        match self {
            Entry::EmailCode => Some("/login/email-code"),
            Entry::SmsCode => Some("/login/sms-code"),
            Entry::Recovery => Some("/login/recovery"),
            Entry::Totp | Entry::BackupCode => None,
        }
    }

    fn form(self) -> (&'static str, &'static str) {
        match self {
            Entry::Totp | Entry::EmailCode | Entry::SmsCode => ("/login/second-factor", "000000"),
            Entry::BackupCode => ("/login/second-factor", "aaaa-bbbb-cccc-dddd"),
            Entry::Recovery => ("/login/recovery/confirm", "000000"),
        }
    }
}

each_backend! {
    async fn every_code_entry_locks_after_the_limit_and_a_new_code_does_not_reset_it(backend) {
        for entry in [Entry::Totp, Entry::BackupCode, Entry::EmailCode, Entry::SmsCode, Entry::Recovery] {
            let app = TestApp::spawn(backend).await;
            assert_eq!(app.state.config.mfa_failure_limit, 5, "on by default");
            let kinds: &[&str] = match entry {
                Entry::Recovery => &["totp"],
                _ => &["totp", "email", "sms"],
            };
            let factors: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
            app.state.store.update_tenant_policy("acme", None, Some(&factors), app.state.clock.now()).await.unwrap();
            let portal = app.rp("portal").await;
            let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, USERNAME, &[("acr_values", "aal2")]).await;
            let now = app.state.clock.now();
            if !matches!(entry, Entry::Recovery) {
                app.state.store.verify_email(ALICE, true, now).await.unwrap();
            }
            app.state.store.set_recovery_phone(ALICE, "+15555550123", now).await.unwrap();

            let browser = new_browser();
            let request = app.auth_request(&portal, &[]);
            let (_, location, _) = app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
            assert_eq!(location.as_deref(), Some("/login/second-factor"), "{entry:?}");
            let (_, _, mut page) = app.get_in(&browser, "/login/second-factor").await;
            let (path, wrong) = entry.form();
            for attempt in 1..=5 {
                if let Some(ask) = entry.ask() {
                    if attempt == 1 || attempt == 5 {
                        // A new code (after the resend interval) keeps the count.
                        app.state.clock.advance(61);
                        let (status, _, asked) = app.submit_in(&browser, &page, ask, &[]).await;
                        assert!(status.is_success(), "{entry:?}: asking for a code: {status} {asked}");
                        page = asked;
                    }
                }
                let (status, _, answer) = app.submit_in(&browser, &page, path, &[("code", wrong)]).await;
                let expected = if attempt < 5 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
                assert_eq!(status, expected, "{entry:?}, attempt {attempt}: {answer}");
                if attempt < 5 {
                    page = answer;
                }
            }
            // Locked: even the right code is refused, at every entry.
            app.state.clock.advance(30);
            let right = enrolled.totp.generate(app.state.clock.now() as u64);
            let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
            let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &right)]).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{entry:?}: the lock holds the right code");
            // The password counter is another one: the password still leads to the second step.
            let other = new_browser();
            let (status, location, _) = app.sign_in_through_in(&other, &app.auth_request(&portal, &[]), USERNAME, PASSWORD).await;
            assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")), "{entry:?}");
        }
    }

    async fn the_token_endpoint_refuses_each_wrong_part_of_a_code_exchange(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let redirect = app.redirect_uri("portal");
        let fresh = |extra: &'static [(&'static str, &'static str)]| {
            let request = app.auth_request(&portal, extra);
            async {
                let (_, location, _) = app.get(&request.url).await;
                let code = code_from(&location.unwrap(), &request);
                (code, request.verifier.map(|v| v.secret().clone()))
            }
        };
        let token_url = app.url("/token");
        let exchange = |client: (&'static str, &'static str), code: String, redirect: String, verifier: Option<String>| {
            let url = token_url.clone();
            async move {
                let mut form = vec![("grant_type", "authorization_code".to_string()), ("code", code), ("redirect_uri", redirect)];
                if let Some(verifier) = verifier {
                    form.push(("code_verifier", verifier));
                }
                let response = rp_http().post(url).basic_auth(client.0, Some(client.1)).form(&form).send().await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, body["error"].as_str().map(str::to_string))
            }
        };
        let portal_client = ("portal", PORTAL_SECRET);
        let refused = |(status, error): (StatusCode, Option<String>), what: &str| {
            assert_eq!((status, error.as_deref()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{what}");
        };
        let (code, verifier) = fresh(&[]).await;
        refused(exchange(("backoffice", BACKOFFICE_SECRET), code, redirect.clone(), verifier).await, "another client's code");
        let (code, verifier) = fresh(&[]).await;
        refused(exchange(portal_client, code, format!("{redirect}/other"), verifier).await, "another redirect URI");
        let (code, verifier) = fresh(&[]).await;
        app.state.clock.advance(61);
        refused(exchange(portal_client, code, redirect.clone(), verifier).await, "an expired code");
        let (code, _) = fresh(&[]).await;
        refused(exchange(portal_client, code, redirect.clone(), None).await, "a missing verifier");
        let (code, _) = fresh(&[]).await;
        refused(exchange(portal_client, code, redirect.clone(), Some("a-wrong-verifier-that-is-long-enough-0123456789".into())).await, "a wrong verifier");
        // A verifier sent for a code issued without a challenge.
        let request = app.auth_request(&portal, &[]);
        let url = request.url.split('&').filter(|p| !p.starts_with("code_challenge")).collect::<Vec<_>>().join("&");
        let (_, location, _) = app.get(&url).await;
        let code = code_from(&location.unwrap(), &request);
        refused(exchange(portal_client, code, redirect.clone(), Some("a-verifier-without-a-challenge-0123456789abcdef".into())).await, "a verifier without a challenge");
        let (code, verifier) = fresh(&[]).await;
        let (status, _) = exchange(portal_client, code.clone(), redirect.clone(), verifier.clone()).await;
        assert_eq!(status, StatusCode::OK);
        refused(exchange(portal_client, code, redirect.clone(), verifier).await, "a reused code");
        // At once: one winner (tokens::fifty_concurrent_redemptions_of_one_code_give_exactly_one_success runs fifty).
        let (code, verifier) = fresh(&[]).await;
        let (a, b) = tokio::join!(
            exchange(portal_client, code.clone(), redirect.clone(), verifier.clone()),
            exchange(portal_client, code, redirect.clone(), verifier)
        );
        assert_eq!([a.0, b.0].iter().filter(|s| **s == StatusCode::OK).count(), 1, "{a:?} {b:?}");
    }

    async fn a_sign_in_in_progress_belongs_to_its_browser(backend) {
        let app = TestApp::spawn(backend).await;
        allow_every_factor(&app).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, USERNAME, &[("acr_values", "aal2")]).await;
        let owner = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&owner, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&owner, "/login/second-factor").await;
        let csrf = hidden_input(&page, "csrf_token").unwrap();
        app.state.clock.advance(30);
        let right = enrolled.totp.generate(app.state.clock.now() as u64);
        let continues = [
            "/login/second-factor",
            "/login/email-code",
            "/login/sms-code",
            "/login/recovery",
            "/login/recovery/confirm",
            "/login/security-key",
            "/login/security-key/finish",
            "/login/enroll",
            "/login/enroll/key",
            "/login/enroll/key/finish",
            "/login/phone",
            "/login/phone/confirm",
        ];
        // Another browser, even with the page's CSRF token, continues nothing.
        // (The phone step, which follows a finished sign-in, sends a browser
        // without a session to sign in.)
        let refused = |(status, location): (StatusCode, Option<String>)| {
            status.is_client_error()
                || (status == StatusCode::SEE_OTHER && location.is_some_and(|l| l.starts_with("/login?next=")))
        };
        let stranger = new_browser();
        for path in continues {
            let (status, location, body) = parts(stranger.post(app.url(path)).form(&[("csrf_token", csrf.as_str()), ("code", right.as_str())]).send().await.unwrap()).await;
            assert!(refused((status, location)), "{path}: {status} {body}");
        }
        let (status, location, _) = app.get_in(&stranger, "/login/continue?request=x").await;
        assert!(status.is_client_error() && location.is_none(), "continue: {status}");
        // The owner without the CSRF token continues nothing either.
        for path in continues {
            let (status, location, body) = parts(owner.post(app.url(path)).form(&[("code", right.as_str())]).send().await.unwrap()).await;
            assert!(refused((status, location)), "{path} without CSRF: {status} {body}");
        }
        // With both, the sign-in completes, under a new session id.
        let (status, location, _) = app.submit_in(&owner, &page, "/login/second-factor", &[("code", &right)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(raw_claims(&signed_in.tokens.extra_fields().id_token().unwrap().to_string())["acr"], "aal2");
        // Another user in this browser shares none of alice's state.
        app.add_user("bob", "bob's long password").await;
        let request = app.auth_request(&portal, &[("prompt", "login")]);
        let (status, location, _) = app.sign_in_through_in(&owner, &request, "bob", "bob's long password").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let bob = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(bob.claims.subject().as_str(), "user-bob");
        assert_eq!(raw_claims(&bob.tokens.extra_fields().id_token().unwrap().to_string())["acr"], "aal1", "bob has no factor of alice's");
        let status = rp_http().get(app.url("/userinfo")).bearer_auth(&signed_in.access_token).send().await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "alice's session in this browser ended");
    }

    async fn the_session_cookie_changes_at_every_change_of_level(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let aal1 = app.state.store.sessions_of_user(ALICE, app.state.clock.now()).await.unwrap();
        let elsewhere = new_browser();
        password_session(&app, &elsewhere, USERNAME).await;
        let totp = enable_totp(&app, &elsewhere).await;
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"));
        let (_, _, page) = app.get("/login/second-factor").await;
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let response = app.browser.post(app.url("/login/second-factor"))
            .form(&[("csrf_token", hidden_input(&page, "csrf_token").unwrap().as_str()), ("code", code.as_str())])
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set_cookie: Vec<String> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        assert!(set_cookie.iter().any(|c| c.contains("session=") && !c.contains("session=;")), "a new session cookie: {set_cookie:?}");
        let raised = app.state.store.sessions_of_user(ALICE, app.state.clock.now()).await.unwrap();
        assert_eq!(aal1.len() + 1, raised.len(), "the same sessions (this one raised, the other browser's)");
        // The old cookie value no longer names a session: the store keeps only the new one's hash.
        let sid = aal1[0].sid.clone();
        assert!(raised.iter().any(|s| s.sid == sid), "the sid stays");
    }

    async fn a_reset_a_disable_and_signing_out_everywhere_end_everything_at_once_on_every_node(backend) {
        for change in ["reset", "disable", "sign-out-everywhere"] {
            let app = TestApp::spawn(backend).await;
            let other = app.node_on(&app.database_url).await;
            let portal = app.rp("portal").await;
            let browser = new_browser();
            let enrolled = first_sign_in_with_enrolment(&app, &browser, &portal, USERNAME, &[("acr_values", "aal2")]).await;
            let refresh = enrolled.signed_in.tokens.refresh_token().unwrap().secret().clone();
            let cookies_work = |base: String| {
                let browser = browser.clone();
                async move {
                    let response = browser.get(format!("{base}/account")).send().await.unwrap();
                    response.status() == StatusCode::OK
                }
            };
            assert!(cookies_work(app.base.clone()).await);
            let operator = Actor { id: "operator".into(), name: "operator".into(), operator: true, account_id: None, ip: None };
            match change {
                "reset" => {
                    gatehouse::service::console::reset_2fa(&app.state, &operator, ALICE).await.unwrap();
                }
                "disable" => {
                    gatehouse::service::console::disable(&app.state, &operator, ALICE).await.unwrap();
                }
                _ => {
                    let (_, _, page) = app.get_in(&browser, "/account").await;
                    let (status, _, _) = app.submit_in(&browser, &page, "/account/sessions/sign-out-everywhere", &[]).await;
                    assert!(status.is_success() || status.is_redirection(), "{change}: {status}");
                }
            }
            // On the other node, at once.
            let response = browser.get(other.url("/account")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{change}: the old cookie is refused");
            let status = rp_http().get(other.url("/userinfo")).bearer_auth(&enrolled.signed_in.access_token).send().await.unwrap().status();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{change}: the access token is refused");
            let response = rp_http().post(other.url("/token")).basic_auth("portal", Some(PORTAL_SECRET))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())]).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{change}: the refresh token is refused");
        }
    }

    async fn a_totp_step_is_accepted_once_in_turn_at_once_and_never_after_a_newer_one(backend) {
        let app = TestApp::spawn(backend).await;
        let other = app.node_on(&app.database_url).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, USERNAME, &[("acr_values", "aal2")]).await;
        let here = app.base.clone();
        let to_second_step = |base: String| {
            let request = app.auth_request(&portal, &[]);
            let here = here.clone();
            async move {
                let browser = new_browser();
                let url = request.url.replacen(&here, &base, 1);
                let (_, location, _) = parts(browser.get(&url).send().await.unwrap()).await;
                let login = format!("{base}{}", location.unwrap());
                let (_, _, page) = parts(browser.get(&login).send().await.unwrap()).await;
                let form = [
                    ("csrf_token", hidden_input(&page, "csrf_token").unwrap()),
                    ("request", hidden_input(&page, "request").unwrap()),
                    ("username", USERNAME.to_string()),
                    ("password", PASSWORD.to_string()),
                ];
                let (status, location, _) = parts(browser.post(format!("{base}/login")).form(&form).send().await.unwrap()).await;
                assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
                let (_, _, page) = parts(browser.get(format!("{base}/login/second-factor")).send().await.unwrap()).await;
                (browser, hidden_input(&page, "csrf_token").unwrap())
            }
        };
        let give = |base: String, browser: reqwest::Client, csrf: String, code: String| async move {
            browser.post(format!("{base}/login/second-factor")).form(&[("csrf_token", csrf), ("code", code)]).send().await.unwrap().status()
        };
        // In turn, on one node.
        app.state.clock.advance(30);
        let code = enrolled.totp.generate(app.state.clock.now() as u64);
        let (first, csrf1) = to_second_step(app.base.clone()).await;
        let (second, csrf2) = to_second_step(app.base.clone()).await;
        assert_eq!(give(app.base.clone(), first, csrf1, code.clone()).await, StatusCode::SEE_OTHER);
        assert_eq!(give(app.base.clone(), second, csrf2, code).await, StatusCode::UNAUTHORIZED, "the same step again");
        // At once, on two nodes.
        app.state.clock.advance(30);
        let code = enrolled.totp.generate(app.state.clock.now() as u64);
        let (a, csrf_a) = to_second_step(app.base.clone()).await;
        let (b, csrf_b) = to_second_step(other.base.clone()).await;
        let (ra, rb) = tokio::join!(give(app.base.clone(), a, csrf_a, code.clone()), give(other.base.clone(), b, csrf_b, code));
        assert_eq!([ra, rb].iter().filter(|s| **s == StatusCode::SEE_OTHER).count(), 1, "{ra} {rb}");
        // An older step after a newer one: the code of 30 s ago, still within the drift.
        app.state.clock.advance(30);
        let newer = enrolled.totp.generate(app.state.clock.now() as u64);
        let older = enrolled.totp.generate(app.state.clock.now() as u64 - 30);
        let (c, csrf_c) = to_second_step(app.base.clone()).await;
        assert_eq!(give(app.base.clone(), c, csrf_c, newer).await, StatusCode::SEE_OTHER);
        let (d, csrf_d) = to_second_step(app.base.clone()).await;
        assert_eq!(give(app.base.clone(), d, csrf_d, older).await, StatusCode::UNAUTHORIZED, "an older step after a newer one");
    }
}
