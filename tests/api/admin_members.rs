//! The console's members: adding one with a one-time password link,
//! disabling, roles, unlocking, and who may do each.

use reqwest::StatusCode;

use crate::admin::{console_first_visit, link_named};
use crate::common::*;
use crate::each_backend;
use crate::second_factor::first_sign_in_with_enrolment;

/// The value of the input with `id` on `page`.
fn input_value(page: &str, id: &str) -> String {
    let start = page
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("an input {id}"));
    let rest = &page[start..];
    let value = rest.find(r#"value=""#).unwrap() + 7;
    html_unescape(&rest[value..value + rest[value..].find('"').unwrap()])
}

/// A password step through the portal in a fresh browser.
async fn password_step(
    app: &TestApp,
    username: &str,
    password: &str,
) -> (StatusCode, Option<String>, reqwest::Client) {
    let portal = app.rp("portal").await;
    let browser = new_browser();
    let request = app.auth_request(&portal, &[]);
    let (status, location, _) = app
        .sign_in_through_in(&browser, &request, username, password)
        .await;
    (status, location, browser)
}

/// Posts a member page's form at `action` (taking the page's CSRF token).
async fn member_action(
    app: &TestApp,
    member_id: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let (_, _, page) = app.get(&format!("/admin/contacts/{member_id}")).await;
    let csrf = hidden_input(&page, "csrf_token").expect("a form token");
    let mut form = vec![("csrf_token", csrf.as_str())];
    form.extend_from_slice(fields);
    app.post_in(
        &app.browser,
        &format!("/admin/contacts/{member_id}/{action}"),
        &form,
    )
    .await
}

