//! `private_key_jwt` (RFC 7523, OpenID Connect Core §9): a client with only
//! a key pair authenticates at the token, PAR, revocation and introspection
//! endpoints with assertions it signs; each check has its failure.

use std::sync::{Arc, Mutex};

use josekit::jws::{JwsHeader, JwsSigner, ES256};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::*;
use crate::each_backend;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A key pair of the client's: its signer and its public JWK, named `kid`.
struct ClientKey {
    signer: Box<dyn JwsSigner>,
    public: Value,
    kid: String,
}

impl ClientKey {
    fn new(kid: &str) -> ClientKey {
        let pair = ES256.generate_key_pair().unwrap();
        let mut public = serde_json::to_value(pair.to_jwk_public_key().as_ref()).unwrap();
        public["kid"] = kid.into();
        let signer = ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap();
        ClientKey {
            signer: Box::new(signer),
            public,
            kid: kid.into(),
        }
    }

    fn jwks(&self) -> String {
        json!({ "keys": [self.public] }).to_string()
    }

    /// An assertion with `claims` over the defaults for `client_id` and `aud`.
    fn sign(&self, claims: Value) -> String {
        let mut header = JwsHeader::new();
        header.set_key_id(&self.kid);
        josekit::jws::serialize_compact(
            &serde_json::to_vec(&claims).unwrap(),
            &header,
            self.signer.as_ref(),
        )
        .unwrap()
    }
}

