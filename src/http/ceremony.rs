//! The page that runs a WebAuthn ceremony in the browser (`assets/webauthn.js`)
//! and posts its answer back: registering a key, or signing in with one.

use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::http::cookies;
use crate::http::error::PageError;
use crate::http::render::Page;
use crate::service::factors::security_keys::{Ceremony, KeyRefusal};

/// What the page says and where its answer goes.
pub struct Text {
    pub heading: &'static str,
    pub instructions: &'static str,
    pub button: &'static str,
    /// `create` (registration) or `get` (sign-in).
    pub mode: &'static str,
    pub action: &'static str,
    pub back: String,
    pub back_label: &'static str,
}

#[derive(Serialize)]
struct CeremonyPage {
    heading: &'static str,
    instructions: &'static str,
    button: &'static str,
    mode: &'static str,
    action: &'static str,
    back: String,
    back_label: &'static str,
    options_json: String,
    csrf_token: String,
    challenge: String,
    request: Option<String>,
    next: Option<String>,
}

impl Page for CeremonyPage {
    const TEMPLATE: &'static str = "webauthn/ceremony.html";
}

/// Renders the ceremony, carrying `request` and `next` through when given.
pub fn render(
    app: &AppState,
    headers: &HeaderMap,
    text: Text,
    ceremony: Ceremony,
    request: Option<String>,
    next: Option<String>,
) -> Result<Response, PageError> {
    let (csrf_token, cookie) = cookies::csrf_token(app, headers);
    let mut response = CeremonyPage {
        heading: text.heading,
        instructions: text.instructions,
        button: text.button,
        mode: text.mode,
        action: text.action,
        back: text.back,
        back_label: text.back_label,
        options_json: ceremony.options.to_string(),
        csrf_token,
        challenge: ceremony.token,
        request,
        next,
    }
    .render(app)?;
    cookies::attach(&mut response, cookie);
    Ok(response)
}

/// The browser's answer as a form carries it; anything longer is not one.
pub const MAX_ANSWER_LEN: usize = 16 * 1024;

/// The form the ceremony page posts: the challenge it answered and the
/// browser's answer (the credential, as JSON).
#[derive(Deserialize)]
pub struct KeyAnswer {
    challenge: Option<String>,
    credential: Option<String>,
}

impl KeyAnswer {
    /// The challenge token and the answer, empty where absent; an answer
    /// over [`MAX_ANSWER_LEN`] is read as none.
    pub fn parts(&self) -> (&str, &str) {
        let answer = self
            .credential
            .as_deref()
            .filter(|c| c.len() <= MAX_ANSWER_LEN);
        (
            self.challenge.as_deref().unwrap_or_default(),
            answer.unwrap_or_default(),
        )
    }
}

/// What the page says when a key's answer, or its ceremony, is refused.
pub fn refusal_message(refusal: KeyRefusal) -> &'static str {
    match refusal {
        KeyRefusal::Expired => "This request has expired. Try again.",
        KeyRefusal::Unreadable => "The browser's answer could not be read. Try again.",
        KeyRefusal::OtherSite => {
            "The key answered for another site. Use this site's own address and try again."
        }
        KeyRefusal::NotVerified => {
            "The key did not verify you (PIN or fingerprint). Try again and unlock it when asked."
        }
        KeyRefusal::Copied => {
            "This key looks copied and is refused. Use another factor, and tell your administrator."
        }
        KeyRefusal::NotAccepted => "The key's answer was not accepted. Try again.",
        KeyRefusal::UnknownPasskey => {
            "This passkey is not registered here. Sign in with your password, then add it on your security page."
        }
        KeyRefusal::PasskeysNotAllowed => {
            "Your organisation does not allow signing in with a passkey alone. Sign in with your password."
        }
        KeyRefusal::AlreadyRegistered => "This key is already registered.",
    }
}
