//! Pushed authorization requests (RFC 9126): the client posts its request,
//! authenticated; `/authorize` takes the `request_uri` once, within 60
//! seconds, for that client alone; `require_par` refuses plain requests.

use reqwest::StatusCode;
use serde_json::Value;

use crate::admin::console_first_visit;
use crate::common::*;
use crate::each_backend;

/// The parameters of an authorization request's URL.
fn query_pairs(request: &AuthRequest) -> Vec<(String, String)> {
    url::Url::parse(&request.url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// POSTs `form` to the PAR endpoint, as `auth` (Basic) when given.
async fn push(
    app: &TestApp,
    auth: Option<(&str, &str)>,
    form: &[(String, String)],
) -> (StatusCode, Value) {
    let mut request = rp_http().post(app.url("/par")).form(form);
    if let Some((id, secret)) = auth {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap())
}

/// The authorization URL that names a pushed request.
fn by_reference(app: &TestApp, client_id: &str, request_uri: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", client_id)
        .append_pair("request_uri", request_uri)
        .finish();
    app.url(&format!("/authorize?{query}"))
}

/// `form` with `name` set to `value` (added, or replacing it).
fn with(form: &[(String, String)], name: &str, value: &str) -> Vec<(String, String)> {
    let mut changed: Vec<(String, String)> =
        form.iter().filter(|(k, _)| k != name).cloned().collect();
    changed.push((name.into(), value.into()));
    changed
}

fn without(form: &[(String, String)], name: &str) -> Vec<(String, String)> {
    form.iter().filter(|(k, _)| k != name).cloned().collect()
}

/// A pushed request refused: who pushes it, what, and the status, error and words of the answer.
type Case<'a> = (
    Option<(&'a str, &'a str)>,
    Vec<(String, String)>,
    StatusCode,
    &'a str,
    &'a str,
);

each_backend! {
    async fn a_pushed_request_signs_in_once_within_its_minute(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: Value = serde_json::from_str(&discovery).unwrap();
        assert_eq!(discovery["pushed_authorization_request_endpoint"], format!("{}/par", app.base));
        assert_eq!(discovery["require_pushed_authorization_requests"], false);

        let request = app.auth_request(&portal, &[]);
        let (status, pushed) = push(&app, Some(("portal", PORTAL_SECRET)), &query_pairs(&request)).await;
        assert_eq!(status, StatusCode::CREATED, "{pushed}");
        assert_eq!(pushed["expires_in"], 60);
        let request_uri = pushed["request_uri"].as_str().unwrap().to_string();
        assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{request_uri}");

        // The browser carries only client_id and request_uri; the rest was pushed.
        let url = by_reference(&app, "portal", &request_uri);
        let pushed_request = AuthRequest { url: url.clone(), ..request };
        let (status, location, body) = app.sign_in_through(&pushed_request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let code = code_from(&location.unwrap(), &pushed_request);
        let signed = app.exchange(&portal, code, pushed_request).await;
        assert_eq!(signed.claims.subject().as_str(), "user-alice");

        // Once only.
        let (status, _, page) = app.get(&url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("expired or was already completed"), "{page}");

        // Within its minute only.
        let request = app.auth_request(&portal, &[]);
        let (_, pushed) = push(&app, Some(("portal", PORTAL_SECRET)), &query_pairs(&request)).await;
        app.state.clock.advance(61);
        let url = by_reference(&app, "portal", pushed["request_uri"].as_str().unwrap());
        let (status, _, _) = app.get(&url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "an expired request_uri is refused");

        // For the client that pushed it only, and not used up by another's try.
        let request = app.auth_request(&portal, &[]);
        let (_, pushed) = push(&app, Some(("portal", PORTAL_SECRET)), &query_pairs(&request)).await;
        let request_uri = pushed["request_uri"].as_str().unwrap();
        let (status, _, page) = app.get(&by_reference(&app, "backoffice", request_uri)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(page.contains("another application"), "{page}");
        let (status, location, _) = app.get(&by_reference(&app, "portal", request_uri)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "the session answers the pushed request");
        code_from(&location.unwrap(), &request);

        // A pushed request is taken by its request_uri alone, never as a parked sign-in.
        let request = app.auth_request(&portal, &[]);
        let (_, pushed) = push(&app, Some(("portal", PORTAL_SECRET)), &query_pairs(&request)).await;
        let request_uri = pushed["request_uri"].as_str().unwrap();
        let parked_id = request_uri.rsplit(':').next().unwrap();
        for path in [format!("/consent?request={parked_id}"), format!("/login/continue?request={parked_id}")] {
            let (status, _, _) = app.get(&path).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        }
        let (status, _, _) = app.get(&by_reference(&app, "portal", request_uri)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "and it is still there");

        // A request_uri that is not one of ours.
        let (status, _, _) = app.get(&by_reference(&app, "portal", "https://portal.example/request.jwt")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = app.get(&by_reference(&app, "portal", "urn:ietf:params:oauth:request_uri:not-pushed")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    async fn a_public_client_pushes_with_its_id_and_pkce(backend) {
        let app = TestApp::spawn(backend).await;
        let spa = app.rp("spa").await;
        let request = app.auth_request(&spa, &[]);
        let form = query_pairs(&request);
        let (status, body) = push(&app, None, &without(&without(&form, "code_challenge"), "code_challenge_method")).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{body}");
        assert!(body["error_description"].as_str().unwrap().contains("PKCE"));
        let (status, pushed) = push(&app, None, &form).await;
        assert_eq!(status, StatusCode::CREATED, "{pushed}");
        let url = by_reference(&app, "spa", pushed["request_uri"].as_str().unwrap());
        let pushed_request = AuthRequest { url, ..request };
        let (_, location, _) = app.sign_in_through(&pushed_request, USERNAME, PASSWORD).await;
        let code = code_from(&location.unwrap(), &pushed_request);
        app.exchange(&spa, code, pushed_request).await;
    }

    async fn the_par_endpoint_authenticates_and_checks_the_whole_request(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let form = query_pairs(&app.auth_request(&portal, &[]));
        let auth = Some(("portal", PORTAL_SECRET));
        let cases: Vec<Case> = vec![
            (None, form.clone(), StatusCode::UNAUTHORIZED, "invalid_client", "client authentication is missing"),
            (Some(("portal", "wrong")), form.clone(), StatusCode::UNAUTHORIZED, "invalid_client", "wrong secret"),
            (Some(("backoffice", BACKOFFICE_SECRET)), form.clone(), StatusCode::UNAUTHORIZED, "invalid_client", "does not match"),
            (auth, with(&form, "redirect_uri", "https://evil.example/cb"), StatusCode::BAD_REQUEST, "invalid_request", "not registered"),
            (auth, with(&form, "scope", "email"), StatusCode::BAD_REQUEST, "invalid_scope", "openid"),
            (auth, with(&form, "response_type", "token"), StatusCode::BAD_REQUEST, "unsupported_response_type", "code"),
            (auth, with(&form, "request_uri", "urn:ietf:params:oauth:request_uri:x"), StatusCode::BAD_REQUEST, "invalid_request", "request_uri"),
            (auth, without(&form, "client_id"), StatusCode::BAD_REQUEST, "invalid_request", "client_id is missing"),
            (auth, with(&form, "code_challenge_method", "plain"), StatusCode::BAD_REQUEST, "invalid_request", "S256"),
        ];
        for (auth, form, status, error, words) in cases {
            let (got, body) = push(&app, auth, &form).await;
            assert_eq!((got, body["error"].as_str()), (status, Some(error)), "{body}");
            assert!(body["error_description"].as_str().unwrap().contains(words), "{words}: {body}");
        }
        // Not a form, or a parameter twice.
        let response = rp_http().post(app.url("/par")).basic_auth("portal", Some(PORTAL_SECRET)).body("{}").header("content-type", "application/json").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let mut twice = form.clone();
        twice.push(("scope".into(), "openid".into()));
        let (status, body) = push(&app, auth, &twice).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
        assert_eq!(stored_pushed(&app).await, 0, "nothing refused was parked");
    }

    async fn a_client_that_requires_par_is_refused_a_plain_request(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let (_, _, page) = {
            app.add_member("otto", PASSWORD, "acct-acme", Role::Operator).await;
            console_first_visit(&app, &app.browser, "otto").await;
            app.get("/admin/clients/portal").await
        };
        let redirect = app.redirect_uri("portal");
        let (status, _, _) = app.submit_in(&app.browser, &page, "/admin/clients/portal", &[("redirect_uris", &redirect), ("id_token_alg", "RS256"), ("require_par", "on")]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(app.state.store.client("portal").await.unwrap().unwrap().require_par);

        let browser = new_browser();
        let request = app.auth_request(&portal, &[]);
        let (status, location, _) = app.get_in(&browser, &request.url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let query = query_of(&location.unwrap());
        assert_eq!(query["error"], "invalid_request");
        assert!(query["error_description"].contains("push"), "{query:?}");
        assert_eq!(query.get("state"), Some(request.state.secret()));

        let (status, pushed) = push(&app, Some(("portal", PORTAL_SECRET)), &query_pairs(&request)).await;
        assert_eq!(status, StatusCode::CREATED);
        let url = by_reference(&app, "portal", pushed["request_uri"].as_str().unwrap());
        let pushed_request = AuthRequest { url, ..request };
        let (status, location, _) = app.sign_in_through_in(&browser, &pushed_request, USERNAME, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        code_from(&location.unwrap(), &pushed_request);
    }

    async fn every_client_must_push_when_the_provider_says_so(backend) {
        let app = TestApp::spawn_with(backend, |config| config.require_pushed_authorization_requests = true).await;
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: Value = serde_json::from_str(&discovery).unwrap();
        assert_eq!(discovery["require_pushed_authorization_requests"], true);
        let backoffice = app.rp("backoffice").await;
        let request = app.auth_request(&backoffice, &[]);
        let (_, location, _) = app.get(&request.url).await;
        assert_eq!(query_of(&location.unwrap())["error"], "invalid_request");
    }
}

/// Pushed requests parked now.
async fn stored_pushed(app: &TestApp) -> i64 {
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let (count,): (i64,) =
        sqlx::query_as("select count(*) from auth_requests where id like 'par.%'")
            .fetch_one(&db)
            .await
            .unwrap();
    db.close().await;
    count
}