/// The claims of a good assertion of `client_id` for `aud`, now.
fn claims(app: &TestApp, client_id: &str, aud: &str) -> Value {
    let now = app.state.clock.now();
    json!({ "iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 120, "jti": gatehouse::auth::secret::random_token(12) })
}

/// Registers client `client_id` with keys (a JWK Set, or a URI), no secret.
async fn register_keyed(
    app: &TestApp,
    client_id: &str,
    jwks: Option<&str>,
    jwks_uri: Option<&str>,
) {
    app.state
        .store
        .create_client(gatehouse::store::NewClient {
            client_id,
            secret_hash: None,
            redirect_uris: &[app.redirect_uri(client_id)],
            post_logout_redirect_uris: &[],
            backchannel_logout_uri: None,
            id_token_alg: "ES256",
            consent: false,
            require_par: false,
            jwks,
            jwks_uri,
            device_grant: false,
            now: app.state.clock.now(),
        })
        .await
        .unwrap();
}

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = rp_http()
        .post(app.url(path))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A code for `client_id`, from alice's sign-in in a new browser.
async fn code_for(app: &TestApp, client_id: &str) -> (String, String) {
    let rp = app.rp_with(client_id, None).await;
    let request = app.auth_request(&rp, &[]);
    let (status, location, body) = app
        .sign_in_through_in(&new_browser(), &request, USERNAME, PASSWORD)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let code = code_from(&location.unwrap(), &request);
    (code, request.verifier.unwrap().secret().clone())
}

async fn redeem(app: &TestApp, client_id: &str, assertion: &str) -> (StatusCode, Value) {
    let (code, verifier) = code_for(app, client_id).await;
    let redirect = app.redirect_uri(client_id);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier.as_str()),
        ("client_id", client_id),
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    post(app, "/token", &form).await
}

each_backend! {
    async fn a_client_with_only_a_key_pair_signs_in_its_users(backend) {
        let app = TestApp::spawn(backend).await;
        let key = ClientKey::new("k1");
        register_keyed(&app, "keyed", Some(&key.jwks()), None).await;
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: Value = serde_json::from_str(&discovery).unwrap();
        assert!(discovery["token_endpoint_auth_methods_supported"].as_array().unwrap().contains(&json!("private_key_jwt")));
        assert_eq!(discovery["token_endpoint_auth_signing_alg_values_supported"], json!(["RS256", "ES256", "EdDSA"]));

        let token_url = app.url("/token");
        let assertion = key.sign(claims(&app, "keyed", &token_url));
        let (status, tokens) = redeem(&app, "keyed", &assertion).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(raw_claims(tokens["id_token"].as_str().unwrap())["aud"], "keyed");

        // The same assertion again, with a new code: refused.
        let (status, body) = redeem(&app, "keyed", &assertion).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        assert!(body["error_description"].as_str().unwrap().contains("used before"), "{body}");

        // The issuer is an audience too; the refresh grant takes an assertion as well.
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let assertion = key.sign(claims(&app, "keyed", &app.base));
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
        let (status, body) = post(&app, "/token", &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let refresh = body["refresh_token"].as_str().unwrap().to_string();

        // Introspection and revocation, each with an assertion for its own URL.
        let assertion = key.sign(claims(&app, "keyed", &app.url("/introspect")));
        let form = [("token", refresh.as_str()), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
        let (status, body) = post(&app, "/introspect", &form).await;
        assert_eq!((status, &body["active"]), (StatusCode::OK, &json!(true)), "{body}");
        let assertion = key.sign(claims(&app, "keyed", &app.url("/revoke")));
        let form = [("token", refresh.as_str()), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
        let (status, _) = post(&app, "/revoke", &form).await;
        assert_eq!(status, StatusCode::OK);
        let assertion = key.sign(claims(&app, "keyed", &app.url("/introspect")));
        let form = [("token", refresh.as_str()), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
        let (_, body) = post(&app, "/introspect", &form).await;
        assert_eq!(body["active"], json!(false), "revoked");

        // And pushed requests.
        let rp = app.rp_with("keyed", None).await;
        let request = app.auth_request(&rp, &[]);
        let mut form: Vec<(String, String)> = url::Url::parse(&request.url).unwrap().query_pairs().into_owned().collect();
        let assertion = key.sign(claims(&app, "keyed", &app.url("/par")));
        form.push(("client_assertion_type".into(), ASSERTION_TYPE.into()));
        form.push(("client_assertion".into(), assertion));
        let response = rp_http().post(app.url("/par")).form(&form).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    async fn every_check_of_an_assertion_has_its_refusal(backend) {
        let app = TestApp::spawn(backend).await;
        let key = ClientKey::new("k1");
        let stranger = ClientKey::new("k1");
        register_keyed(&app, "keyed", Some(&key.jwks()), None).await;
        let token_url = app.url("/token");
        let good = claims(&app, "keyed", &token_url);
        let changed = |name: &str, value: Value| {
            let mut c = good.clone();
            c[name] = value;
            c
        };
        let now = app.state.clock.now();
        let cases = [
            (key.sign(changed("aud", app.url("/userinfo").into())), "aud"),
            (key.sign(changed("aud", "https://elsewhere.example/token".into())), "aud"),
            (key.sign(changed("exp", (now - 1).into())), "expired"),
            (key.sign(changed("exp", (now + 3600).into())), "5 minutes"),
            (key.sign(changed("iss", "portal".into())), "iss and sub"),
            (key.sign(changed("jti", Value::Null)), "jti"),
            (stranger.sign(good.clone()), "signature"),
            (ClientKey::new("k9").sign(good.clone()), "no key"),
            ("not.a.jwt".to_string(), "signature"),
        ];
        for (assertion, words) in cases {
            let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "keyed"), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
            let (status, body) = post(&app, "/token", &form).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")), "{words}: {body}");
            assert!(body["error_description"].as_str().unwrap().contains(words), "{words}: {body}");
        }
        // Another client's assertion type, a secret beside it, or none at all.
        let assertion = key.sign(good.clone());
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_assertion_type", "urn:other"), ("client_assertion", assertion.as_str())];
        assert_eq!(post(&app, "/token", &form).await.0, StatusCode::BAD_REQUEST);
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_secret", "s"), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
        assert_eq!(post(&app, "/token", &form).await.0, StatusCode::BAD_REQUEST);
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "keyed")];
        let (status, body) = post(&app, "/token", &form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a keyed client is not public: {body}");
        let response = rp_http().post(app.url("/token")).basic_auth("keyed", Some("guess")).form(&[("grant_type", "refresh_token"), ("refresh_token", "x")]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert!(body["error_description"].as_str().unwrap().contains("private_key_jwt"), "{body}");
        // A client with a secret cannot use an assertion instead.
        let portal = ClientKey::new("p1");
        let assertion = portal.sign(claims(&app, "portal", &token_url));
        let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
        assert_eq!(post(&app, "/token", &form).await.0, StatusCode::UNAUTHORIZED);
    }

    async fn keys_from_a_jwks_uri_are_fetched_again_for_a_new_kid_at_most_once_a_minute(backend) {
        let app = TestApp::spawn(backend).await;
        let (first, second) = (ClientKey::new("k1"), ClientKey::new("k2"));
        let served = Arc::new(Mutex::new((first.jwks(), 0u32)));
        let uri = serve_jwks(Arc::clone(&served)).await;
        register_keyed(&app, "fetched", None, Some(&uri)).await;
        let token_url = app.url("/token");
        let refresh = |assertion: String| {
            let app = &app;
            async move {
                let form = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "fetched"), ("client_assertion_type", ASSERTION_TYPE), ("client_assertion", assertion.as_str())];
                post(app, "/token", &form).await
            }
        };
        // Authenticated (the refresh token itself is then refused as invalid_grant).
        let (status, body) = refresh(first.sign(claims(&app, "fetched", &token_url))).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
        let (status, _) = refresh(first.sign(claims(&app, "fetched", &token_url))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(served.lock().unwrap().1, 1, "fetched once, then cached");

        // The client rotates to k2: within the minute the cache stands.
        served.lock().unwrap().0 = second.jwks();
        let (status, _) = refresh(second.sign(claims(&app, "fetched", &token_url))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(served.lock().unwrap().1, 1, "no refetch within a minute");
        app.state.clock.advance(61);
        let (status, body) = refresh(second.sign(claims(&app, "fetched", &token_url))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "refetched for the new kid: {body}");
        assert_eq!(served.lock().unwrap().1, 2);
        // The old key is gone with the old set.
        let (status, _) = refresh(first.sign(claims(&app, "fetched", &token_url))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(served.lock().unwrap().1, 2, "an unknown kid within the minute fetches nothing");

        // Keys in use are fetched again after ten minutes: one withdrawn stops working.
        served.lock().unwrap().0 = first.jwks();
        app.state.clock.advance(601);
        let (status, _) = refresh(second.sign(claims(&app, "fetched", &token_url))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "k2 was withdrawn");
        assert_eq!(served.lock().unwrap().1, 3);

        // A set that also publishes an encryption key is still read.
        let mut both: Value = serde_json::from_str(&first.jwks()).unwrap();
        let mut enc = first.public.clone();
        enc["use"] = "enc".into();
        enc["kid"] = "e1".into();
        both["keys"].as_array_mut().unwrap().push(enc);
        served.lock().unwrap().0 = both.to_string();
        app.state.clock.advance(601);
        let (status, body) = refresh(first.sign(claims(&app, "fetched", &token_url))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(served.lock().unwrap().1, 4);
    }
}

/// Serves `served.0` as a JWK Set on loopback, counting requests in `served.1`.
async fn serve_jwks(served: Arc<Mutex<(String, u32)>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let route = axum::routing::get(move || {
        let served = Arc::clone(&served);
        async move {
            let mut served = served.lock().unwrap();
            served.1 += 1;
            ([("content-type", "application/json")], served.0.clone())
        }
    });
    let router = axum::Router::new().route("/jwks", route);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}/jwks")
}
