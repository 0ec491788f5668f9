//! The token and userinfo endpoints: every failure path of a token request.

use openidconnect::{OAuth2TokenResponse, RefreshToken};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::each_backend;

/// A code for portal, with its PKCE verifier, from a signed-in browser.
async fn fresh_code(app: &TestApp, rp: &Rp) -> (String, String) {
    let request = app.auth_request(rp, &[]);
    let (status, location, _) = app.get(&request.url).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let code = if location.starts_with("/login") {
        let (_, location, _) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
        code_from(&location.unwrap(), &request)
    } else {
        code_from(&location, &request)
    };
    (code, request.verifier.unwrap().secret().clone())
}

async fn token_request(
    app: &TestApp,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = rp_http().post(app.url("/token")).form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body, headers)
}

async fn redeem(app: &TestApp, code: &str, verifier: &str) -> (StatusCode, Value) {
    let redirect = app.redirect_uri("portal");
    let (status, body, _) = token_request(
        app,
        Some(("portal", PORTAL_SECRET)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect),
            ("code_verifier", verifier),
        ],
    )
    .await;
    (status, body)
}

/// Rows in `table` now.
async fn stored(app: &TestApp, table: &str) -> i64 {
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let (count,): (i64,) = sqlx::query_as(&format!("select count(*) from {table}"))
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    count
}

/// Refresh tokens stored, handed out or not.
async fn stored_refresh_tokens(app: &TestApp) -> i64 {
    stored(app, "refresh_tokens").await
}

/// Grants stored (a grant is stored when its code is redeemed).
async fn stored_grants(app: &TestApp) -> i64 {
    stored(app, "grants").await
}

