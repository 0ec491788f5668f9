//! Security keys and passkeys: registering them, and signing in with them,
//! after a password or (a passkey, where the account allows it) alone. Each
//! ceremony's state waits in the database under the hash of a token the page
//! carries, bound to the session, pending sign-in or browser that began it.

pub mod passkey;
pub mod registration;
pub mod second_factor;

pub use passkey::{finish_passkey_sign_in, start_passkey_sign_in, PasskeySignIn};
pub use registration::{finish_registration, start_registration};
pub use second_factor::{check_second_factor, start_second_factor};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use webauthn_rs::prelude::{Credential, WebauthnError};
use webauthn_rs::Webauthn;

use crate::app::AppState;
use crate::auth::secret;
use crate::auth::webauthn::{self as rules, CEREMONY_SECS};
use crate::service::factors::audit::audit;
use crate::service::factors::check::{Method, Refusal};
use crate::store::{self, NewChallenge, User, WebauthnCredential};

/// A ceremony begun: the token its page carries back, and the options for
/// the browser's `navigator.credentials`.
pub struct Ceremony {
    pub token: String,
    pub options: Value,
}

pub(super) const REGISTER: &str = "register";

pub(super) const SECOND_FACTOR: &str = "second_factor";

pub(super) const PASSKEY_SIGN_IN: &str = "passkey_sign_in";

/// The relying party, when the issuer allows security keys.
pub fn relying_party(app: &AppState) -> Option<&Webauthn> {
    app.webauthn.as_ref().as_ref().ok()
}

pub(super) fn corrupt(what: &str, err: impl std::fmt::Display) -> store::Error {
    store::Error::Corrupt(format!("{what}: {err}"))
}

pub(super) fn handle_of(app: &AppState, user_id: &str) -> webauthn_rs::prelude::Uuid {
    rules::user_handle(&app.vault.tag(&format!("webauthn-user:{user_id}")))
}

pub(super) fn encode_id(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// The stored credential, with the counter its column holds.
pub(super) fn credential_of(stored: &WebauthnCredential) -> Result<Credential, store::Error> {
    let mut credential: Credential =
        serde_json::from_str(&stored.credential).map_err(|e| corrupt("stored key", e))?;
    credential.counter = u32::try_from(stored.counter).unwrap_or(u32::MAX);
    Ok(credential)
}

pub(super) async fn begin(
    app: &AppState,
    purpose: &str,
    binding: &str,
    user_id: Option<&str>,
    state: String,
    detail: Value,
    options: Value,
) -> Result<Ceremony, store::Error> {
    let token = secret::random_token(32);
    app.store
        .put_webauthn_challenge(NewChallenge {
            id_hash: &secret::token_hash(&token),
            purpose,
            binding,
            user_id,
            state: &state,
            detail: &detail.to_string(),
            expires_at: app.clock.now() + CEREMONY_SECS,
        })
        .await?;
    Ok(Ceremony { token, options })
}

/// Why a key's answer (or the ceremony around it) was refused; the page
/// says it in words (`http::ceremony::refusal_message`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRefusal {
    /// The ceremony is unknown, used, expired, or keys are unavailable.
    Expired,
    /// The browser's answer is not a WebAuthn response.
    Unreadable,
    /// The key answered for another origin or relying party.
    OtherSite,
    /// A passkey without user verification.
    NotVerified,
    /// A signature counter that went backwards: a copied key.
    Copied,
    /// Any other refusal of the answer.
    NotAccepted,
    /// A passkey that is not registered here (or names no usable user).
    UnknownPasskey,
    /// The account does not allow signing in with a passkey alone.
    PasskeysNotAllowed,
    /// The key is registered already.
    AlreadyRegistered,
}

/// The refusal of a WebAuthn error.
pub(super) fn refusal_of(err: &WebauthnError) -> KeyRefusal {
    match err {
        WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash => KeyRefusal::OtherSite,
        WebauthnError::UserNotVerified => KeyRefusal::NotVerified,
        WebauthnError::CredentialPossibleCompromise => KeyRefusal::Copied,
        _ => KeyRefusal::NotAccepted,
    }
}

/// Whether a stored key may be synced between devices (a passkey in a
/// password manager or a phone's keychain) rather than bound to one.
pub fn is_synced(stored: &WebauthnCredential) -> bool {
    credential_of(stored).is_ok_and(|c| c.backup_eligible)
}

/// Removes one of the user's keys, with an audit event. The backup codes go
/// with the last second factor.
pub async fn remove(
    app: &AppState,
    user: &User,
    id: &str,
    ip: Option<&str>,
) -> Result<bool, store::Error> {
    if !app.store.remove_webauthn_credential(&user.id, id).await? {
        return Ok(false);
    }
    audit(
        app,
        "webauthn_removed",
        user,
        ip,
        serde_json::json!({ "key": id }),
    )
    .await?;
    Ok(true)
}

/// Saves the key's new counter; a counter that did not move forward (a
/// clone racing the original) refuses the use.
pub(super) async fn record_use(
    app: &AppState,
    user: &User,
    stored: &WebauthnCredential,
    credential: Credential,
    ip: Option<&str>,
    now: i64,
) -> Result<Result<(), Refusal>, store::Error> {
    let json = serde_json::to_string(&credential).map_err(|e| corrupt("key", e))?;
    let counter = i64::from(credential.counter);
    if app
        .store
        .use_webauthn_credential(&stored.id, counter, &json, now)
        .await?
    {
        return Ok(Ok(()));
    }
    cloned(app, user, stored, ip).await?;
    Ok(Err(Refusal::Cloned))
}

pub(super) async fn refused(
    app: &AppState,
    user: &User,
    stored: &WebauthnCredential,
    err: &WebauthnError,
    ip: Option<&str>,
) -> Result<Result<Method, Refusal>, store::Error> {
    if matches!(err, WebauthnError::CredentialPossibleCompromise) {
        cloned(app, user, stored, ip).await?;
        return Ok(Err(Refusal::Cloned));
    }
    tracing::info!(user_id = %user.id, reason = %err, "a security key's answer was refused");
    Ok(Err(Refusal::Wrong))
}

pub(super) async fn cloned(
    app: &AppState,
    user: &User,
    stored: &WebauthnCredential,
    ip: Option<&str>,
) -> Result<(), store::Error> {
    tracing::warn!(user_id = %user.id, key = %stored.id, "a security key's counter went backwards");
    audit(
        app,
        "webauthn_counter_regressed",
        user,
        ip,
        serde_json::json!({ "key": stored.id, "name": stored.name, "stored_counter": stored.counter }),
    )
    .await
}
