//! Security keys and passkeys against the real server, with a software
//! authenticator that signs real WebAuthn answers (webauthn-authenticator-rs).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use crate::account::run_cli;
use crate::browser::Browser;
use crate::common::*;
use crate::each_backend;
use crate::second_factor::link_with_class;

/// A provider whose issuer is a domain name (WebAuthn needs one).
async fn spawn(backend: Backend) -> TestApp {
    let mut app = TestApp::spawn_with(backend, |config| {
        config.issuer = config.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    app.base = app.state.config.issuer().to_string();
    app
}

/// A software authenticator and what it registered.
struct Key {
    device: SoftPasskey,
    /// The credential id, base64url.
    id: String,
    /// The user handle it was registered with, base64url.
    user_handle: String,
}

impl Key {
    fn new() -> Key {
        Key {
            // Claims user verification, as a key with a PIN does.
            device: SoftPasskey::new(true),
            id: String::new(),
            user_handle: String::new(),
        }
    }
}

/// The options a ceremony page hands to the browser.
fn options_on(page: &str) -> Value {
    let marker = "data-options=\"";
    let start = page.find(marker).expect("a ceremony page") + marker.len();
    let end = page[start..].find('"').unwrap();
    serde_json::from_str(&html_unescape(&page[start..start + end])).unwrap()
}

fn origin(app: &TestApp) -> Url {
    Url::parse(app.state.config.issuer()).unwrap()
}

/// Starts registering a key of `kind` from the account page: the ceremony page.
async fn start_registration(
    app: &TestApp,
    browser: &reqwest::Client,
    kind: &str,
    name: &str,
) -> (StatusCode, String) {
    let (_, _, account) = app.get_in(browser, "/account").await;
    assert!(account.contains("Add security key") && account.contains("Add passkey"));
    let (status, _, page) = app
        .submit_in(
            browser,
            &account,
            "/account/keys/new",
            &[("name", name), ("kind", kind)],
        )
        .await;
    (status, page)
}

/// Registers `key` from the account page; returns the response to the answer.
async fn register(
    app: &TestApp,
    browser: &reqwest::Client,
    key: &mut Key,
    kind: &str,
    name: &str,
) -> (StatusCode, Option<String>, String) {
    let (status, page) = start_registration(app, browser, kind, name).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut options = options_on(&page);
    if kind == "passkey" {
        assert_eq!(
            options.pointer("/publicKey/authenticatorSelection/residentKey"),
            Some(&Value::from("required")),
            "a passkey is asked to be discoverable"
        );
        assert_eq!(
            options.pointer("/publicKey/authenticatorSelection/userVerification"),
            Some(&Value::from("required"))
        );
        // The software authenticator keeps no resident keys; the test keeps
        // the user handle in its place.
        options["publicKey"]["authenticatorSelection"]["residentKey"] = "discouraged".into();
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = false.into();
    }
    key.user_handle = options["publicKey"]["user"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let request: CreationChallengeResponse = serde_json::from_value(options).unwrap();
    let answer = key.device.do_registration(origin(app), request).unwrap();
    key.id = answer.id.clone();
    let challenge = hidden_input(&page, "challenge").unwrap();
    app.submit_in(
        browser,
        &page,
        "/account/keys",
        &[
            ("challenge", &challenge),
            ("credential", &serde_json::to_string(&answer).unwrap()),
        ],
    )
    .await
}

/// The signed answer of `key` to a sign-in ceremony page, for `origin`.
fn answer(key: &mut Key, page: &str, origin: Url, discoverable: bool) -> String {
    let mut options = options_on(page);
    if discoverable {
        // A discoverable key picks itself; the software one is told which it is.
        options["publicKey"]["allowCredentials"] =
            serde_json::json!([{ "type": "public-key", "id": key.id }]);
    }
    let request: RequestChallengeResponse = serde_json::from_value(options).unwrap();
    let mut answer = key.device.do_authentication(origin, request).unwrap();
    if discoverable {
        answer.response.user_handle = Some(URL_SAFE_NO_PAD.decode(&key.user_handle).unwrap());
    }
    serde_json::to_string(&answer).unwrap()
}

/// Runs `portal`'s authorization request to the second-factor page in `browser`.
async fn to_second_factor(
    app: &TestApp,
    browser: &reqwest::Client,
    rp: &Rp,
) -> (AuthRequest, String) {
    let request = app.auth_request(rp, &[]);
    let (status, location, _) = app
        .sign_in_through_in(browser, &request, USERNAME, PASSWORD)
        .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/second-factor"))
    );
    let (status, _, page) = app.get_in(browser, "/login/second-factor").await;
    assert_eq!(status, StatusCode::OK);
    (request, page)
}

/// Presses "Use security key": the ceremony page.
async fn use_key(app: &TestApp, browser: &reqwest::Client, second_factor: &str) -> String {
    assert!(
        second_factor.contains("Use security key"),
        "{second_factor}"
    );
    let (status, _, page) = app
        .submit_in(browser, second_factor, "/login/security-key", &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

async fn send_answer(
    app: &TestApp,
    browser: &reqwest::Client,
    ceremony: &str,
    path: &str,
    answer: &str,
) -> (StatusCode, Option<String>, String) {
    let challenge = hidden_input(ceremony, "challenge").unwrap();
    let mut fields = vec![("challenge", challenge.as_str()), ("credential", answer)];
    let request = hidden_input(ceremony, "request");
    if let Some(request) = &request {
        fields.push(("request", request));
    }
    app.submit_in(browser, ceremony, path, &fields).await
}

fn amr_of(signed_in: &SignedIn) -> Vec<String> {
    let claims = raw_claims(
        &signed_in
            .tokens
            .extra_fields()
            .id_token()
            .unwrap()
            .to_string(),
    );
    serde_json::from_value(claims["amr"].clone()).unwrap()
}

fn acr_of(signed_in: &SignedIn) -> String {
    let claims = raw_claims(
        &signed_in
            .tokens
            .extra_fields()
            .id_token()
            .unwrap()
            .to_string(),
    );
    claims["acr"].as_str().unwrap().to_string()
}

async fn audit_kinds(app: &TestApp) -> Vec<String> {
    app.state
        .store
        .audit_events_for("user-alice", 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

each_backend! {
    async fn a_security_key_from_the_account_page_becomes_the_second_factor(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let mut key = Key::new();
        let (status, _, codes_page) = register(&app, &browser, &mut key, "security_key", "Blue key").await;
        assert_eq!(status, StatusCode::OK, "{codes_page}");
        assert_eq!(backup_codes_on(&codes_page).len(), 10, "the first factor comes with backup codes");
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("<span class=\"key-name\">Blue key</span>"), "{account}");

        // A fresh browser: password, then the key.
        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let (request, second_factor) = to_second_factor(&app, &fresh, &portal).await;
        let ceremony = use_key(&app, &fresh, &second_factor).await;
        let options = options_on(&ceremony);
        assert_eq!(options.pointer("/publicKey/rpId"), Some(&Value::from("localhost")));
        assert_eq!(options.pointer("/publicKey/userVerification"), Some(&Value::from("preferred")));
        let signed = answer(&mut key, &ceremony, origin(&app), false);
        let (status, location, body) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", &signed).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let code = code_from(&location.unwrap(), &request);
        let signed_in = app.exchange(&portal, code, request).await;
        assert_eq!(acr_of(&signed_in), "aal2");
        assert_eq!(amr_of(&signed_in), ["pwd", "hwk", "mfa"]);

        // Every other relying party gets its token from that session.
        let backoffice = app.rp("backoffice").await;
        let request = app.auth_request(&backoffice, &[]);
        let (status, location, _) = app.get_in(&fresh, &request.url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signed_in = app.exchange(&backoffice, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(acr_of(&signed_in), "aal2");
        let kinds = audit_kinds(&app).await;
        assert!(kinds.contains(&"webauthn_registered".to_string()), "{kinds:?}");
    }

    async fn a_wrong_origin_a_replayed_challenge_and_a_removed_key_are_refused(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (mut kept, mut removed) = (Key::new(), Key::new());
        register(&app, &browser, &mut kept, "security_key", "Kept").await;
        let (status, location, body) = register(&app, &browser, &mut removed, "security_key", "Lost").await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/account?added=key")), "{body}");

        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let (_, second_factor) = to_second_factor(&app, &fresh, &portal).await;
        let ceremony = use_key(&app, &fresh, &second_factor).await;
        // An answer made on another origin (another port of the same host, which
        // a browser lets claim this relying-party id).
        let phished = answer(&mut kept, &ceremony, Url::parse("http://localhost:1").unwrap(), false);
        let (status, _, page) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", &phished).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("not accepted"), "{page}");
        // The challenge was used up by that answer: a right answer to it is refused too.
        let right = answer(&mut kept, &ceremony, origin(&app), false);
        let (status, _, page) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", &right).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("expired or was already answered"), "{page}");

        // Removed from the account page, a key no longer answers.
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let removed_row = account.split("<tr class=\"key\">").find(|row| row.contains(">Lost<")).unwrap();
        let removed_id = hidden_input(removed_row, "id").unwrap();
        let (status, _, page) = app.submit_in(&browser, &account, "/account/keys/remove", &[("id", &removed_id)]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains(">Lost<") && page.contains(">Kept<"), "{page}");
        let ceremony = use_key(&app, &fresh, &second_factor).await;
        let options = options_on(&ceremony);
        assert_eq!(options["publicKey"]["allowCredentials"].as_array().unwrap().len(), 1);
        // The removed key answers anyway, as if it were still allowed.
        let mut forced = options.clone();
        forced["publicKey"]["allowCredentials"] = serde_json::json!([{ "type": "public-key", "id": removed.id }]);
        let request: RequestChallengeResponse = serde_json::from_value(forced).unwrap();
        let stale = removed.device.do_authentication(origin(&app), request).unwrap();
        let (status, _, page) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", &serde_json::to_string(&stale).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}");

        // The kept key still works, and the session is aal2.
        let ceremony = use_key(&app, &fresh, &second_factor).await;
        let right = answer(&mut kept, &ceremony, origin(&app), false);
        let (status, _, _) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", &right).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }

    async fn a_key_whose_counter_goes_backwards_is_refused_and_audited(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let mut key = Key::new();
        register(&app, &browser, &mut key, "security_key", "Cloned").await;
        let portal = app.rp("portal").await;

        // One use moves the stored counter forward.
        let fresh = new_browser();
        let (_, second_factor) = to_second_factor(&app, &fresh, &portal).await;
        let ceremony = use_key(&app, &fresh, &second_factor).await;
        let signed = answer(&mut key, &ceremony, origin(&app), false);
        let (status, _, _) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", &signed).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let stored = app.state.store.webauthn_credentials("user-alice").await.unwrap();
        assert!(stored[0].counter >= 1, "the counter is kept");

        // A copy of the key has meanwhile signed 1,000 times: this one is behind.
        set_counter(&app, 1000).await;
        let other = new_browser();
        let (_, second_factor) = to_second_factor(&app, &other, &portal).await;
        let ceremony = use_key(&app, &other, &second_factor).await;
        let signed = answer(&mut key, &ceremony, origin(&app), false);
        let (status, _, page) = send_answer(&app, &other, &ceremony, "/login/security-key/finish", &signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("looks copied"), "{page}");
        assert!(audit_kinds(&app).await.contains(&"webauthn_counter_regressed".to_string()));
    }

    async fn a_passkey_alone_signs_in_where_the_account_allows_it(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let mut key = Key::new();
        let (status, _, _) = register(&app, &browser, &mut key, "passkey", "Laptop").await;
        assert_eq!(status, StatusCode::OK);

        // Not allowed by the account (totp,webauthn): no button, and refused.
        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.get_in(&fresh, &request.url).await;
        let (_, _, login) = app.get_in(&fresh, &location.unwrap()).await;
        assert!(!login.contains("Sign in with a passkey"));
        let (status, _, ceremony) = app.submit_in(&fresh, &login, "/login/passkey", &[("request", &hidden_input(&login, "request").unwrap())]).await;
        assert_eq!(status, StatusCode::OK);
        let signed = answer(&mut key, &ceremony, origin(&app), true);
        let (status, _, page) = send_answer(&app, &fresh, &ceremony, "/login/passkey/finish", &signed).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("does not allow signing in with a passkey"), "{page}");

        // Allowed: the button, and a passkey alone gives aal2.
        let factors: Vec<String> = ["totp", "webauthn", "passkey"].map(String::from).to_vec();
        app.state.store.update_tenant_policy("acme", None, Some(&factors), app.state.clock.now()).await.unwrap();
        let request = app.auth_request(&portal, &[]);
        let (_, location, _) = app.get_in(&fresh, &request.url).await;
        let (_, _, login) = app.get_in(&fresh, &location.unwrap()).await;
        assert!(login.contains("Sign in with a passkey"), "{login}");
        let (status, _, ceremony) = app.submit_in(&fresh, &login, "/login/passkey", &[("request", &hidden_input(&login, "request").unwrap())]).await;
        assert_eq!(status, StatusCode::OK);
        let options = options_on(&ceremony);
        assert_eq!(options.pointer("/publicKey/userVerification"), Some(&Value::from("required")));
        assert!(options["publicKey"]["allowCredentials"].as_array().is_none_or(|a| a.is_empty()), "the passkey names the user");
        let signed = answer(&mut key, &ceremony, origin(&app), true);
        let (status, location, body) = send_answer(&app, &fresh, &ceremony, "/login/passkey/finish", &signed).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(acr_of(&signed_in), "aal2");
        assert_eq!(amr_of(&signed_in), ["hwk", "mfa"]);
        // A passkey alone is no typed password: changing factors asks for it.
        let (status, page) = start_registration(&app, &fresh, "security_key", "Another").await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(page.contains("Confirm your password"), "{page}");
        // The answer cannot be replayed.
        let replay = new_browser();
        let (_, _, login) = app.get_in(&replay, "/login").await;
        let (status, _, page) = app.submit_in(&replay, &login, "/login/passkey/finish", &[("challenge", &hidden_input(&ceremony, "challenge").unwrap()), ("credential", &signed)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("expired"), "{page}");
    }

    async fn a_reset_removes_the_keys_and_the_console_counts_them(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let mut key = Key::new();
        register(&app, &browser, &mut key, "security_key", "Blue key").await;
        assert_eq!(app.state.store.webauthn_credentials("user-alice").await.unwrap().len(), 1);
        let alice = app.state.store.contact("user-alice").await.unwrap().unwrap();
        assert_eq!(alice.keys, 1);
        let output = run_cli(&app, &["user", "reset-mfa", USERNAME]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(app.state.store.webauthn_credentials("user-alice").await.unwrap().is_empty());
        // The next sign-in enrols again.
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[]);
        let (status, location, _) = app.sign_in_through_in(&new_browser(), &request, USERNAME, PASSWORD).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")));
    }

    async fn a_required_enrolment_may_take_a_security_key_instead_of_an_app(backend) {
        let app = spawn(backend).await;
        let portal = app.rp("portal").await;
        let browser = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (status, location, _) = app.sign_in_through_in(&browser, &request, MIA, PASSWORD).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/enroll")));
        let (_, _, enrol) = app.get_in(&browser, "/login/enroll").await;
        assert!(enrol.contains("Use a security key instead"), "{enrol}");
        let (status, _, page) = app.submit_in(&browser, &enrol, "/login/enroll/key", &[("name", "")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "a key needs a name");
        let (status, _, ceremony) = app.submit_in(&browser, &page, "/login/enroll/key", &[("name", "Desk key")]).await;
        assert_eq!(status, StatusCode::OK, "{ceremony}");
        let mut key = Key::new();
        let request_options: CreationChallengeResponse = serde_json::from_value(options_on(&ceremony)).unwrap();
        let registered = key.device.do_registration(origin(&app), request_options).unwrap();
        let (status, _, codes_page) = send_answer(&app, &browser, &ceremony, "/login/enroll/key/finish", &serde_json::to_string(&registered).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{codes_page}");
        assert_eq!(backup_codes_on(&codes_page).len(), 10);
        let continue_href = link_with_class(&codes_page, "button");
        let (status, location, _) = app.get_in(&browser, &continue_href).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let signed_in = app.exchange(&portal, code_from(&location.unwrap(), &request), request).await;
        assert_eq!(acr_of(&signed_in), "aal2");
        assert_eq!(amr_of(&signed_in), ["pwd", "hwk", "mfa"]);
        let keys = app.state.store.webauthn_credentials("user-mia").await.unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!((keys[0].kind.as_str(), keys[0].name.as_str()), ("security_key", "Desk key"));
    }

    async fn key_changes_need_a_fresh_password_the_factor_a_name_and_a_live_challenge(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (status, page) = start_registration(&app, &browser, "security_key", "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("Give the key a name"));
        let long = "k".repeat(65);
        let (status, _) = start_registration(&app, &browser, "security_key", &long).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, page) = start_registration(&app, &browser, "totp", "Key").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
        // No CSRF token: refused.
        let (status, _, _) = app.post_in(&browser, "/account/keys/new", &[("name", "Key"), ("kind", "security_key")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // A ceremony left for longer than five minutes has expired.
        let (status, ceremony) = start_registration(&app, &browser, "security_key", "Slow key").await;
        assert_eq!(status, StatusCode::OK);
        let mut key = Key::new();
        let request: CreationChallengeResponse = serde_json::from_value(options_on(&ceremony)).unwrap();
        let registered = serde_json::to_string(&key.device.do_registration(origin(&app), request).unwrap()).unwrap();
        app.state.clock.advance(301);
        let (status, _, page) = send_answer(&app, &browser, &ceremony, "/account/keys", &registered).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the password is no longer fresh either");
        assert!(page.contains("Confirm your password"), "{page}");
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, _) = app.submit_in(&browser, &account, "/account/reauth", &[("password", PASSWORD), ("next", "/account")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (status, _, page) = send_answer(&app, &browser, &ceremony, "/account/keys", &registered).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("expired"), "{page}");
        // Garbage instead of an answer.
        let (_, ceremony) = start_registration(&app, &browser, "security_key", "Key").await;
        let (status, _, page) = send_answer(&app, &browser, &ceremony, "/account/keys", "{not json").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("could not be read"), "{page}");
        assert!(app.state.store.webauthn_credentials("user-alice").await.unwrap().is_empty());

        // With a key, an aal1 session must verify first; a key of another user cannot be removed.
        let earlier = new_browser();
        password_session(&app, &earlier, USERNAME).await;
        let (_, ceremony) = start_registration(&app, &browser, "security_key", "Key").await;
        let request: CreationChallengeResponse = serde_json::from_value(options_on(&ceremony)).unwrap();
        let registered = serde_json::to_string(&key.device.do_registration(origin(&app), request).unwrap()).unwrap();
        let (status, _, _) = send_answer(&app, &browser, &ceremony, "/account/keys", &registered).await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, account) = app.get_in(&browser, "/account").await;
        let (status, _, page) = app.submit_in(&browser, &account, "/account/keys/remove", &[("id", "not-a-key")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{page}");
        let other = new_browser();
        app.add_user("bob", PASSWORD).await;
        password_session(&app, &other, "bob").await;
        let alices_key = app.state.store.webauthn_credentials("user-alice").await.unwrap()[0].id.clone();
        let (_, _, bobs_page) = app.get_in(&other, "/account").await;
        let (status, _, _) = app.submit_in(&other, &bobs_page, "/account/keys/remove", &[("id", &alices_key)]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(app.state.store.webauthn_credentials("user-alice").await.unwrap().len(), 1);
        let (status, page) = start_registration(&app, &earlier, "passkey", "Another").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a session from before the key is aal1");
        assert!(page.contains("Verify with your second factor first"), "{page}");
        let fresh = new_browser();
        let (_, _, login) = app.get_in(&fresh, "/login?next=/account").await;
        let (status, location, _) = app.submit_in(&fresh, &login, "/login", &[("username", USERNAME), ("password", PASSWORD)]).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/login/second-factor")), "a user with a key gives it");
    }

    async fn garbage_and_wrong_key_answers_count_toward_the_lock_out(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let mut key = Key::new();
        register(&app, &browser, &mut key, "security_key", "Key").await;
        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let (_, second_factor) = to_second_factor(&app, &fresh, &portal).await;
        let limit = app.state.config.mfa_failure_limit;
        for attempt in 1..=limit {
            let ceremony = use_key(&app, &fresh, &second_factor).await;
            let (status, _, _) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", "{\"id\": 1}").await;
            let expected = if attempt < limit { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
            assert_eq!(status, expected, "attempt {attempt}");
        }
        // Locked: even the key's right answer is refused.
        let ceremony = use_key(&app, &fresh, &second_factor).await;
        let right = answer(&mut key, &ceremony, origin(&app), false);
        let (status, _, _) = send_answer(&app, &fresh, &ceremony, "/login/security-key/finish", &right).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        // No ceremony without a pending sign-in or a CSRF token.
        let (status, _, _) = app.post_in(&new_browser(), "/login/security-key", &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = app.post_in(&fresh, "/login/security-key", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = app.post_in(&new_browser(), "/login/passkey", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, _, login) = app.get_in(&fresh, "/login").await;
        let (status, _, page) = app.submit_in(&fresh, &login, "/login/passkey/finish", &[("challenge", "nothing"), ("credential", "{}")]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("expired"), "{page}");
    }

    async fn a_ceremony_begun_on_one_node_is_answered_on_another_once(backend) {
        let app = spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let mut key = Key::new();
        register(&app, &browser, &mut key, "security_key", "Key").await;
        // A second node on the same database, behind the same issuer.
        let issuer = app.state.config.issuer().to_string();
        let node = app.node_with(&app.database_url, move |config| config.issuer = issuer).await;
        let node_base = node.base.replace("127.0.0.1", "localhost");

        let portal = app.rp("portal").await;
        let fresh = new_browser();
        let (request, second_factor) = to_second_factor(&app, &fresh, &portal).await;
        let ceremony = use_key(&app, &fresh, &second_factor).await;
        let signed = answer(&mut key, &ceremony, origin(&app), false);
        let form = [
            ("csrf_token", hidden_input(&ceremony, "csrf_token").unwrap()),
            ("challenge", hidden_input(&ceremony, "challenge").unwrap()),
            ("credential", signed),
        ];
        let on_node = |browser: &reqwest::Client, form: &[(&str, String)]| {
            browser.post(format!("{node_base}/login/security-key/finish")).form(form).send()
        };
        let (status, location, body) = parts(on_node(&fresh, &form).await.unwrap()).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let code = code_from(&location.unwrap(), &request);
        app.exchange(&portal, code, request).await;
        // The same answer again, in a sign-in under way on another browser: the challenge is gone.
        let another = new_browser();
        let (_, second_factor) = to_second_factor(&app, &another, &portal).await;
        let mut replay = form.clone();
        replay[0].1 = hidden_input(&second_factor, "csrf_token").unwrap();
        let (status, _, page) = parts(on_node(&another, &replay).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(page.contains("expired or was already answered"), "{page}");
    }

    async fn an_ip_address_issuer_says_keys_are_unavailable(backend) {
        let app = TestApp::spawn(backend).await;
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;
        let (_, _, account) = app.get_in(&browser, "/account").await;
        assert!(account.contains("IP address"), "{account}");
        let (status, _, page) = app.submit_in(&browser, &account, "/account/keys/new", &[("name", "Key"), ("kind", "security_key")]).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(page.contains("unavailable"));
    }
}

async fn set_counter(app: &TestApp, counter: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query("update webauthn_credentials set counter = $1")
        .bind(counter)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

each_backend! {
    async fn in_a_real_browser_a_key_and_a_passkey_are_registered_then_sign_in(backend) {
        let app = spawn(backend).await;
        let factors: Vec<String> = ["totp", "webauthn", "passkey"].map(String::from).to_vec();
        app.state.store.update_tenant_policy("acme", None, Some(&factors), app.state.clock.now()).await.unwrap();
        let portal = app.rp("portal").await;
        let prefix = format!("keys-{}", backend.name());
        let chromium = Browser::start(&prefix, 1280, 900).await;
        let usb_key = chromium.add_virtual_authenticator().await;

        // Alice signs in with her password and registers a security key.
        chromium.goto(&app.url("/account")).await;
        chromium.fill("#username", USERNAME).await;
        chromium.fill("#password", PASSWORD).await;
        chromium.click_button("Sign in").await;
        assert_eq!(chromium.path().await, "/account");
        chromium.screenshot("account-without-keys").await;
        let problems = chromium.accessibility_problems().await;
        assert!(problems.is_empty(), "{problems:?}");
        chromium.fill("#key-name", "Virtual key").await;
        chromium.click_button("Add security key").await;
        // The ceremony page runs the key and posts its answer: the backup codes come next.
        chromium.wait_for_path("/account/keys").await;
        let mut page = String::new();
        for _ in 0..200 {
            page = chromium.source().await;
            if !backup_codes_on(&page).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(backup_codes_on(&page).len(), 10, "{page}");
        chromium.goto(&app.url("/account")).await;
        assert!(chromium.text_of("table.keys").await.contains("Virtual key"));

        // Signed out, she signs in to the portal with her password and the key.
        chromium.click_button("Sign out everywhere").await;
        let request = app.auth_request(&portal, &[]);
        chromium.goto(&request.url).await;
        chromium.fill("#username", USERNAME).await;
        chromium.fill("#password", PASSWORD).await;
        chromium.click_button("Sign in").await;
        assert_eq!(chromium.path().await, "/login/second-factor");
        chromium.screenshot("second-factor-with-key").await;
        let problems = chromium.accessibility_problems().await;
        assert!(problems.is_empty(), "{problems:?}");
        chromium.click_button("Use security key").await;
        let code = code_at_relying_party(&app, &chromium, &request).await;
        let signed_in = app.exchange(&portal, code, request).await;
        assert_eq!(acr_of(&signed_in), "aal2");
        assert_eq!(amr_of(&signed_in), ["pwd", "hwk", "mfa"]);

        // With another authenticator plugged in, she adds a passkey.
        chromium.remove_virtual_authenticator(&usb_key).await;
        chromium.add_virtual_authenticator().await;
        chromium.goto(&app.url("/account")).await;
        chromium.fill("#key-name", "Virtual passkey").await;
        chromium.click_button("Add passkey").await;
        chromium.wait_for_path("/account?added=key").await;
        chromium.screenshot("account-with-keys").await;
        let names: Vec<String> = app.state.store.webauthn_credentials("user-alice").await.unwrap()
            .into_iter().map(|k| format!("{} {}", k.kind, k.name)).collect();
        assert_eq!(names, ["security_key Virtual key", "passkey Virtual passkey"]);

        // Signed out again, the passkey alone signs her in.
        chromium.click_button("Sign out everywhere").await;
        let request = app.auth_request(&portal, &[]);
        chromium.goto(&request.url).await;
        chromium.screenshot("sign-in-with-passkey-offered").await;
        chromium.click_button("Sign in with a passkey").await;
        let code = code_at_relying_party(&app, &chromium, &request).await;
        let signed_in = app.exchange(&portal, code, request).await;
        assert_eq!(acr_of(&signed_in), "aal2");
        assert_eq!(amr_of(&signed_in), ["hwk", "mfa"]);
        chromium.quit().await;

        // The operator's reset removes both.
        let output = run_cli(&app, &["user", "reset-mfa", USERNAME]);
        assert!(output.status.success());
        assert!(app.state.store.webauthn_credentials("user-alice").await.unwrap().is_empty());
    }
}

/// Waits for the browser to reach the relying party's redirect URI; the code it carries.
pub async fn code_at_relying_party(
    app: &TestApp,
    chromium: &Browser,
    request: &AuthRequest,
) -> String {
    code_at_client(app, chromium, request, "portal").await
}

/// The code the browser carried back to `client_id`'s redirect URI.
pub async fn code_at_client(
    app: &TestApp,
    chromium: &Browser,
    request: &AuthRequest,
    client_id: &str,
) -> String {
    let redirect_uri = app.redirect_uri(client_id);
    for _ in 0..200 {
        let url = chromium.url().await;
        if url.as_str().starts_with(&redirect_uri) {
            return code_from(url.as_str(), request);
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "the browser did not reach {redirect_uri}: {}",
        chromium.source().await
    );
}
