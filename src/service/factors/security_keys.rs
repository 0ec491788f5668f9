//! Security keys and passkeys: registering them, and signing in with them,
//! after a password or (a passkey, where the account allows it) alone. Each
//! ceremony's state waits in the database under the hash of a token the page
//! carries, bound to the session, pending sign-in or browser that began it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, CredentialID, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
    SecurityKeyRegistration, WebauthnError,
};
use webauthn_rs::Webauthn;

use super::{audit, gated, Check, Method, Refusal};
use crate::app::AppState;
use crate::auth::secret;
use crate::auth::webauthn::{self as rules, Kind, CEREMONY_SECS};
use crate::store::{self, NewAuditEvent, NewChallenge, User, WebauthnCredential};

/// A ceremony begun: the token its page carries back, and the options for
/// the browser's `navigator.credentials`.
pub struct Ceremony {
    pub token: String,
    pub options: Value,
}

const REGISTER: &str = "register";
const SECOND_FACTOR: &str = "second_factor";
const PASSKEY_SIGN_IN: &str = "passkey_sign_in";

/// The relying party, when the issuer allows security keys.
pub fn relying_party(app: &AppState) -> Option<&Webauthn> {
    app.webauthn.as_ref().as_ref().ok()
}

fn corrupt(what: &str, err: impl std::fmt::Display) -> store::Error {
    store::Error::Corrupt(format!("{what}: {err}"))
}

fn handle_of(app: &AppState, user_id: &str) -> webauthn_rs::prelude::Uuid {
    rules::user_handle(&app.vault.tag(&format!("webauthn-user:{user_id}")))
}

