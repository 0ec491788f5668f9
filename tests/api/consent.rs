//! Consent for third-party clients: asked once per client and scope set,
//! again for more scopes or with `prompt=consent`, never with `prompt=none`
//! (`consent_required`), never for first-party clients; Connected apps on
//! `/account` with **Revoke**, which ends the client's tokens.

use openidconnect::{OAuth2TokenResponse, RefreshToken};
use reqwest::StatusCode;

use crate::browser::Browser;
use crate::common::*;
use crate::each_backend;

pub const PARTNER_SECRET: &str = "partner-secret-0123456789";

/// Registers the confidential third-party client "partner".
pub async fn register_partner(app: &TestApp) -> Rp {
    register_confidential(app, "partner", PARTNER_SECRET, true).await;
    app.rp_with("partner", Some(PARTNER_SECRET)).await
}

/// The consent page a redirect leads to, after checking where it leads.
async fn consent_page(
    app: &TestApp,
    browser: &reqwest::Client,
    location: Option<String>,
) -> String {
    let location = location.expect("a redirect");
    assert!(
        location.starts_with("/consent?request="),
        "sent to {location}"
    );
    let (status, _, page) = app.get_in(browser, &location).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

/// Presses **Allow** or **Deny** on a consent page.
async fn decide(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    decision: &str,
) -> (StatusCode, Option<String>, String) {
    let request = hidden_input(page, "request").expect("the form names the request");
    app.submit_in(
        browser,
        page,
        "/consent",
        &[("request", &request), ("decision", decision)],
    )
    .await
}

/// The request answered from `browser`'s session.
async fn answer(
    app: &TestApp,
    browser: &reqwest::Client,
    request: &AuthRequest,
) -> (StatusCode, Option<String>) {
    let (status, location, _) = app.get_in(browser, &request.url).await;
    (status, location)
}

each_backend! {
    async fn a_third_party_app_asks_once_per_scope_set_and_revoking_ends_its_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let partner = register_partner(&app).await;
        let browser = new_browser();

        // The first authorization asks, after the sign-in, naming the client and the scopes.
        let request = request_for(&partner, &["email"], &[]);
        let (status, location, _) = app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let page = consent_page(&app, &browser, location).await;
        assert!(page.contains("Allow <strong>partner</strong>?"), "{page}");
        assert!(page.contains(r#"data-scope="email">Your email address"#), "{page}");
        assert!(page.contains(r#"data-scope="openid">"#) && !page.contains(r#"data-scope="profile""#));
        assert!(page.contains(r#"value="allow">Allow</button>"#) && page.contains(r#"value="deny" class="secondary">Deny</button>"#));
        let (status, location, _) = decide(&app, &browser, &page, "allow").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let code = code_from(&location.unwrap(), &request);
        let signed = app.exchange(&partner, code, request).await;
        assert_eq!(signed.claims.subject().as_str(), "user-alice");
        let refresh = signed.tokens.refresh_token().expect("a refresh token").clone();

        // The same scopes again: no page.
        let request = request_for(&partner, &["email"], &[]);
        let (status, location) = answer(&app, &browser, &request).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        code_from(&location.unwrap(), &request);

        // More scopes ask again; what was allowed before says so.
        let request = request_for(&partner, &["email", "profile"], &[]);
        let (_, location) = answer(&app, &browser, &request).await;
        let page = consent_page(&app, &browser, location).await;
        assert!(page.contains("Your email address, and whether it is verified <span class=\"muted\">(allowed before)</span>"), "{page}");
        assert!(page.contains(r#"data-scope="profile">Your name and username</li>"#), "{page}");
        let (_, location, _) = decide(&app, &browser, &page, "allow").await;
        code_from(&location.unwrap(), &request);
        let recorded = app.state.store.consent("user-alice", "partner").await.unwrap().unwrap();
        assert_eq!(recorded.scope, "openid email profile");

        // prompt=consent always asks; Deny answers access_denied with the state.
        let request = request_for(&partner, &["email"], &[("prompt", "consent")]);
        let (_, location) = answer(&app, &browser, &request).await;
        let page = consent_page(&app, &browser, location).await;
        let (status, location, _) = decide(&app, &browser, &page, "deny").await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let query = query_of(&location.unwrap());
        assert_eq!(query["error"], "access_denied");
        assert_eq!(query.get("state"), Some(request.state.secret()));
        assert!(!query.contains_key("code"));
        // The denied request is gone: its page cannot be allowed after all.
        let (status, _, _) = decide(&app, &browser, &page, "allow").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // A first-party client is never asked.
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[("prompt", "consent")]);
        let (status, location) = answer(&app, &browser, &request).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        code_from(&location.unwrap(), &request);

        // Connected apps lists it; Revoke forgets it and ends its refresh tokens.
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("<h2>Connected apps</h2>"), "{account}");
        assert!(account.contains(r#"<tr class="app" data-client-id="partner">"#));
        assert!(!account.contains(r#"data-client-id="portal""#), "first-party clients are not listed");
        let (status, _, page) = app.submit_in(&browser, &account, "/account/apps/revoke", &[("client_id", "partner")]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("That app is disconnected"), "{page}");
        assert!(!page.contains("<h2>Connected apps</h2>"));
        let refreshed = partner
            .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
            .unwrap()
            .request_async(&rp_http())
            .await;
        assert!(refreshed.is_err(), "the revoked app's refresh token is refused");
        assert!(app.state.store.consent("user-alice", "partner").await.unwrap().is_none());
        let events = app.state.store.audit_events_for("user-alice", 500).await.unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        for kind in ["consent_given", "consent_denied", "consent_revoked"] {
            assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
        }

        // And the next authorization asks again.
        let request = request_for(&partner, &["email"], &[]);
        let (_, location) = answer(&app, &browser, &request).await;
        consent_page(&app, &browser, location).await;

        // Revoking what is not connected is refused and changes nothing.
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, page) = app.submit_in(&browser, &account, "/account/apps/revoke", &[("client_id", "portal")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(page.contains("That app is not one of your connected apps."));
    }

    async fn an_administrator_sees_a_members_connected_apps_and_revokes_one(backend) {
        let app = TestApp::spawn(backend).await;
        let partner = register_partner(&app).await;
        let browser = new_browser();
        let request = request_for(&partner, &["email"], &[]);
        let (_, location, _) = app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
        let page = consent_page(&app, &browser, location).await;
        let (_, location, _) = decide(&app, &browser, &page, "allow").await;
        let signed = app.exchange(&partner, code_from(&location.unwrap(), &request), request).await;
        let refresh = signed.tokens.refresh_token().unwrap().clone();

        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        let console = new_browser();
        crate::admin::console_first_visit(&app, &console, "ada").await;
        let (_, _, member) = app.get_in(&console, "/admin/contacts/user-alice").await;
        assert!(member.contains("Connected apps") && member.contains("<td>partner</td>") && member.contains("openid email"), "{member}");
        let (status, _, _) = app.submit_in(&console, &member, "/admin/contacts/user-alice/apps/revoke", &[("client_id", "portal")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "portal is not a connected app");
        let (status, location, _) = app.submit_in(&console, &member, "/admin/contacts/user-alice/apps/revoke", &[("client_id", "partner")]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/admin/contacts/user-alice?done=app")));
        assert!(app.state.store.consent("user-alice", "partner").await.unwrap().is_none());
        let refused = partner.exchange_refresh_token(&refresh).unwrap().request_async(&rp_http()).await;
        assert!(refused.is_err(), "the app's refresh token stops");
        let events = app.state.store.audit_events_for("user-alice", 100).await.unwrap();
        let revoked = events.iter().find(|e| e.kind == "consent_revoked").expect("audited");
        assert_eq!(revoked.actor_id.as_deref(), Some("user-ada"), "as the administrator");
    }

    async fn a_code_issued_before_revoke_is_refused_and_a_slow_decision_keeps_max_age(backend) {
        let app = TestApp::spawn(backend).await;
        let partner = register_partner(&app).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;

        // The request met max_age when it came; the user then takes a minute to decide.
        app.state.clock.advance(250);
        let request = request_for(&partner, &["email"], &[("max_age", "300")]);
        let (_, location) = answer(&app, &browser, &request).await;
        let page = consent_page(&app, &browser, location).await;
        app.state.clock.advance(60);
        let (status, location, body) = decide(&app, &browser, &page, "allow").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let code = code_from(&location.unwrap(), &request);

        // Revoked before the code is redeemed: the code goes with the consent.
        let (_, _, account) = app.get_in(&browser, "/account").await;
        app.submit_in(&browser, &account, "/account/apps/revoke", &[("client_id", "partner")]).await;
        let mut exchange = partner.exchange_code(openidconnect::AuthorizationCode::new(code)).unwrap();
        exchange = exchange.set_pkce_verifier(request.verifier.unwrap());
        let refused: Result<openidconnect::core::CoreTokenResponse, _> = exchange.request_async(&rp_http()).await;
        let err = refused.expect_err("the code of a revoked consent is refused");
        assert!(format!("{err:?}").contains("invalid_grant"), "{err:?}");
    }

    async fn prompt_none_without_consent_answers_consent_required(backend) {
        let app = TestApp::spawn(backend).await;
        let partner = register_partner(&app).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let request = request_for(&partner, &["email"], &[("prompt", "none")]);
        let (status, location) = answer(&app, &browser, &request).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let query = query_of(&location.unwrap());
        assert_eq!(query["error"], "consent_required");
        assert_eq!(query.get("state"), Some(request.state.secret()));
        // With consent recorded for fewer scopes, a wider prompt=none still needs it.
        app.state.store.record_consent("user-alice", "partner", "openid", app.state.clock.now()).await.unwrap();
        let (_, location) = answer(&app, &browser, &request).await;
        assert_eq!(query_of(&location.unwrap())["error"], "consent_required");
        let narrow = request_for(&partner, &[], &[("prompt", "none")]);
        let (_, location) = answer(&app, &browser, &narrow).await;
        code_from(&location.unwrap(), &narrow);
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
        assert_eq!(discovery["prompt_values_supported"], serde_json::json!(["none", "login", "consent"]));
    }

    async fn the_consent_form_needs_its_token_the_session_and_a_live_request(backend) {
        let app = TestApp::spawn(backend).await;
        let partner = register_partner(&app).await;
        let browser = new_browser();
        let request = request_for(&partner, &["email"], &[]);
        let (_, location, _) = app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
        let page = consent_page(&app, &browser, location).await;
        let request_id = hidden_input(&page, "request").unwrap();

        // Without the CSRF token: refused, and nothing recorded.
        let (status, _, _) = app.post_in(&browser, "/consent", &[("request", &request_id), ("decision", "allow")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // Another browser, without a session, gets no page and cannot decide.
        let stranger = new_browser();
        let (status, _, _) = app.get_in(&stranger, &format!("/consent?request={request_id}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // An unknown request, or an unknown decision.
        let (status, _, _) = decide(&app, &browser, &page.replace(&request_id, "no-such-request"), "allow").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = decide(&app, &browser, &page, "maybe").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(app.state.store.consent("user-alice", "partner").await.unwrap().is_none());

        // The request expires with the sign-in's lifetime.
        app.state.clock.advance(app.state.config.login_request_lifetime_secs + 1);
        let (status, _, body) = decide(&app, &browser, &page, "allow").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("expired"), "{body}");
        assert!(app.state.store.consent("user-alice", "partner").await.unwrap().is_none());
    }
}

each_backend! {
    async fn in_a_real_browser_a_third_party_app_is_allowed_and_then_revoked(backend) {
        let app = TestApp::spawn(backend).await;
        let partner = register_partner(&app).await;
        let chromium = Browser::start(&format!("consent-{}", backend.name()), 390, 844).await;
        let request = request_for(&partner, &["email", "profile", "offline_access"], &[]);
        chromium.goto(&request.url).await;
        chromium.fill("#username", USERNAME).await;
        chromium.fill("#password", PASSWORD).await;
        chromium.click_button("Sign in").await;
        assert!(chromium.path().await.starts_with("/consent?request="), "{}", chromium.source().await);
        assert_eq!(chromium.accessibility_problems().await, Vec::<String>::new());
        assert!(chromium.text_of("ul.scopes").await.contains("Stay connected while you are away"));
        chromium.screenshot("consent").await;
        chromium
            .client
            .find(fantoccini::Locator::XPath("//button[normalize-space()='Allow']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let code = crate::security_keys::code_at_client(&app, &chromium, &request, "partner").await;
        app.exchange(&partner, code, request).await;

        chromium.goto(&app.url("/account")).await;
        assert!(chromium.text_of("table.apps").await.contains("partner"));
        assert_eq!(chromium.accessibility_problems().await, Vec::<String>::new());
        chromium.screenshot("connected-apps").await;
        chromium.click_button("Revoke").await;
        assert!(chromium.text_of("p.notice").await.contains("That app is disconnected"));
        chromium.quit().await;
    }
}
