//! Whether an email code counts for `aal2` is the account's choice (NIST SP
//! 800-63B-4 does not count email as an out-of-band channel). Where it does
//! not, an email code is a second step at `aal1`, named `email` in `amr`
//! without `mfa`; whatever needs `aal2` has the user enrol a factor that
//! reaches it, and a user who has one gives that one instead.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;
use crate::email_codes::{
    claims_of, email_me, spawn_with_mail, to_second_factor, to_second_factor_with, turn_on,
    ALICE_EMAIL,
};
use crate::receivers::MailServer;
use crate::second_factor::finish_enrolment;

/// Sets whether acme counts an email code for `aal2`, keeping the rest.
async fn email_codes_count(app: &TestApp, counted: bool) {
    let store = &app.state.store;
    let acme = store.tenant_by_id("acct-acme").await.unwrap().unwrap();
    let settings = gatehouse::store::TenantSettings {
        email_codes_aal2: counted,
        ..acme.settings.clone()
    };
    store
        .update_tenant_settings(
            &acme.id,
            acme.require_mfa,
            &settings,
            &acme.factors,
            app.state.clock.now(),
        )
        .await
        .unwrap();
}

/// A provider with a mail receiver where alice has turned email codes on,
/// under an account that counts them for `aal2` or not.
async fn alice_with_email_codes(backend: Backend, counted: bool) -> (MailServer, TestApp) {
    let mail = MailServer::start().await;
    let app = spawn_with_mail(backend, mail.url()).await;
    email_codes_count(&app, counted).await;
    let browser = new_browser();
    password_session(&app, &browser, USERNAME).await;
    turn_on(&app, &browser, &mail).await;
    (mail, app)
}

