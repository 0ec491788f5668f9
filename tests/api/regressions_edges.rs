//! Regressions at the edges of a registration: redirect and post-logout URIs
//! match only exactly (a corpus of near misses), administrators register only
//! https or loopback-http URIs and never a code or local scheme (command line,
//! console and API alike), and every page keeps its content security policy.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::account::run_cli;
use crate::admin::console_first_visit;
use crate::common::*;
use crate::each_backend;

/// The policy every response carries (the value `pages_carry_the_security_headers` checks).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                   img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'";

const CORNER_SECRET: &str = "corner-secret-0123456789";
const HOST: &str = "app.example";
const CALLBACK: &str = "/cb";
const SIGNED_OUT: &str = "/signed-out";

fn exact(path: &str) -> String {
    format!("https://{HOST}{path}")
}

/// Near misses of `https://app.example{path}`: user information, backslashes,
/// `..;/`, percent-encoding, host case, trailing dot, fragment, ports, scheme
/// changes, double slashes, spaces. A lenient comparison would let most of
/// them through; none may match.
fn near_misses(path: &str) -> Vec<String> {
    let h = HOST;
    let p = path;
    let rest = &path[1..];
    let first = path.as_bytes()[1];
    vec![
        // User information.
        format!("https://{h}@evil.example{p}"),
        format!("https://evil.example@{h}{p}"),
        format!("https://user:pass@{h}{p}"),
        format!("https://{h}{p}@evil.example"),
        // Backslashes.
        format!("https://{h}\\{rest}"),
        format!("https://{h}\\@evil.example{p}"),
        format!("https://evil.example\\@{h}{p}"),
        format!("https://{h}{p}\\"),
        // Path tricks: `..;/`, dot segments, double and trailing slashes.
        format!("https://{h}{p}/..;/evil"),
        format!("https://{h}/x/..;{p}"),
        format!("https://{h}/x/..{p}"),
        format!("https://{h}/.{p}"),
        format!("https://{h}/{p}"),
        format!("https://{h}{p}//"),
        format!("https://{h}{p}/"),
        format!("https://{h}{p}x"),
        // Percent-encoding.
        format!("https://{h}/%{first:02X}{}", &rest[1..]),
        format!("https://{h}/%{first:02x}{}", &rest[1..]),
        format!("https://{h}{p}%2F..%2Fevil"),
        format!("https://{h}{p}%20"),
        format!("https://%{:02X}{}{p}", h.as_bytes()[0], &h[1..]),
        // Host case and a trailing dot.
        format!("https://{}{p}", h.to_uppercase()),
        format!("https://{}{p}", h.replace("example", "EXAMPLE")),
        format!("https://{h}.{p}"),
        // Fragment and query.
        format!("https://{h}{p}#"),
        format!("https://{h}{p}#x"),
        format!("https://{h}{p}?"),
        format!("https://{h}{p}?next=https://evil.example/"),
        // An extra port, even the default one.
        format!("https://{h}:443{p}"),
        format!("https://{h}:8443{p}"),
        format!("https://{h}:{p}"),
        // A scheme change.
        format!("http://{h}{p}"),
        format!("HTTPS://{h}{p}"),
        format!("Https://{h}{p}"),
        format!("https:/{h}{p}"),
        format!("https:{h}{p}"),
        format!("//{h}{p}"),
        format!("javascript://{h}{p}"),
        // Another host that starts or ends alike.
        format!("https://{h}.evil.example{p}"),
        format!("https://evil-{h}{p}"),
        // Spaces and controls a parser would drop.
        format!(" https://{h}{p}"),
        format!("https://{h}{p} "),
        format!("https://{h}{p}\t"),
        format!("https://{h}{}\n{}", &p[..2], &p[2..]),
    ]
}

/// `url` with its parameter `name` set to `value` (sent form-encoded, byte for byte).
fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == name {
                (k, value.to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.to_string()
}

fn logout_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    app.url(&format!("/logout?{query}"))
}

