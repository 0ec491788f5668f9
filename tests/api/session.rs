//! Sessions: prompt, max_age, id_token_hint, and surviving a restart.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

fn sid_of(signed_in: &SignedIn) -> String {
    signed_in.sid()
}

each_backend! {
    async fn prompt_none_answers_login_required_without_a_session_and_a_code_with_one(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let request = app.auth_request(&rp, &[("prompt", "none")]);
        let (status, location, _) = app.get(&request.url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let params = query_of(&location.unwrap());
        assert_eq!(params.get("error").map(String::as_str), Some("login_required"));
        assert_eq!(params.get("state"), Some(request.state.secret()));

        app.sign_in(&rp).await;
        let request = app.auth_request(&rp, &[("prompt", "none")]);
        let (_, location, _) = app.get(&request.url).await;
        let code = code_from(&location.unwrap(), &request);
        app.exchange(&rp, code, request).await;
    }

    async fn prompt_login_and_max_age_ask_for_the_password_again(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let first = app.sign_in(&rp).await;

        let request = app.auth_request(&rp, &[("prompt", "login")]);
        let (_, location, _) = app.get(&request.url).await;
        assert!(location.unwrap().starts_with("/login?request="), "prompt=login shows the sign-in page");

        let request = app.auth_request(&rp, &[("max_age", "300")]);
        let (_, location, _) = app.get(&request.url).await;
        assert!(location.unwrap().starts_with(&app.redirect_uri("portal")), "a recent sign-in satisfies max_age");

        app.state.clock.advance(301);
        let request = app.auth_request(&rp, &[("max_age", "300")]);
        let (status, location, _) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let code = code_from(&location.unwrap(), &request);
        let second = app.exchange(&rp, code, request).await;
        let auth_time = |s: &SignedIn| s.claims.auth_time().unwrap().timestamp();
        assert!(auth_time(&second) > auth_time(&first), "auth_time is the new sign-in");
        assert_ne!(sid_of(&second), sid_of(&first), "a new sign-in is a new session");

        let request = app.auth_request(&rp, &[("max_age", "300"), ("prompt", "none")]);
        app.state.clock.advance(301);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
    }

    async fn an_idle_session_expires(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        app.sign_in(&rp).await;
        app.state.clock.advance(3601);
        let request = app.auth_request(&rp, &[("prompt", "none")]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
    }

    async fn a_disabled_users_session_no_longer_signs_in(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        app.sign_in(&rp).await;
        let user = app.state.store.user_by_username(USERNAME).await.unwrap().unwrap();
        // Disabled in the database alone, its sessions still stored.
        app.state.store.set_disabled(&user.id, true).await.unwrap();
        let request = app.auth_request(&rp, &[("prompt", "none")]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
        app.state.store.set_disabled(&user.id, false).await.unwrap();
        let request = app.auth_request(&rp, &[("prompt", "none")]);
        let (_, location, _) = app.get(&request.url).await;
        code_from(&location.unwrap(), &request);
    }

    async fn id_token_hint_must_be_ours_and_name_the_session_user(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let hint = signed_in.tokens.extra_fields().id_token().unwrap().to_string();

        let request = app.auth_request(&rp, &[("prompt", "none"), ("id_token_hint", &hint)]);
        let (_, location, _) = app.get(&request.url).await;
        code_from(&location.unwrap(), &request);

        let request = app.auth_request(&rp, &[("prompt", "none"), ("id_token_hint", "eyJhbGciOiJub25lIn0.e30.")]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("invalid_request"));

        // A hint for someone else: this session cannot answer silently.
        app.add_user("bob", "bob's long password").await;
        let bob_browser = new_browser();
        let request = app.auth_request(&rp, &[]);
        let (_, location, _) = parts(bob_browser.get(&request.url).send().await.unwrap()).await;
        let (_, _, page) = parts(bob_browser.get(app.url(&location.unwrap())).send().await.unwrap()).await;
        let form = [
            ("csrf_token", hidden_input(&page, "csrf_token").unwrap()),
            ("request", hidden_input(&page, "request").unwrap()),
            ("username", "bob".to_string()),
            ("password", "bob's long password".to_string()),
        ];
        let (_, location, _) = parts(bob_browser.post(app.url("/login")).form(&form).send().await.unwrap()).await;
        let code = code_from(&location.unwrap(), &request);
        let bob = app.exchange(&rp, code, request).await;
        let bob_hint = bob.tokens.extra_fields().id_token().unwrap().to_string();
        let request = app.auth_request(&rp, &[("prompt", "none"), ("id_token_hint", &bob_hint)]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
    }

    async fn a_restart_keeps_sessions_and_keys(backend) {
        let mut app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let before = app.sign_in(&rp).await;
        let jwks_before: serde_json::Value = rp_http().get(app.url("/jwks")).send().await.unwrap().json().await.unwrap();

        app.restart().await;

        let jwks_after: serde_json::Value = rp_http().get(app.url("/jwks")).send().await.unwrap().json().await.unwrap();
        assert_eq!(jwks_before, jwks_after, "same keys");
        let rp = app.rp("portal").await;
        let request = app.auth_request(&rp, &[("prompt", "none")]);
        let (_, location, _) = app.get(&request.url).await;
        let code = code_from(&location.unwrap(), &request);
        let after = app.exchange(&rp, code, request).await;
        assert_eq!(sid_of(&after), sid_of(&before), "the session survived");
        let status = rp_http().get(app.url("/userinfo")).bearer_auth(&before.access_token).send().await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "tokens from before the restart still verify");
    }
}
