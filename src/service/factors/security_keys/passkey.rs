//! Signing in with a passkey alone, where the account allows it: a
//! discoverable credential names its user, who must be able to sign in.

use serde_json::Value;
use webauthn_rs::prelude::{Credential, DiscoverableAuthentication, Passkey, PublicKeyCredential};

use super::{
    begin, corrupt, credential_of, encode_id, handle_of, record_use, refused, relying_party,
    Ceremony, KeyRefusal, PASSKEY_SIGN_IN,
};
use crate::app::AppState;
use crate::auth::factor_kind::FactorKind;
use crate::auth::secret;
use crate::auth::webauthn::{self as rules, Kind};
use crate::service::factors::check::{Check, Method, Refusal};
use crate::service::factors::throttle::gated;
use crate::store::{self, NewAuditEvent, User};

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
    Refused(KeyRefusal),
    Locked { until: i64 },
}

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
        return Ok(PasskeySignIn::Refused(KeyRefusal::Expired));
    };
    let Some(taken) = app
        .store
        .take_webauthn_challenge(&secret::token_hash(token), PASSKEY_SIGN_IN, binding, now)
        .await?
    else {
        return Ok(PasskeySignIn::Refused(KeyRefusal::Expired));
    };
    let Ok(answer) = serde_json::from_str::<PublicKeyCredential>(response) else {
        return Ok(PasskeySignIn::Refused(KeyRefusal::Unreadable));
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
    let account = app.store.tenant_of(&user).await?;
    if !account.allows(FactorKind::Passkey) {
        return Ok(PasskeySignIn::Refused(KeyRefusal::PasskeysNotAllowed));
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
        Check::Accepted(_) => Ok(PasskeySignIn::Refused(KeyRefusal::UnknownPasskey)),
        Check::Refused(Refusal::Cloned) => Ok(PasskeySignIn::Refused(KeyRefusal::Copied)),
        Check::Refused(_) => Ok(PasskeySignIn::Refused(KeyRefusal::NotAccepted)),
        Check::Locked { until } => Ok(PasskeySignIn::Locked { until }),
    }
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
    Ok(PasskeySignIn::Refused(KeyRefusal::UnknownPasskey))
}
