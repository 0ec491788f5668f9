//! The logs of the real binary: one JSON line per request under the id the
//! response carries, and never a secret of a full sign-in among them.

use std::io::Read;
use std::process::Stdio;
use std::sync::Arc;

use reqwest::cookie::CookieStore;
use reqwest::StatusCode;

use crate::binary::*;
use crate::common::*;

const WRONG_PASSWORD: &str = "a wrong guess of ann's";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sign_in_leaves_no_secret_in_the_json_logs() {
    let (_dir, path) = temp_dir();
    set_up(&path, true);
    let redirect = REDIRECT;
    let mut server = Server::start(&path, free_port(), |command| {
        command
            .env("GATEHOUSE_LOG_FORMAT", "json")
            .env("GATEHOUSE_LOG", "debug")
            .stderr(Stdio::piped());
    })
    .await;
    let base = server.base.clone();
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |url: String| {
        let browser = browser.clone();
        async move { parts(browser.get(url).send().await.unwrap()).await }
    };
    let post = |url: String, form: Vec<(String, String)>| {
        let browser = browser.clone();
        async move { parts(browser.post(url).form(&form).send().await.unwrap()).await }
    };

    // The authorization request, a wrong password, the right one, then enrolment.
    let verifier = "a-pkce-verifier-that-is-long-enough-0123456789abcdef";
    let challenge = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()))
    };
    let (status, location, _) = get(format!("{base}/authorize?response_type=code&client_id=portal&redirect_uri={redirect}&scope=openid%20profile&state=st4te&nonce=n0nce&code_challenge={challenge}&code_challenge_method=S256")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, login) = get(format!("{base}{}", location.unwrap())).await;
    let field =
        |page: &str, name: &str| hidden_input(page, name).map(|v| html_unescape(&v)).unwrap();
    let form = |page: &str, extra: &[(&str, &str)]| {
        let mut form = vec![
            ("csrf_token".to_string(), field(page, "csrf_token")),
            ("request".to_string(), field(page, "request")),
        ];
        form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        form
    };
    let (status, _, _) = post(
        format!("{base}/login"),
        form(&login, &[("username", "ann"), ("password", WRONG_PASSWORD)]),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, location, _) = post(
        format!("{base}/login"),
        form(
            &login,
            &[("username", "ann"), ("password", PASSWORD_OF_ANN)],
        ),
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/login/enroll"))
    );
    let (_, _, enrol) = get(format!("{base}/login/enroll")).await;
    let totp = authenticator_from(&enrol);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code = totp.generate(now);
    let csrf = field(&enrol, "csrf_token");
    let (status, _, _) = post(
        format!("{base}/login/enroll"),
        vec![
            ("csrf_token".into(), csrf.clone()),
            ("code".into(), "999999".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, codes_page) = post(
        format!("{base}/login/enroll"),
        vec![("csrf_token".into(), csrf), ("code".into(), code.clone())],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{codes_page}");
    let backup_codes = backup_codes_on(&codes_page);
    let start = codes_page.find(r#"<a class="button" href=""#).unwrap()
        + r#"<a class="button" href=""#.len();
    let continue_href =
        html_unescape(&codes_page[start..start + codes_page[start..].find('"').unwrap()]);
    let (status, location, _) = get(format!("{base}{continue_href}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let authorization_code = query_of(&location.unwrap())["code"].clone();
    let cookies = jar
        .cookies(&base.parse().unwrap())
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let cookie_values: Vec<String> = cookies
        .split("; ")
        .filter_map(|c| c.split_once('='))
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() >= 16)
        .collect();
    assert!(!cookie_values.is_empty(), "a session cookie: {cookies}");

    // The token endpoint, a refresh, userinfo.
    let rp = reqwest::Client::new();
    let tokens = rp
        .post(format!("{base}/token"))
        .basic_auth("portal", Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &authorization_code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(tokens.status(), StatusCode::OK);
    let request_id = tokens.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let tokens: serde_json::Value = tokens.json().await.unwrap();
    let (access, refresh, id_token) = (
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
        tokens["id_token"].as_str().unwrap().to_string(),
    );
    let refreshed: serde_json::Value = rp
        .post(format!("{base}/token"))
        .basic_auth("portal", Some(CLIENT_SECRET))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_refresh = refreshed["refresh_token"].as_str().unwrap().to_string();
    let userinfo = rp
        .get(format!("{base}/userinfo"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), StatusCode::OK);
    let wrong_client = rp
        .post(format!("{base}/token"))
        .basic_auth("portal", Some("not-the-secret-at-all"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &new_refresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_client.status(), StatusCode::UNAUTHORIZED);

    // Give the server a moment to write its last lines, then read them all.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = server.child.kill();
    let mut logs = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    let _ = server.child.wait();

    let mut secrets: Vec<(&str, String)> = vec![
        ("the password", PASSWORD_OF_ANN.into()),
        ("a wrong password", WRONG_PASSWORD.into()),
        ("the client secret", CLIENT_SECRET.into()),
        ("a wrong client secret", "not-the-secret-at-all".into()),
        ("the TOTP secret", totp.get_secret_base32()),
        ("the authorization code", authorization_code),
        ("the access token", access),
        ("the refresh token", refresh),
        ("the rotated refresh token", new_refresh),
        ("the ID token", id_token),
        ("the PKCE verifier", verifier.into()),
    ];
    secrets.extend(backup_codes.into_iter().map(|c| ("a backup code", c)));
    secrets.extend(cookie_values.into_iter().map(|c| ("a cookie", c)));
    for (what, secret) in &secrets {
        assert!(!logs.contains(secret.as_str()), "{what} is in the logs");
    }
    // The TOTP code: six digits, matched as a whole number (timestamps have digits too).
    let code_in_logs = logs.match_indices(&code).any(|(at, _)| {
        let before = logs[..at].chars().last();
        let after = logs[at + code.len()..].chars().next();
        before.is_some_and(|c| !c.is_ascii_digit() && c != '.')
            && after.is_some_and(|c| !c.is_ascii_digit() && c != 'Z')
    });
    assert!(!code_in_logs, "the TOTP code is in the logs");

    // One JSON line per request, named by the id its response carried.
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let token_line = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "request" && l["span"]["request_id"] == request_id.as_str()
        })
        .expect("the token request's line");
    assert_eq!(token_line["fields"]["path"], "/token");
    assert_eq!(token_line["fields"]["status"], 200);
    assert_eq!(token_line["fields"]["method"], "POST");
    let requests = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .count();
    assert!(requests >= 12, "a line per request: {requests}");
    assert!(
        !logs.contains("code_challenge="),
        "no query string is logged"
    );
}
