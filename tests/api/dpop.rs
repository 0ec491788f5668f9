//! DPoP (RFC 9449), driven by a small client over josekit and reqwest that
//! makes its proofs as the RFC's examples do: tokens bound with `cnf.jkt`
//! and `token_type` `DPoP`; userinfo only with a proof of that key; a public
//! client's refresh tokens held to the key; every check of a proof refused
//! on its own; server nonces when required.

use josekit::jws::{JwsHeader, JwsSigner, ES256};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::*;
use crate::each_backend;

/// A client's DPoP key pair.
struct DpopKey {
    signer: Box<dyn JwsSigner>,
    public: Value,
}

/// What a proof claims, beyond a fresh `jti`.
#[derive(Clone, Copy)]
struct For<'a> {
    method: &'a str,
    url: &'a str,
    access_token: Option<&'a str>,
    nonce: Option<&'a str>,
    iat: i64,
}

impl DpopKey {
    fn new() -> DpopKey {
        let pair = ES256.generate_key_pair().unwrap();
        DpopKey {
            signer: Box::new(ES256.signer_from_jwk(&pair.to_jwk_private_key()).unwrap()),
            public: Value::Object(pair.to_jwk_public_key().as_ref().clone()),
        }
    }

    /// An RS256 key whose exported public JWK carries a `kid`, as many
    /// libraries' do.
    fn rsa_with_kid() -> DpopKey {
        let pair = josekit::jws::RS256.generate_key_pair(2048).unwrap();
        let mut public = pair.to_jwk_public_key();
        public.set_key_id("client-key-1");
        let mut private = pair.to_jwk_private_key();
        private.set_key_id("client-key-1");
        DpopKey {
            signer: Box::new(josekit::jws::RS256.signer_from_jwk(&private).unwrap()),
            public: Value::Object(public.as_ref().clone()),
        }
    }

    /// RFC 7638's thumbprint, computed here as the RFC says.
    fn jkt(&self) -> String {
        use base64::Engine;
        use sha2::Digest;
        let k = &self.public;
        let member = |name: &str| k[name].as_str().unwrap().to_string();
        let canonical = match k["kty"].as_str() {
            Some("RSA") => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                member("e"),
                member("n")
            ),
            _ => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                member("crv"),
                member("x"),
                member("y")
            ),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical))
    }

    fn proof(&self, what: For<'_>) -> String {
        self.proof_with_jwk(what, &self.public)
    }

    fn proof_with_jwk(&self, what: For<'_>, jwk: &Value) -> String {
        let mut header = JwsHeader::new();
        header.set_token_type("dpop+jwt");
        header.set_claim("jwk", Some(jwk.clone())).unwrap();
        let mut claims = serde_json::json!({
            "jti": gatehouse::auth::secret::random_id(),
            "htm": what.method,
            "htu": what.url,
            "iat": what.iat,
        });
        if let Some(token) = what.access_token {
            claims["ath"] = gatehouse::oidc::dpop::access_token_hash(token).into();
        }
        if let Some(nonce) = what.nonce {
            claims["nonce"] = nonce.into();
        }
        let payload = serde_json::to_vec(&claims).unwrap();
        josekit::jws::serialize_compact(&payload, &header, self.signer.as_ref()).unwrap()
    }
}

fn at<'a>(app: &TestApp, method: &'a str, url: &'a str) -> For<'a> {
    For {
        method,
        url,
        access_token: None,
        nonce: None,
        iat: app.state.clock.now(),
    }
}

/// POSTs `form` to the token endpoint with these DPoP headers, as `auth`.
async fn token_call(
    app: &TestApp,
    auth: Option<(&str, &str)>,
    proofs: &[&str],
    form: &[(&str, &str)],
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = rp_http().post(app.url("/token")).form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        headers,
    )
}

