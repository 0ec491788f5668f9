//! Regressions of what leaves in messages and what marks a contact verified:
//! every link a member is given (the console's and the API's set-password
//! links, the notices of factor changes) is built from the configured issuer
//! whatever `Host`, `X-Forwarded-Host`, `Forwarded` or `X-Forwarded-Proto`
//! the request carries, behind trusted proxies too; and an email address or
//! phone number becomes verified only by the code sent to it, for that
//! purpose, never by a field of the request.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::admin::console_first_visit;
use crate::common::*;
use crate::each_backend;
use crate::receivers::{code_in, MailServer, SmsGateway, SMS_SECRET};

/// The host a hostile request names in its headers.
const EVIL: &str = "evil.example";
/// The configured issuer's host: neither what the requests name nor the
/// address they reach, so a link built from the request could not match it.
const ISSUER_HOST: &str = "id.gatehouse.test";

/// The header sets a request may carry to name another host or scheme.
const HOSTILE_HEADERS: &[(&str, &[(&str, &str)])] = &[
    ("no forwarding headers", &[]),
    ("Host", &[("host", EVIL)]),
    ("X-Forwarded-Host", &[("x-forwarded-host", EVIL)]),
    (
        "Forwarded",
        &[("forwarded", "host=evil.example;proto=https")],
    ),
    (
        "X-Forwarded-Proto with X-Forwarded-Host",
        &[("x-forwarded-proto", "https"), ("x-forwarded-host", EVIL)],
    ),
    (
        "every one of them, with a forwarded client address",
        &[
            ("host", "evil.example:443"),
            ("x-forwarded-host", EVIL),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "443"),
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.7;host=evil.example;proto=https"),
        ],
    ),
];

/// The nodes the links are asked of: (what, `trusted_proxies`, `forwarded_header`).
const NODES: &[(&str, &str, &str)] = &[
    ("a plain node", "", "x-forwarded-for"),
    (
        "a node behind trusted proxies (X-Forwarded-For)",
        "127.0.0.1/32",
        "x-forwarded-for",
    ),
    (
        "a node behind trusted proxies (Forwarded)",
        "127.0.0.1/32",
        "forwarded",
    ),
];

/// A browser (cookies kept, no redirects followed) that sends `headers` with every request.
fn hostile_browser(headers: &[(&str, &str)]) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(header_map(headers))
        .build()
        .unwrap()
}

fn header_map(headers: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    map
}

/// Every absolute http(s) URL in `text`.
fn urls_in(text: &str) -> Vec<&str> {
    let mut urls = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        let tail = &rest[at..];
        if tail.starts_with("http://") || tail.starts_with("https://") {
            let end = tail
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>'))
                .unwrap_or(tail.len());
            urls.push(&tail[..end]);
            rest = &tail[end..];
        } else {
            rest = &tail[4..];
        }
    }
    urls
}

/// Every URL in `text` is the issuer's, and nothing names the hostile host.
fn assert_links_from(issuer: &str, text: &str, what: &str) {
    for url in urls_in(text) {
        assert!(
            url.starts_with(&format!("{issuer}/")),
            "{what}: {url} is not the issuer's ({issuer}) in {text}"
        );
    }
    assert!(
        !text.to_ascii_lowercase().contains(EVIL),
        "{what}: the hostile host leaked into {text}"
    );
}

