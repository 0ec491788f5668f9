//! Passwords: the rules every form applies (length after NFKC, the
//! blocklist), hashes made again at the next sign-in, and one-time links.

use gatehouse::auth::password::{self, HashCost};
use gatehouse::auth::secret;
use reqwest::StatusCode;

use crate::account::enable_totp;
use crate::browser::Browser;
use crate::common::*;
use crate::each_backend;
use crate::email_codes::spawn_with_mail;
use crate::receivers::{quoted_printable_decoded, MailServer};

/// Signs `username` in at the portal in a new browser: the status and
/// where it was sent.
async fn sign_in(app: &TestApp, username: &str, password: &str) -> (StatusCode, Option<String>) {
    let portal = app.rp("portal").await;
    let request = app.auth_request(&portal, &[]);
    let (status, location, _) = app
        .sign_in_through_in(&new_browser(), &request, username, password)
        .await;
    (status, location)
}

/// A one-time password link for `user_id`, as an administrator's.
async fn link_for(app: &TestApp, user_id: &str) -> String {
    let token = secret::random_token(32);
    let now = app.state.clock.now();
    app.state
        .store
        .put_password_link(&secret::token_hash(&token), user_id, None, now, now + 600)
        .await
        .unwrap();
    format!("{}/password?token={token}", app.base)
}

async fn stored_hash(app: &TestApp, username: &str) -> String {
    app.state
        .store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap()
        .password_hash
}