/// Registers the confidential client "corner": `https://app.example/cb` (and
/// the harness's loopback callback) with `https://app.example/signed-out`.
async fn register_corner(app: &TestApp) -> Rp {
    let registration = gatehouse::oidc::registration::Registration {
        client_id: "corner".into(),
        redirect_uris: vec![exact(CALLBACK), app.redirect_uri("corner")],
        post_logout_redirect_uris: vec![exact(SIGNED_OUT)],
        backchannel_logout_uri: None,
        id_token_alg: "RS256".into(),
        consent: false,
        require_par: false,
        jwks: None,
        jwks_uri: None,
        device_grant: false,
    };
    assert_eq!(gatehouse::oidc::registration::check(&registration), Ok(()));
    let hash = gatehouse::auth::password::hash(CORNER_SECRET, CHEAP).unwrap();
    app.state
        .store
        .create_client(gatehouse::store::NewClient {
            client_id: "corner",
            secret_hash: Some(&hash),
            redirect_uris: &registration.redirect_uris,
            post_logout_redirect_uris: &registration.post_logout_redirect_uris,
            backchannel_logout_uri: None,
            id_token_alg: "RS256",
            consent: false,
            require_par: false,
            jwks: None,
            jwks_uri: None,
            device_grant: false,
            now: app.state.clock.now(),
        })
        .await
        .unwrap();
    app.rp_with("corner", Some(CORNER_SECRET)).await
}

/// Whether `browser` still has a session that answers `rp` without a page.
async fn is_signed_in(app: &TestApp, browser: &reqwest::Client, rp: &Rp) -> bool {
    let probe = app.auth_request(rp, &[("prompt", "none")]);
    let (_, location, _) = app.get_in(browser, &probe.url).await;
    location.is_some_and(|l| !query_of(&l).contains_key("error"))
}

/// An error page here: a 4xx, no Location at all, a page with a heading.
fn assert_error_page(what: &str, (status, location, body): &(StatusCode, Option<String>, String)) {
    assert!(status.is_client_error(), "{what}: {status}");
    assert_eq!(location.as_deref(), None, "never redirected: {what}");
    assert!(body.contains("<h1>"), "an error page: {what}: {body}");
}

/// How a registration reaches the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Channel {
    Cli,
    Console,
    Api,
}

/// Which URI of a registration a row sets.
#[derive(Clone, Copy, Debug)]
enum Field {
    Redirect,
    PostLogout,
    Backchannel,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Redirect => "redirect URI",
            Field::PostLogout => "post-logout redirect URI",
            Field::Backchannel => "back-channel logout URI",
        }
    }
}

/// The URIs of one registration attempt.
struct Uris {
    redirect: String,
    post_logout: Option<String>,
    backchannel: Option<String>,
}

impl Uris {
    /// Good URIs everywhere but `field`, which is `uri`.
    fn with(field: Field, uri: &str) -> Uris {
        let mut uris = Uris {
            redirect: "https://crm.example/cb".into(),
            post_logout: Some("https://crm.example/bye".into()),
            backchannel: Some("https://crm.example/bc".into()),
        };
        match field {
            Field::Redirect => uris.redirect = uri.into(),
            Field::PostLogout => uris.post_logout = Some(uri.into()),
            Field::Backchannel => uris.backchannel = Some(uri.into()),
        }
        uris
    }
}

