//! How an authorization response reaches the client's (verified) redirect
//! URI: a redirect with the parameters in its query, or, for
//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode), a page
//! whose form posts them there: submitted by a script, or by its button
//! where scripts do not run. The page's policy lets forms go to that URI
//! alone.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use axum::http::HeaderValue;
use axum::response::Response;
use serde::Serialize;

use crate::app::AppState;
use crate::http::redirect::see_other;
use crate::http::render::Page;
use crate::oidc::authorize_request::{redirect_with, ResponseMode};

#[derive(Serialize)]
struct FormPostPage<'a> {
    action: &'a str,
    fields: Vec<(&'a str, &'a str)>,
}

impl Page for FormPostPage<'_> {
    const TEMPLATE: &'static str = "oidc/form_post.html";
}

/// The answer `pairs` for `redirect_uri`, by `mode`.
pub fn answer(
    app: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    pairs: &[(&str, &str)],
) -> Response {
    match mode {
        ResponseMode::Query => see_other(&redirect_with(redirect_uri, pairs)),
        ResponseMode::FormPost => form_post(app, redirect_uri, pairs),
    }
}

/// The policy of the form-post page: its own script, and forms to
/// `redirect_uri` alone (a source expression has no query).
pub fn policy(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let target = format!("{}://{host}{port}{}", url.scheme(), url.path());
    if target
        .chars()
        .any(|c| c.is_whitespace() || c == ';' || c == ',')
    {
        return None;
    }
    Some(format!(
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
         form-action {target}; frame-ancestors 'none'; base-uri 'none'"
    ))
}

fn form_post(app: &AppState, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let page = FormPostPage {
        action: redirect_uri,
        fields: pairs.to_vec(),
    };
    let mut response = match page.render(app) {
        Ok(response) => response,
        Err(err) => return axum::response::IntoResponse::into_response(err),
    };
    let headers = response.headers_mut();
    let csp = policy(redirect_uri).and_then(|p| HeaderValue::from_str(&p).ok());
    headers.insert(
        CONTENT_SECURITY_POLICY,
        // Registered URIs always parse; otherwise no form may be sent at all.
        csp.unwrap_or(HeaderValue::from_static(
            "default-src 'none'; form-action 'none'",
        )),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_exactly_the_redirect_uri() {
        let with_port = policy("https://app.example:8443/cb?tenant=1").unwrap();
        assert!(
            with_port.contains("form-action https://app.example:8443/cb;"),
            "{with_port}"
        );
        assert!(with_port.contains("script-src 'self'"));
        let loopback = policy("http://127.0.0.1:9/portal/cb").unwrap();
        assert!(
            loopback.contains("form-action http://127.0.0.1:9/portal/cb;"),
            "{loopback}"
        );
        assert!(policy("not a uri").is_none());
    }
}
