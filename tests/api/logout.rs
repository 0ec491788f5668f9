//! RP-initiated logout and back-channel logout, with real receivers.

use std::sync::{Arc, Mutex};

use josekit::jws::{EdDSA, JwsVerifier, ES256, RS256};
use openidconnect::OAuth2TokenResponse;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::each_backend;

/// A relying party's back-channel logout endpoint: records what it receives,
/// and answers 503 while `down`.
#[derive(Clone, Default)]
struct Receiver {
    tokens: Arc<Mutex<Vec<String>>>,
    attempts: Arc<Mutex<usize>>,
    down: Arc<Mutex<bool>>,
}

impl Receiver {
    async fn start(port: u16) -> (Receiver, String) {
        let receiver = Receiver::default();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let url = format!(
            "http://{}/backchannel-logout",
            listener.local_addr().unwrap()
        );
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/backchannel-logout",
            axum::routing::post(move |body: axum::body::Bytes| {
                let state = state.clone();
                async move {
                    *state.attempts.lock().unwrap() += 1;
                    if *state.down.lock().unwrap() {
                        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let token = url::form_urlencoded::parse(&body)
                        .find(|(k, _)| k == "logout_token")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    state.tokens.lock().unwrap().push(token);
                    axum::http::StatusCode::OK
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn tokens(&self) -> Vec<String> {
        self.tokens.lock().unwrap().clone()
    }

    fn attempts(&self) -> usize {
        *self.attempts.lock().unwrap()
    }
}

/// Waits (bounded) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

const SHOP_SECRET: &str = "shop-secret-0123456789";
const DESK_SECRET: &str = "desk-secret-0123456789";

/// Registers "shop" (RS256) and "desk" (ES256) with back-channel logout URIs.
async fn register_receivers(app: &TestApp, shop_uri: &str, desk_uri: &str) {
    let now = app.state.clock.now();
    for (client_id, secret, alg, uri) in [
        ("shop", SHOP_SECRET, "RS256", shop_uri),
        ("desk", DESK_SECRET, "ES256", desk_uri),
    ] {
        let hash = gatehouse::auth::password::hash(secret, CHEAP).unwrap();
        app.state
            .store
            .create_client(gatehouse::store::NewClient {
                client_id,
                secret_hash: Some(&hash),
                redirect_uris: &[app.redirect_uri(client_id)],
                post_logout_redirect_uris: &[format!("http://127.0.0.1:9/{client_id}/signed-out")],
                backchannel_logout_uri: Some(uri),
                id_token_alg: alg,
                consent: false,
                require_par: false,
                jwks: None,
                jwks_uri: None,
                device_grant: false,
                now,
            })
            .await
            .unwrap();
    }
}

async fn rp_for(app: &TestApp, client_id: &str, secret: &str) -> Rp {
    let http = rp_http();
    let metadata = openidconnect::core::CoreProviderMetadata::discover_async(
        openidconnect::IssuerUrl::new(app.base.clone()).unwrap(),
        &http,
    )
    .await
    .unwrap();
    openidconnect::core::CoreClient::from_provider_metadata(
        metadata,
        openidconnect::ClientId::new(client_id.into()),
        Some(openidconnect::ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(openidconnect::RedirectUrl::new(app.redirect_uri(client_id)).unwrap())
}

/// Verifies a logout token as a relying party would: signature by a key from
/// the JWKS, then its claims.
async fn verify_logout_token(app: &TestApp, token: &str, client_id: &str, sid: &str) {
    let jwks: Value = rp_http()
        .get(app.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = josekit::jwt::decode_header(token).unwrap();
    let kid = header
        .claim("kid")
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    assert_eq!(
        header.claim("typ").and_then(Value::as_str),
        Some("logout+jwt")
    );
    let jwk_json = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the key is published")
        .clone();
    let jwk = josekit::jwk::Jwk::from_map(jwk_json.as_object().unwrap().clone()).unwrap();
    let verifier: Box<dyn JwsVerifier> = match jwk.algorithm() {
        Some("RS256") => Box::new(RS256.verifier_from_jwk(&jwk).unwrap()),
        Some("ES256") => Box::new(ES256.verifier_from_jwk(&jwk).unwrap()),
        _ => Box::new(EdDSA.verifier_from_jwk(&jwk).unwrap()),
    };
    let (payload, _) = josekit::jws::deserialize_compact(token, verifier.as_ref())
        .expect("the signature verifies");
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["aud"], client_id);
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["sub"], "user-alice");
    assert!(claims["iat"].is_i64() && claims["jti"].is_string());
    assert_eq!(
        claims["events"]["http://schemas.openid.net/event/backchannel-logout"],
        serde_json::json!({})
    );
    assert!(claims.get("nonce").is_none());
}

fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    app.url(&format!("/logout?{query}"))
}

async fn is_signed_in(app: &TestApp, rp: &Rp) -> bool {
    let probe = app.auth_request(rp, &[("prompt", "none")]);
    let (_, location, _) = app.get(&probe.url).await;
    !query_of(&location.unwrap()).contains_key("error")
}

each_backend! {
    async fn logout_with_a_hint_signs_out_everywhere_and_tells_every_relying_party(backend) {
        let app = TestApp::spawn(backend).await;
        let (shop_receiver, shop_uri) = Receiver::start(0).await;
        let (desk_receiver, desk_uri) = Receiver::start(0).await;
        register_receivers(&app, &shop_uri, &desk_uri).await;
        let shop = rp_for(&app, "shop", SHOP_SECRET).await;
        let desk = rp_for(&app, "desk", DESK_SECRET).await;
        let signed_in = app.sign_in(&shop).await;
        app.sso(&desk).await;
        let sid = signed_in.sid();
        let hint = signed_in.tokens.extra_fields().id_token().unwrap().to_string();

        let url = logout_url(&app, &[("id_token_hint", &hint), ("post_logout_redirect_uri", "http://127.0.0.1:9/shop/signed-out"), ("state", "bye")]);
        let (status, location, _) = app.get(&url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location.as_deref(), Some("http://127.0.0.1:9/shop/signed-out?state=bye"));
        assert!(!is_signed_in(&app, &shop).await, "the provider session ended");

        eventually("both relying parties received a logout token", || shop_receiver.tokens().len() == 1 && desk_receiver.tokens().len() == 1).await;
        verify_logout_token(&app, &shop_receiver.tokens()[0], "shop", &sid).await;
        verify_logout_token(&app, &desk_receiver.tokens()[0], "desk", &sid).await;
        let status = rp_http().get(app.url("/userinfo")).bearer_auth(&signed_in.access_token).send().await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "what the session granted is revoked");
    }

    async fn signing_in_over_a_session_ends_it_as_a_logout_does(backend) {
        let app = TestApp::spawn(backend).await;
        let (shop_receiver, shop_uri) = Receiver::start(0).await;
        let (_desk_receiver, desk_uri) = Receiver::start(0).await;
        register_receivers(&app, &shop_uri, &desk_uri).await;
        let shop = rp_for(&app, "shop", SHOP_SECRET).await;
        let alice = app.sign_in(&shop).await;
        let alice_sid = alice.sid();
        app.add_user("bob", "bob's long password").await;

        // Bob signs in in the same browser.
        let request = app.auth_request(&shop, &[("prompt", "login")]);
        let (status, location, body) = app.sign_in_through(&request, "bob", "bob's long password").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let bob = app.exchange(&shop, code_from(&location.unwrap(), &request), request).await;
        assert_ne!(bob.sid(), alice_sid);

        eventually("the relying party was told alice's session ended", || shop_receiver.tokens().len() == 1).await;
        verify_logout_token(&app, &shop_receiver.tokens()[0], "shop", &alice_sid).await;
        let status = rp_http().get(app.url("/userinfo")).bearer_auth(&alice.access_token).send().await.unwrap().status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "what alice's session granted is revoked");
        let refreshed = shop.exchange_refresh_token(alice.tokens.refresh_token().unwrap()).unwrap().request_async(&rp_http()).await;
        assert!(refreshed.is_err(), "alice's refresh token is revoked");
        let status = rp_http().get(app.url("/userinfo")).bearer_auth(&bob.access_token).send().await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "bob's session lives");
    }

    async fn logout_without_a_hint_asks_first(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        let (status, location, page) = app.get(&logout_url(&app, &[])).await;
        assert_eq!(status, StatusCode::OK);
        assert!(location.is_none());
        assert!(page.contains("Sign out?"));
        let (_, _, spoofed) = app.get(&logout_url(&app, &[("client_id", "Your bank requires you")])).await;
        assert!(!spoofed.contains("Your bank"), "only registered clients are named");
        assert!(is_signed_in(&app, &portal).await, "nothing ends before the user confirms");
        let (status, _, _) = app.post_form("/logout/confirm", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the confirmation needs its CSRF token");
        assert!(is_signed_in(&app, &portal).await);
        let (status, _, page) = app.submit_in(&app.browser, &page, "/logout/confirm", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("You are signed out"));
        assert!(!is_signed_in(&app, &portal).await);
    }

    async fn an_unregistered_post_logout_redirect_uri_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let signed_in = app.sign_in(&portal).await;
        let hint = signed_in.tokens.extra_fields().id_token().unwrap().to_string();
        for params in [
            vec![("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", "https://evil.example/")],
            vec![("post_logout_redirect_uri", "http://127.0.0.1:9/shop/signed-out")],
            vec![("id_token_hint", "not-a-token")],
            vec![("id_token_hint", hint.as_str()), ("client_id", "backoffice")],
            vec![("id_token_hint", signed_in.access_token.as_str())],
        ] {
            let (status, location, _) = app.get(&logout_url(&app, &params)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{params:?}");
            assert!(location.is_none(), "never redirected: {params:?}");
        }
        assert!(is_signed_in(&app, &portal).await, "the session is intact");
    }

    async fn a_receiver_that_is_down_gets_its_token_later_even_across_a_restart(backend) {
        let mut app = TestApp::spawn(backend).await;
        let (shop_receiver, shop_uri) = Receiver::start(0).await;
        let (_, desk_uri) = Receiver::start(0).await;
        register_receivers(&app, &shop_uri, &desk_uri).await;
        *shop_receiver.down.lock().unwrap() = true;
        let shop = rp_for(&app, "shop", SHOP_SECRET).await;
        let signed_in = app.sign_in(&shop).await;
        let hint = signed_in.tokens.extra_fields().id_token().unwrap().to_string();
        let (status, _, _) = app.get(&logout_url(&app, &[("id_token_hint", &hint)])).await;
        assert_eq!(status, StatusCode::OK);
        eventually("the first attempt failed", || shop_receiver.attempts() >= 1).await;
        assert!(shop_receiver.tokens().is_empty());
        assert_eq!(app.state.store.pending_logout_deliveries().await.unwrap(), 1);

        app.restart().await;
        *shop_receiver.down.lock().unwrap() = false;
        app.state.clock.advance(60);
        eventually("the retry delivered the token", || shop_receiver.tokens().len() == 1).await;
        verify_logout_token(&app, &shop_receiver.tokens()[0], "shop", &signed_in.sid()).await;
        for _ in 0..50 {
            if app.state.store.pending_logout_deliveries().await.unwrap() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(app.state.store.pending_logout_deliveries().await.unwrap(), 0);
        assert_eq!(shop_receiver.tokens().len(), 1, "delivered once");
    }

    async fn two_nodes_sending_at_once_deliver_each_logout_once(backend) {
        let app = TestApp::spawn(backend).await;
        let (shop_receiver, shop_uri) = Receiver::start(0).await;
        let (desk_receiver, desk_uri) = Receiver::start(0).await;
        register_receivers(&app, &shop_uri, &desk_uri).await;
        let other = app.second_node().await;
        for _ in 0..5 {
            let shop = rp_for(&app, "shop", SHOP_SECRET).await;
            let desk = rp_for(&app, "desk", DESK_SECRET).await;
            let browser = new_browser();
            let request = app.auth_request(&shop, &[]);
            let (_, location, _) = app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
            app.exchange(&shop, code_from(&location.unwrap(), &request), request).await;
            let request = app.auth_request(&desk, &[]);
            let (_, location, _) = app.get_in(&browser, &request.url).await;
            app.exchange(&desk, code_from(&location.unwrap(), &request), request).await;
        }
        // Ten deliveries queued at once, claimed by both nodes (and the server's own sender).
        let ended = app.state.store.end_sessions_of_user("user-alice", None, app.state.clock.now()).await.unwrap();
        assert_eq!(ended, 5);
        let (a, b) = tokio::join!(gatehouse::service::backchannel::deliver_due(&app.state), gatehouse::service::backchannel::deliver_due(&other));
        a.unwrap();
        b.unwrap();
        eventually("every delivery was made", || shop_receiver.tokens().len() + desk_receiver.tokens().len() >= 10).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(shop_receiver.tokens().len(), 5, "each shop logout once");
        assert_eq!(desk_receiver.tokens().len(), 5, "each desk logout once");
    }

    async fn discovery_advertises_logout(backend) {
        let app = TestApp::spawn(backend).await;
        let doc: Value = rp_http().get(app.url("/.well-known/openid-configuration")).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["end_session_endpoint"], format!("{}/logout", app.base));
        assert_eq!(doc["backchannel_logout_supported"], true);
        assert_eq!(doc["backchannel_logout_session_supported"], true);
    }
}
