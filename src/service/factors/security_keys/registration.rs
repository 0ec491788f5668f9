//! Registering a security key or passkey: the options for the browser, then
//! its answer checked and stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, CredentialID, PasskeyRegistration, RegisterPublicKeyCredential,
    SecurityKeyRegistration, WebauthnError,
};

use super::{
    begin, corrupt, encode_id, handle_of, refusal_of, relying_party, Ceremony, KeyRefusal, REGISTER,
};
use crate::app::AppState;
use crate::auth::secret;
use crate::auth::webauthn::{self as rules, Kind};
use crate::service::factors::audit::audit;
use crate::store::{self, User, WebauthnCredential};

/// Starts registering a key of `kind` named `name` for `user`, in the
/// session `binding`. None when the issuer allows no security keys.
pub async fn start_registration(
    app: &AppState,
    user: &User,
    kind: Kind,
    name: &str,
    binding: &str,
) -> Result<Option<Ceremony>, store::Error> {
    let Some(rp) = relying_party(app) else {
        return Ok(None);
    };
    let exclude: Vec<CredentialID> = app
        .store
        .webauthn_credentials(&user.id)
        .await?
        .iter()
        .filter_map(|c| URL_SAFE_NO_PAD.decode(&c.credential_id).ok())
        .collect();
    let handle = handle_of(app, &user.id);
    let (options, state) = match kind {
        Kind::SecurityKey => {
            let (options, state) = rp
                .start_securitykey_registration(
                    handle,
                    &user.username,
                    &user.username,
                    Some(exclude),
                    None,
                    None,
                )
                .map_err(|e| corrupt("registration", e))?;
            (options, serde_json::to_string(&state))
        }
        Kind::Passkey => {
            let (options, state) = rp
                .start_passkey_registration(handle, &user.username, &user.username, Some(exclude))
                .map_err(|e| corrupt("registration", e))?;
            (options, serde_json::to_string(&state))
        }
    };
    let options = serde_json::to_value(options).map_err(|e| corrupt("options", e))?;
    let state = state.map_err(|e| corrupt("registration state", e))?;
    let detail = serde_json::json!({ "kind": kind.as_str(), "name": name });
    let options = rules::creation_options(options, kind);
    Ok(Some(
        begin(
            app,
            REGISTER,
            binding,
            Some(&user.id),
            state,
            detail,
            options,
        )
        .await?,
    ))
}

/// Finishes a registration with the browser's answer `response` (JSON).
/// The key is stored, or the reason it was not is returned for the page.
pub async fn finish_registration(
    app: &AppState,
    user: &User,
    token: &str,
    binding: &str,
    response: &str,
    ip: Option<&str>,
) -> Result<Result<WebauthnCredential, KeyRefusal>, store::Error> {
    let now = app.clock.now();
    let Some(rp) = relying_party(app) else {
        return Ok(Err(KeyRefusal::Expired));
    };
    let taken = app
        .store
        .take_webauthn_challenge(&secret::token_hash(token), REGISTER, binding, now)
        .await?;
    let Some(taken) = taken.filter(|t| t.user_id.as_deref() == Some(user.id.as_str())) else {
        return Ok(Err(KeyRefusal::Expired));
    };
    let detail: Value = serde_json::from_str(&taken.detail).map_err(|e| corrupt("detail", e))?;
    let kind = detail["kind"]
        .as_str()
        .and_then(Kind::parse)
        .ok_or_else(|| corrupt("detail", "no kind"))?;
    let name = detail["name"].as_str().unwrap_or_default().to_string();
    let Ok(answer) = serde_json::from_str::<RegisterPublicKeyCredential>(response) else {
        return Ok(Err(KeyRefusal::Unreadable));
    };
    let registered: Result<Credential, WebauthnError> = match kind {
        Kind::SecurityKey => {
            let state: SecurityKeyRegistration =
                serde_json::from_str(&taken.state).map_err(|e| corrupt("state", e))?;
            rp.finish_securitykey_registration(&answer, &state)
                .map(Credential::from)
        }
        Kind::Passkey => {
            let state: PasskeyRegistration =
                serde_json::from_str(&taken.state).map_err(|e| corrupt("state", e))?;
            rp.finish_passkey_registration(&answer, &state)
                .map(Credential::from)
        }
    };
    let credential = match registered {
        Ok(credential) => credential,
        Err(err) => {
            audit(
                app,
                "webauthn_registration_refused",
                user,
                ip,
                serde_json::json!({ "kind": kind.as_str(), "reason": err.to_string() }),
            )
            .await?;
            return Ok(Err(refusal_of(&err)));
        }
    };
    let stored = WebauthnCredential {
        id: secret::random_id(),
        user_id: user.id.clone(),
        credential_id: encode_id(credential.cred_id.as_ref()),
        kind: kind.as_str().to_string(),
        name,
        credential: serde_json::to_string(&credential).map_err(|e| corrupt("key", e))?,
        counter: i64::from(credential.counter),
        created_at: now,
        last_used_at: None,
    };
    match app.store.add_webauthn_credential(&stored).await {
        Ok(()) => {}
        Err(store::Error::Duplicate(_)) => return Ok(Err(KeyRefusal::AlreadyRegistered)),
        Err(err) => return Err(err),
    }
    audit(
        app,
        "webauthn_registered",
        user,
        ip,
        serde_json::json!({ "kind": kind.as_str(), "name": stored.name }),
    )
    .await?;
    Ok(Ok(stored))
}
