//! The recovery phone and SMS codes, through a real webhook receiver that
//! checks each request's signature.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;
use crate::receivers::{code_in, SmsGateway, SMS_SECRET};
use crate::second_factor::{finish_enrolment, first_sign_in_with_enrolment, Enrolled};

const NUMBER: &str = "+15551234567";
const NEW_NUMBER: &str = "+447700900123";

async fn spawn_with_gateway(backend: Backend, url: String) -> TestApp {
    TestApp::spawn_with(backend, move |config| {
        config.sms_webhook_url = Some(url.clone());
        config.sms_webhook_secret = SMS_SECRET.into();
    })
    .await
}

/// Alice with an authenticator app, signed in at aal2 in `browser`.
async fn enrolled(app: &TestApp, browser: &reqwest::Client) -> Enrolled {
    let portal = app.rp("portal").await;
    first_sign_in_with_enrolment(app, browser, &portal, USERNAME, &[("acr_values", "aal2")]).await
}

/// Adds and verifies `typed` as the recovery phone from the account page.
async fn add_phone(
    app: &TestApp,
    browser: &reqwest::Client,
    gateway: &SmsGateway,
    typed: &str,
    number: &str,
) {
    let (_, _, account) = app.get_in(browser, "/account").await;
    let (status, _, page) = app
        .submit_in(browser, &account, "/account/phone", &[("phone", typed)])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let last_four = &number[number.len() - 4..];
    assert!(
        page.contains(&format!("We texted a code to •••• {last_four}")),
        "{page}"
    );
    let code = code_in(&gateway.next_to(number).await);
    let (status, _, page) = app
        .submit_in(
            browser,
            &page,
            "/account/phone/confirm",
            &[("code", "000000")],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, page) = app
        .submit_in(browser, &page, "/account/phone/confirm", &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(&format!("Your recovery phone is •••• {last_four}")),
        "{page}"
    );
}

