//! The console's account settings: requiring 2FA (with a grace period),
//! session lifetimes, and the second step's failure limit.

use reqwest::StatusCode;

use crate::admin::console_first_visit;
use crate::common::*;
use crate::each_backend;
use crate::second_factor::first_sign_in_with_enrolment;

/// Submits the settings form of acme with `fields` over its defaults; the
/// factor boxes stay as the page has them unless `fields` names them
/// (`"off"` unchecks one), as a browser would send them.
async fn save_settings(
    app: &TestApp,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let (status, _, page) = app.get("/admin/settings?account=acct-acme").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut form = vec![("account", "acct-acme")];
    let boxes = [
        "factor_totp",
        "factor_webauthn",
        "factor_passkey",
        "factor_email",
        "factor_sms",
        "email_codes_aal2",
    ];
    for name in boxes {
        let checked = page.contains(&format!(r#"name="{name}" value="on" checked"#));
        if checked && !fields.iter().any(|(field, _)| *field == name) {
            form.push((name, "on"));
        }
    }
    form.extend(fields.iter().filter(|(_, value)| *value != "off"));
    app.submit_in(&app.browser, &page, "/admin/settings", &form)
        .await
}

/// alice's password step through the portal in a fresh browser: where it leads.
async fn alice_signs_in(app: &TestApp) -> (reqwest::Client, Option<String>) {
    let portal = app.rp("portal").await;
    let browser = new_browser();
    let request = app.auth_request(&portal, &[]);
    let (status, location, _) = app
        .sign_in_through_in(&browser, &request, USERNAME, PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let to = if location.starts_with("/login/") {
        Some(location)
    } else {
        None
    };
    (browser, to)
}

each_backend! {
    async fn requiring_2fa_with_a_grace_of_sign_ins_then_enrolment(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        assert_eq!(alice_signs_in(&app).await.1, None, "2FA not required yet");

        let (status, location, _) = save_settings(&app, &[("require_mfa", "on"), ("grace", "sign_ins"), ("grace_sign_ins", "2")]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/settings?account=acct-acme&saved=1")));
        let (_, _, page) = app.get(&location.unwrap()).await;
        assert!(page.contains("apply at each member&#x27;s next sign-in"), "{page}");
        assert!(page.contains(r#"name="require_mfa" value="on" checked"#));
        assert!(page.contains(r#"id="grace_sign_ins" name="grace_sign_ins" value="2""#));

        assert_eq!(alice_signs_in(&app).await.1, None, "first sign-in of the grace");
        assert_eq!(alice_signs_in(&app).await.1, None, "second sign-in of the grace");
        assert_eq!(alice_signs_in(&app).await.1.as_deref(), Some("/login/enroll"), "then enrolment");

        let changed = app.state.store.audit_log(&gatehouse::store::AuditQuery { account_id: Some("acct-acme"), kind: Some("account_settings_changed"), user_id: None, from: gatehouse::store::Seek::First, limit: 10 }).await.unwrap().rows;
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].actor.as_deref(), Some("ada"));
        assert!(changed[0].detail.contains(r#""require_mfa":[false,true]"#), "{}", changed[0].detail);
    }

    async fn a_grace_in_days_ends_on_its_day(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        save_settings(&app, &[("require_mfa", "on"), ("grace", "days"), ("grace_days", "1")]).await;
        assert_eq!(alice_signs_in(&app).await.1, None);
        app.state.clock.advance(86_400);
        assert_eq!(alice_signs_in(&app).await.1.as_deref(), Some("/login/enroll"));
    }

    async fn session_lifetimes_and_the_failure_limit_apply_to_the_account(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (status, _, _) = save_settings(&app, &[("idle_minutes", "10"), ("lifetime_hours", "1"), ("failure_limit", "3"), ("lockout_minutes", "2")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);

        let (alice, _) = alice_signs_in(&app).await;
        app.state.clock.advance(9 * 60);
        assert_eq!(app.get_in(&alice, "/account").await.0, StatusCode::OK, "within the idle time");
        app.state.clock.advance(10 * 60 + 1);
        assert_eq!(app.get_in(&alice, "/account").await.0, StatusCode::SEE_OTHER, "idle for longer than 10 minutes");

        // alice turns on a factor, then three wrong codes lock her second step.
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, USERNAME, &[("acr_values", "aal2")]).await;
        let browser = new_browser();
        let request = app.auth_request(&portal, &[]);
        app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        for _ in 0..3 {
            app.submit_in(&browser, &page, "/login/second-factor", &[("code", "000000")]).await;
        }
        app.state.clock.advance(30);
        let code = enrolled.totp.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "locked after 3");
        app.state.clock.advance(2 * 60);
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        let code = enrolled.totp.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "open again after the 2-minute cooldown");
    }

    async fn bad_settings_are_refused_with_the_form_kept(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (status, _, page) = save_settings(&app, &[("require_mfa", "on"), ("failure_limit", "1"), ("idle_minutes", "15")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("The failure limit must be a whole number from 3 to 20."), "{page}");
        assert!(page.contains(r#"value="15""#) && page.contains(r#"value="1""#), "what was typed is kept");
        let (status, _, page) = save_settings(&app, &[("idle_minutes", "600"), ("lifetime_hours", "2")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("cannot be longer than the session lifetime"));
        let account = app.state.store.tenant_by_id("acct-acme").await.unwrap().unwrap();
        assert!(!account.require_mfa && account.settings == Default::default(), "nothing saved");

        let (status, _, _) = app.post_in(&app.browser, "/admin/settings", &[("account", "acct-acme"), ("require_mfa", "on")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no form token");
        let (_, _, page) = app.get("/admin/settings").await;
        let (status, _, _) = app.submit_in(&app.browser, &page, "/admin/settings", &[("account", "acct-fortress")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "another account");
        assert!(app.state.store.tenant_by_id("acct-fortress").await.unwrap().unwrap().require_mfa, "unchanged");
    }

    async fn the_console_sets_how_long_devices_are_remembered(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (status, _, page) = save_settings(&app, &[("remember_device_days", "100")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("The days a device is remembered must be a whole number from 0 to 90."), "{page}");
        let (status, _, _) = save_settings(&app, &[("remember_device_days", "21")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let acme = app.state.store.tenant_by_id("acct-acme").await.unwrap().unwrap();
        assert_eq!(acme.settings.remember_device_days, 21);
        let (_, _, page) = app.get("/admin/settings?account=acct-acme").await;
        assert!(page.contains(r#"name="remember_device_days" value="21""#), "{page}");
        // The enrolment a sign-in requires offers the box too.
        app.state.store.set_must_enroll("user-alice", true).await.unwrap();
        let (browser, to) = alice_signs_in(&app).await;
        assert_eq!(to.as_deref(), Some("/login/enroll"));
        let (_, _, enrol) = app.get_in(&browser, "/login/enroll").await;
        assert!(enrol.contains(r#"name="remember_device""#) && enrol.contains("Remember this device for 21 days"), "{enrol}");
    }

    async fn the_console_sets_the_factor_kinds_and_asks_for_a_recovery_phone(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (status, location, _) = save_settings(&app, &[
            ("factor_email", "on"), ("factor_sms", "on"), ("factor_webauthn", "off"),
            ("require_recovery_phone", "on"),
        ]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, _, page) = app.get(&location.unwrap()).await;
        assert!(page.contains(r#"name="factor_email" value="on" checked"#), "{page}");
        assert!(!page.contains(r#"name="factor_webauthn" value="on" checked"#));
        let account = app.state.store.tenant_by_id("acct-acme").await.unwrap().unwrap();
        assert_eq!(account.factors, ["totp", "email", "sms"]);
        assert!(account.settings.require_recovery_phone);
        let changed = app.state.store.audit_log(&gatehouse::store::AuditQuery { account_id: Some("acct-acme"), kind: Some("account_settings_changed"), user_id: None, from: gatehouse::store::Seek::First, limit: 10 }).await.unwrap().rows;
        assert!(changed[0].detail.to_string().contains("factors"), "{:?}", changed[0].detail);

        // A member sees the request on their security page.
        let browser = new_browser();
        let (_, _, login) = app.get_in(&browser, "/login?next=/account").await;
        app.submit_in(&browser, &login, "/login", &[("username", USERNAME), ("password", PASSWORD), ("next", "/account")]).await;
        let (_, _, account_page) = app.get_in(&browser, "/account").await;
        assert!(account_page.contains("phone-required"), "{account_page}");
        assert!(account_page.contains("Turn on email codes"));

        // Passkeys alone are not enough.
        let (status, _, page) = save_settings(&app, &[
            ("factor_totp", "off"), ("factor_email", "off"), ("factor_sms", "off"), ("factor_passkey", "on"),
        ]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("Allow at least one second factor"), "{page}");
        let (status, _, _) = save_settings(&app, &[("factor_totp", "off"), ("factor_email", "on")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "email alone cannot be set up while signing in");
    }
}
