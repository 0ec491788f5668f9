//! Relying parties in the console: operators register, edit and rotate;
//! the secret is shown once and works at the token endpoint.

use reqwest::StatusCode;

use crate::admin::{console_first_visit, link_named};
use crate::common::*;
use crate::each_backend;

fn input_value(page: &str, id: &str) -> String {
    let start = page
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("an input {id} in {page}"));
    let rest = &page[start..];
    let value = rest.find(r#"value=""#).unwrap() + 7;
    html_unescape(&rest[value..value + rest[value..].find('"').unwrap()])
}

/// A full code flow as alice through `rp`: the token endpoint accepted its credentials.
async fn code_flow_works(app: &TestApp, rp: &Rp) -> bool {
    let request = app.auth_request(rp, &[]);
    let (_, location, _) = app.get_in(&app.browser, &request.url).await;
    let location = location.unwrap();
    let location = if location.starts_with("/login") {
        let browser = new_browser();
        app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD)
            .await
            .1
            .unwrap()
    } else {
        location
    };
    let code = code_from(&location, &request);
    let mut exchange = rp
        .exchange_code(openidconnect::AuthorizationCode::new(code))
        .unwrap();
    if let Some(verifier) = request.verifier {
        exchange = exchange.set_pkce_verifier(verifier);
    }
    exchange.request_async(&rp_http()).await.is_ok()
}