each_backend! {
    async fn a_new_member_sets_their_password_through_a_one_time_link(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (_, _, list) = app.get("/admin/contacts/all").await;
        let (status, _, form) = app.get(&link_named(&list, "Add a member")).await;
        assert_eq!(status, StatusCode::OK);

        let (status, _, page) = app.submit_in(&app.browser, &form, "/admin/contacts/new", &[("account", "acct-acme"), ("username", "alice"), ("email", "a@example.com")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("That username is taken"));
        let (status, _, page) = app.submit_in(&app.browser, &form, "/admin/contacts/new", &[("account", "acct-acme"), ("username", "bob"), ("email", "bob")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("valid email") && page.contains(r#"value="bob""#), "the form is kept");
        assert!(app.state.store.user_by_username("bob").await.unwrap().is_none());

        let (status, _, shown) = app.submit_in(&app.browser, &form, "/admin/contacts/new", &[("account", "acct-acme"), ("username", "bob"), ("email", "bob@example.com")]).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        let link = input_value(&shown, "password-link");
        assert!(link.starts_with(&format!("{}/password?token=", app.base)), "{link}");
        let bob = app.state.store.user_by_username("bob").await.unwrap().expect("bob exists");
        assert_eq!(bob.account_id, "acct-acme");
        assert_eq!(password_step(&app, "bob", "any password at all").await.0, StatusCode::UNAUTHORIZED, "no password works before the link");

        let visitor = new_browser();
        let (status, _, page) = app.get_in(&visitor, &link).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("bob"));
        let token = hidden_input(&page, "token").unwrap();
        let (status, _, _) = app.submit_in(&visitor, &page, "/password", &[("token", &token), ("password", "short"), ("password_again", "short")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, again) = app.submit_in(&visitor, &page, "/password", &[("token", &token), ("password", "bob's new password"), ("password_again", "something else")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(again.contains("not the same"));
        let (status, _, _) = app.post_in(&visitor, "/password", &[("token", &token), ("password", "bob's new password"), ("password_again", "bob's new password")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no form token");
        let (status, _, done) = app.submit_in(&visitor, &page, "/password", &[("token", &token), ("password", "bob's new password"), ("password_again", "bob's new password")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(done.contains("Your password is set"));
        assert_eq!(app.get_in(&visitor, &link).await.0, StatusCode::NOT_FOUND, "the link works once");
        let (status, location, _) = password_step(&app, "bob", "bob's new password").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "bob signs in");
        assert!(location.unwrap().contains("code="));

        let created = app.state.store.audit_log(&gatehouse::store::AuditQuery { account_id: Some("acct-acme"), kind: Some("member_created"), user_id: Some(&bob.id), from: gatehouse::store::Seek::First, limit: 10 }).await.unwrap().rows;
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].actor.as_deref(), Some("ada"));
    }

    async fn disabling_ends_sessions_and_sign_ins_until_enabled(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        let (_, _, alice) = password_step(&app, USERNAME, PASSWORD).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (status, location, _) = member_action(&app, "user-alice", "disable", &[]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/contacts/user-alice?done=disabled")));
        let (_, _, page) = app.get("/admin/contacts/user-alice?done=disabled").await;
        assert!(page.contains("disabled and signed out everywhere") && page.contains(">Enable</button>"));
        assert_eq!(app.get_in(&alice, "/account").await.0, StatusCode::SEE_OTHER, "signed out");
        assert_eq!(password_step(&app, USERNAME, PASSWORD).await.0, StatusCode::UNAUTHORIZED, "cannot sign in");
        let (status, _, _) = member_action(&app, "user-alice", "enable", &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(password_step(&app, USERNAME, PASSWORD).await.0, StatusCode::SEE_OTHER, "signs in again");
        let kinds: Vec<String> = app.state.store.audit_log(&gatehouse::store::AuditQuery { account_id: Some("acct-acme"), kind: None, user_id: Some("user-alice"), from: gatehouse::store::Seek::First, limit: 50 }).await.unwrap().rows.into_iter().map(|e| e.kind).collect();
        assert!(kinds.contains(&"member_disabled".into()) && kinds.contains(&"member_enabled".into()), "{kinds:?}");
    }

    async fn making_a_member_an_administrator_opens_the_console_to_them(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (status, _, _) = member_action(&app, "user-alice", "role", &[("administrator", "yes")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(app.state.store.user_by_id("user-alice").await.unwrap().unwrap().is_admin);
        let alice = new_browser();
        console_first_visit(&app, &alice, USERNAME).await;
        let (status, _, _) = member_action(&app, "user-alice", "role", &[("administrator", "no")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.get_in(&alice, "/admin").await.0, StatusCode::FORBIDDEN, "no longer an administrator");
        let (status, _, _) = member_action(&app, "user-alice", "role", &[("administrator", "maybe")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    async fn unlocking_lets_a_locked_member_give_their_code_again(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        let portal = app.rp("portal").await;
        let enrolled = first_sign_in_with_enrolment(&app, &new_browser(), &portal, USERNAME, &[("acr_values", "aal2")]).await;
        let (_, _, browser) = password_step(&app, USERNAME, PASSWORD).await;
        let (_, _, page) = app.get_in(&browser, "/login/second-factor").await;
        for _ in 0..5 {
            app.submit_in(&browser, &page, "/login/second-factor", &[("code", "000000")]).await;
        }
        console_first_visit(&app, &app.browser, "ada").await;
        let (_, _, member) = app.get("/admin/contacts/user-alice").await;
        assert!(member.contains("locked until") && member.contains("Unlock second step"), "{member}");
        let (status, location, _) = member_action(&app, "user-alice", "unlock", &[]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/contacts/user-alice?done=unlocked")));
        let (_, _, member) = app.get("/admin/contacts/user-alice").await;
        assert!(member.contains("not locked"));
        app.state.clock.advance(30);
        let code = enrolled.totp.generate(app.state.clock.now() as u64);
        let (status, _, _) = app.submit_in(&browser, &page, "/login/second-factor", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the code is accepted at once");
        let unlocked = app.state.store.audit_log(&gatehouse::store::AuditQuery { account_id: Some("acct-acme"), kind: Some("second_factor_unlocked"), user_id: None, from: gatehouse::store::Seek::First, limit: 10 }).await.unwrap().rows;
        assert_eq!(unlocked[0].actor.as_deref(), Some("ada"));
    }

    async fn member_actions_keep_to_the_administrators_account_and_never_themselves(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (_, _, own) = app.get("/admin/contacts/user-ada").await;
        assert!(own.contains("This is you") && !own.contains("/disable"), "{own}");
        let csrf = hidden_input(&app.get("/admin/contacts/user-alice").await.2, "csrf_token").unwrap();
        for action in ["disable", "enable", "unlock", "password-link", "role"] {
            let (status, _, _) = app.post_in(&app.browser, &format!("/admin/contacts/user-ada/{action}"), &[("csrf_token", &csrf), ("administrator", "no")]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action} of oneself");
            let (status, _, _) = app.post_in(&app.browser, &format!("/admin/contacts/user-mia/{action}"), &[("csrf_token", &csrf), ("administrator", "yes")]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action} in another account");
            let (status, _, _) = app.post_in(&app.browser, &format!("/admin/contacts/user-alice/{action}"), &[("administrator", "yes")]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action} without the form token");
        }
        assert_eq!(app.get("/admin/contacts/user-mia").await.0, StatusCode::FORBIDDEN);
        let (status, _, _) = app.post_in(&app.browser, "/admin/contacts/new", &[("csrf_token", &csrf), ("account", "acct-fortress"), ("username", "eve"), ("email", "eve@example.com")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "no members added to another account");
        let ada = app.state.store.user_by_id("user-ada").await.unwrap().unwrap();
        let mia = app.state.store.user_by_id("user-mia").await.unwrap().unwrap();
        assert!(ada.is_admin && !ada.is_disabled && !mia.is_admin && !mia.is_disabled);
        assert!(app.state.store.user_by_username("eve").await.unwrap().is_none());
    }

    async fn an_administrator_cannot_take_over_an_operator(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        console_first_visit(&app, &new_browser(), "otto").await;
        console_first_visit(&app, &app.browser, "ada").await;
        let csrf = hidden_input(&app.get("/admin/contacts/user-alice").await.2, "csrf_token").unwrap();
        for action in ["reset-2fa", "disable", "password-link", "role", "unlock"] {
            let (status, _, page) = app.post_in(&app.browser, &format!("/admin/contacts/user-otto/{action}"), &[("csrf_token", &csrf), ("administrator", "no")]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
            assert!(page.contains("only another operator"), "{page}");
        }
        let otto = app.state.store.user_by_id("user-otto").await.unwrap().unwrap();
        assert!(!otto.is_disabled && !otto.must_enroll);
        assert!(app.state.store.active_totp("user-otto").await.unwrap().is_some());
    }

    async fn a_new_password_from_a_link_ends_the_old_sessions(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        let (_, _, alice) = password_step(&app, USERNAME, PASSWORD).await;
        assert_eq!(app.get_in(&alice, "/account").await.0, StatusCode::OK);
        console_first_visit(&app, &app.browser, "ada").await;
        let (status, _, shown) = member_action(&app, "user-alice", "password-link", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let link = input_value(&shown, "password-link");
        assert_eq!(app.get_in(&alice, "/account").await.0, StatusCode::OK, "issuing a link changes nothing yet");
        let visitor = new_browser();
        let (_, _, page) = app.get_in(&visitor, &link).await;
        let token = hidden_input(&page, "token").unwrap();
        let (status, _, _) = app.submit_in(&visitor, &page, "/password", &[("token", &token), ("password", "a brand new password"), ("password_again", "a brand new password")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(app.get_in(&alice, "/account").await.0, StatusCode::SEE_OTHER, "the old session ended");
        assert_eq!(password_step(&app, USERNAME, PASSWORD).await.0, StatusCode::UNAUTHORIZED, "the old password no longer works");
        assert_eq!(password_step(&app, USERNAME, "a brand new password").await.0, StatusCode::SEE_OTHER);
    }
}
