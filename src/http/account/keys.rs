//! Security keys and passkeys on the account page: adding one (after a
//! recent password, and with the second factor when the user has one),
//! naming it, and removing it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::{after_new_factor, may_change, Changing, Posted, SignedIn, PATH};
use crate::app::AppState;
use crate::auth::webauthn::{self as rules, Kind};
use crate::http::ceremony::{self, KeyAnswer};
use crate::http::client_ip::ClientIp;
use crate::http::error::PageError;
use crate::service::factors::{self, security_keys};

pub const NEW_PATH: &str = "/account/keys/new";
pub const FINISH_PATH: &str = "/account/keys";
pub const REMOVE_PATH: &str = "/account/keys/remove";

pub const UNAVAILABLE: &str =
    "Security keys and passkeys are unavailable here: this provider is reached by an IP address, not a domain name.";
const NOT_ALLOWED: &str = "Your organisation does not allow security keys.";

/// A new key's kind and name.
#[derive(Deserialize)]
pub struct NewKeyForm {
    kind: Option<String>,
    name: Option<String>,
}

/// One of the user's keys.
#[derive(Deserialize)]
pub struct KeyId {
    id: Option<String>,
}

/// Whether the user's account lets them register WebAuthn credentials.
pub async fn keys_allowed(app: &AppState, signed_in: &SignedIn) -> Result<bool, PageError> {
    let tenant = app.store.tenant_of(&signed_in.user).await?;
    Ok(tenant.allows_keys())
}

/// `POST /account/keys/new`: the name and kind, then the browser's ceremony.
pub async fn submit_new_key(
    State(app): State<AppState>,
    Posted { signed_in, form }: Posted<NewKeyForm>,
) -> Result<Response, PageError> {
    let Some(kind) = form.kind.as_deref().and_then(Kind::parse) else {
        let message = "Choose Add security key or Add passkey.";
        return signed_in
            .refuse(&app, message, StatusCode::BAD_REQUEST)
            .await;
    };
    if security_keys::relying_party(&app).is_none() {
        return signed_in
            .refuse(&app, UNAVAILABLE, StatusCode::CONFLICT)
            .await;
    }
    if !keys_allowed(&app, &signed_in).await? {
        return signed_in
            .refuse(&app, NOT_ALLOWED, StatusCode::FORBIDDEN)
            .await;
    }
    if let Some(refusal) = may_change(&app, &signed_in).await? {
        return signed_in.refuse(&app, refusal, StatusCode::FORBIDDEN).await;
    }
    let Some(name) = rules::key_name(form.name.as_deref().unwrap_or_default()) else {
        let message =
            "Give the key a name of up to 64 characters, such as “Blue key on my keyring”.";
        return signed_in
            .refuse(&app, message, StatusCode::BAD_REQUEST)
            .await;
    };
    let Some(ceremony) = security_keys::start_registration(
        &app,
        &signed_in.user,
        kind,
        &name,
        &signed_in.session.sid,
    )
    .await?
    else {
        return signed_in
            .refuse(&app, UNAVAILABLE, StatusCode::CONFLICT)
            .await;
    };
    let text = ceremony_text(kind);
    ceremony::render(&app, signed_in.headers(), text, ceremony, None, None)
}

/// What the ceremony page says for adding a key of `kind`.
fn ceremony_text(kind: Kind) -> ceremony::Text {
    ceremony::Text {
        heading: match kind {
            Kind::SecurityKey => "Add a security key",
            Kind::Passkey => "Add a passkey",
        },
        instructions: match kind {
            Kind::SecurityKey => {
                "Insert your security key and touch it when it blinks. If your browser asks, allow this site to see the key."
            }
            Kind::Passkey => {
                "Your browser will ask where to save the passkey: this device (unlock it with your fingerprint, face or PIN), your phone, or a security key."
            }
        },
        button: "Use my key",
        mode: "create",
        action: FINISH_PATH,
        back: PATH.to_string(),
        back_label: "Cancel and go back to your security page",
    }
}

/// `POST /account/keys`: the browser's answer; the key is stored. The first
/// second factor comes with backup codes, shown once.
pub async fn submit_finish_key(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Changing { signed_in, form }: Changing<KeyAnswer>,
) -> Result<Response, PageError> {
    let user = &signed_in.user;
    let first = !factors::has_factor(&app, user).await?;
    let (token, response) = form.parts();
    let ip = ip.to_string();
    let stored = match security_keys::finish_registration(
        &app,
        user,
        token,
        &signed_in.session.sid,
        response,
        Some(&ip),
    )
    .await?
    {
        Ok(stored) => stored,
        Err(refusal) => {
            let message = crate::http::ceremony::refusal_message(refusal);
            return signed_in
                .refuse(&app, message, StatusCode::BAD_REQUEST)
                .await;
        }
    };
    app.store.set_must_enroll(&user.id, false).await?;
    // Proving the new key raises this session to aal2.
    let amr = rules::amr(security_keys::is_synced(&stored), true);
    after_new_factor(&app, &signed_in, &amr, first, &ip, "key").await
}

/// `POST /account/keys/remove`: removes one of the user's keys.
pub async fn submit_remove_key(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    Changing { signed_in, form }: Changing<KeyId>,
) -> Result<Response, PageError> {
    let id = form.id.as_deref().unwrap_or_default();
    let ip = ip.to_string();
    if !security_keys::remove(&app, &signed_in.user, id, Some(&ip)).await? {
        return signed_in
            .refuse(&app, "That key is already removed.", StatusCode::NOT_FOUND)
            .await;
    }
    signed_in
        .page(
            &app,
            Some("The key is removed: it no longer signs in to your account."),
            None,
            StatusCode::OK,
        )
        .await
}
