//! Codes by email, through a real SMTP conversation with a receiver that the
//! test reads the codes from.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;
use crate::receivers::{code_in, MailServer};

pub const ALICE_EMAIL: &str = "alice@example.com";

/// A provider that sends email to `mail`, whose account `acme` allows email codes.
pub async fn spawn_with_mail(backend: Backend, smtp_url: String) -> TestApp {
    let app = TestApp::spawn_with(backend, move |config| {
        config.smtp_url = (!smtp_url.is_empty()).then(|| smtp_url.clone().into());
    })
    .await;
    let factors: Vec<String> = ["totp", "webauthn", "email"].map(String::from).to_vec();
    app.state
        .store
        .update_tenant_policy("acme", None, Some(&factors), app.state.clock.now())
        .await
        .unwrap();
    app
}

/// Turns email codes on from the account page; the backup codes shown.
pub async fn turn_on(app: &TestApp, browser: &reqwest::Client, mail: &MailServer) -> Vec<String> {
    let (_, _, account) = app.get_in(browser, "/account").await;
    assert!(account.contains("Turn on email codes"), "{account}");
    let (status, _, page) = app
        .submit_in(browser, &account, "/account/email-codes", &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("We emailed a code to a•••e@example.com"),
        "{page}"
    );
    let code = mail.next_code_to(ALICE_EMAIL).await;
    let (status, _, page) = app
        .submit_in(
            browser,
            &page,
            "/account/email-codes/confirm",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a wrong code");
    let (status, _, codes_page) = app
        .submit_in(
            browser,
            &page,
            "/account/email-codes/confirm",
            &[("code", &code)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{codes_page}");
    backup_codes_on(&codes_page)
}

/// Runs `rp`'s request in a fresh browser up to the second-factor page.
pub async fn to_second_factor(app: &TestApp, rp: &Rp) -> (reqwest::Client, AuthRequest, String) {
    to_second_factor_with(app, rp, &[]).await
}

/// `to_second_factor` for a request with `extra` parameters.
pub async fn to_second_factor_with(
    app: &TestApp,
    rp: &Rp,
    extra: &[(&str, &str)],
) -> (reqwest::Client, AuthRequest, String) {
    let browser = new_browser();
    let request = app.auth_request(rp, extra);
    let (status, location, _) = app
        .sign_in_through_in(&browser, &request, USERNAME, PASSWORD)
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/second-factor"))
    );
    let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
    (browser, request, page)
}

/// Presses "Email me a code": the page after.
pub async fn email_me(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
) -> (StatusCode, String) {
    assert!(page.contains("Email me a code"), "{page}");
    let (status, _, page) = app.submit_in(browser, page, "/login/email-code", &[]).await;
    (status, page)
}

pub fn claims_of(signed_in: &SignedIn) -> serde_json::Value {
    raw_claims(
        &signed_in
            .tokens
            .extra_fields()
            .id_token()
            .unwrap()
            .to_string(),
    )
}

each_backend! {
    async fn a_user_without_an_app_signs_in_with_an_emailed_code(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        assert_eq!(turn_on(&app, &browser, &mail).await.len(), 10);
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("email-on"), "{account}");

        let portal = app.rp("portal").await;
        let (fresh, request, page) = to_second_factor(&app, &portal).await;
        let (status, page) = email_me(&app, &fresh, &page).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("We emailed a code"), "{page}");
        let code = mail.next_code_to(ALICE_EMAIL).await;
        let (status, location, body) = app.submit_in(&fresh, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = claims_of(&signed_in);
        assert_eq!(claims["acr"], "aal2");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "email", "mfa"]));

        // The code worked once.
        let (other, _, page) = to_second_factor(&app, &portal).await;
        let (status, _, _) = app.submit_in(&other, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let kinds: Vec<String> = app.state.store.audit_events_for("user-alice", 50).await.unwrap()
            .into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"email_codes_on".to_string()), "{kinds:?}");
    }

    async fn emailed_codes_expire_are_replaced_by_a_new_one_and_are_throttled(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        turn_on(&app, &browser, &mail).await;
        let portal = app.rp("portal").await;
        let (fresh, _, page) = to_second_factor(&app, &portal).await;
        let (_, page) = email_me(&app, &fresh, &page).await;
        let first = mail.next_code_to(ALICE_EMAIL).await;
        // Asking again at once is refused, and sends nothing.
        let (status, again) = email_me(&app, &fresh, &page).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(again.contains("less than a minute ago"), "{again}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(mail.waiting_with(ALICE_EMAIL, "Your Gatehouse code"), 0);
        // A minute later a new code replaces the first.
        app.state.clock.advance(61);
        let (status, page) = email_me(&app, &fresh, &page).await;
        assert_eq!(status, StatusCode::OK);
        let second = mail.next_code_to(ALICE_EMAIL).await;
        if first != second {
            let (status, _, _) = app.submit_in(&fresh, &page, "/login/second-factor", &[("code", &first)]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "the replaced code");
        }
        // Ten minutes later the new one has expired too.
        app.state.clock.advance(601);
        let (status, _, page) = app.submit_in(&fresh, &page, "/login/second-factor", &[("code", &second)]).await;
        assert!(matches!(status, StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST), "{status}: {page}");
    }

    async fn twenty_requests_at_once_send_one_code(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        turn_on(&app, &browser, &mail).await;
        let portal = app.rp("portal").await;
        let (fresh, _, page) = to_second_factor(&app, &portal).await;
        let csrf = hidden_input(&page, "csrf_token").unwrap();
        let url = app.url("/login/email-code");
        let sends = (0..20).map(|_| fresh.post(&url).form(&[("csrf_token", csrf.as_str())]).send());
        let statuses: Vec<StatusCode> = futures::future::join_all(sends).await.into_iter().map(|r| r.unwrap().status()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 19);
        mail.next_code_to(ALICE_EMAIL).await;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(mail.waiting_with(ALICE_EMAIL, "Your Gatehouse code"), 0);
    }

    async fn turning_email_codes_off_needs_the_password_and_a_fresh_code(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        turn_on(&app, &browser, &mail).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, page) = app.submit_in(&browser, &account, "/account/email-codes/off", &[("password", PASSWORD), ("code", "123456")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "no code was asked for");
        let (status, _, page) = app.submit_in(&browser, &page, "/account/email-codes/off-code", &[]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let code = mail.next_code_to(ALICE_EMAIL).await;
        let (status, _, page) = app.submit_in(&browser, &page, "/account/email-codes/off", &[("password", "wrong password"), ("code", &code)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the password too");
        let (status, _, page) = app.submit_in(&browser, &page, "/account/email-codes/off", &[("password", PASSWORD), ("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Email codes are off"), "{page}");
        assert_eq!(app.state.store.backup_code_summary("user-alice").await.unwrap().remaining, 0, "no factor, no backup codes");
        // The next sign-in asks for no second factor.
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[]);
        let (status, location, _) = app.sign_in_through_in(&new_browser(), &request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(location.unwrap().starts_with(&app.redirect_uri("portal")));
    }

    async fn a_message_waits_for_a_mail_server_that_was_down(backend) {
        // A port with nothing listening, for now.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let app = spawn_with_mail(backend, format!("smtp://127.0.0.1:{port}")).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/email-codes", &[]).await;
        assert_eq!(status, StatusCode::OK);
        for _ in 0..200 {
            let last = app.state.store.last_message("user-alice", "email").await.unwrap().unwrap();
            if last.attempts > 0 {
                assert!(last.sent_at.is_none());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        // The server comes up: the retry delivers the code.
        let mail = MailServer::start_on(port).await;
        mail.next_code_to(ALICE_EMAIL).await;
        // The receiver has it; the sender records it once the server's answer is in.
        let last = sent_message(&app, "email").await;
        assert!(last.attempts >= 2, "{last:?}");
        drop(mail);

        // A message that never gets through is given up, audited and shown.
        app.state.clock.advance(61);
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/email-codes", &[]).await;
        assert_eq!(status, StatusCode::OK);
        // Time passes faster than it does for the sender running beside the test,
        // which may hold an attempt meanwhile: until the message is given up.
        let mut last = app.state.store.last_message("user-alice", "email").await.unwrap().unwrap();
        for _ in 0..200 {
            if last.failed_at.is_some() {
                break;
            }
            app.state.clock.advance(10);
            gatehouse::service::delivery::send_due(&app.state).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            last = app.state.store.last_message("user-alice", "email").await.unwrap().unwrap();
        }
        assert!(last.failed_at.is_some(), "{last:?}");
        let kinds: Vec<String> = app.state.store.audit_events_for("user-alice", 50).await.unwrap()
            .into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"message_failed".to_string()), "{kinds:?}");
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("could not be delivered"), "{account}");
    }

    async fn changes_to_the_factors_are_notified_to_the_verified_address(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        turn_on(&app, &browser, &mail).await;
        let notice = mail.next_with(ALICE_EMAIL, "Subject: Email codes turned on").await;
        assert!(notice.contains("If this was not you"), "{notice}");
        mail.next_with(ALICE_EMAIL, "Subject: New backup codes").await;
        // New backup codes, from the account page.
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/backup-codes", &[]).await;
        assert_eq!(status, StatusCode::OK);
        mail.next_with(ALICE_EMAIL, "Subject: New backup codes").await;
        // An operator's reset, from the command line: a running node sends the notice.
        let output = crate::account::run_cli(&app, &["user", "reset-mfa", USERNAME]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let notice = mail.next_with(ALICE_EMAIL, "Subject: Two-step verification reset").await;
        assert!(notice.contains("An administrator reset"), "{notice}");
        // Sign-ins themselves send nothing.
        assert_eq!(mail.waiting_with(ALICE_EMAIL, "Subject:"), 0);
    }

    async fn without_a_mail_server_codes_go_to_the_outbox(backend) {
        let app = spawn_with_mail(backend, String::new()).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/email-codes", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let outbox = app.state.config.outbox_dir.clone();
        let mut text = String::new();
        for _ in 0..200 {
            if let Some(entry) = std::fs::read_dir(&outbox).ok().and_then(|mut d| d.next()) {
                text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                if text.contains("It works once") {
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(text.starts_with("To: alice@example.com\n"), "{text}");
        code_in(&text);
    }
}

/// The user's last message on `channel` once it is recorded as sent (up to 10 s).
pub async fn sent_message(app: &TestApp, channel: &str) -> gatehouse::store::MessageStatus {
    for _ in 0..400 {
        let last = app
            .state
            .store
            .last_message("user-alice", channel)
            .await
            .unwrap()
            .unwrap();
        if last.sent_at.is_some() {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the {channel} message was not recorded as sent within 10 s");
}
