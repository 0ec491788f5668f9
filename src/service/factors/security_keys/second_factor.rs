//! A security key at the second step: the challenge for the user's keys, and
//! the answer behind the lock-out, with the signature counter checked.

use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, PublicKeyCredential, SecurityKey, SecurityKeyAuthentication,
};

use super::{
    begin, corrupt, credential_of, encode_id, record_use, refused, relying_party, Ceremony,
    SECOND_FACTOR,
};
use crate::app::AppState;
use crate::auth::secret;
use crate::auth::webauthn::{self as rules};
use crate::service::factors::check::{Check, Method, Refusal};
use crate::service::factors::throttle::gated;
use crate::store::{self, User};

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
