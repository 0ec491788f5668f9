//! The second factor: enrolment, sign-in with TOTP and backup codes, replay,
//! lock-out, step-up, and secrets at rest.

use openidconnect::AuthenticationContextClass;
use reqwest::StatusCode;
use totp_rs::TOTP;

use crate::common::*;
use crate::each_backend;

fn amr_of(signed_in: &SignedIn) -> Vec<String> {
    signed_in
        .claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|m| m.to_string())
        .collect()
}

fn acr_of(signed_in: &SignedIn) -> Option<String> {
    signed_in
        .claims
        .auth_context_ref()
        .map(|a: &AuthenticationContextClass| a.to_string())
}

pub fn link_with_class(page: &str, class: &str) -> String {
    let marker = format!(r#"class="{class}" href=""#);
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("a {class} link"))
        + marker.len();
    html_unescape(&page[start..start + page[start..].find('"').unwrap()])
}

pub struct Enrolled {
    pub totp: TOTP,
    pub backup_codes: Vec<String>,
    pub signed_in: SignedIn,
}

/// A first sign-in that must enrol: password, enrolment page, confirmation,
/// backup codes, back to the relying party.
pub async fn first_sign_in_with_enrolment(
    app: &TestApp,
    browser: &reqwest::Client,
    rp: &Rp,
    username: &str,
    extra: &[(&str, &str)],
) -> Enrolled {
    let request = app.auth_request(rp, extra);
    let (status, location, _) = app
        .sign_in_through_in(browser, &request, username, PASSWORD)
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/enroll")),
        "enrolment is due"
    );
    finish_enrolment(app, browser, rp, request).await
}

