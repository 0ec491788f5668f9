//! Enrolling a security key instead of an authenticator app, during a
//! sign-in that must enrol a second factor.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::enroll::{finish_enrolment, render_enrolment, EnrolStep, Enrolled, PATH as ENROLL_PATH};
use crate::app::AppState;
use crate::auth::webauthn::{self as rules, Kind};
use crate::http::ceremony::{self, KeyAnswer};
use crate::http::client_ip::ClientIp;
use crate::http::error::PageError;
use crate::service::factors::security_keys;

pub const PATH: &str = "/login/enroll/key";
pub const FINISH_PATH: &str = "/login/enroll/key/finish";

/// The key's name.
#[derive(Deserialize)]
pub struct KeyName {
    name: Option<String>,
}

/// `POST /login/enroll/key`: the key's name, then the browser's ceremony.
pub async fn submit_start(
    State(app): State<AppState>,
    headers: HeaderMap,
    EnrolStep {
        hash, user, form, ..
    }: EnrolStep<KeyName>,
) -> Result<Response, PageError> {
    let Some(name) = rules::key_name(form.name.as_deref().unwrap_or_default()) else {
        let message = Some("Give the key a name of up to 64 characters.");
        return render_enrolment(&app, &headers, &user, ENROLL_PATH, true, message).await;
    };
    let allowed = app.store.tenant_of(&user).await?.allows_keys();
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
    step: EnrolStep<KeyAnswer>,
) -> Result<Response, PageError> {
    let EnrolStep {
        hash,
        pending,
        user,
        form,
    } = step;
    let (token, answer) = form.parts();
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
        remember: false,
    };
    finish_enrolment(&app, &headers, &ip, enrolled, None).await
}