/// GETs userinfo with this Authorization header and DPoP proof.
async fn userinfo_call(
    app: &TestApp,
    authorization: &str,
    proof: Option<&str>,
) -> (StatusCode, Value, reqwest::header::HeaderMap) {
    let mut request = rp_http()
        .get(app.url("/userinfo"))
        .header("Authorization", authorization);
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        headers,
    )
}

/// Alice's code for `client_id`, and its PKCE verifier.
async fn code_for(app: &TestApp, client_id: &str) -> (String, String) {
    let rp = app.rp(client_id).await;
    let request = app.auth_request(&rp, &[]);
    let (status, location, body) = app.sign_in_through(&request, USERNAME, PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let code = code_from(&location.unwrap(), &request);
    (code, request.verifier.unwrap().secret().clone())
}

/// A code for `client_id` from the browser's existing session.
async fn sso_code_for(app: &TestApp, client_id: &str) -> (String, String) {
    let rp = app.rp(client_id).await;
    let request = app.auth_request(&rp, &[]);
    let (status, location, _) = app.get(&request.url).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let code = code_from(&location.unwrap(), &request);
    (code, request.verifier.unwrap().secret().clone())
}

fn challenge(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

each_backend! {
    async fn a_bound_access_token_reaches_userinfo_only_with_a_proof_of_its_key(backend) {
        let app = TestApp::spawn(backend).await;
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: Value = serde_json::from_str(&discovery).unwrap();
        assert_eq!(discovery["dpop_signing_alg_values_supported"], serde_json::json!(["ES256", "EdDSA", "RS256"]));

        let key = DpopKey::new();
        let token_url = app.url("/token");
        let userinfo_url = app.url("/userinfo");
        let (code, verifier) = code_for(&app, "portal").await;
        let redirect = app.redirect_uri("portal");
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect), ("code_verifier", &verifier)];
        let proof = key.proof(at(&app, "POST", &token_url));
        let (status, tokens, headers) = token_call(&app, Some(("portal", PORTAL_SECRET)), &[&proof], &form).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert_eq!(tokens["token_type"], "DPoP");
        assert!(headers.get("dpop-nonce").is_none(), "no nonce unless required");
        let access = tokens["access_token"].as_str().unwrap().to_string();
        assert_eq!(raw_claims(&access)["cnf"]["jkt"], key.jkt());

        // With its proof, the token works at userinfo.
        let good = |key: &DpopKey| key.proof(For { access_token: Some(&access), ..at(&app, "GET", &userinfo_url) });
        let proof = good(&key);
        let (status, info, _) = userinfo_call(&app, &format!("DPoP {access}"), Some(&proof)).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        assert!(info["sub"].is_string());

        // The same proof again is a replay.
        let (status, body, headers) = userinfo_call(&app, &format!("DPoP {access}"), Some(&proof)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_dpop_proof")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("used before"));
        assert!(challenge(&headers).starts_with("DPoP error=\"invalid_dpop_proof\""), "{}", challenge(&headers));
        assert!(challenge(&headers).contains("algs=\"ES256 EdDSA RS256\""));

        // Sent as a Bearer token, with or without a proof, it is refused.
        let (status, body, headers) = userinfo_call(&app, &format!("Bearer {access}"), None).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("DPoP-bound"));
        assert!(challenge(&headers).starts_with("Bearer"));
        let (status, _, _) = userinfo_call(&app, &format!("Bearer {access}"), Some(&good(&key))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let response = rp_http().post(app.url("/userinfo")).form(&[("access_token", access.as_str())]).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "nor in a form body");

        // Each check of the proof, on its own.
        let other_key = DpopKey::new();
        let cases: Vec<(String, Option<String>, &str, &str)> = vec![
            (format!("DPoP {access}"), None, "invalid_dpop_proof", "needs a DPoP proof"),
            (format!("DPoP {access}"), Some(key.proof(For { access_token: Some(&access), ..at(&app, "GET", &token_url) })), "invalid_dpop_proof", "htu"),
            (format!("DPoP {access}"), Some(key.proof(For { access_token: Some(&access), ..at(&app, "POST", &userinfo_url) })), "invalid_dpop_proof", "htm"),
            (format!("DPoP {access}"), Some(key.proof(at(&app, "GET", &userinfo_url))), "invalid_dpop_proof", "ath"),
            (format!("DPoP {access}"), Some(key.proof(For { access_token: Some("another token"), ..at(&app, "GET", &userinfo_url) })), "invalid_dpop_proof", "ath"),
            (format!("DPoP {access}"), Some(key.proof(For { access_token: Some(&access), iat: app.state.clock.now() - 600, ..at(&app, "GET", &userinfo_url) })), "invalid_dpop_proof", "iat"),
            (format!("DPoP {access}"), Some(good(&other_key)), "invalid_token", "key"),
            (format!("DPoP {access}"), Some(key.proof_with_jwk(For { access_token: Some(&access), ..at(&app, "GET", &userinfo_url) }, &other_key.public)), "invalid_dpop_proof", "signature"),
        ];
        for (authorization, proof, error, words) in cases {
            let (status, body, headers) = userinfo_call(&app, &authorization, proof.as_deref()).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some(error)), "{words}: {body}");
            assert!(body["error_description"].as_str().unwrap().contains(words), "{words}: {body}");
            assert!(challenge(&headers).starts_with(&format!("DPoP error=\"{error}\"")), "{words}");
        }

        // An unbound token sent with the DPoP scheme is refused too.
        let signed_in = app.sso(&app.rp("portal").await).await;
        let plain = signed_in.access_token;
        let proof = key.proof(For { access_token: Some(&plain), ..at(&app, "GET", &userinfo_url) });
        let (status, body, _) = userinfo_call(&app, &format!("DPoP {plain}"), Some(&proof)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_token")), "{body}");
        let (status, _, _) = userinfo_call(&app, &format!("Bearer {plain}"), None).await;
        assert_eq!(status, StatusCode::OK, "as Bearer it works");

        // Introspection says what the token is bound to.
        let response = rp_http().post(app.url("/introspect")).basic_auth("portal", Some(PORTAL_SECRET))
            .form(&[("token", access.as_str())]).send().await.unwrap();
        let body: Value = response.json().await.unwrap();
        assert_eq!((body["active"].as_bool(), body["token_type"].as_str()), (Some(true), Some("DPoP")), "{body}");
        assert_eq!(body["cnf"]["jkt"], key.jkt());

        // An RS256 key exported with a kid, as many libraries do: the proof
        // needs no kid in its header.
        let rsa = DpopKey::rsa_with_kid();
        let (code, verifier) = sso_code_for(&app, "portal").await;
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect), ("code_verifier", &verifier)];
        let (status, rsa_tokens, _) = token_call(&app, Some(("portal", PORTAL_SECRET)), &[&rsa.proof(at(&app, "POST", &token_url))], &form).await;
        assert_eq!(status, StatusCode::OK, "{rsa_tokens}");
        let rsa_access = rsa_tokens["access_token"].as_str().unwrap().to_string();
        assert_eq!(raw_claims(&rsa_access)["cnf"]["jkt"], rsa.jkt());
        let proof = rsa.proof(For { access_token: Some(&rsa_access), ..at(&app, "GET", &userinfo_url) });
        let (status, info, _) = userinfo_call(&app, &format!("DPoP {rsa_access}"), Some(&proof)).await;
        assert_eq!(status, StatusCode::OK, "{info}");

        // A confidential client's refresh token is not bound: it refreshes
        // without a proof (to a Bearer token), or with a new key's.
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let (status, refreshed, _) = token_call(&app, Some(("portal", PORTAL_SECRET)), &[], &[("grant_type", "refresh_token"), ("refresh_token", refresh)]).await;
        assert_eq!((status, refreshed["token_type"].as_str()), (StatusCode::OK, Some("Bearer")), "{refreshed}");
        let next = refreshed["refresh_token"].as_str().unwrap();
        let proof = other_key.proof(at(&app, "POST", &token_url));
        let (status, refreshed, _) = token_call(&app, Some(("portal", PORTAL_SECRET)), &[&proof], &[("grant_type", "refresh_token"), ("refresh_token", next)]).await;
        assert_eq!((status, refreshed["token_type"].as_str()), (StatusCode::OK, Some("DPoP")), "{refreshed}");
        assert_eq!(raw_claims(refreshed["access_token"].as_str().unwrap())["cnf"]["jkt"], other_key.jkt());
    }

    async fn a_public_clients_refresh_tokens_are_held_to_its_key(backend) {
        let app = TestApp::spawn(backend).await;
        let key = DpopKey::new();
        let token_url = app.url("/token");
        let (code, verifier) = code_for(&app, "spa").await;
        let redirect = app.redirect_uri("spa");
        let form = [("grant_type", "authorization_code"), ("client_id", "spa"), ("code", &code), ("redirect_uri", &redirect), ("code_verifier", &verifier)];
        let (status, tokens, _) = token_call(&app, None, &[&key.proof(at(&app, "POST", &token_url))], &form).await;
        assert_eq!((status, tokens["token_type"].as_str()), (StatusCode::OK, Some("DPoP")), "{tokens}");
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let refresh_form = [("grant_type", "refresh_token"), ("client_id", "spa"), ("refresh_token", refresh)];

        // Without a proof, or with another key's, the refresh is refused and
        // the token stays usable.
        let other = DpopKey::new();
        for proofs in [vec![], vec![other.proof(at(&app, "POST", &token_url))]] {
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            let (status, body, _) = token_call(&app, None, &proofs, &refresh_form).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
            assert!(body["error_description"].as_str().unwrap().contains("bound to a DPoP key"), "{body}");
        }
        let (status, refreshed, _) = token_call(&app, None, &[&key.proof(at(&app, "POST", &token_url))], &refresh_form).await;
        assert_eq!((status, refreshed["token_type"].as_str()), (StatusCode::OK, Some("DPoP")), "{refreshed}");
        assert_eq!(raw_claims(refreshed["access_token"].as_str().unwrap())["cnf"]["jkt"], key.jkt());

        // The used token, sent without the key, is not a reuse: the family stays.
        let (status, body, _) = token_call(&app, None, &[], &refresh_form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("bound to a DPoP key"), "{body}");

        // The next refresh token is held to the same key.
        let next = refreshed["refresh_token"].as_str().unwrap();
        let next_form = [("grant_type", "refresh_token"), ("client_id", "spa"), ("refresh_token", next)];
        let (status, body, _) = token_call(&app, None, &[&other.proof(at(&app, "POST", &token_url))], &next_form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")), "{body}");
        let (status, body, _) = token_call(&app, None, &[&key.proof(at(&app, "POST", &token_url))], &next_form).await;
        assert_eq!(status, StatusCode::OK, "the family was not revoked: {body}");
    }

    async fn the_token_endpoint_refuses_each_bad_proof_and_keeps_the_code(backend) {
        let app = TestApp::spawn(backend).await;
        let key = DpopKey::new();
        let token_url = app.url("/token");
        let (code, verifier) = code_for(&app, "portal").await;
        let redirect = app.redirect_uri("portal");
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect), ("code_verifier", &verifier)];
        let mut private = key.public.clone();
        private["d"] = "AAAA".into();
        let used = key.proof(at(&app, "POST", &token_url));
        let (status, _, _) = token_call(&app, Some(("portal", PORTAL_SECRET)), &[&used], &[("grant_type", "refresh_token"), ("refresh_token", "nothing")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a refused refresh uses up its proof");
        let cases: Vec<(Vec<String>, &str)> = vec![
            (vec![key.proof(at(&app, "POST", &app.url("/userinfo")))], "htu"),
            (vec![key.proof(at(&app, "GET", &token_url))], "htm"),
            (vec![key.proof(For { iat: app.state.clock.now() + 120, ..at(&app, "POST", &token_url) })], "iat"),
            (vec![key.proof_with_jwk(at(&app, "POST", &token_url), &private)], "public key"),
            (vec![used.clone()], "used before"),
            (vec![key.proof(at(&app, "POST", &token_url)), key.proof(at(&app, "POST", &token_url))], "one DPoP header"),
            (vec!["not.a.jwt".into()], "DPoP proof"),
        ];
        for (proofs, words) in cases {
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            let (status, body, _) = token_call(&app, Some(("portal", PORTAL_SECRET)), &proofs, &form).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_dpop_proof")), "{words}: {body}");
            assert!(body["error_description"].as_str().unwrap().contains(words), "{words}: {body}");
        }
        // A request refused for its client leaves its proof unused.
        let retry = key.proof(at(&app, "POST", &token_url));
        let (status, body, _) = token_call(&app, Some(("portal", "wrong")), &[&retry], &form).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));

        // None of that used the code up.
        let (status, tokens, _) = token_call(&app, Some(("portal", PORTAL_SECRET)), &[&retry], &form).await;
        assert_eq!((status, tokens["token_type"].as_str()), (StatusCode::OK, Some("DPoP")), "{tokens}");
    }

    async fn server_nonces_are_required_when_set_and_work_across_a_period(backend) {
        let app = TestApp::spawn_with(backend, |c| c.dpop_require_nonce = true).await;
        let key = DpopKey::new();
        let token_url = app.url("/token");
        let userinfo_url = app.url("/userinfo");
        let (code, verifier) = code_for(&app, "portal").await;
        let redirect = app.redirect_uri("portal");
        let form = [("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", &redirect), ("code_verifier", &verifier)];
        let auth = Some(("portal", PORTAL_SECRET));

        for nonce in [None, Some("made-up")] {
            let proof = key.proof(For { nonce, ..at(&app, "POST", &token_url) });
            let (status, body, headers) = token_call(&app, auth, &[&proof], &form).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("use_dpop_nonce")), "{body}");
            assert!(headers.get("dpop-nonce").is_some());
        }
        let (_, _, headers) = token_call(&app, auth, &[&key.proof(at(&app, "POST", &token_url))], &form).await;
        let nonce = headers["dpop-nonce"].to_str().unwrap().to_string();
        let proof = key.proof(For { nonce: Some(&nonce), ..at(&app, "POST", &token_url) });
        let (status, tokens, headers) = token_call(&app, auth, &[&proof], &form).await;
        assert_eq!((status, tokens["token_type"].as_str()), (StatusCode::OK, Some("DPoP")), "{tokens}");
        assert!(headers.get("dpop-nonce").is_some(), "a success hands out the nonce too");
        let access = tokens["access_token"].as_str().unwrap().to_string();

        // At userinfo: a challenge with the nonce, then the answer.
        let proof = key.proof(For { access_token: Some(&access), ..at(&app, "GET", &userinfo_url) });
        let (status, body, headers) = userinfo_call(&app, &format!("DPoP {access}"), Some(&proof)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("use_dpop_nonce")), "{body}");
        assert!(challenge(&headers).starts_with("DPoP error=\"use_dpop_nonce\""));
        let fresh = headers["dpop-nonce"].to_str().unwrap().to_string();

        // A nonce stays good into the next period, not beyond it.
        app.state.clock.advance(gatehouse::oidc::dpop::NONCE_PERIOD_SECS);
        let proof = key.proof(For { access_token: Some(&access), nonce: Some(&fresh), ..at(&app, "GET", &userinfo_url) });
        let (status, info, _) = userinfo_call(&app, &format!("DPoP {access}"), Some(&proof)).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        app.state.clock.advance(gatehouse::oidc::dpop::NONCE_PERIOD_SECS);
        let proof = key.proof(For { access_token: Some(&access), nonce: Some(&fresh), ..at(&app, "GET", &userinfo_url) });
        let (status, body, _) = userinfo_call(&app, &format!("DPoP {access}"), Some(&proof)).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("use_dpop_nonce")), "{body}");
    }
}