each_backend! {
    async fn a_user_who_lost_their_app_recovers_with_the_recovery_phone_and_enrols_again(backend) {
        let gateway = SmsGateway::start().await;
        let app = spawn_with_gateway(backend, gateway.url()).await;
        let browser = new_browser();
        let old = enrolled(&app, &browser).await;
        add_phone(&app, &browser, &gateway, "+1 (555) 123-4567", NUMBER).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains(r#"<strong class="phone">•••• 4567</strong>"#), "{account}");

        // The phone with the app is lost: a new browser, the password, then recovery.
        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (status, location, _) = app.sign_in_through_in(&fresh, &request, USERNAME, PASSWORD).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
        let (_, _, page) = app.get_in(&fresh, "/login/second-factor").await;
        assert!(page.contains("Recover with my phone"), "{page}");
        let (status, _, page) = app.submit_in(&fresh, &page, "/login/recovery", &[]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let code = code_in(&gateway.next_to(NUMBER).await);
        let (status, _, page) = app.submit_in(&fresh, &page, "/login/recovery/confirm", &[("code", "999999")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, location, _) = app.submit_in(&fresh, &page, "/login/recovery/confirm", &[("code", &code)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")));
        let new = finish_enrolment(&app, &fresh, &portal, request).await;
        let claims = raw_claims(&new.signed_in.tokens.extra_fields().id_token().unwrap().to_string());
        assert_eq!(claims["acr"], "aal2");
        assert_ne!(new.totp.get_secret_base32(), old.totp.get_secret_base32(), "a new secret");
        // The lost app's codes no longer work, nor do the old backup codes.
        app.state.clock.advance(30);
        let (other, _, page) = {
            let other = new_browser();
            let request = app.auth_request(&portal, &[]);
            app.sign_in_through_in(&other, &request, USERNAME, PASSWORD).await;
            let (_, _, page) = app.get_in(&other, "/login/second-factor").await;
            (other, request, page)
        };
        let stale = old.totp.generate(app.state.clock.now() as u64);
        let (status, _, page) = app.submit_in(&other, &page, "/login/second-factor", &[("code", &stale)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, _) = app.submit_in(&other, &page, "/login/second-factor", &[("code", &old.backup_codes[0])]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let kinds: Vec<String> = app.state.store.audit_events_for("user-alice", 100).await.unwrap()
            .into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"recovered_by_sms".to_string()), "{kinds:?}");
        assert!(kinds.contains(&"recovery_phone_added".to_string()), "{kinds:?}");
        assert!(gateway.refused.lock().unwrap().is_empty(), "every request was signed");
    }

    async fn changing_the_number_needs_a_code_sent_to_the_old_number_first(backend) {
        let gateway = SmsGateway::start().await;
        let app = spawn_with_gateway(backend, gateway.url()).await;
        let browser = new_browser();
        enrolled(&app, &browser).await;
        add_phone(&app, &browser, &gateway, NUMBER, NUMBER).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, page) = app.submit_in(&browser, &account, "/account/phone", &[("phone", "+44 7700 900123")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("We texted a code to •••• 4567 (your current number)"), "{page}");
        let approval = code_in(&gateway.next_to(NUMBER).await);
        assert_eq!(gateway.waiting(NEW_NUMBER), 0, "nothing goes to the new number yet");
        let (status, _, page) = app.submit_in(&browser, &page, "/account/phone/confirm", &[("code", &approval)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("We texted a code to •••• 0123 (the new number)"), "{page}");
        let code = code_in(&gateway.next_to(NEW_NUMBER).await);
        let (status, _, page) = app.submit_in(&browser, &page, "/account/phone/confirm", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Your recovery phone is •••• 0123"), "{page}");
        assert_eq!(app.state.store.phone_state("user-alice").await.unwrap().unwrap().0, NEW_NUMBER);
        // The enrolment's phone form cannot change a number either.
        let (status, location, _) = app.submit_in(&browser, &page, "/login/phone", &[("next", "/account"), ("phone", "+15550001111")]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/account")));
        assert_eq!(app.state.store.phone_state("user-alice").await.unwrap().unwrap().0, NEW_NUMBER);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(gateway.waiting("+15550001111"), 0);
        // A malformed number is refused with a clear message.
        let (status, _, page) = app.submit_in(&browser, &page, "/account/phone", &[("phone", "555-1234")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("country code"));
    }

    async fn removing_the_phone_needs_the_password_and_a_fresh_code(backend) {
        let gateway = SmsGateway::start().await;
        let app = spawn_with_gateway(backend, gateway.url()).await;
        let browser = new_browser();
        enrolled(&app, &browser).await;
        add_phone(&app, &browser, &gateway, NUMBER, NUMBER).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, page) = app.submit_in(&browser, &account, "/account/phone/remove", &[("password", PASSWORD), ("code", "123456")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "without a fresh code");
        let (status, _, page) = app.submit_in(&browser, &page, "/account/phone/remove-code", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let code = code_in(&gateway.next_to(NUMBER).await);
        let (status, _, page) = app.submit_in(&browser, &page, "/account/phone/remove", &[("password", "wrong"), ("code", &code)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "without the password");
        let (status, _, page) = app.submit_in(&browser, &page, "/account/phone/remove", &[("password", PASSWORD), ("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(app.state.store.phone_state("user-alice").await.unwrap().is_none());
    }

    async fn texts_wait_for_a_gateway_that_was_down(backend) {
        let gateway = SmsGateway::start().await;
        gateway.set_down(true);
        let app = spawn_with_gateway(backend, gateway.url()).await;
        let browser = new_browser();
        enrolled(&app, &browser).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/phone", &[("phone", NUMBER)]).await;
        assert_eq!(status, StatusCode::OK);
        for _ in 0..200 {
            let last = app.state.store.last_message("user-alice", "sms").await.unwrap().unwrap();
            if last.attempts > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(gateway.waiting(NUMBER), 0);
        gateway.set_down(false);
        code_in(&gateway.next_to(NUMBER).await);
        let last = crate::email_codes::sent_message(&app, "sms").await;
        assert!(last.attempts >= 2, "{last:?}");
    }

    async fn sms_is_an_everyday_second_factor_only_where_the_account_enables_it(backend) {
        let gateway = SmsGateway::start().await;
        let app = spawn_with_gateway(backend, gateway.url()).await;
        let browser = new_browser();
        enrolled(&app, &browser).await;
        add_phone(&app, &browser, &gateway, NUMBER, NUMBER).await;
        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&fresh, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&fresh, "/login/second-factor").await;
        assert!(!page.contains("Text me a code"), "off by default");
        let (status, _, _) = app.submit_in(&fresh, &page, "/login/sms-code", &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);

        let factors: Vec<String> = ["totp", "webauthn", "sms"].map(String::from).to_vec();
        app.state.store.update_tenant_policy("acme", None, Some(&factors), app.state.clock.now()).await.unwrap();
        let (_, _, page) = app.get_in(&fresh, "/login/second-factor").await;
        assert!(page.contains("Text me a code"), "{page}");
        let (status, _, page) = app.submit_in(&fresh, &page, "/login/sms-code", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let code = code_in(&gateway.next_to(NUMBER).await);
        let (status, location, body) = app.submit_in(&fresh, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = raw_claims(&signed_in.tokens.extra_fields().id_token().unwrap().to_string());
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "sms", "mfa"]));
        assert_eq!(gateway.channels_to(NUMBER), ["sms", "sms"], "texts say so");
    }

    async fn a_code_by_call_is_spelled_out_with_the_limits_of_a_text(backend) {
        let gateway = SmsGateway::start().await;
        let app = spawn_with_gateway(backend, gateway.url()).await;
        let browser = new_browser();
        enrolled(&app, &browser).await;
        // A recovery phone verified by a call.
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("Call me with a code"), "{account}");
        let (status, _, page) = app.submit_in(&browser, &account, "/account/phone", &[("phone", NUMBER), ("by", "call")]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("We phoned a code to •••• 4567"), "{page}");
        let spoken = gateway.next_to(NUMBER).await;
        assert_eq!(gateway.channels_to(NUMBER), ["voice"]);
        let code: String = spoken.split(" is: ").nth(1).unwrap().split('.').next().unwrap().chars().filter(char::is_ascii_digit).collect();
        assert_eq!(code.len(), 6, "{spoken}");
        assert!(spoken.contains(&format!("{}, {}", &code[..1], &code[1..2])), "digit by digit: {spoken}");
        let (status, _, page) = app.submit_in(&browser, &page, "/account/phone/confirm", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");

        // Where SMS codes are allowed, the second step offers a call.
        let factors: Vec<String> = ["totp", "webauthn", "sms"].map(String::from).to_vec();
        app.state.store.update_tenant_policy("acme", None, Some(&factors), app.state.clock.now()).await.unwrap();
        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&fresh, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&fresh, "/login/second-factor").await;
        assert!(page.contains("Call me with a code"), "{page}");
        let (status, _, called) = app.submit_in(&fresh, &page, "/login/sms-call", &[]).await;
        assert_eq!(status, StatusCode::OK, "{called}");
        let spoken = gateway.next_to(NUMBER).await;
        assert_eq!(gateway.channels_to(NUMBER), ["voice", "voice"]);
        // One code a minute per purpose, whether by text or by call.
        let (status, _, _) = app.submit_in(&fresh, &called, "/login/sms-code", &[]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "a text right after a call");
        let (status, _, _) = app.submit_in(&fresh, &called, "/login/sms-call", &[]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let code: String = spoken.split(" is: ").nth(1).unwrap().split('.').next().unwrap().chars().filter(char::is_ascii_digit).collect();
        let (status, location, body) = app.submit_in(&fresh, &called, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = raw_claims(&signed_in.tokens.extra_fields().id_token().unwrap().to_string());
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "sms", "mfa"]));
    }

    async fn an_account_that_asks_for_a_recovery_phone_gets_one_during_enrolment(backend) {
        let gateway = SmsGateway::start().await;
        let app = spawn_with_gateway(backend, gateway.url()).await;
        let store = &app.state.store;
        let fortress = store.tenant_by_id("acct-fortress").await.unwrap().unwrap();
        let settings = gatehouse::store::TenantSettings { require_recovery_phone: true, ..fortress.settings.clone() };
        store.update_tenant_settings(&fortress.id, true, &settings, &fortress.factors, app.state.clock.now()).await.unwrap();

        let portal = app.rp("portal").await;
        let browser = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.sign_in_through_in(&browser, &request, MIA, PASSWORD).await;
        assert_eq!(location.as_deref(), Some("/login/enroll"));
        let (_, _, page) = app.get_in(&browser, "/login/enroll").await;
        let totp = authenticator_from(&page);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, codes_page) = app.submit_in(&browser, &page, "/login/enroll", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(codes_page.contains("Your organisation asks for a recovery phone"), "{codes_page}");
        assert!(!codes_page.contains("I saved them, continue"), "the phone comes first");
        let next = hidden_input(&codes_page, "next").map(|n| html_unescape(&n)).unwrap();
        assert!(next.starts_with("/login/continue?request="), "{next}");
        let (status, _, page) = app.submit_in(&browser, &codes_page, "/login/phone", &[("next", &next), ("phone", "+1 555 123 4567")]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let code = code_in(&gateway.next_to(NUMBER).await);
        let (status, _, page) = app.submit_in(&browser, &page, "/login/phone/confirm", &[("next", &next), ("code", "000000")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, location, _) = app.submit_in(&browser, &page, "/login/phone/confirm", &[("next", &next), ("code", &code)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(next.as_str())));
        let (status, location, _) = app.get_in(&browser, &next).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = raw_claims(&signed_in.tokens.extra_fields().id_token().unwrap().to_string());
        assert_eq!(claims["acr"], "aal2");
        assert_eq!(store.phone_state("user-mia").await.unwrap().unwrap().0, NUMBER);
    }
}
