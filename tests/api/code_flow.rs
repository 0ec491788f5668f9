//! The authorization-code flow end to end, with single sign-on.

use openidconnect::core::CoreUserInfoClaims;
use openidconnect::{AccessToken, AuthenticationContextClass, OAuth2TokenResponse};
use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

each_backend! {
    async fn a_relying_party_signs_a_user_in_with_the_code_flow(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let claims = &signed_in.claims;
        assert_eq!(claims.subject().as_str(), "user-alice");
        assert_eq!(claims.issuer().as_str(), app.base);
        assert_eq!(claims.auth_context_ref(), Some(&AuthenticationContextClass::new("aal1".into())));
        let amr: Vec<String> = claims.auth_method_refs().unwrap().iter().map(|m| m.to_string()).collect();
        assert_eq!(amr, ["pwd"]);
        assert!(claims.auth_time().is_some());
        assert_eq!(claims.email().map(|e| e.as_str()), Some("alice@example.com"));
        assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("alice"));
        assert!(signed_in.tokens.refresh_token().is_some());
        let header = |jwt: &str| {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap();
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
        };
        let id_token = signed_in.tokens.extra_fields().id_token().unwrap().to_string();
        assert_eq!(header(&id_token)["alg"], "RS256", "the client's algorithm");
        assert_eq!(header(&signed_in.access_token)["alg"], "ES256", "access tokens: access_token_alg");
        assert_eq!(header(&signed_in.access_token)["typ"], "at+jwt");

        let info: CoreUserInfoClaims = rp
            .user_info(AccessToken::new(signed_in.access_token.clone()), None)
            .unwrap()
            .request_async(&rp_http())
            .await
            .expect("userinfo accepts the access token");
        assert_eq!(info.subject().as_str(), "user-alice");
        assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    }

    async fn a_second_relying_party_gets_single_sign_on(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let first = app.sign_in(&portal).await;

        for client_id in ["backoffice", "edge"] {
            let rp = app.rp(client_id).await;
            let request = app.auth_request(&rp, &[]);
            let (status, location, _) = app.get(&request.url).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            let location = location.unwrap();
            assert!(location.starts_with(&app.redirect_uri(client_id)), "no page in between: {location}");
            let code = code_from(&location, &request);
            let second = app.exchange(&rp, code, request).await;
            assert_eq!(second.claims.subject(), first.claims.subject());
            assert_eq!(second.sid(), first.sid(), "one provider session");
        }
    }

    async fn the_sign_in_page_refuses_a_wrong_password_without_naming_the_user(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let request = app.auth_request(&rp, &[]);
        let (status, location, wrong_password) = app.sign_in_through(&request, USERNAME, "not the password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(location.is_none(), "no code is issued");
        assert!(wrong_password.contains("The username or password is incorrect."));
        let (status, _, unknown_user) = app.sign_in_through(&request, "mallory", PASSWORD).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(unknown_user.contains("The username or password is incorrect."));
        // Still not signed in: prompt=none says so.
        let probe = app.auth_request(&rp, &[("prompt", "none")]);
        let (_, location, _) = app.get(&probe.url).await;
        assert_eq!(query_of(&location.unwrap()).get("error").map(String::as_str), Some("login_required"));
    }

    async fn a_login_form_without_its_csrf_token_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let request = app.auth_request(&rp, &[]);
        let (_, location, _) = app.get(&request.url).await;
        let (_, _, page) = app.get(&app.url(&location.unwrap())).await;
        let request_id = hidden_input(&page, "request").unwrap();
        let (status, location, body) = app
            .post_form("/login", &[("request", &request_id), ("username", USERNAME), ("password", PASSWORD)])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(location.is_none());
        assert!(body.contains("This form has expired"));
        let (status, _, _) = app
            .post_form("/login", &[("csrf_token", "forged-token-forged-token-forged-token-forg"), ("request", &request_id), ("username", USERNAME), ("password", PASSWORD)])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn login_hint_prefills_the_username(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let request = app.auth_request(&rp, &[("login_hint", "alice@example")]);
        let (_, location, _) = app.get(&request.url).await;
        let (_, _, page) = app.get(&app.url(&location.unwrap())).await;
        assert!(page.contains(r#"name="username" value="alice@example""#));
    }

    async fn an_unregistered_or_missing_redirect_uri_gets_an_error_page_and_no_redirect(backend) {
        let app = TestApp::spawn(backend).await;
        let cases = [
            "/authorize?client_id=portal&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=openid",
            "/authorize?client_id=portal&response_type=code&scope=openid",
            "/authorize?client_id=nobody&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fportal%2Fcb&response_type=code&scope=openid",
            "/authorize?client_id=portal&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fportal%2Fcb%2Fextra&response_type=code&scope=openid",
        ];
        for path in cases {
            let (status, location, body) = app.get(&app.url(path)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
            assert!(location.is_none(), "never redirected: {path}");
            assert!(body.contains("<h1>"), "an error page: {path}");
        }
    }

    async fn errors_after_the_redirect_uri_is_verified_go_back_to_the_client(backend) {
        let app = TestApp::spawn(backend).await;
        let redirect = url::form_urlencoded::byte_serialize(app.redirect_uri("portal").as_bytes()).collect::<String>();
        let cases = [
            ("response_type=token&scope=openid&state=s1".to_string(), "unsupported_response_type"),
            ("response_type=code&scope=email&state=s1".to_string(), "invalid_scope"),
            ("response_type=code&scope=openid&state=s1&code_challenge=abc&code_challenge_method=plain".to_string(), "invalid_request"),
        ];
        for (query, error) in cases {
            let (status, location, _) = app.get(&app.url(&format!("/authorize?client_id=portal&redirect_uri={redirect}&{query}"))).await;
            assert_eq!(status, StatusCode::SEE_OTHER);
            let params = query_of(&location.unwrap());
            assert_eq!(params.get("error").map(String::as_str), Some(error));
            assert_eq!(params.get("state").map(String::as_str), Some("s1"));
            assert_eq!(params.get("iss"), Some(&app.base));
        }
    }

    async fn a_public_client_must_use_pkce_and_authenticates_with_none(backend) {
        let app = TestApp::spawn(backend).await;
        let spa = app.rp("spa").await;
        let redirect = url::form_urlencoded::byte_serialize(app.redirect_uri("spa").as_bytes()).collect::<String>();
        let (status, location, _) = app
            .get(&app.url(&format!("/authorize?client_id=spa&redirect_uri={redirect}&response_type=code&scope=openid&state=x")))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let params = query_of(&location.unwrap());
        assert_eq!(params.get("error").map(String::as_str), Some("invalid_request"));
        assert!(!params.contains_key("code"));

        let signed_in = app.sign_in(&spa).await;
        assert_eq!(signed_in.claims.subject().as_str(), "user-alice");
    }

    async fn a_post_authorization_request_works_like_a_get(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        app.sign_in(&rp).await;
        let request = app.auth_request(&rp, &[]);
        let query = url::Url::parse(&request.url).unwrap().query().unwrap().to_string();
        let response = app
            .browser
            .post(app.url("/authorize"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(query)
            .send()
            .await
            .unwrap();
        let (status, location, _) = parts(response).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let code = code_from(&location.unwrap(), &request);
        app.exchange(&rp, code, request).await;
    }
}
