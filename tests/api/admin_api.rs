//! The console's JSON API: client-credentials tokens with the `admin` scope,
//! the same rules as the console, and its OpenAPI document.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;
use crate::each_backend;
use crate::second_factor::first_sign_in_with_enrolment;

/// Registers confidential client `robot` with the `admin` grant `scope` (or none).
async fn robot(app: &TestApp, scope: Option<&str>) {
    register_robot(app, scope).await;
}

async fn token_request(
    app: &TestApp,
    client: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth(client, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn admin_token(app: &TestApp) -> String {
    let (status, body) = token_request(
        app,
        "robot",
        ROBOT_SECRET,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}")),
    )
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    call(app, reqwest::Method::GET, path, Some(token), None).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    call(app, reqwest::Method::POST, path, Some(token), body).await
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    call(app, reqwest::Method::PUT, path, Some(token), Some(body)).await
}

each_backend! {
    async fn the_client_credentials_grant_is_for_clients_granted_admin(backend) {
        let app = TestApp::spawn(backend).await;
        robot(&app, Some("acct-acme")).await;
        let grant = [("grant_type", "client_credentials")];
        let (status, body) = token_request(&app, "portal", PORTAL_SECRET, &grant).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")), "no admin grant");
        let response = reqwest::Client::new().post(app.url("/token")).form(&[("grant_type", "client_credentials"), ("client_id", "spa")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "unauthorized_client", "a public client");
        let (status, body) = token_request(&app, "robot", "wrong secret", &grant).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        let (status, body) = token_request(&app, "robot", ROBOT_SECRET, &[("grant_type", "client_credentials"), ("scope", "admin openid")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
        let (status, body) = token_request(&app, "robot", ROBOT_SECRET, &grant).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "admin");
        assert!(body.get("id_token").is_none() && body.get("refresh_token").is_none(), "{body}");
        let claims = raw_claims(body["access_token"].as_str().unwrap());
        assert_eq!(claims["aud"], format!("{}/admin/api", app.base));
        assert_eq!(claims["sub"], "robot");
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        assert!(discovery.contains("client_credentials"));
    }

    async fn the_api_refuses_anything_but_a_live_admin_token(backend) {
        let app = TestApp::spawn(backend).await;
        robot(&app, Some("acct-acme")).await;
        let (status, body) = call(&app, reqwest::Method::GET, "/admin/api/accounts", None, None).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")));
        let user_token = app.sign_in(&app.rp("portal").await).await.access_token;
        assert_eq!(get(&app, "/admin/api/accounts", &user_token).await.0, StatusCode::UNAUTHORIZED, "a user's access token");
        assert_eq!(get(&app, "/admin/api/accounts", "not.a.token").await.0, StatusCode::UNAUTHORIZED);
        let token = admin_token(&app).await;
        let response = reqwest::Client::new().get(app.url("/admin/api/accounts")).send().await.unwrap();
        assert!(response.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        assert_eq!(get(&app, "/admin/api/accounts", &token).await.0, StatusCode::OK);
        let userinfo = reqwest::Client::new().get(app.url("/userinfo")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED, "not a token for userinfo");
        let revoked = admin_token(&app).await;
        let response = reqwest::Client::new().post(app.url("/revoke")).basic_auth("robot", Some(ROBOT_SECRET)).form(&[("token", revoked.as_str())]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(get(&app, "/admin/api/accounts", &revoked).await.0, StatusCode::UNAUTHORIZED, "revoked");
        app.state.store.set_client_admin_scope("robot", None).await.unwrap();
        assert_eq!(get(&app, "/admin/api/accounts", &token).await.0, StatusCode::UNAUTHORIZED, "the grant taken away");
        app.state.store.set_client_admin_scope("robot", Some("acct-acme")).await.unwrap();
        app.state.clock.advance(app.state.config.access_token_lifetime_secs + 1);
        assert_eq!(get(&app, "/admin/api/accounts", &token).await.0, StatusCode::UNAUTHORIZED, "expired");
    }

    async fn an_account_client_resets_2fa_within_its_account_only(backend) {
        let app = TestApp::spawn(backend).await;
        robot(&app, Some("acct-acme")).await;
        let portal = app.rp("portal").await;
        first_sign_in_with_enrolment(&app, &new_browser(), &portal, USERNAME, &[("acr_values", "aal2")]).await;
        first_sign_in_with_enrolment(&app, &new_browser(), &portal, MIA, &[]).await;
        let token = admin_token(&app).await;
        let (_, accounts) = get(&app, "/admin/api/accounts", &token).await;
        assert_eq!(accounts["accounts"].as_array().unwrap().len(), 1);
        assert_eq!(accounts["accounts"][0]["name"], "acme");
        let (status, members) = get(&app, "/admin/api/accounts/acct-acme/members?q=ali", &token).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(members["total"], 1);
        assert_eq!(members["members"][0]["factors"]["totp"], true);
        assert_eq!(members["members"][0]["factors"]["backup_codes_left"], 10);
        assert_eq!(members["members"][0]["factors"]["security_keys"], 0);
        let hash = app.state.store.user_by_username(USERNAME).await.unwrap().unwrap().password_hash;
        for n in 0..55 {
            app.state.store.create_user(gatehouse::store::NewUser {
                id: &format!("user-n{n:02}"), account_id: "acct-acme", username: &format!("n{n:02}"),
                email: &format!("n{n:02}@example.com"), password_hash: &hash,
                is_admin: false, is_operator: false, now: app.state.clock.now(),
            }).await.unwrap();
        }
        let (_, first) = get(&app, "/admin/api/accounts/acct-acme/members?q=N", &token).await;
        assert_eq!((first["total"].as_i64(), first["total_capped"].as_bool()), (Some(55), Some(false)));
        assert_eq!((first["members"].as_array().unwrap().len(), first["next"].as_str()), (50, Some("user-n49:n49")));
        let (status, rest) = get(&app, "/admin/api/accounts/acct-acme/members?q=N&after=user-n49:n49", &token).await;
        assert_eq!(status, StatusCode::OK);
        let rest: Vec<&str> = rest["members"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
        assert_eq!(rest, vec!["n50", "n51", "n52", "n53", "n54"]);
        let (_, everyone) = get(&app, "/admin/api/accounts/acct-acme/members?without_factor=true", &token).await;
        assert_eq!(everyone["total"], 55, "the members without a factor, as kept with the account");
        let (status, refused) = get(&app, "/admin/api/accounts/acct-acme/members?page=2", &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "pages are not numbered: {refused}");
        assert!(refused["error_description"].as_str().unwrap_or_default().contains("after") || refused.to_string().contains("after"), "{refused}");
        let (status, _) = get(&app, "/admin/api/accounts/acct-acme/audit?after=yesterday", &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a cursor that does not read");

        let (status, reset) = post(&app, "/admin/api/members/user-alice/reset-2fa", &token, None).await;
        assert_eq!(status, StatusCode::OK, "{reset}");
        assert_eq!((reset["factors"]["totp"].as_bool(), reset["must_enroll"].as_bool()), (Some(false), Some(true)));
        assert!(app.state.store.active_totp("user-alice").await.unwrap().is_none());
        let (_, log) = get(&app, "/admin/api/accounts/acct-acme/audit?kind=second_factor_reset", &token).await;
        let event = &log["events"][0];
        assert_eq!((event["member"].as_str(), event["actor"].as_str(), event["ip"].as_str()), (Some("alice"), Some("client:robot"), Some("127.0.0.1")));

        for (status, what) in [
            (get(&app, "/admin/api/accounts/acct-fortress/members", &token).await.0, "another account's members"),
            (post(&app, "/admin/api/members/user-mia/reset-2fa", &token, None).await.0, "another account's member"),
            (put(&app, "/admin/api/accounts/acct-fortress/settings", &token, json!({ "require_mfa": false })).await.0, "another account's settings"),
            (get(&app, "/admin/api/clients", &token).await.0, "relying parties"),
        ] {
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
        }
        assert!(app.state.store.active_totp("user-mia").await.unwrap().is_some(), "mia keeps her factor");
        assert!(app.state.store.tenant_by_id("acct-fortress").await.unwrap().unwrap().require_mfa);
        assert_eq!(post(&app, "/admin/api/members/user-nobody/unlock", &token, None).await.0, StatusCode::NOT_FOUND);
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        let (status, body) = post(&app, "/admin/api/members/user-otto/reset-2fa", &token, None).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "an operator is not the account's to change");
    }

    async fn an_operator_client_manages_members_settings_and_clients(backend) {
        let app = TestApp::spawn(backend).await;
        robot(&app, Some("*")).await;
        let token = admin_token(&app).await;
        let (_, accounts) = get(&app, "/admin/api/accounts", &token).await;
        assert_eq!(accounts["accounts"].as_array().unwrap().len(), 2);

        let (status, created) = post(&app, "/admin/api/accounts/acct-fortress/members", &token, Some(json!({ "username": "nina", "email": "nina@example.com" }))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(created["password_link"].as_str().unwrap().starts_with(&format!("{}/password?token=", app.base)));
        let nina = created["member"]["id"].as_str().unwrap().to_string();
        let (status, body) = post(&app, "/admin/api/accounts/acct-fortress/members", &token, Some(json!({ "username": "nina", "email": "nina@example.com" }))).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
        let (status, body) = post(&app, "/admin/api/accounts/acct-fortress/members", &token, Some(json!({ "username": "x", "email": "nope", "extra": 1 }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "unknown fields are refused: {body}");
        let (status, body) = post(&app, "/admin/api/accounts/acct-fortress/members", &token, Some(json!({ "username": "x", "email": "nope" }))).await;
        assert_eq!((status, body["error_description"].as_str()), (StatusCode::BAD_REQUEST, Some("Enter a valid email address.")));
        let (status, role) = put(&app, &format!("/admin/api/members/{nina}/administrator"), &token, json!({ "administrator": true })).await;
        assert_eq!((status, role["administrator"].as_bool()), (StatusCode::OK, Some(true)));
        let (status, disabled) = post(&app, &format!("/admin/api/members/{nina}/disable"), &token, None).await;
        assert_eq!((status, disabled["disabled"].as_bool()), (StatusCode::OK, Some(true)));
        assert_eq!(post(&app, &format!("/admin/api/members/{nina}/password-link"), &token, None).await.0, StatusCode::OK);

        let (status, account) = put(&app, "/admin/api/accounts/acct-acme/settings", &token, json!({ "require_mfa": true, "grace": "days", "grace_days": 7, "mfa_failure_limit": 4 })).await;
        assert_eq!(status, StatusCode::OK, "{account}");
        assert_eq!((account["require_mfa"].as_bool(), account["settings"]["mfa_grace_days"].as_i64(), account["settings"]["mfa_failure_limit"].as_i64()), (Some(true), Some(7), Some(4)));
        assert_eq!(account["settings"]["email_codes_aal2"].as_bool(), Some(true), "an email code counts unless turned off");
        let (status, account) = put(&app, "/admin/api/accounts/acct-acme/settings", &token, json!({ "require_mfa": true, "email_codes_aal2": false })).await;
        assert_eq!((status, account["settings"]["email_codes_aal2"].as_bool()), (StatusCode::OK, Some(false)), "{account}");
        let (status, body) = put(&app, "/admin/api/accounts/acct-acme/settings", &token, json!({ "require_mfa": true, "mfa_failure_limit": 99 })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error_description"].as_str().unwrap().contains("from 3 to 20"));

        let redirect = app.redirect_uri("crm");
        let (status, created) = post(&app, "/admin/api/clients", &token, Some(json!({ "client_id": "crm", "redirect_uris": [redirect], "id_token_alg": "ES256" }))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let secret = created["client_secret"].as_str().unwrap().to_string();
        let (status, _) = token_request(&app, "crm", &secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "authenticated, but not granted admin");
        let (status, body) = put(&app, "/admin/api/clients/crm", &token, json!({ "redirect_uris": ["relative"] })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = put(&app, "/admin/api/clients/crm", &token, json!({ "redirect_uris": [redirect, "https://crm.example/cb"] })).await;
        assert_eq!((status, body["redirect_uris"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
        assert_eq!(body["consent"], json!(false));
        let (status, body) = put(&app, "/admin/api/clients/crm", &token, json!({ "redirect_uris": [redirect], "consent": true })).await;
        assert_eq!((status, &body["consent"]), (StatusCode::OK, &json!(true)), "{body}");
        assert!(app.state.store.client("crm").await.unwrap().unwrap().consent);
        assert_eq!(body["require_par"], json!(false));
        let (status, body) = put(&app, "/admin/api/clients/crm", &token, json!({ "redirect_uris": [redirect], "consent": true, "require_par": true })).await;
        assert_eq!((status, &body["require_par"]), (StatusCode::OK, &json!(true)), "{body}");
        assert_eq!(body["device_grant"], json!(false));
        let (status, body) = put(&app, "/admin/api/clients/crm", &token, json!({ "redirect_uris": [redirect], "device_grant": true })).await;
        assert_eq!((status, &body["device_grant"]), (StatusCode::OK, &json!(true)), "{body}");
        assert!(app.state.store.client("crm").await.unwrap().unwrap().device_grant);
        let pair = josekit::jws::ES256.generate_key_pair().unwrap();
        let public = serde_json::to_value(pair.to_jwk_public_key().as_ref()).unwrap();
        let private = serde_json::to_value(pair.to_jwk_private_key().as_ref()).unwrap();
        let (status, body) = post(&app, "/admin/api/clients", &token, Some(json!({ "client_id": "keyed", "redirect_uris": [redirect], "jwks": { "keys": [private] } }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("only public keys"), "{body}");
        let (status, body) = post(&app, "/admin/api/clients", &token, Some(json!({ "client_id": "keyed", "redirect_uris": [redirect], "jwks": { "keys": [public] } }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert!(body.get("client_secret").is_none(), "a client with keys gets no secret: {body}");
        assert_eq!(body["client"]["token_endpoint_auth_method"], "private_key_jwt");
        let other = josekit::jws::ES256.generate_key_pair().unwrap();
        let other = serde_json::to_value(other.to_jwk_public_key().as_ref()).unwrap();
        let (status, body) = put(&app, "/admin/api/clients/keyed", &token, json!({ "redirect_uris": [redirect], "jwks": { "keys": [other] } })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["jwks"]["keys"][0]["x"], other["x"], "the new key replaces the old");
        let (status, body) = put(&app, "/admin/api/clients/keyed", &token, json!({ "redirect_uris": [redirect] })).await;
        assert_eq!((status, &body["jwks"]["keys"][0]["x"]), (StatusCode::OK, &other["x"]), "keys stay when none are given");
        let (status, body) = put(&app, "/admin/api/clients/crm", &token, json!({ "redirect_uris": [redirect], "jwks": { "keys": [other] } })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a client with a secret gets no keys: {body}");
        let (status, rotated) = post(&app, "/admin/api/clients/crm/secret", &token, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_ne!(rotated["client_secret"].as_str().unwrap(), secret);
        let (status, _) = token_request(&app, "crm", &secret, &[("grant_type", "client_credentials")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "the old secret no longer authenticates");
        let (status, body) = post(&app, "/admin/api/clients", &token, Some(json!({ "client_id": "crm", "redirect_uris": [redirect] }))).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
        let response = reqwest::Client::new().post(app.url("/admin/api/clients")).bearer_auth(&token).header("content-type", "application/json").body("{not json").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalid_request");
    }

    async fn the_openapi_document_describes_every_route(backend) {
        let app = TestApp::spawn(backend).await;
        robot(&app, Some("*")).await;
        let response = reqwest::Client::new().get(app.url("/admin/api/openapi.json")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let doc: Value = response.json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let token = admin_token(&app).await;
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), 15);
        for (path, operations) in paths {
            let concrete = path.replace("{account_id}", "acct-acme").replace("{id}", "user-alice").replace("{client_id}", "portal");
            for method in operations.as_object().unwrap().keys() {
                assert!(operations[method]["responses"].is_object(), "{method} {path} has responses");
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                if method != reqwest::Method::GET {
                    continue;
                }
                let (status, _) = call(&app, method, &concrete, Some(&token), None).await;
                assert_eq!(status, StatusCode::OK, "GET {concrete} is served");
            }
        }
    }
}