pub async fn finish_enrolment(
    app: &TestApp,
    browser: &reqwest::Client,
    rp: &Rp,
    request: AuthRequest,
) -> Enrolled {
    let (status, _, page) = app.get_in(browser, "/login/enroll").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<svg"), "a QR code");
    assert!(page.contains(r#"class="secret""#), "the key to type");
    let totp = authenticator_from(&page);
    let code = totp.generate(app.state.clock.now() as u64);
    let (status, _, codes_page) = app
        .submit_in(browser, &page, "/login/enroll", &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{codes_page}");
    let backup_codes = backup_codes_on(&codes_page);
    assert_eq!(backup_codes.len(), 10);
    let (status, location, _) = app
        .get_in(browser, &link_with_class(&codes_page, "button"))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = code_from(&location.unwrap(), &request);
    let signed_in = app.exchange(rp, code, request).await;
    Enrolled {
        totp,
        backup_codes,
        signed_in,
    }
}

/// A sign-in with a second factor: password, then `code`. Returns the
/// response to the code and the request.
async fn sign_in_with_code(
    app: &TestApp,
    browser: &reqwest::Client,
    rp: &Rp,
    username: &str,
    code: &str,
) -> ((StatusCode, Option<String>, String), AuthRequest) {
    let request = app.auth_request(rp, &[]);
    let (status, location, _) = app
        .sign_in_through_in(browser, &request, username, PASSWORD)
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/second-factor"))
    );
    let (status, _, page) = app.get_in(browser, "/login/second-factor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"name="code""#));
    (
        app.submit_in(browser, &page, "/login/second-factor", &[("code", code)])
            .await,
        request,
    )
}

fn next_code(app: &TestApp, totp: &TOTP) -> String {
    // Each step is accepted once: move to the next one.
    app.state.clock.advance(30);
    totp.generate(app.state.clock.now() as u64)
}

async fn audit_kinds(app: &TestApp, user_id: &str) -> Vec<String> {
    app.state
        .store
        .audit_events_for(user_id, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

each_backend! {
    async fn a_required_first_sign_in_enrols_then_reaches_the_portal_at_aal2_and_the_backoffice_without_a_code(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &app.browser, &portal, MIA, &[]).await;
        assert_eq!(acr_of(&enrolled.signed_in).as_deref(), Some("aal2"));
        assert_eq!(amr_of(&enrolled.signed_in), ["pwd", "otp", "mfa"]);

        let backoffice = app.rp("backoffice").await;
        let second = app.sso(&backoffice).await;
        assert_eq!(acr_of(&second).as_deref(), Some("aal2"), "single sign-on keeps aal2");
        assert_eq!(second.sid(), enrolled.signed_in.sid());
        assert!(audit_kinds(&app, "user-mia").await.contains(&"totp_enrolled".to_string()));
    }

    async fn a_fresh_browser_signs_in_with_totp_and_a_code_is_single_use(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &app.browser, &portal, MIA, &[]).await;

        let code = next_code(&app, &enrolled.totp);
        let browser = new_browser();
        let ((status, location, _), request) = sign_in_with_code(&app, &browser, &portal, MIA, &code).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(acr_of(&signed_in).as_deref(), Some("aal2"));
        assert_eq!(amr_of(&signed_in), ["pwd", "otp", "mfa"]);

        // The same code in another browser, within its step: refused.
        let replayer = new_browser();
        let ((status, location, page), _) = sign_in_with_code(&app, &replayer, &portal, MIA, &code).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(location.is_none());
        assert!(page.contains("already used"), "{page}");
        // The enrolment's confirmation code is spent too.
        let enrol_step_code = enrolled.totp.generate((app.state.clock.now() - 30) as u64);
        let ((status, _, _), _) = sign_in_with_code(&app, &new_browser(), &portal, MIA, &enrol_step_code).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn a_wrong_code_issues_nothing_and_the_limit_locks_even_the_right_code(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        let browser = new_browser();
        let ((status, location, page), _) = sign_in_with_code(&app, &browser, &portal, MIA, "000000").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(location.is_none(), "no code for the relying party");
        assert!(page.contains("That code is not right."));
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        for _ in 1..4 {
            let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", "999999")]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, _, locked) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", "111111")]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the fifth failure locks");
        assert!(locked.contains("Too many attempts"));
        let right = next_code(&app, &enrolled.totp);
        let (status, location, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &right)]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "even the right code is refused while locked");
        assert!(location.is_none());

        app.state.clock.advance(15 * 60);
        let right = next_code(&app, &enrolled.totp);
        let ((status, _, _), _) = sign_in_with_code(&app, &new_browser(), &portal, MIA, &right).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the lock ends after the cooldown");
        let kinds = audit_kinds(&app, "user-mia").await;
        for kind in ["second_factor_failed", "second_factor_locked", "second_factor_refused_locked", "second_factor_ok"] {
            assert!(kinds.contains(&kind.to_string()), "{kind} audited: {kinds:?}");
        }
    }

    async fn each_lock_since_the_last_success_lasts_twice_as_long(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        // A fresh sign-in up to its second-factor page (pending sign-ins live 10 minutes).
        let second_step = || async {
            let browser = new_browser();
            let request = app.auth_request(&portal, &[]);
            app.sign_in_through_in(&browser, &request, MIA, PASSWORD).await;
            let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
            (browser, page)
        };
        for round in 0..2u32 {
            let (browser, page) = second_step().await;
            for n in 0..5 {
                let guess = format!("{:06}", 200_000 + round * 10 + n);
                app.submit_in(&browser, &page, "/login/second-factor", &[("code", &guess)]).await;
            }
            let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", "123123")]).await;
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "locked after round {round}");
            app.state.clock.advance(15 * 60 + 1);
        }
        // The second lock lasts 30 minutes: 15 have passed.
        let (browser, page) = second_step().await;
        let code = next_code(&app, &enrolled.totp);
        let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        app.state.clock.advance(15 * 60);
        let (browser, page) = second_step().await;
        let code = next_code(&app, &enrolled.totp);
        let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "after 30 minutes the right code works");
    }

    async fn a_backup_code_works_once_with_pwd_and_mfa(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        let backup = enrolled.backup_codes[3].to_uppercase().replace('-', " ");
        let ((status, location, _), request) = sign_in_with_code(&app, &new_browser(), &portal, MIA, &backup).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(amr_of(&signed_in), ["pwd", "mfa"]);
        assert_eq!(acr_of(&signed_in).as_deref(), Some("aal2"));
        let ((status, _, _), _) = sign_in_with_code(&app, &new_browser(), &portal, MIA, &enrolled.backup_codes[3]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a used backup code is refused");
        let summary = app.state.store.backup_code_summary("user-mia").await.unwrap();
        assert_eq!(summary.remaining, 9);
    }

    async fn concurrent_uses_of_one_totp_step_give_exactly_one_success(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        let factor = app.state.store.active_totp("user-mia").await.unwrap().unwrap();
        let step = factor.last_step + 1;
        let now = app.state.clock.now();
        let uses = (0..20).map(|_| app.state.store.use_totp_step(&factor.id, step, now));
        let results = futures::future::join_all(uses).await;
        assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1, "{results:?}");
        assert!(!app.state.store.use_totp_step(&factor.id, step - 1, now).await.unwrap(), "an earlier step is refused");
    }

    async fn prompt_login_and_max_age_rerun_the_password_and_the_second_step(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &app.browser, &portal, MIA, &[]).await;
        for extra in [("prompt", "login"), ("max_age", "0")] {
            let request = app.auth_request(&portal, &[extra]);
            let (status, location, _) = app.sign_in_through(&request, MIA, PASSWORD).await;
            assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")), "{extra:?}");
            let (_, _, page) = app.get("/login/second-factor").await;
            let code = next_code(&app, &enrolled.totp);
            let (status, location, _) = app.submit_in(&app.browser, &page, "/login/second-factor", &[("code", &code)]).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
            assert_eq!(acr_of(&signed_in).as_deref(), Some("aal2"));
        }
    }

    async fn the_second_factor_page_needs_a_pending_sign_in(backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/login/second-factor", "/login/enroll"] {
            let (status, location, page) = app.get(path).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            assert!(location.is_none());
            assert!(page.contains("expired"));
            let (status, _, _) = app.post_form(path, &[("code", "123456")]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        }
    }

    async fn fifty_concurrent_uses_of_one_backup_code_give_exactly_one_success(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        let normalized = gatehouse::auth::backup_codes::normalize(&enrolled.backup_codes[0]).unwrap();
        let tag = app.state.vault.tag(&normalized);
        let now = app.state.clock.now();
        let uses = (0..50).map(|_| app.state.store.use_backup_code("user-mia", &tag, now));
        let results = futures::future::join_all(uses).await;
        assert_eq!(results.iter().filter(|r| matches!(r, Ok(true))).count(), 1);
        assert_eq!(results.iter().filter(|r| matches!(r, Ok(false))).count(), 49);
    }

    async fn acr_values_aal2_makes_a_user_without_a_factor_give_the_password_again_and_enrol(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let first = app.sign_in(&portal).await;
        assert_eq!(acr_of(&first).as_deref(), Some("aal1"));
        // The password of this session is older than reauth_window_secs.
        app.state.clock.advance(301);

        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (status, location, _) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")), "password, then enrol");
        let enrolled = finish_enrolment(&app, &app.browser, &portal, request).await;
        assert_eq!(acr_of(&enrolled.signed_in).as_deref(), Some("aal2"));
    }

    async fn a_step_up_within_the_password_window_enrols_without_the_password_again(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let first = app.sign_in(&portal).await;
        app.state.clock.advance(299);
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (status, location, _) = app.get(&request.url).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")), "no second password");
        let enrolled = finish_enrolment(&app, &app.browser, &portal, request).await;
        assert_eq!(acr_of(&enrolled.signed_in).as_deref(), Some("aal2"));
        assert_eq!(enrolled.signed_in.sid(), first.sid(), "the session was raised");
        assert_eq!(amr_of(&enrolled.signed_in), ["pwd", "otp", "mfa"]);
    }

    async fn an_enrolment_begun_in_the_window_is_refused_once_the_password_is_old(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        app.state.clock.advance(200);
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(location.as_deref(), Some("/login/enroll"));
        let (_, _, page) = app.get("/login/enroll").await;
        let totp = authenticator_from(&page);
        // The binding happens after the password left the window.
        app.state.clock.advance(101);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, body) = app.submit_in(&app.browser, &page, "/login/enroll", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(app.state.store.active_totp("user-alice").await.unwrap().is_none(), "nothing was bound");
    }

    async fn acr_values_is_a_list_any_level_of_which_will_do(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        app.state.clock.advance(301);
        for either in ["aal1 aal2", "aal2 aal1", "aal1"] {
            let signed_in = {
                let request = app.auth_request(&portal, &[("acr_values", either)]);
                let (status, location, _) = app.get(&request.url).await;
                assert_eq!(status, StatusCode::SEE_OTHER, "{either}");
                let code = code_from(&location.expect("a redirect"), &request);
                app.exchange(&portal, code, request).await
            };
            assert_eq!(acr_of(&signed_in).as_deref(), Some("aal1"), "{either}: the password session answers");
        }
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (_, location, _) = app.get(&request.url).await;
        assert!(location.unwrap().starts_with("/login?request="), "aal2 alone steps up (here through the password)");
        let essential = r#"{"id_token":{"acr":{"essential":true,"values":["aal2"]}}}"#;
        let request = app.auth_request(&portal, &[("acr_values", "aal1 aal2"), ("claims", essential)]);
        let (_, location, _) = app.get(&request.url).await;
        assert!(location.unwrap().starts_with("/login?request="), "an essential acr claim still steps up");
    }

    async fn a_session_past_its_idle_limit_is_not_raised(backend) {
        // Sessions go idle sooner than a pending second step expires.
        let app = TestApp::spawn_with(backend, |c| c.session_idle_secs = 100).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let elsewhere = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&elsewhere, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&elsewhere, "/account/totp").await;
        let totp = authenticator_from(&page);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&elsewhere, &page, "/account/totp", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK);
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(location.as_deref(), Some("/login/second-factor"));
        let (_, _, page) = app.get("/login/second-factor").await;
        // The session goes idle while the second-factor page waits.
        app.state.clock.advance(101);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, location, _) = app.submit_in(&app.browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_ne!(status, StatusCode::SEE_OTHER, "no code for an ended session: {location:?}");
    }

    async fn acr_values_aal2_steps_an_aal1_session_up_keeping_its_sid(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let first = app.sign_in(&portal).await;
        // Elsewhere, alice turns on an authenticator app.
        let elsewhere = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&elsewhere, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&elsewhere, "/account/totp").await;
        let totp = authenticator_from(&page);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&elsewhere, &page, "/account/totp", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK);

        // This browser's aal1 session steps up with the code and keeps its sid.
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (status, location, _) = app.get(&request.url).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
        let (_, _, page) = app.get("/login/second-factor").await;
        let code = next_code(&app, &totp);
        let (status, location, _) = app.submit_in(&app.browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let raised = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(acr_of(&raised).as_deref(), Some("aal2"));
        assert_eq!(raised.sid(), first.sid(), "the same provider session, raised");
    }

    async fn a_parked_request_cannot_be_resumed_by_a_session_that_does_not_answer_it(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        // Past the password window, a step-up asks for the password again too.
        app.state.clock.advance(301);
        for extra in [("prompt", "login"), ("acr_values", "aal2"), ("max_age", "0")] {
            let request = app.auth_request(&portal, &[extra]);
            let (_, location, _) = app.get(&request.url).await;
            let location = location.unwrap();
            let id = location.strip_prefix("/login?request=").expect("sent to sign in");
            let (status, location, _) = app.get(&format!("/login/continue?request={id}")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{extra:?}");
            assert!(location.is_none(), "no code for {extra:?}");
        }
    }

    async fn concurrent_wrong_codes_cannot_exceed_the_limit(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        let browser = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&browser, &request, MIA, PASSWORD).await;
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        let csrf = hidden_input(&page, "csrf_token").unwrap();
        let guesses: Vec<String> = (0..20).map(|i| format!("{:06}", 100_000 + i)).collect();
        let forms: Vec<[(&str, &str); 2]> = guesses.iter().map(|g| [("csrf_token", csrf.as_str()), ("code", g.as_str())]).collect();
        let posts = forms.iter().map(|form| app.post_in(&browser, "/login/second-factor", form));
        futures::future::join_all(posts).await;
        let kinds = app.state.store.audit_events_for("user-mia", 500).await.unwrap();
        let checked = kinds.iter().filter(|e| e.kind == "second_factor_failed").count();
        assert!(checked <= 5, "at most the limit of guesses were checked, not {checked}");
    }

    async fn prompt_none_cannot_step_up(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let request = app.auth_request(&portal, &[("acr_values", "aal2"), ("prompt", "none")]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("interaction_required"));
    }

    async fn a_user_with_a_factor_gives_it_at_every_sign_in_even_without_a_policy(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (_, location, _) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
        assert_eq!(location.as_deref(), Some("/login/enroll"));
        let enrolled = finish_enrolment(&app, &app.browser, &portal, request).await;
        let code = next_code(&app, &enrolled.totp);
        let ((status, _, _), _) = sign_in_with_code(&app, &new_browser(), &portal, USERNAME, &code).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }

    async fn a_database_dump_holds_no_totp_secret_or_backup_code(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        let secret_base32 = enrolled.totp.get_secret_base32();
        let dump = dump_database(&app.database_url).await;
        assert!(dump.contains("user-mia"), "the dump has rows");
        assert!(!dump.contains(&secret_base32), "no TOTP secret in base32");
        assert!(!dump.contains(&hex::encode(&enrolled.totp.secret)), "nor in hex");
        for code in &enrolled.backup_codes {
            assert!(!dump.contains(code) && !dump.contains(&code.replace('-', "")), "no backup code in clear");
        }
    }
}

/// Every text value of every table, as a test reading the database directly sees it.
async fn dump_database(url: &str) -> String {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let tables = [
        ("totp_factors", "id || ' ' || user_id || ' ' || secret_enc"),
        ("backup_codes", "code_mac || ' ' || user_id"),
        ("users", "id || ' ' || username || ' ' || password_hash"),
        ("audit_events", "kind || ' ' || detail"),
        ("sessions", "id_hash || ' ' || sid || ' ' || amr"),
        ("pending_logins", "id_hash || ' ' || user_id"),
    ];
    let mut dump = String::new();
    for (table, columns) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(&format!("select {columns} from {table}"))
            .fetch_all(&pool)
            .await
            .unwrap();
        for (row,) in rows {
            dump.push_str(&row);
            dump.push('\n');
        }
    }
    pool.close().await;
    dump
}
