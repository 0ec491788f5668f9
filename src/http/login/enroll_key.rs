//! Enrolling a security key instead of an authenticator app, during a
//! sign-in that must enrol a second factor.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::enroll::{finish_enrolment, render_enrolment, Enrolled, PATH as ENROLL_PATH};
use crate::app::AppState;
use crate::auth::webauthn::{self as rules, Kind};
use crate::http::ceremony;
use crate::http::client_ip::ClientIp;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::oidc::params::Params;
use crate::service::factors::security_keys;
use crate::store::{PendingLogin, User};

pub const PATH: &str = "/login/enroll/key";
pub const FINISH_PATH: &str = "/login/enroll/key/finish";

/// The pending enrolment of this browser, its user, and the submitted form
/// when its CSRF token holds; the enrolment page with the error otherwise.
async fn enrolling(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Result<(String, PendingLogin, User, Params), Response>, PageError> {
    let (hash, pending, user) = super::pending::pending_enrolment(app, headers).await?;
    let form = Params::parse(body);
    if !cookies::csrf_ok(app, headers, form.get("csrf_token").ok().flatten()) {
        let message = Some("This form has expired. Please try again.");
        let page = render_enrolment(app, headers, &user, ENROLL_PATH, true, message).await?;
        return Ok(Err(page));
    }
    Ok(Ok((hash, pending, user, form)))
}

/// `POST /login/enroll/key`: the key's name, then the browser's ceremony.
pub async fn submit_start(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (hash, _, user, form) = match enrolling(&app, &headers, &body).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let Some(name) = rules::key_name(form.get("name").ok().flatten().unwrap_or_default()) else {
        let message = Some("Give the key a name of up to 64 characters.");
        return render_enrolment(&app, &headers, &user, ENROLL_PATH, true, message).await;
    };
    let allowed = app
        .store
        .account_of(&user)
        .await?
        .factors
        .iter()
        .any(|f| f == "webauthn" || f == "passkey");
    let ceremony = match allowed {
        true => {
            security_keys::start_registration(&app, &user, Kind::SecurityKey, &name, &hash).await?
        }
        false => None,
    };
    let Some(ceremony) = ceremony else {
        let message = Some("Security keys are not available here: use an authenticator app.");
        let mut page = render_enrolment(&app, &headers, &user, ENROLL_PATH, true, message).await?;
        *page.status_mut() = StatusCode::CONFLICT;
        return Ok(page);
    };
    let text = ceremony::Text {
        heading: "Add a security key",
        instructions: "Insert your security key and touch it when it blinks, or choose a passkey on this device or your phone.",
        button: "Use my key",
        mode: "create",
        action: FINISH_PATH,
        back: ENROLL_PATH.to_string(),
        back_label: "Use an authenticator app instead",
    };
    ceremony::render(&app, &headers, text, ceremony, None, None)
}

/// `POST /login/enroll/key/finish`: the key is stored, the sign-in ends at
/// `aal2`, and the backup codes are shown once.
pub async fn submit_finish(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let (hash, pending, user, form) = match enrolling(&app, &headers, &body).await? {
        Ok(found) => found,
        Err(page) => return Ok(page),
    };
    let token = form.get("challenge").ok().flatten().unwrap_or_default();
    let answer = form
        .get("credential")
        .ok()
        .flatten()
        .filter(|c| c.len() <= ceremony::MAX_ANSWER_LEN)
        .unwrap_or_default();
    let ip = ip.to_string();
    let stored =
        match security_keys::finish_registration(&app, &user, token, &hash, answer, Some(&ip))
            .await?
        {
            Ok(stored) => stored,
            Err(refusal) => {
                let message = Some(ceremony::refusal_message(refusal));
                return render_enrolment(&app, &headers, &user, ENROLL_PATH, true, message).await;
            }
        };
    app.store.set_must_enroll(&user.id, false).await?;
    let amr = rules::amr(security_keys::is_synced(&stored), true);
    let enrolled = Enrolled {
        hash: &hash,
        pending: &pending,
        user: &user,
        amr: &amr,
    };
    finish_enrolment(&app, &headers, &ip, enrolled, None).await
}