each_backend! {
    async fn an_operator_registers_a_client_whose_secret_is_shown_once_and_works(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        console_first_visit(&app, &app.browser, "otto").await;
        let (_, _, overview) = app.get("/admin").await;
        let (status, _, list) = app.get(&link_named(&overview, "Relying parties")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(list.contains(r#"data-client-id="portal""#));
        let (_, _, form) = app.get(&link_named(&list, "Register a relying party")).await;
        let redirect = app.redirect_uri("crm");
        let (status, _, page) = app.submit_in(&app.browser, &form, "/admin/clients/new", &[("client_id", "crm"), ("kind", "confidential"), ("redirect_uris", "https://crm.example/cb#frag"), ("id_token_alg", "ES256")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("must not have a fragment") && page.contains(r#"value="crm""#), "{page}");
        let (status, _, page) = app.submit_in(&app.browser, &form, "/admin/clients/new", &[("client_id", "portal"), ("kind", "public"), ("redirect_uris", &redirect), ("id_token_alg", "ES256")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("exists already"));

        let (status, _, shown) = app.submit_in(&app.browser, &form, "/admin/clients/new", &[("client_id", "crm"), ("kind", "confidential"), ("redirect_uris", &format!("{redirect}\r\n")), ("id_token_alg", "ES256")]).await;
        assert_eq!(status, StatusCode::OK, "{shown}");
        let secret = input_value(&shown, "client-secret");
        assert!(secret.len() >= 32);
        let stored = app.state.store.client("crm").await.unwrap().unwrap();
        assert_ne!(stored.secret_hash.as_deref(), Some(secret.as_str()), "only a hash is kept");
        assert!(stored.secret_hash.unwrap().starts_with("$argon2id$"));
        assert_eq!(stored.id_token_alg, "ES256");
        assert!(code_flow_works(&app, &app.rp_with("crm", Some(&secret)).await).await, "the shown secret works");
        assert!(!code_flow_works(&app, &app.rp_with("crm", Some("wrong")).await).await);
        let (_, _, page) = app.get("/admin/clients/crm").await;
        assert!(!page.contains(&secret), "the secret is not shown again");

        // Rotation: the old secret stops working, the new one works.
        let (status, _, rotated) = app.submit_in(&app.browser, &page, "/admin/clients/crm/secret", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let new_secret = input_value(&rotated, "client-secret");
        assert_ne!(new_secret, secret);
        assert!(!code_flow_works(&app, &app.rp_with("crm", Some(&secret)).await).await, "the old secret is refused");
        assert!(code_flow_works(&app, &app.rp_with("crm", Some(&new_secret)).await).await);

        let of_acme: Vec<String> = app.state.store.audit_log(&gatehouse::store::AuditQuery { account_id: Some("acct-acme"), kind: None, user_id: None, from: gatehouse::store::Seek::First, limit: 50 }).await.unwrap().rows.into_iter().map(|e| e.kind).collect();
        assert!(!of_acme.iter().any(|k| k.starts_with("client_")), "relying parties are no account's events: {of_acme:?}");
        let (_, _, provider) = app.get("/admin/audit?provider=1").await;
        assert!(provider.contains(r#"data-kind="client_created""#) && provider.contains(r#"data-kind="client_secret_rotated""#), "{provider}");

        // Granting the admin scope: an unknown account is refused and nothing is saved.
        let (_, _, page) = app.get("/admin/clients/crm").await;
        let (status, _, refused) = app.submit_in(&app.browser, &page, "/admin/clients/crm", &[("redirect_uris", "https://changed.example/cb"), ("id_token_alg", "ES256"), ("admin_scope", "acct-nowhere")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("There is no such account."));
        let crm = app.state.store.client("crm").await.unwrap().unwrap();
        assert_eq!((crm.redirect_uris, crm.admin_scope), (vec![redirect.clone()], None));
        let (status, _, _) = app.submit_in(&app.browser, &page, "/admin/clients/crm", &[("redirect_uris", &redirect), ("id_token_alg", "ES256"), ("admin_scope", "acct-fortress")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(app.state.store.client("crm").await.unwrap().unwrap().admin_scope.as_deref(), Some("acct-fortress"));
    }

    async fn an_operator_edits_a_client_and_registers_a_public_one(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        console_first_visit(&app, &app.browser, "otto").await;
        let (_, _, page) = app.get("/admin/clients/portal").await;
        assert!(html_unescape(&page).contains(&app.redirect_uri("portal")));
        let (status, _, refused) = app.submit_in(&app.browser, &page, "/admin/clients/portal", &[("redirect_uris", "not a uri"), ("id_token_alg", "RS256")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("not an absolute URI"));
        let uris = format!("{}\nhttps://portal.example/cb", app.redirect_uri("portal"));
        let (status, location, _) = app.submit_in(&app.browser, &page, "/admin/clients/portal", &[("redirect_uris", &uris), ("post_logout_redirect_uris", "https://portal.example/bye"), ("backchannel_logout_uri", "https://portal.example/bc"), ("id_token_alg", "EdDSA"), ("client_id", "hijack"), ("kind", "public")]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/clients/portal?saved=1")));
        let portal = app.state.store.client("portal").await.unwrap().unwrap();
        assert_eq!(portal.redirect_uris.len(), 2);
        assert_eq!(portal.post_logout_redirect_uris, vec!["https://portal.example/bye"]);
        assert_eq!(portal.backchannel_logout_uri.as_deref(), Some("https://portal.example/bc"));
        assert_eq!(portal.id_token_alg, "EdDSA");
        assert!(!portal.is_public(), "the kind stays");
        assert!(!portal.consent, "first-party unless ticked");
        let (_, _, page) = app.get("/admin/clients/portal").await;
        let (status, _, _) = app.submit_in(&app.browser, &page, "/admin/clients/portal", &[("redirect_uris", &uris), ("id_token_alg", "EdDSA"), ("consent", "on")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(app.state.store.client("portal").await.unwrap().unwrap().consent);
        let (_, _, page) = app.get("/admin/clients/portal").await;
        assert!(page.contains(r#"name="consent" checked"#), "{page}");
        let (_, _, list) = app.get("/admin/clients").await;
        assert!(list.contains("third-party (asks for consent)"));
        assert!(app.state.store.client("hijack").await.unwrap().is_none(), "the id stays");

        let (_, _, form) = app.get("/admin/clients/new").await;
        let (status, location, _) = app.submit_in(&app.browser, &form, "/admin/clients/new", &[("client_id", "mobile"), ("kind", "public"), ("redirect_uris", &app.redirect_uri("mobile")), ("id_token_alg", "RS256")]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/clients/mobile?saved=1")));
        assert!(app.state.store.client("mobile").await.unwrap().unwrap().is_public());
        assert!(code_flow_works(&app, &app.rp_with("mobile", None).await).await, "a public client with PKCE");
        let (_, _, page) = app.get("/admin/clients/mobile").await;
        let (status, _, _) = app.submit_in(&app.browser, &page, "/admin/clients/mobile/secret", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "no secret to rotate");

        // A key-pair client with device sign-in, from the form.
        let pair = josekit::jws::ES256.generate_key_pair().unwrap();
        let public = serde_json::to_value(pair.to_jwk_public_key().as_ref()).unwrap();
        let jwks = serde_json::json!({ "keys": [public] }).to_string();
        let (_, _, form) = app.get("/admin/clients/new").await;
        let fields = |jwks| [("client_id", "signer"), ("kind", "keys"), ("redirect_uris", "https://signer.example/cb"), ("id_token_alg", "RS256"), ("device_grant", "on"), ("jwks", jwks)];
        let (status, _, refused) = app.submit_in(&app.browser, &form, "/admin/clients/new", &fields("")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(refused.contains("needs its public keys"), "{refused}");
        let (status, location, _) = app.submit_in(&app.browser, &form, "/admin/clients/new", &fields(jwks.as_str())).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/clients/signer?saved=1")));
        let signer = app.state.store.client("signer").await.unwrap().unwrap();
        assert!(signer.uses_keys() && !signer.is_public() && signer.secret_hash.is_none() && signer.device_grant);
        let (_, _, page) = app.get("/admin/clients/signer").await;
        assert!(page.contains("key pair") && page.contains(r#"name="device_grant" checked"#), "{page}");
        assert!(!page.contains("Rotate the secret"), "no secret to rotate");
        let (status, _, _) = app.submit_in(&app.browser, &page, "/admin/clients/signer", &[("redirect_uris", "https://signer.example/cb"), ("id_token_alg", "RS256"), ("jwks_uri", "http://keys.example/jwks")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a jwks_uri must be https");
        let (status, _, _) = app.submit_in(&app.browser, &page, "/admin/clients/signer", &[("redirect_uris", "https://signer.example/cb"), ("id_token_alg", "RS256")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signer = app.state.store.client("signer").await.unwrap().unwrap();
        assert!(signer.jwks.is_some() && !signer.device_grant, "the keys stay; the box unticked");
    }

    async fn account_administrators_do_not_register_clients(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (_, _, overview) = app.get("/admin").await;
        assert!(!overview.contains("Relying parties"));
        assert_eq!(app.get("/admin/audit?provider=1").await.0, StatusCode::FORBIDDEN, "the provider's events are for operators");
        for path in ["/admin/clients", "/admin/clients/new", "/admin/clients/portal"] {
            let (status, _, page) = app.get(path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(page.contains("registered by the operators"));
        }
        let csrf = hidden_input(&app.get("/admin/settings").await.2, "csrf_token").unwrap();
        let redirect = app.redirect_uri("evil");
        for (path, form) in [
            ("/admin/clients/new", vec![("csrf_token", csrf.as_str()), ("client_id", "evil"), ("kind", "public"), ("redirect_uris", &redirect), ("id_token_alg", "RS256")]),
            ("/admin/clients/portal", vec![("csrf_token", csrf.as_str()), ("redirect_uris", "https://evil.example/cb"), ("id_token_alg", "RS256")]),
            ("/admin/clients/portal/secret", vec![("csrf_token", csrf.as_str())]),
        ] {
            let (status, _, _) = app.post_in(&app.browser, path, &form).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        assert!(app.state.store.client("evil").await.unwrap().is_none());
        assert_eq!(app.state.store.client("portal").await.unwrap().unwrap().redirect_uris, vec![app.redirect_uri("portal")]);
    }
}