each_backend! {
    async fn a_hash_of_other_parameters_is_made_again_at_the_next_sign_in(backend) {
        let app = TestApp::spawn(backend).await;
        let id = app.add_user("olga", "olga's long password").await;
        let older = HashCost { memory_kib: 2 * CHEAP.memory_kib, ..CHEAP };
        let old = password::hash("olga's long password", older).unwrap();
        assert!(app.state.store.replace_password_hash(&id, &stored_hash(&app, "olga").await, &old).await.unwrap());
        assert!(!password::is_current(&old, CHEAP));

        assert_eq!(sign_in(&app, "olga", "a wrong password").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(stored_hash(&app, "olga").await, old, "a wrong password changes nothing");
        let (status, location) = sign_in(&app, "olga", "olga's long password").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.unwrap().contains("code="));
        let new = stored_hash(&app, "olga").await;
        assert_ne!(new, old);
        assert!(password::is_current(&new, CHEAP), "{new}");
        assert_eq!(sign_in(&app, "olga", "olga's long password").await.0, StatusCode::SEE_OTHER, "the new hash works");
    }

    async fn passwords_are_normalised_and_old_unnormalised_hashes_still_work(backend) {
        let app = TestApp::spawn(backend).await;
        // Set through a link with "é" as "e" and a combining accent...
        let id = app.add_user("rene", "unused at first 123").await;
        let link = link_for(&app, &id).await;
        let browser = new_browser();
        let (status, _, page) = app.get_in(&browser, &link).await;
        assert_eq!(status, StatusCode::OK);
        let token = hidden_input(&page, "token").unwrap();
        let decomposed = "cafe\u{301} cre\u{300}me brule\u{301}e";
        let (status, _, done) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", decomposed), ("password_again", decomposed)]).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        // ...and signed in with it precomposed, as another keyboard types it.
        assert_eq!(sign_in(&app, "rene", "caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e").await.0, StatusCode::UNAUTHORIZED, "another password is another password");
        assert_eq!(sign_in(&app, "rene", "caf\u{e9} cr\u{e8}me brul\u{e9}e").await.0, StatusCode::SEE_OTHER);
        assert_eq!(sign_in(&app, "rene", decomposed).await.0, StatusCode::SEE_OTHER);

        // A hash stored before normalisation, of the bytes as typed.
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(CHEAP.memory_kib, CHEAP.iterations, CHEAP.parallelism, None).unwrap();
        let legacy = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(decomposed.as_bytes(), &SaltString::generate(&mut argon2::password_hash::rand_core::OsRng))
            .unwrap()
            .to_string();
        assert!(app.state.store.replace_password_hash(&id, &stored_hash(&app, "rene").await, &legacy).await.unwrap());
        assert_eq!(sign_in(&app, "rene", decomposed).await.0, StatusCode::SEE_OTHER, "the old hash works once more");
        assert_ne!(stored_hash(&app, "rene").await, legacy, "and is made again, normalised");
        assert_eq!(sign_in(&app, "rene", "caf\u{e9} cr\u{e8}me brul\u{e9}e").await.0, StatusCode::SEE_OTHER);
    }

    async fn a_common_password_is_refused_with_a_clear_message_and_the_link_stays_usable(backend) {
        let app = TestApp::spawn(backend).await;
        let id = app.add_user("pia", "pia's first password").await;
        let link = link_for(&app, &id).await;
        let browser = new_browser();
        let (_, _, page) = app.get_in(&browser, &link).await;
        let token = hidden_input(&page, "token").unwrap();
        assert!(page.contains("at least 8 characters"), "{page}");
        for (common, why) in [("password1", "too common"), ("P@ssw0rd!", "too common"), ("pia@example.com", "too common"), ("short", "at least 8 characters")] {
            let (status, _, refused) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", common), ("password_again", common)]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{common}");
            assert!(refused.contains(why), "{common}: {refused}");
        }
        assert_eq!(sign_in(&app, "pia", "pia's first password").await.0, StatusCode::SEE_OTHER, "nothing was set");
        let long = "the quick brown fox jumps over the lazy dog ".repeat(3);
        let (status, _, done) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", &long), ("password_again", &long)]).await;
        assert_eq!(status, StatusCode::OK, "a password of {} characters: {done}", long.chars().count());
        assert_eq!(sign_in(&app, "pia", &long).await.0, StatusCode::SEE_OTHER);
    }

    async fn the_minimum_length_is_a_setting(backend) {
        let app = TestApp::spawn_with(backend, |config| config.min_password_length = 15).await;
        let id = app.add_user("uma", "uma's first password").await;
        let link = link_for(&app, &id).await;
        let browser = new_browser();
        let (_, _, page) = app.get_in(&browser, &link).await;
        assert!(page.contains("at least 15 characters"), "{page}");
        let token = hidden_input(&page, "token").unwrap();
        let (status, _, refused) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", "velvet orbit"), ("password_again", "velvet orbit")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("at least 15 characters"), "{refused}");
        let (status, _, _) = app.submit_in(&browser, &page, "/password", &[("token", &token), ("password", "velvet orbit ladder"), ("password_again", "velvet orbit ladder")]).await;
        assert_eq!(status, StatusCode::OK);
    }
}

