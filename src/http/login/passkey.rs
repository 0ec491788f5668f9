//! Signing in with a passkey alone, where the account allows it: the
//! passkey names its user and verifies them (PIN or biometrics), which gives
//! an `aal2` session without a password.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::locked::locked;
use super::password;
use crate::app::AppState;
use crate::auth::acr::Acr;
use crate::auth::secret;
use crate::http::ceremony;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::oidc::params::Params;
use crate::service::factors;
use crate::service::factors::security_keys::{self, PasskeySignIn};

pub const PATH: &str = "/login/passkey";
pub const FINISH_PATH: &str = "/login/passkey/finish";

/// The sign-in's parked request and local `next` path, as the form carries them.
fn target(form: &Params) -> (Option<String>, Option<String>) {
    let request = form
        .get("request")
        .ok()
        .flatten()
        .filter(|r| r.len() <= 64)
        .map(str::to_string);
    (
        request,
        super::pending::local_path(form.get("next").ok().flatten()),
    )
}

/// The browser's own ceremonies: bound to its CSRF token, which only it holds.
fn binding(form: &Params) -> Option<String> {
    form.get("csrf_token")
        .ok()
        .flatten()
        .map(|t| secret::token_hash(&format!("passkey:{t}")))
}

/// The ceremony binding of a form whose CSRF token holds.
fn checked_binding(app: &AppState, headers: &HeaderMap, form: &Params) -> Option<String> {
    let csrf = form.get("csrf_token").ok().flatten();
    cookies::csrf_ok(app, headers, csrf)
        .then(|| binding(form))
        .flatten()
}

/// Passkey sign-ins one client address may begin per minute: each stores a
/// ceremony, and anyone may ask.
const STARTS_PER_MINUTE: i64 = 30;

/// `POST /login/passkey`: begins the ceremony.
pub async fn submit_start(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Params::parse(&body);
    let (request, next) = target(&form);
    let Some(binding) = checked_binding(&app, &headers, &form) else {
        let message = "This form has expired. Please sign in again.";
        return password::refuse(
            &app,
            &headers,
            request,
            next,
            message,
            StatusCode::FORBIDDEN,
        )
        .await;
    };
    let (starts, _) = app
        .store
        .count_attempt(&format!("passkey:ip:{ip}"), app.clock.now(), 60)
        .await?;
    if starts > STARTS_PER_MINUTE {
        let message = "Too many attempts. Wait a minute, then try again.";
        let status = StatusCode::TOO_MANY_REQUESTS;
        return password::refuse(&app, &headers, request, next, message, status).await;
    }
    let Some(ceremony) = security_keys::start_passkey_sign_in(&app, &binding).await? else {
        let message = "Passkeys are unavailable here. Sign in with your password.";
        return password::refuse(&app, &headers, request, next, message, StatusCode::CONFLICT)
            .await;
    };
    let back = match (&request, &next) {
        (Some(id), _) => format!("{}?request={id}", password::PATH),
        (None, Some(next)) => {
            let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            format!("{}?next={next}", password::PATH)
        }
        (None, None) => password::PATH.to_string(),
    };
    let text = ceremony::Text {
        heading: "Sign in with a passkey",
        instructions: "Choose your passkey when your browser asks, and unlock it with your fingerprint, face or PIN.",
        button: "Use my passkey",
        mode: "get",
        action: FINISH_PATH,
        back,
        back_label: "Sign in with a password instead",
    };
    ceremony::render(&app, &headers, text, ceremony, request, next)
}

/// `POST /login/passkey/finish`: the passkey's answer; a session when it holds.
pub async fn submit_finish(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Params::parse(&body);
    let (request, next) = target(&form);
    let Some(binding) = checked_binding(&app, &headers, &form) else {
        let message = "This form has expired. Please sign in again.";
        return password::refuse(
            &app,
            &headers,
            request,
            next,
            message,
            StatusCode::FORBIDDEN,
        )
        .await;
    };
    let token = form.get("challenge").ok().flatten().unwrap_or_default();
    let answer = form
        .get("credential")
        .ok()
        .flatten()
        .filter(|c| c.len() <= ceremony::MAX_ANSWER_LEN)
        .unwrap_or_default();
    let ip = ip.to_string();
    let (user, amr) =
        match security_keys::finish_passkey_sign_in(&app, token, &binding, answer, Some(&ip))
            .await?
        {
            PasskeySignIn::SignedIn { user, amr } => (user, amr),
            PasskeySignIn::Refused(refusal) => {
                return password::refuse(
                    &app,
                    &headers,
                    request,
                    next,
                    ceremony::refusal_message(refusal),
                    StatusCode::UNAUTHORIZED,
                )
                .await
            }
            PasskeySignIn::Locked { until } => return locked(&app, until),
        };
    let (session, cookie) =
        cookies::start_session(&app, &headers, &user, Acr::Aal2, &amr, Some(&ip), None).await?;
    factors::audit(
        &app,
        "signed_in",
        &user,
        Some(&ip),
        serde_json::json!({ "acr": Acr::Aal2, "method": "passkey" }),
    )
    .await?;
    let mut response = super::onward::onward(
        &app,
        &session,
        request.as_deref(),
        Some(next.as_deref().unwrap_or("/")),
    )
    .await;
    cookies::attach(&mut response, Some(cookie));
    Ok(response)
}