async fn userinfo_status(app: &TestApp, token: &str) -> StatusCode {
    rp_http()
        .get(app.url("/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

each_backend! {
    async fn a_replayed_code_is_refused_and_revokes_what_it_issued(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let (code, verifier) = fresh_code(&app, &rp).await;
        let (status, first) = redeem(&app, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK);
        let access = first["access_token"].as_str().unwrap().to_string();
        let refresh = first["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(userinfo_status(&app, &access).await, StatusCode::OK);

        let (status, replay) = redeem(&app, &code, &verifier).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(replay["error"], "invalid_grant");
        assert_eq!(userinfo_status(&app, &access).await, StatusCode::UNAUTHORIZED, "access token revoked");
        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", &refresh)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant", "refresh token revoked");
    }

    async fn fifty_concurrent_redemptions_of_one_code_give_exactly_one_success(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let (code, verifier) = fresh_code(&app, &rp).await;
        let attempts = (0..50).map(|_| redeem(&app, &code, &verifier));
        let results = futures::future::join_all(attempts).await;
        let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
        let refused = results.iter().filter(|(s, b)| *s == StatusCode::BAD_REQUEST && b["error"] == "invalid_grant").count();
        assert_eq!(ok, 1, "exactly one redemption wins");
        assert_eq!(refused, 49, "every other one is invalid_grant: {results:?}");
        assert_eq!(stored_refresh_tokens(&app).await, 1, "only the winner stored a refresh token");
    }

    async fn a_wrong_or_missing_pkce_verifier_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let (code, _) = fresh_code(&app, &rp).await;
        let (status, body) = redeem(&app, &code, "wrong-verifier-wrong-verifier-wrong-verifier-00").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");

        let (code, _) = fresh_code(&app, &rp).await;
        let redirect = app.redirect_uri("portal");
        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "invalid_grant");
        assert_eq!(stored_refresh_tokens(&app).await, 0, "a refused exchange leaves no refresh token");
    }

    async fn a_code_is_bound_to_its_client_and_redirect_uri_and_expires(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;

        let (code, verifier) = fresh_code(&app, &rp).await;
        let redirect = app.redirect_uri("portal");
        let form = [("grant_type", "authorization_code"), ("code", code.as_str()), ("redirect_uri", redirect.as_str()), ("code_verifier", verifier.as_str())];
        let (status, body, _) = token_request(&app, Some(("backoffice", BACKOFFICE_SECRET)), &form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "another client");
        let (status, _) = redeem(&app, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "another client's attempt did not burn the code");

        let (code, verifier) = fresh_code(&app, &rp).await;
        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", "http://127.0.0.1:9/other"), ("code_verifier", &verifier)]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "another redirect_uri");

        let (code, verifier) = fresh_code(&app, &rp).await;
        app.state.clock.advance(61);
        let (status, body) = redeem(&app, &code, &verifier).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "expired after 60 s");

        let (status, body) = redeem(&app, "no-such-code", &verifier).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "unknown code");
        assert_eq!(stored_refresh_tokens(&app).await, 1, "only the one exchange that succeeded stored a refresh token");
    }

    async fn a_code_is_sealed_not_stored_and_a_changed_code_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        fresh_code(&app, &rp).await;
        let before = stored_grants(&app).await;
        let (code, verifier) = fresh_code(&app, &rp).await;
        assert_eq!(stored_grants(&app).await, before, "issuing a code writes no grant");
        assert!(!code.contains(USERNAME) && !code.contains("portal"), "the code reveals nothing: {code}");

        // One character changed anywhere: the seal does not open.
        for at in [0, code.len() / 2, code.len() - 2] {
            let mut changed = code.clone().into_bytes();
            changed[at] = if changed[at] == b'A' { b'B' } else { b'A' };
            let (status, body) = redeem(&app, &String::from_utf8(changed).unwrap(), &verifier).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "changed at {at}");
        }
        let (status, body) = redeem(&app, &"A".repeat(10_000), &verifier).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "a huge code");
        assert_eq!(stored_grants(&app).await, before, "refused codes store nothing");

        let (status, _) = redeem(&app, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "the code itself still works");
        assert_eq!(stored_grants(&app).await, before + 1, "its grant is stored once redeemed");
    }

    async fn a_code_from_a_sign_in_that_has_ended_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let (code, verifier) = fresh_code(&app, &rp).await;
        let user = app.state.store.user_by_username(USERNAME).await.unwrap().unwrap();
        let now = app.state.clock.now();
        assert_eq!(app.state.store.end_sessions_of_user(&user.id, None, now).await.unwrap(), 1);
        let (status, body) = redeem(&app, &code, &verifier).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("ended"), "{body}");
        assert_eq!(stored_refresh_tokens(&app).await, 0, "nothing was issued");
        assert_eq!(stored_grants(&app).await, 0);
    }

    async fn a_code_replayed_after_it_expired_still_revokes_what_it_issued(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let (code, verifier) = fresh_code(&app, &rp).await;
        let (status, first) = redeem(&app, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK);
        let access = first["access_token"].as_str().unwrap().to_string();
        app.state.clock.advance(120);
        let (status, body) = redeem(&app, &code, &verifier).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        assert!(body["error_description"].as_str().unwrap().contains("already used"), "{body}");
        assert_eq!(userinfo_status(&app, &access).await, StatusCode::UNAUTHORIZED, "access token revoked");
    }

    async fn a_replay_with_a_wrong_verifier_or_redirect_still_revokes(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        for wrong in ["verifier", "redirect_uri"] {
            let (code, verifier) = fresh_code(&app, &rp).await;
            let (status, first) = redeem(&app, &code, &verifier).await;
            assert_eq!(status, StatusCode::OK);
            let access = first["access_token"].as_str().unwrap().to_string();
            let redirect = if wrong == "redirect_uri" { "http://127.0.0.1:9/other".to_string() } else { app.redirect_uri("portal") };
            let verifier = if wrong == "verifier" { "wrong-verifier-wrong-verifier-wrong-verifier-00".to_string() } else { verifier };
            let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect), ("code_verifier", &verifier)]).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{wrong}");
            assert!(body["error_description"].as_str().unwrap().contains("already used"), "{wrong}: {body}");
            assert_eq!(userinfo_status(&app, &access).await, StatusCode::UNAUTHORIZED, "{wrong}: access token revoked");
        }
    }

    async fn a_code_whose_session_went_idle_is_refused(backend) {
        let app = TestApp::spawn_with(backend, |c| {
            c.session_idle_secs = 30;
            c.code_lifetime_secs = 120;
        })
        .await;
        let rp = app.rp("portal").await;
        let (code, verifier) = fresh_code(&app, &rp).await;
        app.state.clock.advance(31);
        let (status, body) = redeem(&app, &code, &verifier).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("ended"), "{body}");
        assert_eq!(stored_grants(&app).await, 0);
    }

    async fn client_authentication_failures_are_invalid_client(backend) {
        let app = TestApp::spawn(backend).await;
        let form = [("grant_type", "authorization_code"), ("code", "x"), ("redirect_uri", "http://127.0.0.1:9/portal/cb")];
        let (status, body, headers) = token_request(&app, Some(("portal", "wrong-secret")), &form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "invalid_client");
        assert!(headers.get("www-authenticate").is_some());
        assert_eq!(headers.get("cache-control").unwrap(), "no-store");

        let (status, body, _) = token_request(&app, Some(("nobody", "x")), &form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));

        let (status, body, _) = token_request(&app, None, &form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "no authentication");

        let mut with_post = form.to_vec();
        with_post.extend([("client_id", "portal"), ("client_secret", "wrong-secret")]);
        let (status, body, _) = token_request(&app, None, &with_post).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "client_secret_post, wrong secret");

        let mut public_with_secret = form.to_vec();
        public_with_secret.extend([("client_id", "spa"), ("client_secret", "anything")]);
        let (status, body, _) = token_request(&app, None, &public_with_secret).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "public client with a secret");

        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "password"), ("username", "a")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("code", "x")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "no grant_type");
    }

    async fn client_authentication_is_throttled_per_address_and_per_client(backend) {
        let app = TestApp::spawn(backend).await;
        let behind = app.node_with(&app.database_url, |c| c.trusted_proxies = "127.0.0.1/32".into()).await;
        let form = [("grant_type", "refresh_token"), ("refresh_token", "not-a-token")];
        let attempt = |auth: (String, String), from: Option<String>| {
            let url = match &from {
                Some(_) => behind.url("/token"),
                None => app.url("/token"),
            };
            async move {
                let mut request = rp_http().post(url).form(&form).basic_auth(auth.0, Some(auth.1));
                if let Some(address) = from {
                    request = request.header("x-forwarded-for", address);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, body)
            }
        };
        let portal = |secret: &str| ("portal".to_string(), secret.to_string());
        let (status, body) = attempt(portal(PORTAL_SECRET), None).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "authenticated");
        // Unknown client ids count like wrong secrets.
        for i in 0..10 {
            let (status, body) = attempt((format!("nobody-{i}"), "a guess".into()), None).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        }
        for _ in 0..10 {
            let (status, _) = attempt(portal("a wrong secret"), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        // The address is locked: even the right secret is refused.
        let (status, body) = attempt(portal(PORTAL_SECRET), None).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        assert!(body["error_description"].as_str().unwrap().contains("too many"), "{body}");
        // Another address is not.
        let (status, _) = attempt(portal(PORTAL_SECRET), Some("203.0.113.200".into())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "authenticated from elsewhere");
        // Failures for one client id from many addresses lock that client id.
        for i in 0..90 {
            let (status, _) = attempt(portal("a wrong secret"), Some(format!("198.51.100.{i}"))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, body) = attempt(portal(PORTAL_SECRET), Some("203.0.113.201".into())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the client id is locked: {body}");
        let (status, _) = attempt(("backoffice".into(), BACKOFFICE_SECRET.into()), Some("203.0.113.202".into())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "other clients are not");
        // The locks end with the window.
        app.state.clock.advance(901);
        let (status, _) = attempt(portal(PORTAL_SECRET), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "authenticated again");
    }

    async fn client_secret_post_works(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let (code, verifier) = fresh_code(&app, &rp).await;
        let redirect = app.redirect_uri("portal");
        let (status, body, _) = token_request(&app, None, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect), ("code_verifier", &verifier), ("client_id", "portal"), ("client_secret", PORTAL_SECRET)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body["id_token"].is_string());
    }

    async fn refresh_tokens_rotate_and_reuse_revokes_the_family(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let first = signed_in.tokens.refresh_token().unwrap().clone();

        let rotated = rp.exchange_refresh_token(&first).unwrap().request_async(&rp_http()).await.expect("refresh works");
        let second = rotated.refresh_token().unwrap().clone();
        assert_ne!(first.secret(), second.secret(), "rotated");
        let (status, _, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", first.secret())]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "the old token is refused");
        let after_reuse = rp.exchange_refresh_token(&second).unwrap().request_async(&rp_http()).await;
        assert!(after_reuse.is_err(), "reuse revoked the whole family");
        assert_eq!(userinfo_status(&app, rotated.access_token().secret()).await, StatusCode::UNAUTHORIZED);

        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", "garbage")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    }

    async fn a_refresh_token_works_only_for_its_client_and_scope(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let token = signed_in.tokens.refresh_token().unwrap().secret().clone();
        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", &token), ("scope", "openid offline_access")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
        let refreshed = rp.exchange_refresh_token(&RefreshToken::new(token.clone())).unwrap().request_async(&rp_http()).await;
        assert!(refreshed.is_err(), "a refused request still used the token");
        let signed_in = app.sso(&rp).await;
        let token = signed_in.tokens.refresh_token().unwrap().secret().clone();
        let (status, body, _) = token_request(&app, Some(("portal", PORTAL_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", &token), ("scope", "openid")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["scope"], "openid", "a narrower scope applies");
        let info: Value = rp_http().get(app.url("/userinfo")).bearer_auth(body["access_token"].as_str().unwrap()).send().await.unwrap().json().await.unwrap();
        assert!(info.get("email").is_none(), "no email claim without the email scope: {info}");
        let signed_in = app.sso(&rp).await;
        let token = signed_in.tokens.refresh_token().unwrap().secret().clone();
        let (status, body, _) = token_request(&app, Some(("backoffice", BACKOFFICE_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", &token)]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    }

    async fn a_refresh_token_presented_by_another_client_is_left_as_it_was(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let token = signed_in.tokens.refresh_token().unwrap().secret().clone();
        for _ in 0..2 {
            let (status, body, _) = token_request(&app, Some(("backoffice", BACKOFFICE_SECRET)), &[("grant_type", "refresh_token"), ("refresh_token", &token)]).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        }
        assert_eq!(stored_refresh_tokens(&app).await, 1, "nothing was rotated");
        let refreshed = rp.exchange_refresh_token(&RefreshToken::new(token)).unwrap().request_async(&rp_http()).await;
        assert!(refreshed.is_ok(), "the rightful client's token still works and its grant lives: {refreshed:?}");
    }

    async fn userinfo_refuses_bad_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let good = signed_in.access_token.clone();
        assert_eq!(userinfo_status(&app, &good).await, StatusCode::OK);
        let post = rp_http().post(app.url("/userinfo")).bearer_auth(&good).send().await.unwrap();
        assert_eq!(post.status(), StatusCode::OK, "POST works too");
        // RFC 6750 §2.2: the token in a form-encoded body.
        let post = rp_http().post(app.url("/userinfo")).form(&[("access_token", good.as_str())]).send().await.unwrap();
        assert_eq!(post.status(), StatusCode::OK, "the token in the body works");
        let info: Value = post.json().await.unwrap();
        assert_eq!(info["sub"], signed_in.claims.subject().as_str());
        let post = rp_http().post(app.url("/userinfo")).form(&[("access_token", "garbage")]).send().await.unwrap();
        assert_eq!(post.status(), StatusCode::UNAUTHORIZED, "a bad token in the body");
        let both = rp_http().post(app.url("/userinfo")).bearer_auth(&good).form(&[("access_token", good.as_str())]).send().await.unwrap();
        assert_eq!(both.status(), StatusCode::BAD_REQUEST, "one place only");
        let twice = rp_http().post(app.url("/userinfo")).header("content-type", "application/x-www-form-urlencoded").body(format!("access_token={good}&access_token={good}")).send().await.unwrap();
        assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
        let query = rp_http().get(app.url(&format!("/userinfo?access_token={good}"))).send().await.unwrap();
        assert_eq!(query.status(), StatusCode::UNAUTHORIZED, "never in the query");

        let id_token = signed_in.tokens.extra_fields().id_token().unwrap().to_string();
        let mut tampered = good.clone();
        tampered.insert(good.find('.').unwrap() + 5, 'A');
        for bad in ["garbage", "a.b.c", id_token.as_str(), tampered.as_str()] {
            let response = rp_http().get(app.url("/userinfo")).bearer_auth(bad).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{bad}");
            assert!(response.headers().get("www-authenticate").unwrap().to_str().unwrap().contains("invalid_token"));
        }
        let missing = rp_http().get(app.url("/userinfo")).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);

        app.state.clock.advance(3601);
        assert_eq!(userinfo_status(&app, &good).await, StatusCode::UNAUTHORIZED, "expired");
    }
}