fn encode_id(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// The stored credential, with the counter its column holds.
fn credential_of(stored: &WebauthnCredential) -> Result<Credential, store::Error> {
    let mut credential: Credential =
        serde_json::from_str(&stored.credential).map_err(|e| corrupt("stored key", e))?;
    credential.counter = u32::try_from(stored.counter).unwrap_or(u32::MAX);
    Ok(credential)
}

async fn begin(
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

const EXPIRED: &str = "This request has expired. Try again.";

/// Finishes a registration with the browser's answer `response` (JSON).
/// The key is stored, or the reason it was not is returned for the page.
pub async fn finish_registration(
    app: &AppState,
    user: &User,
    token: &str,
    binding: &str,
    response: &str,
    ip: Option<&str>,
) -> Result<Result<WebauthnCredential, &'static str>, store::Error> {
    let now = app.clock.now();
    let Some(rp) = relying_party(app) else {
        return Ok(Err(EXPIRED));
    };
    let taken = app
        .store
        .take_webauthn_challenge(&secret::token_hash(token), REGISTER, binding, now)
        .await?;
    let Some(taken) = taken.filter(|t| t.user_id.as_deref() == Some(user.id.as_str())) else {
        return Ok(Err(EXPIRED));
    };
    let detail: Value = serde_json::from_str(&taken.detail).map_err(|e| corrupt("detail", e))?;
    let kind = detail["kind"]
        .as_str()
        .and_then(Kind::parse)
        .ok_or_else(|| corrupt("detail", "no kind"))?;
    let name = detail["name"].as_str().unwrap_or_default().to_string();
    let Ok(answer) = serde_json::from_str::<RegisterPublicKeyCredential>(response) else {
        return Ok(Err("The browser's answer could not be read. Try again."));
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
            return Ok(Err(refusal_message(&err)));
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
        Err(store::Error::Duplicate(_)) => return Ok(Err("This key is already registered.")),
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

/// What the page says when the browser's answer is refused.
fn refusal_message(err: &WebauthnError) -> &'static str {
    match err {
        WebauthnError::InvalidRPOrigin | WebauthnError::InvalidRPIDHash => {
            "The key answered for another site. Use this site's own address and try again."
        }
        WebauthnError::UserNotVerified => {
            "The key did not verify you (PIN or fingerprint). Try again and unlock it when asked."
        }
        WebauthnError::CredentialPossibleCompromise => {
            "This key looks copied and is refused. Use another factor, and tell your administrator."
        }
        _ => "The key's answer was not accepted. Try again.",
    }
}

/// Starts a second step with any of the user's keys, for the pending
/// sign-in `binding`. None when the user has no key or keys are unavailable.
pub async fn start_second_factor(
    app: &AppState,
    user: &User,
    binding: &str,
) -> Result<Option<Ceremony>, store::Error> {
    let Some(rp) = relying_party(app) else {
        return Ok(None);
    };
    let keys: Vec<SecurityKey> = app
        .store
        .webauthn_credentials(&user.id)
        .await?
        .iter()
        .map(credential_of)
        .map(|c| c.map(SecurityKey::from))
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Ok(None);
    }
    let (options, state) = rp
        .start_securitykey_authentication(&keys)
        .map_err(|e| corrupt("authentication", e))?;
    let options = serde_json::to_value(options).map_err(|e| corrupt("options", e))?;
    let state = serde_json::to_string(&state).map_err(|e| corrupt("state", e))?;
    Ok(Some(
        begin(
            app,
            SECOND_FACTOR,
            binding,
            Some(&user.id),
            state,
            Value::Null,
            rules::request_options(options),
        )
        .await?,
    ))
}

/// Checks the browser's answer to a second-factor ceremony, behind the same
/// lock-out as codes.
pub async fn check_second_factor(
    app: &AppState,
    user: &User,
    token: &str,
    binding: &str,
    response: &str,
    ip: Option<&str>,
) -> Result<Check, store::Error> {
    gated(app, user, ip, |now| {
        try_key(app, user, token, binding, response, ip, now)
    })
    .await
}

async fn try_key(
    app: &AppState,
    user: &User,
    token: &str,
    binding: &str,
    response: &str,
    ip: Option<&str>,
    now: i64,
) -> Result<Result<Method, Refusal>, store::Error> {
    let Some(rp) = relying_party(app) else {
        return Ok(Err(Refusal::StaleChallenge));
    };
    let taken = app
        .store
        .take_webauthn_challenge(&secret::token_hash(token), SECOND_FACTOR, binding, now)
        .await?;
    let Some(taken) = taken.filter(|t| t.user_id.as_deref() == Some(user.id.as_str())) else {
        return Ok(Err(Refusal::StaleChallenge));
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(response) else {
        return Ok(Err(Refusal::Wrong));
    };
    let Some(stored) = app
        .store
        .webauthn_credential_by_credential_id(&encode_id(answer.raw_id.as_ref()))
        .await?
        .filter(|c| c.user_id == user.id)
    else {
        return Ok(Err(Refusal::Wrong));
    };
    let state: SecurityKeyAuthentication =
        serde_json::from_str(&taken.state).map_err(|e| corrupt("state", e))?;
    let mut key = SecurityKey::from(credential_of(&stored)?);
    let result = rp.finish_securitykey_authentication(&answer, &state);
    let synced = Credential::from(key.clone()).backup_eligible;
    match result {
        Ok(result) => {
            key.update_credential(&result);
            let credential = Credential::from(key);
            record_use(app, user, &stored, credential, ip, now)
                .await
                .map(|used| used.map(|()| Method::Key { synced }))
        }
        Err(err) => refused(app, user, &stored, &err, ip).await,
    }
}

/// Saves the key's new counter; a counter that did not move forward (a
/// clone racing the original) refuses the use.
async fn record_use(
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

async fn refused(
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

async fn cloned(
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

/// Starts a sign-in with a passkey alone, for the browser `binding`.
pub async fn start_passkey_sign_in(
    app: &AppState,
    binding: &str,
) -> Result<Option<Ceremony>, store::Error> {
    let Some(rp) = relying_party(app) else {
        return Ok(None);
    };
    let (options, state) = rp
        .start_discoverable_authentication()
        .map_err(|e| corrupt("authentication", e))?;
    let options = serde_json::to_value(options).map_err(|e| corrupt("options", e))?;
    let state = serde_json::to_string(&state).map_err(|e| corrupt("state", e))?;
    Ok(Some(
        begin(
            app,
            PASSKEY_SIGN_IN,
            binding,
            None,
            state,
            Value::Null,
            rules::request_options(options),
        )
        .await?,
    ))
}

/// How a sign-in with a passkey alone ended.
pub enum PasskeySignIn {
    SignedIn { user: Box<User>, amr: Vec<String> },
    Refused(&'static str),
    Locked { until: i64 },
}

const UNKNOWN_PASSKEY: &str =
    "This passkey is not registered here. Sign in with your password, then add it on your security page.";

/// Checks the browser's answer to a passkey sign-in: the passkey names its
/// user, whose account must allow passkeys; failures count toward that
/// user's lock-out.
pub async fn finish_passkey_sign_in(
    app: &AppState,
    token: &str,
    binding: &str,
    response: &str,
    ip: Option<&str>,
) -> Result<PasskeySignIn, store::Error> {
    let now = app.clock.now();
    let Some(rp) = relying_party(app) else {
        return Ok(PasskeySignIn::Refused(EXPIRED));
    };
    let Some(taken) = app
        .store
        .take_webauthn_challenge(&secret::token_hash(token), PASSKEY_SIGN_IN, binding, now)
        .await?
    else {
        return Ok(PasskeySignIn::Refused(EXPIRED));
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(response) else {
        return Ok(PasskeySignIn::Refused(
            "The browser's answer could not be read. Try again.",
        ));
    };
    let Ok((handle, credential_id)) = rp.identify_discoverable_authentication(&answer) else {
        return unknown_passkey(app, ip).await;
    };
    let Some(stored) = app
        .store
        .webauthn_credential_by_credential_id(&encode_id(credential_id))
        .await?
        .filter(|c| c.kind == Kind::Passkey.as_str())
    else {
        return unknown_passkey(app, ip).await;
    };
    let Some(user) = app
        .store
        .user_by_id(&stored.user_id)
        .await?
        .filter(|u| !u.is_disabled && handle_of(app, &u.id) == handle)
    else {
        return unknown_passkey(app, ip).await;
    };
    let account = app.store.account_of(&user).await?;
    if !account.factors.iter().any(|f| f == "passkey") {
        return Ok(PasskeySignIn::Refused(
            "Your organisation does not allow signing in with a passkey alone. Sign in with your password.",
        ));
    }
    let state: DiscoverableAuthentication =
        serde_json::from_str(&taken.state).map_err(|e| corrupt("state", e))?;
    let mut passkey = Passkey::from(credential_of(&stored)?);
    let user_ref = &user;
    let stored_ref = &stored;
    let check = gated(app, &user, ip, |now| async move {
        let result = rp.finish_discoverable_authentication_v2(
            &answer,
            state,
            Credential::from(passkey.clone()),
        );
        match result {
            Ok(result) if result.user_verified() => {
                passkey.update_credential(&result);
                let credential = Credential::from(passkey);
                let synced = credential.backup_eligible;
                record_use(app, user_ref, stored_ref, credential, ip, now)
                    .await
                    .map(|used| used.map(|()| Method::Key { synced }))
            }
            Ok(_) => Ok(Err(Refusal::Wrong)),
            Err(err) => refused(app, user_ref, stored_ref, &err, ip).await,
        }
    })
    .await?;
    match check {
        Check::Accepted(Method::Key { synced }) => Ok(PasskeySignIn::SignedIn {
            user: Box::new(user),
            amr: rules::amr(synced, false),
        }),
        Check::Accepted(_) => Ok(PasskeySignIn::Refused(UNKNOWN_PASSKEY)),
        Check::Refused(Refusal::Cloned) => Ok(PasskeySignIn::Refused(refusal_message(
            &WebauthnError::CredentialPossibleCompromise,
        ))),
        Check::Refused(_) => Ok(PasskeySignIn::Refused(
            "The passkey's answer was not accepted. Try again.",
        )),
        Check::Locked { until } => Ok(PasskeySignIn::Locked { until }),
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

/// A passkey sign-in refused before its user is known: audited, and the page's message.
async fn unknown_passkey(app: &AppState, ip: Option<&str>) -> Result<PasskeySignIn, store::Error> {
    app.store
        .audit(NewAuditEvent {
            kind: "passkey_sign_in_refused",
            account_id: None,
            user_id: None,
            actor_id: None,
            ip,
            detail: serde_json::json!({ "reason": "unknown passkey" }),
            now: app.clock.now(),
        })
        .await?;
    Ok(PasskeySignIn::Refused(UNKNOWN_PASSKEY))
}