/// Registers public client `client_id` with `uris` through `channel`; a
/// refusal is the error it shows (stderr, the console's page, the API's
/// `error_description`).
async fn register(
    app: &TestApp,
    console: &reqwest::Client,
    form: &str,
    token: &str,
    channel: Channel,
    client_id: &str,
    uris: &Uris,
) -> Result<(), String> {
    match channel {
        Channel::Cli => {
            let mut args = vec![
                "client",
                "create",
                "--client-id",
                client_id,
                "--public",
                "--redirect-uri",
                &uris.redirect,
            ];
            if let Some(uri) = &uris.post_logout {
                args.extend(["--post-logout-redirect-uri", uri]);
            }
            if let Some(uri) = &uris.backchannel {
                args.extend(["--backchannel-logout-uri", uri]);
            }
            let out = run_cli(app, &args);
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            match out.status.code() {
                Some(0) => Ok(()),
                Some(2) => {
                    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
                    Err(stderr)
                }
                other => panic!("exit {other:?}: {stderr}"),
            }
        }
        Channel::Console => {
            let fields = [
                ("client_id", client_id),
                ("kind", "public"),
                ("redirect_uris", uris.redirect.as_str()),
                (
                    "post_logout_redirect_uris",
                    uris.post_logout.as_deref().unwrap_or_default(),
                ),
                (
                    "backchannel_logout_uri",
                    uris.backchannel.as_deref().unwrap_or_default(),
                ),
                ("id_token_alg", "RS256"),
            ];
            let (status, location, page) = app
                .submit_in(console, form, "/admin/clients/new", &fields)
                .await;
            match status {
                StatusCode::SEE_OTHER => {
                    let saved = format!("/admin/clients/{client_id}?saved=1");
                    assert_eq!(location.as_deref(), Some(saved.as_str()));
                    Ok(())
                }
                StatusCode::BAD_REQUEST => Err(html_unescape(&page)),
                other => panic!("{other}: {page}"),
            }
        }
        Channel::Api => {
            let body = json!({
                "client_id": client_id,
                "public": true,
                "redirect_uris": [uris.redirect],
                "post_logout_redirect_uris": uris.post_logout.iter().collect::<Vec<_>>(),
                "backchannel_logout_uri": uris.backchannel,
            });
            let response = reqwest::Client::new()
                .post(app.url("/admin/api/clients"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let answer: Value = response.json().await.unwrap();
            match status {
                StatusCode::CREATED => Ok(()),
                StatusCode::BAD_REQUEST => {
                    assert_eq!(answer["error"], "invalid_request", "{answer}");
                    Err(answer["error_description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string())
                }
                other => panic!("{other}: {answer}"),
            }
        }
    }
}

/// A confidential client "robot" granted the `admin` scope over every account,
/// and its access token for the console's API.
async fn api_token(app: &TestApp) -> String {
    register_robot(app, Some("*")).await;
    let response = reqwest::Client::new()
        .post(app.url("/token"))
        .basic_auth("robot", Some(ROBOT_SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("an admin token: {body}"))
        .to_string()
}

/// The response's CSP, after checking its other security headers.
fn csp_of(what: &str, response: &reqwest::Response) -> String {
    let headers = response.headers();
    assert_eq!(
        headers.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..]),
        "{what}"
    );
    assert_eq!(
        headers.get("x-content-type-options").map(|v| v.as_bytes()),
        Some(&b"nosniff"[..]),
        "{what}"
    );
    headers
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what} has no content-security-policy"))
        .to_str()
        .unwrap()
        .to_string()
}

each_backend! {
    async fn authorize_redirects_only_to_the_exact_registered_uri(backend) {
        let app = TestApp::spawn(backend).await;
        let corner = register_corner(&app).await;
        // A live session: a matching request would be answered with a code at once.
        app.sign_in(&corner).await;
        let request = app.auth_request(&corner, &[]);
        let url = with_param(&request.url, "redirect_uri", &exact(CALLBACK));
        let (status, location, _) = app.get(&url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let location = location.unwrap();
        assert!(location.starts_with(&format!("{}?", exact(CALLBACK))), "{location}");
        assert!(query_of(&location).contains_key("code"), "the exact URI gets its code");

        for variant in near_misses(CALLBACK) {
            let request = app.auth_request(&corner, &[]);
            let url = with_param(&request.url, "redirect_uri", &variant);
            let answer = app.get(&url).await;
            assert_error_page(&format!("GET /authorize to {variant:?}"), &answer);
            let form: Vec<(String, String)> = url::Url::parse(&url).unwrap().query_pairs().into_owned().collect();
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let answer = app.post_form("/authorize", &form).await;
            assert_error_page(&format!("POST /authorize to {variant:?}"), &answer);
        }
    }

    async fn logout_redirects_only_to_the_exact_registered_uri(backend) {
        let app = TestApp::spawn(backend).await;
        let corner = register_corner(&app).await;
        let signed_in = app.sign_in(&corner).await;
        let hint = signed_in.tokens.extra_fields().id_token().unwrap().to_string();
        let visitor = new_browser();
        let variants = near_misses(SIGNED_OUT);

        for variant in &variants {
            let by_client = logout_url(&app, &[("client_id", "corner"), ("post_logout_redirect_uri", variant), ("state", "bye")]);
            let answer = app.get_in(&visitor, &by_client).await;
            assert_error_page(&format!("a visitor's /logout to {variant:?}"), &answer);
            // With a hint for this session, a match would sign out and redirect at once.
            let hinted = logout_url(&app, &[("id_token_hint", &hint), ("post_logout_redirect_uri", variant), ("state", "bye")]);
            let answer = app.get(&hinted).await;
            assert_error_page(&format!("a hinted /logout to {variant:?}"), &answer);
            let answer = app.get(&by_client).await;
            assert_error_page(&format!("a signed-in /logout to {variant:?}"), &answer);
        }
        assert!(is_signed_in(&app, &app.browser, &corner).await, "no variant ended the session");

        // The confirmation form, submitted with a variant instead.
        let (status, _, confirm) = app.get(&logout_url(&app, &[("client_id", "corner"), ("post_logout_redirect_uri", &exact(SIGNED_OUT))])).await;
        assert_eq!(status, StatusCode::OK);
        assert!(confirm.contains("Sign out?"), "{confirm}");
        for variant in &variants {
            let answer = app.submit_in(&app.browser, &confirm, "/logout/confirm", &[("client_id", "corner"), ("post_logout_redirect_uri", variant), ("state", "bye")]).await;
            assert_error_page(&format!("the confirmation to {variant:?}"), &answer);
        }
        assert!(is_signed_in(&app, &app.browser, &corner).await, "no confirmation with a variant ended the session");

        // The exact URI is redirected to, for a visitor and with the hint.
        let signed_out = format!("{}?state=bye", exact(SIGNED_OUT));
        let (status, location, _) = app.get_in(&visitor, &logout_url(&app, &[("client_id", "corner"), ("post_logout_redirect_uri", &exact(SIGNED_OUT)), ("state", "bye")])).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(signed_out.as_str())));
        let (status, location, _) = app.get(&logout_url(&app, &[("id_token_hint", &hint), ("post_logout_redirect_uri", &exact(SIGNED_OUT)), ("state", "bye")])).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some(signed_out.as_str())));
        assert!(!is_signed_in(&app, &app.browser, &corner).await, "the exact URI with a hint signs out");
    }

    async fn administrators_register_only_https_or_loopback_uris(backend) {
        let app = TestApp::spawn(backend).await;
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        let console = new_browser();
        console_first_visit(&app, &console, "otto").await;
        let (status, _, form) = app.get_in(&console, "/admin/clients/new").await;
        assert_eq!(status, StatusCode::OK);
        let token = api_token(&app).await;
        let portal_before = app.state.store.client("portal").await.unwrap().unwrap();

        let refused = [
            (Field::Redirect, "http://portal.example/cb", "must use https"),
            (Field::Redirect, "http://10.0.0.1/cb", "must use https"),
            (Field::Redirect, "http://localhost.evil.example/cb", "must use https"),
            (Field::Redirect, "javascript:alert(1)", "the javascript: scheme, which is never allowed"),
            (Field::Redirect, "JavaScript:alert(document.cookie)", "the javascript: scheme, which is never allowed"),
            (Field::Redirect, " javascript:alert(1)", "the javascript: scheme, which is never allowed"),
            (Field::Redirect, "javascript://app.example/%0Aalert(1)", "the javascript: scheme, which is never allowed"),
            (Field::Redirect, "data:text/html,<script>alert(1)</script>", "the data: scheme, which is never allowed"),
            (Field::Redirect, "file:///etc/passwd", "the file: scheme, which is never allowed"),
            (Field::Redirect, "VBScript:msgbox(1)", "the vbscript: scheme, which is never allowed"),
            (Field::Redirect, "myapp:/cb", "private-use scheme"),
            (Field::Redirect, "https://app.example@evil.example/cb", "must not contain user information"),
            (Field::PostLogout, "http://portal.example/bye", "must use https"),
            (Field::PostLogout, "javascript:alert(1)", "the javascript: scheme, which is never allowed"),
            (Field::PostLogout, "data:text/html,bye", "the data: scheme, which is never allowed"),
            (Field::PostLogout, "com.example.app:/bye", "must use https"),
            (Field::Backchannel, "http://portal.example/bc", "must use https"),
            (Field::Backchannel, "javascript:alert(1)", "the javascript: scheme, which is never allowed"),
            (Field::Backchannel, "file:///tmp/logout", "the file: scheme, which is never allowed"),
            (Field::Backchannel, "com.example.app:/bc", "must use https"),
        ];
        for (row, (field, uri, why)) in refused.iter().enumerate() {
            for channel in [Channel::Cli, Channel::Console, Channel::Api] {
                let what = format!("{channel:?} {field:?} {uri:?}");
                let client_id = format!("bad-{row}-{channel:?}").to_lowercase();
                let result = register(&app, &console, &form, &token, channel, &client_id, &Uris::with(*field, uri)).await;
                let Err(error) = result else { panic!("{what} is accepted") };
                // The console reads its URIs one per line, spaces trimmed.
                let shown = match channel {
                    Channel::Console => uri.trim(),
                    _ => uri,
                };
                let named = format!("the {} {shown:?}", field.name());
                assert!(error.contains(&named), "{what}: the error names the URI: {error}");
                assert!(error.contains(why), "{what}: the error says why: {error}");
                assert!(app.state.store.client(&client_id).await.unwrap().is_none(), "{what}: nothing stored");
            }
            // Nor may an existing registration be changed to it.
            let uris = Uris::with(*field, uri);
            let fields = [
                ("redirect_uris", uris.redirect.as_str()),
                ("post_logout_redirect_uris", uris.post_logout.as_deref().unwrap_or_default()),
                ("backchannel_logout_uri", uris.backchannel.as_deref().unwrap_or_default()),
                ("id_token_alg", "RS256"),
            ];
            let (status, _, page) = app.submit_in(&console, &form, "/admin/clients/portal", &fields).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "console edit to {uri:?}");
            assert!(html_unescape(&page).contains(why), "{page}");
            let body = json!({ "redirect_uris": [uris.redirect], "post_logout_redirect_uris": uris.post_logout.iter().collect::<Vec<_>>(), "backchannel_logout_uri": uris.backchannel });
            let response = reqwest::Client::new().put(app.url("/admin/api/clients/portal")).bearer_auth(&token).json(&body).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "API edit to {uri:?}");
            let answer: Value = response.json().await.unwrap();
            assert!(answer["error_description"].as_str().unwrap_or_default().contains(why), "{answer}");
            let portal = app.state.store.client("portal").await.unwrap().unwrap();
            assert_eq!(
                (&portal.redirect_uris, &portal.post_logout_redirect_uris, &portal.backchannel_logout_uri),
                (&portal_before.redirect_uris, &portal_before.post_logout_redirect_uris, &portal_before.backchannel_logout_uri),
                "portal unchanged after {uri:?}"
            );
        }

        let accepted = [
            Uris { redirect: "https://crm.example/cb".into(), post_logout: Some("https://crm.example/bye".into()), backchannel: Some("https://crm.example/bc".into()) },
            Uris { redirect: "http://127.0.0.1:9/cb".into(), post_logout: Some("http://[::1]:8080/bye".into()), backchannel: Some("http://127.0.0.1:9/bc".into()) },
            Uris { redirect: "http://localhost:3000/callback".into(), post_logout: Some("http://localhost:3000/".into()), backchannel: None },
            Uris { redirect: "com.example.app:/cb".into(), post_logout: None, backchannel: None },
        ];
        for (row, uris) in accepted.iter().enumerate() {
            for channel in [Channel::Cli, Channel::Console, Channel::Api] {
                let client_id = format!("good-{row}-{channel:?}").to_lowercase();
                let result = register(&app, &console, &form, &token, channel, &client_id, uris).await;
                assert_eq!(result, Ok(()), "{channel:?} {:?}", uris.redirect);
                let stored = app.state.store.client(&client_id).await.unwrap().expect("stored");
                assert_eq!(stored.redirect_uris, vec![uris.redirect.clone()], "kept byte for byte");
                assert_eq!(stored.post_logout_redirect_uris, uris.post_logout.iter().cloned().collect::<Vec<_>>());
                assert_eq!(stored.backchannel_logout_uri, uris.backchannel);
            }
        }
    }

    async fn every_page_keeps_its_content_security_policy(backend) {
        let app = TestApp::spawn(backend).await;
        let mut pages: Vec<(String, String)> = Vec::new();

        // A visitor.
        let visitor = new_browser();
        for path in [
            "/",
            "/login",
            "/authorize",
            "/authorize?client_id=portal&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&response_type=code&scope=openid",
            "/logout?client_id=portal&post_logout_redirect_uri=javascript%3Aalert(1)",
            "/.well-known/openid-configuration",
            "/jwks",
            "/no-such-page",
        ] {
            let response = visitor.get(app.url(path)).send().await.unwrap();
            if path.starts_with("/authorize") || path.starts_with("/logout") {
                assert!(response.status().is_client_error(), "{path}: an error page");
            }
            pages.push((format!("visitor {path}"), csp_of(path, &response)));
        }

        // A signed-in user.
        let portal = app.rp("portal").await;
        app.sign_in(&portal).await;
        for path in ["/account", "/logout", "/admin"] {
            let response = app.browser.get(app.url(path)).send().await.unwrap();
            if path == "/logout" {
                assert_eq!(response.status(), StatusCode::OK, "the logout confirmation");
            }
            pages.push((format!("user {path}"), csp_of(path, &response)));
        }

        // An operator.
        app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
        let operator = new_browser();
        console_first_visit(&app, &operator, "otto").await;
        for path in [
            "/admin",
            "/admin/contacts",
            "/admin/contacts/all",
            "/admin/clients",
            "/admin/clients/new",
            "/admin/clients/portal",
            "/admin/settings",
            "/admin/audit?provider=1",
            "/admin/clients/nobody",
        ] {
            let response = operator.get(app.url(path)).send().await.unwrap();
            if path != "/admin/clients/nobody" {
                assert_eq!(response.status(), StatusCode::OK, "{path}");
            }
            pages.push((format!("operator {path}"), csp_of(path, &response)));
        }

        assert!(CSP.contains("frame-ancestors 'none'"));
        for (page, csp) in &pages {
            assert_eq!(csp, CSP, "{page}");
        }
    }
}