/// alice's sign-in to `rp` in a fresh browser with an emailed code: the
/// browser and where the code led.
async fn sign_in_by_email(
    app: &TestApp,
    mail: &MailServer,
    rp: &Rp,
    extra: &[(&str, &str)],
) -> (reqwest::Client, AuthRequest, Option<String>) {
    let (browser, request, page) = to_second_factor_with(app, rp, extra).await;
    let (status, page) = email_me(app, &browser, &page).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let code = mail.next_code_to(ALICE_EMAIL).await;
    let (status, location, body) = app
        .submit_in(&browser, &page, "/login/second-factor", &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    (browser, request, location)
}

each_backend! {
    async fn an_email_code_the_account_does_not_count_is_aal1_and_names_email_without_mfa(backend) {
        let (mail, app) = alice_with_email_codes(backend, false).await;

        let portal = app.rp("portal").await;
        let (fresh, request, location) = sign_in_by_email(&app, &mail, &portal, &[]).await;
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = claims_of(&signed_in);
        assert_eq!(claims["acr"], "aal1");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "email"]));

        // The email step is all alice has: single sign-on answers from it
        // without asking again (no step-up loop).
        let backoffice = app.rp("backoffice").await;
        let request = app.auth_request(&backoffice, &[]);
        let (status, location, _) = app.get_in(&fresh, &request.url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let other = app.exchange(&backoffice, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(claims_of(&other)["acr"], "aal1");
        assert_eq!(other.sid(), signed_in.sid());

        // aal2 needs a factor that reaches it: enrolled at once (the password
        // is recent), over the same session, without the email code again.
        let request = app.auth_request(&portal, &[("acr_values", "aal2")]);
        let (status, location, _) = app.get_in(&fresh, &request.url).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")));
        let enrolled = finish_enrolment(&app, &fresh, &portal, request).await;
        let claims = claims_of(&enrolled.signed_in);
        assert_eq!(claims["acr"], "aal2");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
        assert_eq!(enrolled.signed_in.sid(), signed_in.sid(), "the session was raised");

        // With an app, alice gives the app: email codes are neither offered nor sent.
        let (later, _, page) = to_second_factor(&app, &portal).await;
        assert!(!page.contains("Email me a code"), "{page}");
        let (status, _, _) = app.submit_in(&later, &page, "/login/email-code", &[]).await;
        assert_eq!(status, StatusCode::CONFLICT);
    }

    async fn an_aal2_request_after_an_uncounted_email_code_enrols_in_the_same_sign_in(backend) {
        let (mail, app) = alice_with_email_codes(backend, false).await;
        let portal = app.rp("portal").await;
        let (fresh, request, location) = sign_in_by_email(&app, &mail, &portal, &[("acr_values", "aal2")]).await;
        assert_eq!(location.as_deref(), Some("/login/enroll"), "the email step first, then a factor that reaches aal2");
        let enrolled = finish_enrolment(&app, &fresh, &portal, request).await;
        assert_eq!(claims_of(&enrolled.signed_in)["acr"], "aal2");
    }

    async fn where_the_account_counts_email_codes_they_reach_aal2_beside_an_app(backend) {
        let (mail, app) = alice_with_email_codes(backend, true).await;
        let portal = app.rp("portal").await;
        let (_, request, location) = sign_in_by_email(&app, &mail, &portal, &[("acr_values", "aal2")]).await;
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        let claims = claims_of(&signed_in);
        assert_eq!(claims["acr"], "aal2");
        assert_eq!(claims["amr"], serde_json::json!(["pwd", "email", "mfa"]));
    }

    async fn the_console_needs_a_factor_that_reaches_aal2_when_email_does_not_count(backend) {
        let mail = MailServer::start().await;
        let app = spawn_with_mail(backend, mail.url()).await;
        email_codes_count(&app, false).await;
        let ada = app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        app.state.store.verify_email(&ada, true, app.state.clock.now()).await.unwrap();
        let browser = new_browser();
        let (_, _, page) = app.get_in(&browser, "/login?next=%2Fadmin").await;
        let (status, location, _) = app.submit_in(&browser, &page, "/login", &[("next", "/admin"), ("username", "ada"), ("password", PASSWORD)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")));
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        let (_, page) = email_me(&app, &browser, &page).await;
        let code = mail.next_code_to("ada@example.com").await;
        let (status, location, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin")));
        let (status, location, _) = app.get_in(&browser, "/admin").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")), "an email code is not enough for the console");
        let (_, _, page) = app.get_in(&browser, "/login/enroll").await;
        let totp = authenticator_from(&page);
        let code = totp.generate(app.state.clock.now() as u64);
        let (status, _, codes) = app.submit_in(&browser, &page, "/login/enroll", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK, "{codes}");
        let (status, _, page) = app.get_in(&browser, "/admin").await;
        assert_eq!(status, StatusCode::OK, "{page}");
    }

    async fn the_console_setting_says_whether_an_email_code_counts(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        crate::admin::console_first_visit(&app, &app.browser, "ada").await;
        let (_, _, page) = app.get("/admin/settings?account=acct-acme").await;
        assert!(page.contains(r#"name="email_codes_aal2" value="on" checked"#), "on by default");
        let form = [("account", "acct-acme"), ("factor_totp", "on"), ("factor_email", "on")];
        let (status, location, body) = app.submit_in(&app.browser, &page, "/admin/settings", &form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let acme = app.state.store.tenant_by_id("acct-acme").await.unwrap().unwrap();
        assert!(!acme.settings.email_codes_aal2, "unticked: an email code no longer counts");
        let (_, _, page) = app.get(&location.unwrap()).await;
        assert!(!page.contains(r#"name="email_codes_aal2" value="on" checked"#));
        let events = app.state.store.audit_log(&gatehouse::store::AuditQuery { account_id: Some("acct-acme"), kind: Some("account_settings_changed"), user_id: None, from: gatehouse::store::Seek::First, limit: 5 }).await.unwrap().rows;
        assert!(events.iter().any(|e| e.detail.to_string().contains("email_codes_aal2")), "the audit names the change");
    }
}
