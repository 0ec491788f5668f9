//! Token revocation (RFC 7009) and introspection (RFC 7662).

use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::each_backend;

async fn call(
    app: &TestApp,
    path: &str,
    auth: (&str, &str),
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = rp_http()
        .post(app.url(path))
        .basic_auth(auth.0, Some(auth.1))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

const PORTAL: (&str, &str) = ("portal", PORTAL_SECRET);
const BACKOFFICE: (&str, &str) = ("backoffice", BACKOFFICE_SECRET);

each_backend! {
    async fn introspection_tells_the_owning_client_whether_tokens_are_active(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let refresh = signed_in.tokens.refresh_token().unwrap().secret().clone();

        let (status, body) = call(&app, "/introspect", PORTAL, &[("token", &signed_in.access_token)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["active"], true);
        assert_eq!(body["sub"], "user-alice");
        assert_eq!(body["client_id"], "portal");
        assert_eq!(body["token_type"], "Bearer");
        let (_, body) = call(&app, "/introspect", PORTAL, &[("token", &refresh), ("token_type_hint", "refresh_token")]).await;
        assert_eq!(body["active"], true);
        assert_eq!(body["token_type"], "refresh_token");

        let (_, body) = call(&app, "/introspect", BACKOFFICE, &[("token", &signed_in.access_token)]).await;
        assert_eq!(body, serde_json::json!({"active": false}), "another client learns nothing");
        let (_, body) = call(&app, "/introspect", PORTAL, &[("token", "garbage")]).await;
        assert_eq!(body, serde_json::json!({"active": false}));
        let (status, body) = call(&app, "/introspect", ("portal", "wrong"), &[("token", "x")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        let (status, body) = call(&app, "/introspect", PORTAL, &[]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    }

    async fn revoking_an_access_token_stops_it_and_only_it(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let refresh = signed_in.tokens.refresh_token().unwrap().secret().clone();

        let (status, _) = call(&app, "/revoke", BACKOFFICE, &[("token", &signed_in.access_token)]).await;
        assert_eq!(status, StatusCode::OK, "RFC 7009 answers 200");
        let (_, body) = call(&app, "/introspect", PORTAL, &[("token", &signed_in.access_token)]).await;
        assert_eq!(body["active"], true, "another client cannot revoke it");

        let (status, _) = call(&app, "/revoke", PORTAL, &[("token", &signed_in.access_token), ("token_type_hint", "access_token")]).await;
        assert_eq!(status, StatusCode::OK);
        let (_, body) = call(&app, "/introspect", PORTAL, &[("token", &signed_in.access_token)]).await;
        assert_eq!(body["active"], false);
        let userinfo = rp_http().get(app.url("/userinfo")).bearer_auth(&signed_in.access_token).send().await.unwrap();
        assert_eq!(userinfo.status(), StatusCode::UNAUTHORIZED);
        let (_, body) = call(&app, "/introspect", PORTAL, &[("token", &refresh)]).await;
        assert_eq!(body["active"], true, "the refresh token lives on");
    }

    async fn revoking_a_refresh_token_ends_its_grant(backend) {
        let app = TestApp::spawn(backend).await;
        let rp = app.rp("portal").await;
        let signed_in = app.sign_in(&rp).await;
        let refresh = signed_in.tokens.refresh_token().unwrap().clone();
        let (status, _) = call(&app, "/revoke", PORTAL, &[("token", refresh.secret()), ("token_type_hint", "refresh_token")]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(rp.exchange_refresh_token(&refresh).unwrap().request_async(&rp_http()).await.is_err());
        let (_, body) = call(&app, "/introspect", PORTAL, &[("token", &signed_in.access_token)]).await;
        assert_eq!(body["active"], false, "the grant's access tokens go too");
        let (status, _) = call(&app, "/revoke", PORTAL, &[("token", "not-a-token")]).await;
        assert_eq!(status, StatusCode::OK, "an unknown token is no error");
        let (status, body) = call(&app, "/revoke", ("nobody", "x"), &[("token", "x")]).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    }

    async fn discovery_names_the_revocation_and_introspection_endpoints(backend) {
        let app = TestApp::spawn(backend).await;
        let doc: Value = rp_http().get(app.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["revocation_endpoint"], format!("{}/revoke", app.base));
        assert_eq!(doc["introspection_endpoint"], format!("{}/introspect", app.base));
    }
}