/// Asks for a reset link for `identifier` from the sign-in page's link, in
/// `browser`: the status and the page.
async fn ask_reset(
    app: &TestApp,
    browser: &reqwest::Client,
    identifier: &str,
) -> (StatusCode, String) {
    let (_, _, login) = app.get_in(browser, "/login").await;
    assert!(
        login.contains(r#"<a href="/password/forgot">Forgot your password?</a>"#),
        "{login}"
    );
    let (status, _, page) = app.get_in(browser, "/password/forgot").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(r#"name="identifier""#) && page.contains("Send reset link"),
        "{page}"
    );
    let (status, _, answer) = app
        .submit_in(
            browser,
            &page,
            "/password/forgot",
            &[("identifier", identifier)],
        )
        .await;
    (status, answer)
}

/// The link in the next reset email to `to`.
async fn mailed_link(mail: &MailServer, to: &str) -> String {
    let message =
        quoted_printable_decoded(&mail.next_with(to, "Subject: Reset your password").await);
    let line = message
        .lines()
        .find(|l| l.contains("/password?token="))
        .unwrap_or_else(|| panic!("a link: {message}"));
    line.trim().to_string()
}

/// Sets `password` through the link in a new browser; the status and page.
async fn set_through(
    app: &TestApp,
    link: &str,
    password: &str,
) -> (StatusCode, String, reqwest::Client) {
    let browser = new_browser();
    let (status, _, page) = app.get_in(&browser, link).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let token = hidden_input(&page, "token").unwrap();
    let (status, _, done) = app
        .submit_in(
            &browser,
            &page,
            "/password",
            &[
                ("token", &token),
                ("password", password),
                ("password_again", password),
            ],
        )
        .await;
    (status, done, browser)
}

async fn audited(app: &TestApp, user_id: &str, kind: &str) -> usize {
    let events = app
        .state
        .store
        .audit_events_for(user_id, 500)
        .await
        .unwrap();
    events.iter().filter(|e| e.kind == kind).count()
}

each_backend! {
    async fn a_forgotten_password_is_reset_by_email_and_the_second_factor_stays(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let first = new_browser();
        password_session(&app, &first, USERNAME).await;
        let (totp, _) = enable_totp(&app, &first).await;
        assert!(app.state.store.email_state("user-alice").await.unwrap().0.is_none(), "the address is not verified yet");
        let portal = app.rp("portal").await;
        let signed_in = second_browser_session(&app, &portal, &totp).await;
        let sessions = app.state.store.session_sids_of_user("user-alice").await.unwrap();
        assert_eq!(sessions.len(), 2);
        assert_eq!(userinfo_status(&app, &signed_in.access_token).await, StatusCode::OK);

        let visitor = new_browser();
        let (status, answer) = ask_reset(&app, &visitor, USERNAME).await;
        assert_eq!(status, StatusCode::OK);
        assert!(answer.contains("we emailed that account a link"), "{answer}");
        let link = mailed_link(&mail, "alice@example.com").await;
        assert!(link.starts_with(&format!("{}/password?token=", app.base)), "{link}");
        assert_eq!(app.get_in(&new_browser(), &link).await.0, StatusCode::OK, "opening the link uses nothing up");

        let (status, done, setter) = set_through(&app, &link, "a fresh start for alice").await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert!(done.contains("Your password is set"));
        assert_eq!(app.get_in(&new_browser(), &link).await.0, StatusCode::NOT_FOUND, "the link works once");
        assert_eq!(app.get_in(&setter, "/account").await.0, StatusCode::SEE_OTHER, "a reset signs nobody in");
        assert!(app.state.store.session_sids_of_user("user-alice").await.unwrap().is_empty(), "every session ended");
        assert_eq!(app.get_in(&first, "/account").await.0, StatusCode::SEE_OTHER);
        assert_eq!(userinfo_status(&app, &signed_in.access_token).await, StatusCode::UNAUTHORIZED, "the grants ended with the sessions");
        assert!(app.state.store.email_state("user-alice").await.unwrap().0.is_some(), "the used link verified the address");
        mail.next_with("alice@example.com", "Subject: Password reset").await;

        // The old password is gone; the new one still needs the code.
        let request = app.auth_request(&portal, &[]);
        let (status, _, _) = app.sign_in_through_in(&new_browser(), &request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let browser = new_browser();
        let (status, location, _) = app.sign_in_through_in(&browser, &request, USERNAME, "a fresh start for alice").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")), "the factor is still asked for");
        app.state.clock.advance(30);
        let code = totp.generate(app.state.clock.now() as u64);
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        let (status, location, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let code = code_from(&location.unwrap(), &request);
        let tokens = app.exchange(&portal, code, request).await;
        assert_eq!(tokens.claims.auth_context_ref().unwrap().as_str(), "aal2");
        assert_eq!(audited(&app, "user-alice", "password_reset_requested").await, 1);
        assert_eq!(audited(&app, "user-alice", "password_reset").await, 1);
    }

    async fn an_unknown_identifier_is_answered_alike_and_a_new_link_voids_the_old(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        let (known_status, known) = ask_reset(&app, &browser, "alice@example.com").await;
        let (unknown_status, unknown) = ask_reset(&app, &browser, "nobody@example.com").await;
        let (name_status, name) = ask_reset(&app, &browser, "nobody").await;
        assert_eq!((known_status, unknown_status, name_status), (StatusCode::OK, StatusCode::OK, StatusCode::OK));
        assert_eq!(known, unknown, "the same answer");
        assert_eq!(known, name);
        let first = mailed_link(&mail, "alice@example.com").await;
        let (_, _) = ask_reset(&app, &browser, "alice").await;
        let second = mailed_link(&mail, "alice@example.com").await;
        assert_ne!(first, second);
        assert_eq!(app.get_in(&browser, &first).await.0, StatusCode::NOT_FOUND, "the newer link voids the older");
        assert_eq!(app.get_in(&browser, &second).await.0, StatusCode::OK);
        assert_eq!(mail.waiting_with("nobody@example.com", ""), 0, "no message when nothing matches");

        app.state.clock.advance(31 * 60);
        assert_eq!(app.get_in(&browser, &second).await.0, StatusCode::NOT_FOUND, "a link lasts 30 minutes");
    }

    async fn spoofed_host_headers_never_change_the_reset_link(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        let (_, _, page) = app.get_in(&browser, "/password/forgot").await;
        let csrf = hidden_input(&page, "csrf_token").unwrap();
        for (header, value) in [("host", "evil.example"), ("x-forwarded-host", "evil.example"), ("forwarded", "host=evil.example;proto=https"), ("x-forwarded-proto", "https")] {
            let response = browser
                .post(app.url("/password/forgot"))
                .header(header, value)
                .form(&[("csrf_token", csrf.as_str()), ("identifier", USERNAME)])
                .send()
                .await
                .unwrap();
            let status = response.status();
            assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{header}: {status}");
            if status == StatusCode::OK {
                let link = mailed_link(&mail, "alice@example.com").await;
                assert!(link.starts_with(&format!("{}/password?token=", app.base)), "{header}: {link}");
            }
        }
    }

    async fn reset_requests_are_limited_per_user_and_per_address(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        for _ in 0..6 {
            assert_eq!(ask_reset(&app, &browser, USERNAME).await.0, StatusCode::OK);
        }
        for _ in 0..5 {
            mailed_link(&mail, "alice@example.com").await;
        }
        for _ in 0..100 {
            if audited(&app, "user-alice", "password_reset_throttled").await == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(audited(&app, "user-alice", "password_reset_throttled").await, 1, "the sixth is not sent");
        assert_eq!(mail.waiting_with("alice@example.com", "Reset your password"), 0);
        let day_ago = app.state.clock.now() - 86_400;
        assert_eq!(app.state.store.messages_since("user-alice", day_ago).await.unwrap(), 0, "resets use up none of alice's codes");
        for _ in 0..14 {
            assert_eq!(ask_reset(&app, &browser, "someone").await.0, StatusCode::OK);
        }
        let (status, page) = ask_reset(&app, &browser, "someone").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the 21st from one address within the hour");
        assert!(page.contains("Too many reset requests"), "{page}");
    }
}

/// Signs alice in with her code in another browser at `portal`.
async fn second_browser_session(app: &TestApp, portal: &Rp, totp: &totp_rs::TOTP) -> SignedIn {
    let browser = new_browser();
    let request = app.auth_request(portal, &[]);
    let (status, location, _) = app
        .sign_in_through_in(&browser, &request, USERNAME, PASSWORD)
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/second-factor"))
    );
    app.state.clock.advance(30);
    let code = totp.generate(app.state.clock.now() as u64);
    let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
    let (_, location, _) = app
        .submit_in(&browser, &page, "/login/second-factor", &[("code", &code)])
        .await;
    let code = code_from(&location.unwrap(), &request);
    app.exchange(portal, code, request).await
}

/// The status userinfo answers `access_token` with.
async fn userinfo_status(app: &TestApp, access_token: &str) -> StatusCode {
    rp_http()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Posts the change-password form of `browser`'s account page.
async fn change_password(
    app: &TestApp,
    browser: &reqwest::Client,
    current: &str,
    new: &str,
    again: &str,
) -> (StatusCode, String) {
    let (status, _, account) = app.get_in(browser, "/account").await;
    assert_eq!(status, StatusCode::OK);
    for name in ["current_password", "new_password", "new_password_again"] {
        assert!(account.contains(&format!(r#"name="{name}""#)), "{name}");
    }
    assert!(account.contains("Change password"));
    let form = [
        ("current_password", current),
        ("new_password", new),
        ("new_password_again", again),
    ];
    let (status, _, page) = app
        .submit_in(browser, &account, "/account/password", &form)
        .await;
    (status, page)
}

each_backend! {
    async fn a_known_password_is_changed_on_the_account_page_and_other_sessions_end(backend) {
        let app = TestApp::spawn(backend).await;
        let (this, other) = (new_browser(), new_browser());
        password_session(&app, &this, USERNAME).await;
        password_session(&app, &other, USERNAME).await;
        let new = "alice's brand new password";

        let (status, page) = change_password(&app, &this, "not my password", new, new).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("current password is not right"), "{page}");
        let (status, page) = change_password(&app, &this, PASSWORD, new, "something else").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("not the same"), "{page}");
        let (status, page) = change_password(&app, &this, PASSWORD, "iloveyou2", "iloveyou2").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("too common"), "{page}");
        assert_eq!(app.get_in(&other, "/account").await.0, StatusCode::OK, "no refusal ends anything");
        assert_eq!(sign_in(&app, USERNAME, PASSWORD).await.0, StatusCode::SEE_OTHER, "nor changes the password");

        let (status, page) = change_password(&app, &this, PASSWORD, new, new).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Your password is changed"), "{page}");
        assert_eq!(app.get_in(&this, "/account").await.0, StatusCode::OK, "this session stays");
        assert_eq!(app.get_in(&other, "/account").await.0, StatusCode::SEE_OTHER, "the other one ends");
        assert_eq!(sign_in(&app, USERNAME, PASSWORD).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(sign_in(&app, USERNAME, new).await.0, StatusCode::SEE_OTHER);
        assert_eq!(audited(&app, "user-alice", "password_changed").await, 1);
    }

    async fn a_user_with_a_factor_changes_the_password_from_a_session_that_gave_it(backend) {
        let app = TestApp::spawn(backend).await;
        let before = new_browser();
        password_session(&app, &before, USERNAME).await;
        let enrolled = new_browser();
        password_session(&app, &enrolled, USERNAME).await;
        enable_totp(&app, &enrolled).await;
        let new = "alice's brand new password";
        let (status, page) = change_password(&app, &before, PASSWORD, new, new).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a password-only session of a user with a factor");
        assert!(page.contains("second factor first"), "{page}");
        assert_eq!(sign_in(&app, USERNAME, new).await.0, StatusCode::UNAUTHORIZED);
        let (status, page) = change_password(&app, &enrolled, PASSWORD, new, new).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(app.get_in(&before, "/account").await.0, StatusCode::SEE_OTHER);
    }
}

each_backend! {
    async fn the_address_is_verified_on_its_own_and_then_gets_the_notices(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("is not verified yet") && account.contains("Verify my address"), "{account}");
        let (status, _, page) = app.submit_in(&browser, &account, "/account/email", &[]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("We emailed a code"), "{page}");
        let code = mail.next_code_to("alice@example.com").await;
        let (status, _, page) = app.submit_in(&browser, &page, "/account/email/confirm", &[("code", "000000")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(app.state.store.email_state("user-alice").await.unwrap().0.is_none());
        let (status, _, page) = app.submit_in(&browser, &page, "/account/email/confirm", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Your email address is verified"), "{page}");
        let (verified, codes_on) = app.state.store.email_state("user-alice").await.unwrap();
        assert!(verified.is_some() && !codes_on, "verified, and email codes stay off");
        assert_eq!(audited(&app, "user-alice", "email_verified").await, 1);
        // A change to what protects the account is now mailed to it.
        enable_totp(&app, &browser).await;
        mail.next_with("alice@example.com", "Subject: Authenticator app added").await;
    }
}

/// Clicks `xpath` in Chromium without waiting for a page of this site (the
/// click may lead to the relying party, which does not answer).
async fn press(chromium: &Browser, xpath: &str) {
    let element = chromium
        .client
        .find(fantoccini::Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"));
    element.click().await.unwrap();
}

each_backend! {
    async fn in_a_real_browser_a_reset_keeps_the_factor_and_a_remembered_browser_needs_the_password_alone(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        app.state.store.set_remember_device_days("acct-acme", 30).await.unwrap();
        let setup = new_browser();
        password_session(&app, &setup, USERNAME).await;
        let (totp, _) = enable_totp(&app, &setup).await;
        let portal = app.rp("portal").await;
        let chromium = Browser::start(&format!("reset-{}", backend.name()), 1280, 900).await;

        // Forgot the password: from the sign-in page, by email.
        let request = app.auth_request(&portal, &[]);
        chromium.goto(&request.url).await;
        assert!(chromium.path().await.starts_with("/login?request="));
        chromium.click_link("Forgot your password?").await;
        assert_eq!(chromium.path().await, "/password/forgot");
        chromium.fill("#identifier", USERNAME).await;
        chromium.click_button("Send reset link").await;
        assert!(chromium.text_of("p.notice").await.contains("we emailed that account a link"));
        chromium.screenshot("reset-requested").await;
        let link = mailed_link(&mail, "alice@example.com").await;
        chromium.goto(&link).await;
        let new = "a long new one for alice";
        chromium.fill("#password", new).await;
        chromium.fill("#password_again", new).await;
        chromium.click_button("Set password").await;
        assert!(chromium.source().await.contains("Your password is set"));
        chromium.screenshot("password-set").await;

        // The next sign-in still asks for the code; the box is ticked.
        let request = app.auth_request(&portal, &[]);
        chromium.goto(&request.url).await;
        chromium.fill("#username", USERNAME).await;
        chromium.fill("#password", new).await;
        chromium.click_button("Sign in").await;
        assert_eq!(chromium.path().await, "/login/second-factor", "a reset never skips the factor");
        app.state.clock.advance(30);
        chromium.fill("input[name=code]", &totp.generate(app.state.clock.now() as u64)).await;
        chromium.client.find(fantoccini::Locator::Css("input[name=remember_device]")).await.unwrap().click().await.unwrap();
        chromium.screenshot("second-factor-remember").await;
        press(&chromium, "//button[normalize-space()='Verify']").await;
        let code = crate::security_keys::code_at_relying_party(&app, &chromium, &request).await;
        let signed = app.exchange(&portal, code, request).await;
        let id_token = signed.tokens.extra_fields().id_token().unwrap().to_string();
        assert_eq!(raw_claims(&id_token)["amr"], serde_json::json!(["pwd", "otp", "mfa"]));

        // Later, in the same browser, the password alone.
        let request = app.auth_request(&portal, &[("prompt", "login")]);
        chromium.goto(&request.url).await;
        assert!(chromium.path().await.starts_with("/login?request="), "prompt=login asks for the password");
        chromium.fill("#username", USERNAME).await;
        chromium.fill("#password", new).await;
        press(&chromium, "//button[normalize-space()='Sign in']").await;
        let code = crate::security_keys::code_at_relying_party(&app, &chromium, &request).await;
        let signed = app.exchange(&portal, code, request).await;
        let id_token = signed.tokens.extra_fields().id_token().unwrap().to_string();
        let claims = raw_claims(&id_token);
        assert_eq!((claims["acr"].as_str(), &claims["amr"]), (Some("aal2"), &serde_json::json!(["pwd", "device"])));
        chromium.goto(&app.url("/account")).await;
        assert!(chromium.source().await.contains("(this device)"));
        chromium.screenshot("remembered-devices").await;
        chromium.quit().await;
    }
}
