//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode): the code,
//! or the error, posted to the redirect URI by a page whose policy allows
//! that one target.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

/// Checks a form-post page for `rp`'s redirect URI: its policy, its form, its button and script.
fn check_form_post(app: &TestApp, headers: &reqwest::header::HeaderMap, page: &str) {
    let target = app.redirect_uri("portal");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains(&format!("form-action {target};")), "{csp}");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        page.contains(&format!(
            r#"<form method="post" action="{}" id="form-post">"#,
            html_escape(&target)
        )),
        "{page}"
    );
    assert!(
        page.contains(r#"<button type="submit">Continue</button>"#),
        "works without scripts: {page}"
    );
    assert!(page.contains(r#"<script src="/assets/form_post.js"></script>"#));
    assert_eq!(
        hidden_input(page, "iss")
            .map(|v| html_unescape(&v))
            .as_deref(),
        Some(app.base.as_str())
    );
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('/', "&#x2f;")
}

async fn get_page(
    browser: &reqwest::Client,
    url: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = browser.get(url).send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

each_backend! {
    async fn a_code_by_form_post_from_the_session_and_after_sign_in(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let (_, _, discovery) = app.get("/.well-known/openid-configuration").await;
        let discovery: serde_json::Value = serde_json::from_str(&discovery).unwrap();
        assert_eq!(discovery["response_modes_supported"], serde_json::json!(["query", "form_post"]));

        // After the sign-in: the password's answer is the form.
        let browser = new_browser();
        let request = app.auth_request(&portal, &[("response_mode", "form_post")]);
        let (status, location, page) = app.sign_in_through_in(&browser, &request, USERNAME, PASSWORD).await;
        assert_eq!((status, location), (StatusCode::OK, None), "{page}");
        assert_eq!(hidden_input(&page, "state").as_deref(), Some(request.state.secret().as_str()));
        let code = hidden_input(&page, "code").expect("the code is in the form");
        let signed = app.exchange(&portal, code, request).await;
        assert_eq!(signed.claims.subject().as_str(), "user-alice");

        // From the session: a GET answers with the form at once.
        let request = app.auth_request(&portal, &[("response_mode", "form_post")]);
        let (status, headers, page) = get_page(&browser, &request.url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        check_form_post(&app, &headers, &page);
        let code = hidden_input(&page, "code").unwrap();
        app.exchange(&portal, code, request).await;
    }

    async fn errors_go_back_by_form_post_once_the_redirect_uri_is_known(backend) {
        let app = TestApp::spawn(backend).await;
        let portal = app.rp("portal").await;
        let request = app.auth_request(&portal, &[("response_mode", "form_post"), ("prompt", "none")]);
        let (status, headers, page) = get_page(&new_browser(), &request.url).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        check_form_post(&app, &headers, &page);
        assert_eq!(hidden_input(&page, "error").as_deref(), Some("login_required"));
        assert_eq!(hidden_input(&page, "state").as_deref(), Some(request.state.secret().as_str()));
        assert!(hidden_input(&page, "code").is_none());

        // An unknown mode is refused, by the query.
        let request = app.auth_request(&portal, &[("response_mode", "fragment")]);
        let (status, location, _) = app.get_in(&new_browser(), &request.url).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let query = query_of(&location.unwrap());
        assert_eq!(query["error"], "invalid_request");
        assert!(query["error_description"].contains("form_post"));

        // An unregistered redirect URI gets no form at all.
        let url = request.url.replace("response_mode=fragment", "response_mode=form_post").replace("portal%2Fcb", "evil%2Fcb");
        let (status, headers, page) = get_page(&new_browser(), &url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
        assert!(!page.contains("form-post") && !headers["content-security-policy"].to_str().unwrap().contains("form-action"));
    }
}