/// The one-time link a console page shows.
fn password_link_on(page: &str) -> String {
    let marker = r#"id="password-link""#;
    let start = page.find(marker).expect("a password link") + marker.len();
    let rest = &page[start..];
    let value = rest.find(r#"value=""#).expect("a value") + 7;
    let end = rest[value..].find('"').expect("a closing quote");
    html_unescape(&rest[value..value + end])
}

/// A set-password link: the issuer's, and it opens its page here.
async fn assert_password_link(app: &TestApp, link: &str, what: &str) {
    let issuer = app.state.config.issuer();
    assert!(
        link.starts_with(&format!("{issuer}/password?token=")),
        "{what}: {link}"
    );
    let here = link.replacen(issuer, &app.base, 1);
    let (status, _, _) = app.get_in(&new_browser(), &here).await;
    assert_eq!(status, StatusCode::OK, "{what}: the link works");
}

/// Registers confidential client `robot` with the `admin` grant over `scope`.
async fn robot(app: &TestApp, scope: &str) {
    register_robot(app, Some(scope)).await;
}

/// An access token for the admin API, asked for by `http`.
async fn admin_token(app: &TestApp, http: &reqwest::Client) -> String {
    let response = http
        .post(app.url("/token"))
        .basic_auth("robot", Some(ROBOT_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// An admin API call by `http`: the status and the body as text.
async fn api(
    app: &TestApp,
    http: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Posts `fields` to `path` with the CSRF token of this browser's account page.
async fn account_post(
    app: &TestApp,
    browser: &reqwest::Client,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let (status, _, page) = app.get_in(browser, "/account").await;
    assert_eq!(status, StatusCode::OK, "the account page");
    app.submit_in(browser, &page, path, fields).await
}

/// The next message to `to` with `text`, after checking its links.
async fn message_with(mail: &MailServer, issuer: &str, to: &str, text: &str, what: &str) -> String {
    let message = mail.next_with(to, text).await;
    assert_links_from(issuer, &message, &format!("{what}, {text:?}"));
    message
}

/// One round of every message with a link, each request carrying `headers`.
async fn every_link_is_the_issuers(
    app: &TestApp,
    mail: &MailServer,
    round: usize,
    headers: &[(&str, &str)],
    what: &str,
) {
    let issuer = app.state.config.issuer().to_string();
    let member = format!("member{round}");
    let member_id = app.add_user(&member, PASSWORD).await;
    let member_email = format!("{member}@example.com");

    // The console: Add a member, then a new link for an existing one.
    let admin = hostile_browser(headers);
    let ada = format!("ada{round}");
    app.add_member(&ada, PASSWORD, "acct-acme", Role::Administrator)
        .await;
    console_first_visit(app, &admin, &ada).await;
    let (status, _, form) = app
        .get_in(&admin, "/admin/contacts/new?account=acct-acme")
        .await;
    assert_eq!(status, StatusCode::OK, "{what}: the new-member form");
    let added = format!("added{round}");
    let added_email = format!("{added}@example.com");
    let (status, _, shown) = app
        .submit_in(
            &admin,
            &form,
            "/admin/contacts/new",
            &[
                ("account", "acct-acme"),
                ("username", &added),
                ("email", &added_email),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{what}: {shown}");
    assert_links_from(&issuer, &html_unescape(&shown), what);
    assert_password_link(app, &password_link_on(&shown), what).await;
    let (_, _, page) = app
        .get_in(&admin, &format!("/admin/contacts/{member_id}"))
        .await;
    let (status, _, shown) = app
        .submit_in(
            &admin,
            &page,
            &format!("/admin/contacts/{member_id}/password-link"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{what}: {shown}");
    assert_links_from(&issuer, &html_unescape(&shown), what);
    assert_password_link(app, &password_link_on(&shown), what).await;

    // The admin API: a new member's link, and a new link.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(header_map(headers))
        .build()
        .unwrap();
    let token = admin_token(app, &http).await;
    let body =
        json!({ "username": format!("api{round}"), "email": format!("api{round}@example.com") });
    let (status, created) = api(
        app,
        &http,
        reqwest::Method::POST,
        "/admin/api/accounts/acct-acme/members",
        &token,
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{what}: {created}");
    assert_links_from(&issuer, &created, what);
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_password_link(app, created["password_link"].as_str().unwrap(), what).await;
    let (status, issued) = api(
        app,
        &http,
        reqwest::Method::POST,
        &format!("/admin/api/members/{member_id}/password-link"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{what}: {issued}");
    assert_links_from(&issuer, &issued, what);
    let issued: Value = serde_json::from_str(&issued).unwrap();
    assert_password_link(app, issued["password_link"].as_str().unwrap(), what).await;

    // The member's own changes, each noticed to the address they verify first.
    let own = hostile_browser(headers);
    password_session(app, &own, &member).await;
    let (status, _, _) = account_post(app, &own, "/account/email-codes", &[]).await;
    assert_eq!(status, StatusCode::OK, "{what}: email codes asked for");
    let code =
        code_in(&message_with(mail, &issuer, &member_email, "Your Gatehouse code", what).await);
    let (status, _, page) = account_post(
        app,
        &own,
        "/account/email-codes/confirm",
        &[("code", &code)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{what}: {page}");
    message_with(
        mail,
        &issuer,
        &member_email,
        "Subject: Email codes turned on",
        what,
    )
    .await;
    message_with(
        mail,
        &issuer,
        &member_email,
        "Subject: New backup codes",
        what,
    )
    .await;
    let (status, _, page) = app.get_in(&own, "/account/totp").await;
    assert_eq!(status, StatusCode::OK, "{what}: {page}");
    let totp = authenticator_from(&page);
    let code = totp.generate(app.state.clock.now() as u64);
    let (status, _, done) = app
        .submit_in(&own, &page, "/account/totp", &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::OK, "{what}: {done}");
    message_with(
        mail,
        &issuer,
        &member_email,
        "Subject: Authenticator app added",
        what,
    )
    .await;
    let (status, _, _) = account_post(app, &own, "/account/backup-codes", &[]).await;
    assert_eq!(status, StatusCode::OK, "{what}: new backup codes");
    message_with(
        mail,
        &issuer,
        &member_email,
        "Subject: New backup codes",
        what,
    )
    .await;
    // An administrator's reset, from the console.
    let reset_path = format!("/admin/contacts/{member_id}/reset-2fa");
    let (status, _, confirm) = app.get_in(&admin, &reset_path).await;
    assert_eq!(status, StatusCode::OK, "{what}: {confirm}");
    let (status, _, _) = app.submit_in(&admin, &confirm, &reset_path, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{what}: the reset");
    message_with(
        mail,
        &issuer,
        &member_email,
        "Subject: Two-step verification reset",
        what,
    )
    .await;
}

/// Fields a form might carry to claim a contact is verified.
const FORGED: &[(&str, &str)] = &[
    ("verified", "1"),
    ("email_verified", "true"),
    ("email_verified_at", "1"),
    ("phone_verified", "1"),
    ("phone_verified_at", "1"),
    ("email_codes_on", "1"),
    ("verified_at", "1"),
    ("status", "verified"),
    ("purpose", "phone_verify"),
];

const ALICE_EMAIL: &str = "alice@example.com";
const OTHER_EMAIL: &str = "mallory@example.com";
const NUMBER_A: &str = "+15551230001";
const NUMBER_B: &str = "+15551230002";
const NUMBER_C: &str = "+15551230003";
const NUMBER_D: &str = "+15551230004";
const NUMBER_E: &str = "+15551230005";
const NUMBER_F: &str = "+15551230006";

/// `fields` followed by every forged field.
fn forged<'a>(fields: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = fields.to_vec();
    all.extend_from_slice(FORGED);
    all
}

/// The user's verified email (when), whether it carries codes, and their verified phone.
async fn verified(app: &TestApp, user_id: &str) -> ((Option<i64>, bool), Option<String>) {
    let store = &app.state.store;
    let email = store.email_state(user_id).await.unwrap();
    let phone = store
        .phone_state(user_id)
        .await
        .unwrap()
        .map(|(number, _)| number);
    (email, phone)
}

/// Nothing of the user's is verified.
async fn assert_nothing_verified(app: &TestApp, user_id: &str, what: &str) {
    assert_eq!(
        verified(app, user_id).await,
        ((None, false), None),
        "{what}: nothing is verified"
    );
}

/// Lifts the lock-out the refused codes count towards.
async fn unlock(app: &TestApp, user_id: &str) {
    let user = app.state.store.user_by_id(user_id).await.unwrap().unwrap();
    gatehouse::service::factors::unlock(&app.state.store, &user)
        .await
        .unwrap();
}

/// Posts a code (with other fields) that must be refused; the lock-out it
/// counts towards is lifted again.
async fn refused(
    app: &TestApp,
    browser: &reqwest::Client,
    user_id: &str,
    path: &str,
    fields: &[(&str, &str)],
    what: &str,
) {
    let (status, _, page) = account_post(app, browser, path, fields).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {page}");
    unlock(app, user_id).await;
}

/// A code from the text to `number`.
async fn texted_code(gateway: &SmsGateway, number: &str) -> String {
    code_in(&gateway.next_to(number).await)
}

/// Nothing more reaches `to` (mail) for a moment.
async fn no_mail_to(mail: &MailServer, to: &str) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(mail.waiting_with(to, ""), 0, "nothing goes to {to}");
}

each_backend! {
    async fn every_link_in_a_message_is_the_configured_issuers_whatever_the_request_says(backend) {
        for (node, proxies, header) in NODES {
            let mail = MailServer::start().await;
            let smtp = mail.url();
            let (proxies, header) = (proxies.to_string(), header.to_string());
            let app = TestApp::spawn_with(backend, move |config| {
                config.issuer = config.issuer.replace("127.0.0.1", ISSUER_HOST);
                config.smtp_url = Some(smtp.clone().into());
                config.trusted_proxies = proxies.clone();
                config.forwarded_header = header.clone();
            })
            .await;
            assert!(app.state.config.issuer().starts_with(&format!("http://{ISSUER_HOST}:")));
            let factors: Vec<String> = ["totp", "webauthn", "email"].map(String::from).to_vec();
            app.state.store.update_tenant_policy("acme", None, Some(&factors), app.state.clock.now()).await.unwrap();
            robot(&app, "acct-acme").await;
            for (round, (headers_named, headers)) in HOSTILE_HEADERS.iter().enumerate() {
                let what = format!("{node}, {headers_named}");
                every_link_is_the_issuers(&app, &mail, round, headers, &what).await;
            }
        }
    }

    async fn a_contact_is_verified_only_by_the_code_sent_to_it_for_that_purpose(backend) {
        let mail = MailServer::start().await;
        let gateway = SmsGateway::start().await;
        let (smtp, sms) = (mail.url(), gateway.url());
        let app = TestApp::spawn_with(backend, move |config| {
            config.smtp_url = Some(smtp.clone().into());
            config.sms_webhook_url = Some(sms.clone());
            config.sms_webhook_secret = SMS_SECRET.into();
            // The clock moves past the resend minute; the password stays recent.
            config.reauth_window_secs = 3600;
        })
        .await;
        let factors: Vec<String> = ["totp", "webauthn", "email"].map(String::from).to_vec();
        app.state.store.update_tenant_policy("acme", None, Some(&factors), app.state.clock.now()).await.unwrap();
        let alice = "user-alice";
        let browser = new_browser();
        password_session(&app, &browser, USERNAME).await;

        // Before any code: no confirm route takes a claim for a code.
        let claims: [(&str, Vec<(&str, &str)>); 5] = [
            ("/account/email-codes/confirm", forged(&[("code", ""), ("email", ALICE_EMAIL)])),
            ("/account/email-codes/confirm", forged(&[("code", "000000"), ("email", ALICE_EMAIL)])),
            ("/account/phone/confirm", forged(&[("code", ""), ("phone", NUMBER_A)])),
            ("/account/phone/confirm", forged(&[("code", "000000"), ("phone", NUMBER_A)])),
            ("/login/phone/confirm", forged(&[("next", "/account"), ("code", "000000"), ("phone", NUMBER_A)])),
        ];
        for (path, fields) in &claims {
            refused(&app, &browser, alice, path, fields, &format!("{path} before any code")).await;
            assert_nothing_verified(&app, alice, path).await;
        }

        // Asking for codes with forged fields: they go where the account says, and verify nothing.
        let (status, _, page) = account_post(&app, &browser, "/account/email-codes", &forged(&[("email", OTHER_EMAIL)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let email_code = mail.next_code_to(ALICE_EMAIL).await;
        no_mail_to(&mail, OTHER_EMAIL).await;
        assert_nothing_verified(&app, alice, "an email code asked for").await;
        let (status, _, page) = account_post(&app, &browser, "/account/phone", &forged(&[("phone", NUMBER_A)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let code_a = texted_code(&gateway, NUMBER_A).await;
        assert_nothing_verified(&app, alice, "a phone code asked for").await;

        // A code for one purpose does not confirm the other.
        if code_a != email_code {
            refused(&app, &browser, alice, "/account/email-codes/confirm", &forged(&[("code", &code_a), ("email", ALICE_EMAIL)]), "the phone's code for the email").await;
            refused(&app, &browser, alice, "/account/phone/confirm", &forged(&[("code", &email_code), ("phone", NUMBER_A)]), "the email's code for the phone").await;
            refused(&app, &browser, alice, "/login/phone/confirm", &forged(&[("next", "/account"), ("code", &email_code), ("phone", NUMBER_A)]), "the email's code at the enrolment's phone step").await;
        }
        assert_nothing_verified(&app, alice, "codes of the other purpose").await;

        // A new number replaces the code: the first number's code confirms neither.
        let (status, _, _) = account_post(&app, &browser, "/account/phone", &[("phone", NUMBER_B)]).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the first code stands for a minute");
        assert_eq!(gateway.waiting(NUMBER_B), 0);
        app.state.clock.advance(61);
        let (status, _, _) = account_post(&app, &browser, "/account/phone", &[("phone", NUMBER_B)]).await;
        assert_eq!(status, StatusCode::OK);
        let code_b = texted_code(&gateway, NUMBER_B).await;
        if code_a != code_b {
            refused(&app, &browser, alice, "/account/phone/confirm", &forged(&[("code", &code_a), ("phone", NUMBER_A)]), "A's code after B was asked for").await;
            refused(&app, &browser, alice, "/account/phone/confirm", &forged(&[("code", &code_a), ("phone", NUMBER_B)]), "A's code for B").await;
            refused(&app, &browser, alice, "/login/phone/confirm", &forged(&[("next", "/account"), ("code", &code_a), ("phone", NUMBER_A)]), "A's code at the enrolment's phone step").await;
        }
        assert_nothing_verified(&app, alice, "a replaced code").await;

        // The email's own code verifies the email, and only it.
        let (status, _, page) = account_post(&app, &browser, "/account/email-codes/confirm", &forged(&[("code", &email_code), ("phone", NUMBER_A), ("email", OTHER_EMAIL)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let ((email_at, codes_on), phone) = verified(&app, alice).await;
        assert!(email_at.is_some() && codes_on, "the address the code went to is verified");
        assert_eq!(phone, None, "not the phone");
        assert_eq!(app.state.store.user_by_id(alice).await.unwrap().unwrap().email, ALICE_EMAIL, "the address is the one it was");

        // B's code verifies B, whatever number the form names.
        let (status, _, page) = account_post(&app, &browser, "/account/phone/confirm", &forged(&[("code", &code_b), ("phone", NUMBER_A)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(verified(&app, alice).await.1.as_deref(), Some(NUMBER_B));

        // A change: the current number's approval sends a code to the new one,
        // which alone verifies it.
        let (status, _, page) = account_post(&app, &browser, "/account/phone", &forged(&[("phone", NUMBER_C)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let approval = texted_code(&gateway, NUMBER_B).await;
        assert_eq!(gateway.waiting(NUMBER_C), 0);
        let (status, location, _) = account_post(&app, &browser, "/login/phone/confirm", &forged(&[("next", "/account"), ("code", &approval), ("phone", NUMBER_C)])).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/account")), "the enrolment's step changes no number");
        let (status, location, _) = account_post(&app, &browser, "/login/phone", &forged(&[("next", "/account"), ("phone", NUMBER_D)])).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/account")));
        assert_eq!(verified(&app, alice).await.1.as_deref(), Some(NUMBER_B));
        let (status, _, page) = account_post(&app, &browser, "/account/phone/confirm", &forged(&[("code", &approval), ("phone", NUMBER_D)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("the new number"), "{page}");
        let code_c = texted_code(&gateway, NUMBER_C).await;
        assert_eq!(gateway.waiting(NUMBER_D), 0, "the code goes to the approved number, not the form's");
        assert_eq!(verified(&app, alice).await.1.as_deref(), Some(NUMBER_B), "an approval verifies nothing");
        refused(&app, &browser, alice, "/account/phone/confirm", &forged(&[("code", &approval), ("phone", NUMBER_C)]), "the approval again").await;
        // The email's code to turn it off is no phone code either.
        let (status, _, _) = account_post(&app, &browser, "/account/email-codes/off-code", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let off_code = mail.next_code_to(ALICE_EMAIL).await;
        if off_code != code_c {
            refused(&app, &browser, alice, "/account/phone/confirm", &forged(&[("code", &off_code), ("phone", NUMBER_C)]), "the email's off code for the phone").await;
            refused(&app, &browser, alice, "/account/email-codes/confirm", &forged(&[("code", &code_c)]), "the new number's code for the email").await;
        }
        assert_eq!(verified(&app, alice).await.1.as_deref(), Some(NUMBER_B));
        let (status, _, page) = account_post(&app, &browser, "/account/phone/confirm", &forged(&[("code", &code_c), ("phone", NUMBER_D)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(verified(&app, alice).await.1.as_deref(), Some(NUMBER_C), "the number the code went to");

        // The sign-in's enrolment step: a member without a phone.
        let bea = app.add_user("bea", PASSWORD).await;
        let other = new_browser();
        password_session(&app, &other, "bea").await;
        let (status, _, page) = account_post(&app, &other, "/login/phone", &forged(&[("next", "/account"), ("phone", NUMBER_E)])).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let code_e = texted_code(&gateway, NUMBER_E).await;
        refused(&app, &other, &bea, "/login/phone/confirm", &forged(&[("next", "/account"), ("code", "000000"), ("phone", NUMBER_E)]), "a wrong code at the enrolment's step").await;
        let (status, _, _) = account_post(&app, &other, "/account/email-codes", &[]).await;
        assert_eq!(status, StatusCode::OK);
        let bea_email_code = mail.next_code_to("bea@example.com").await;
        if bea_email_code != code_e {
            refused(&app, &other, &bea, "/login/phone/confirm", &forged(&[("next", "/account"), ("code", &bea_email_code), ("phone", NUMBER_E)]), "the email's code at the enrolment's step").await;
            refused(&app, &other, &bea, "/account/email-codes/confirm", &forged(&[("code", &code_e), ("email", "bea@example.com")]), "the phone's code for the email").await;
        }
        assert_nothing_verified(&app, &bea, "bea's codes of the other purpose").await;
        app.state.clock.advance(61);
        let (status, _, _) = account_post(&app, &other, "/login/phone", &[("next", "/account"), ("phone", NUMBER_F)]).await;
        assert_eq!(status, StatusCode::OK);
        let code_f = texted_code(&gateway, NUMBER_F).await;
        if code_e != code_f {
            refused(&app, &other, &bea, "/login/phone/confirm", &forged(&[("next", "/account"), ("code", &code_e), ("phone", NUMBER_E)]), "E's code after F was asked for").await;
        }
        assert_nothing_verified(&app, &bea, "bea's replaced code").await;
        let (status, location, _) = account_post(&app, &other, "/login/phone/confirm", &forged(&[("next", "/account"), ("code", &code_f), ("phone", NUMBER_E)])).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/account")));
        assert_eq!(verified(&app, &bea).await, ((None, false), Some(NUMBER_F.to_string())), "F, and not the email");

        // The console's member forms: a new member, a role, a link, a switch.
        app.add_member("ada", PASSWORD, "acct-acme", Role::Administrator).await;
        console_first_visit(&app, &app.browser, "ada").await;
        let (_, _, form) = app.get("/admin/contacts/new?account=acct-acme").await;
        let fields = forged(&[("account", "acct-acme"), ("username", "cleo"), ("email", "cleo@example.com"), ("phone", NUMBER_A), ("is_admin", "off")]);
        let (status, _, page) = app.submit_in(&app.browser, &form, "/admin/contacts/new", &fields).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let cleo = app.state.store.user_by_username("cleo").await.unwrap().expect("cleo is added").id;
        assert_nothing_verified(&app, &cleo, "a new member from the console").await;
        let member_page = format!("/admin/contacts/{cleo}");
        for (action, fields) in [
            ("role", forged(&[("administrator", "yes"), ("phone", NUMBER_A)])),
            ("password-link", forged(&[("phone", NUMBER_A)])),
            ("disable", forged(&[("phone", NUMBER_A)])),
            ("enable", forged(&[("phone", NUMBER_A)])),
        ] {
            let (_, _, page) = app.get(&member_page).await;
            let (status, _, body) = app.submit_in(&app.browser, &page, &format!("{member_page}/{action}"), &fields).await;
            assert!(status == StatusCode::OK || status == StatusCode::SEE_OTHER, "{action}: {status} {body}");
            assert_nothing_verified(&app, &cleo, action).await;
        }

        // The admin API: fields it does not know are refused, and none verifies.
        robot(&app, "acct-acme").await;
        let http = reqwest::Client::new();
        let token = admin_token(&app, &http).await;
        let members = "/admin/api/accounts/acct-acme/members";
        for (field, value) in [
            ("email_verified", json!(true)),
            ("verified", json!(true)),
            ("email_verified_at", json!(1)),
            ("phone", json!(NUMBER_A)),
            ("phone_verified", json!(true)),
            ("phone_verified_at", json!(1)),
            ("email_codes_on", json!(true)),
        ] {
            let mut body = json!({ "username": "dora", "email": "dora@example.com" });
            body[field] = value;
            let (status, text) = api(&app, &http, reqwest::Method::POST, members, &token, Some(body)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {text}");
            assert!(app.state.store.user_by_username("dora").await.unwrap().is_none(), "{field}: no member");
        }
        let (status, text) = api(&app, &http, reqwest::Method::POST, members, &token, Some(json!({ "username": "dora", "email": "dora@example.com" }))).await;
        assert_eq!(status, StatusCode::CREATED, "{text}");
        let dora = app.state.store.user_by_username("dora").await.unwrap().unwrap().id;
        assert_nothing_verified(&app, &dora, "a new member from the API").await;
        let role = format!("/admin/api/members/{dora}/administrator");
        let (status, text) = api(&app, &http, reqwest::Method::PUT, &role, &token, Some(json!({ "administrator": true, "email_verified": true, "phone": NUMBER_A }))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
        let link = format!("/admin/api/members/{dora}/password-link");
        let (status, text) = api(&app, &http, reqwest::Method::POST, &link, &token, Some(json!({ "email_verified": true, "phone_verified": true }))).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert_nothing_verified(&app, &dora, "the API's member routes").await;
        assert!(!app.state.store.user_by_id(&dora).await.unwrap().unwrap().is_admin);
    }
}
