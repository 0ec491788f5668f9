//! `gatehouse demo` end to end: sign in at the portal (enrolling the second
//! factor), reach the backoffice without a code, sign out once, out of both.

use reqwest::StatusCode;

use crate::common::*;
use crate::each_backend;

/// Follows redirects like a browser; returns the final URL, status and page.
async fn follow(browser: &reqwest::Client, start: &str) -> (String, StatusCode, String) {
    let mut url = url::Url::parse(start).unwrap();
    for _ in 0..15 {
        let response = browser.get(url.clone()).send().await.unwrap();
        let (status, location, body) = parts(response).await;
        match location {
            Some(next) if status.is_redirection() => url = url.join(&next).unwrap(),
            _ => return (url.to_string(), status, body),
        }
    }
    panic!("too many redirects from {start}");
}

/// Posts a form like a browser and follows where it leads.
async fn submit(
    browser: &reqwest::Client,
    base: &str,
    page: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (String, StatusCode, String) {
    let mut form: Vec<(&str, String)> =
        vec![("csrf_token", hidden_input(page, "csrf_token").unwrap())];
    if let Some(request) = hidden_input(page, "request") {
        form.push(("request", request));
    }
    form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let response = browser
        .post(format!("{base}{path}"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, location, body) = parts(response).await;
    match location {
        Some(next) if status.is_redirection() => {
            follow(
                browser,
                url::Url::parse(base).unwrap().join(&next).unwrap().as_str(),
            )
            .await
        }
        _ => (format!("{base}{path}"), status, body),
    }
}

each_backend! {
    async fn the_demo_signs_in_once_and_out_once_across_both_apps(backend) {
        let dir = tempfile::tempdir().unwrap();
        let config = gatehouse::config::Config {
            database_url: fresh_database(backend, dir.path()).await,
            keys_dir: dir.path().join("keys"),
            password_hash_memory_kib: CHEAP.memory_kib,
            password_hash_iterations: CHEAP.iterations,
            ..gatehouse::config::Config::default()
        };
        let demo = gatehouse::demo::start(config, 0).await.expect("the demo starts");
        let browser = new_browser();
        let (_, status, page) = follow(&browser, &demo.portal_url).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("You are not signed in."));

        // Portal: password, then the enrolment its account requires.
        let (url, _, page) = follow(&browser, &format!("{}/login", demo.portal_url)).await;
        assert!(url.starts_with(&format!("{}/login", demo.provider_url)), "{url}");
        let (url, _, page) = submit(&browser, &demo.provider_url, &page, "/login", &[("username", &demo.username), ("password", &demo.password)]).await;
        assert!(url.ends_with("/login/enroll"), "{url}");
        let totp = authenticator_from(&page);
        let code = totp.generate(demo.state.clock.now() as u64);
        let (_, status, codes_page) = submit(&browser, &demo.provider_url, &page, "/login/enroll", &[("code", &code)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(backup_codes_on(&codes_page).len(), 10);
        let marker = r#"class="button" href=""#;
        let start = codes_page.find(marker).unwrap() + marker.len();
        let continue_path = html_unescape(&codes_page[start..start + codes_page[start..].find('"').unwrap()]);
        let (url, _, portal) = follow(&browser, &format!("{}{continue_path}", demo.provider_url)).await;
        assert!(url.starts_with(&demo.portal_url), "{url}");
        assert!(portal.contains(r#"<td class="claim-acr">aal2</td>"#), "{portal}");
        assert!(portal.contains(r#"<td class="claim-amr">pwd otp mfa</td>"#));

        // Backoffice: single sign-on, no page in between.
        let (url, _, backoffice) = follow(&browser, &format!("{}/login", demo.backoffice_url)).await;
        assert!(url.starts_with(&demo.backoffice_url), "no stop at the provider: {url}");
        assert!(backoffice.contains(r#"<td class="claim-acr">aal2</td>"#));
        let sid = |page: &str| {
            let start = page.find(r#"<td class="claim-sid">"#).unwrap() + 22;
            page[start..start + page[start..].find('<').unwrap()].to_string()
        };
        assert_eq!(sid(&portal), sid(&backoffice), "one provider session");

        // Sign out at the portal: out of both.
        let (url, _, portal) = follow(&browser, &format!("{}/logout", demo.portal_url)).await;
        assert!(url.starts_with(&demo.portal_url), "back at the portal: {url}");
        assert!(portal.contains("You are not signed in."));
        let mut signed_out = false;
        for _ in 0..50 {
            let (_, _, page) = follow(&browser, &demo.backoffice_url).await;
            if page.contains("You are not signed in.") {
                signed_out = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(signed_out, "the backoffice was told by back-channel logout");
        let (url, _, _) = follow(&browser, &format!("{}/login", demo.backoffice_url)).await;
        assert!(url.starts_with(&format!("{}/login", demo.provider_url)), "signing in again asks for the password: {url}");
    }
}
