//! The device authorization grant (RFC 8628): a client registered for it
//! asks for a device code and a user code; the person types the user code
//! at `/device`, signs in as anywhere else (second factor included) and
//! answers **Allow** or **Deny**; the device polls the token endpoint until
//! then (`tokens::Issuer::device_code`). Allowing a third-party client also
//! records the consent, so that it is listed and can be revoked. Each answer
//! is audited.

use crate::app::AppState;
use crate::auth::secret;
use crate::oidc::device::{self, INTERVAL_SECS, LIFETIME_SECS};
use crate::oidc::endpoints;
use crate::oidc::scope;
use crate::service::audit::user_event;
use crate::service::consent;
use crate::store::{self, Client, DeviceSignIn, NewDeviceCode, PendingDevice, Session, User};

/// The device authorization response (§3.2).
#[derive(Debug, serde::Serialize)]
pub struct Started {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// Why no device authorization was started.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(&'static str),
    #[error("invalid_scope: {0}")]
    InvalidScope(&'static str),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// How many user codes are drawn before giving up: a clash is one in
/// billions while few codes are live.
const DRAWS: usize = 5;

/// Starts a device authorization for `client` with the `requested` scope
/// (`openid` by default, and required).
pub async fn start(
    app: &AppState,
    client: &Client,
    requested: Option<&str>,
) -> Result<Started, DeviceError> {
    if !client.device_grant {
        return Err(DeviceError::UnauthorizedClient(
            "this client is not registered for the device grant",
        ));
    }
    let requested = requested.unwrap_or("openid");
    if !scope::contains(requested, "openid") {
        return Err(DeviceError::InvalidScope("the openid scope is required"));
    }
    let scope = scope::normalize(requested);
    let device_code = secret::random_token(32);
    let code_hash = secret::token_hash(&device_code);
    let now = app.clock.now();
    let mut draws = 0;
    let user_code = loop {
        let user_code = device::new_user_code();
        let stored = app
            .store
            .create_device_code(NewDeviceCode {
                code_hash: &code_hash,
                user_code: &user_code,
                client_id: &client.client_id,
                scope: &scope,
                interval_secs: INTERVAL_SECS,
                now,
                expires_at: now + LIFETIME_SECS,
            })
            .await;
        match stored {
            Ok(()) => break user_code,
            Err(store::Error::Duplicate(_)) if draws + 1 < DRAWS => draws += 1,
            Err(err) => return Err(err.into()),
        }
    };
    let verification_uri = format!("{}{}", app.config.issuer(), endpoints::DEVICE);
    let complete: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("user_code", &user_code)
        .finish();
    Ok(Started {
        device_code,
        verification_uri_complete: format!("{verification_uri}?{complete}"),
        verification_uri,
        user_code,
        expires_in: LIFETIME_SECS,
        interval: INTERVAL_SECS,
    })
}

/// Wrong user codes a client address may type in [`GUESS_WINDOW_SECS`]
/// (RFC 8628 §5.1: codes are short, so guessing is limited).
pub const GUESS_LIMIT: i64 = 20;
pub const GUESS_WINDOW_SECS: i64 = 900;

/// What a typed user code finds.
pub enum Lookup {
    Waiting(PendingDevice),
    /// No waiting authorization has that code (wrong, answered or expired).
    NotFound,
    /// Too many wrong codes from this address lately.
    Throttled,
}

/// Who is counted for a guess: the address, or for IPv6 its /64, which one
/// host usually holds whole.
fn guesser(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => ip.to_string(),
    }
}

/// The waiting device authorization a typed user code names, typed from
/// `ip`: each try counts against the address, a right one is forgiven.
pub async fn pending(app: &AppState, typed: &str, ip: &str) -> Result<Lookup, store::Error> {
    let now = app.clock.now();
    let key = format!("device:ip:{}", guesser(ip));
    let (attempts, _) = app
        .store
        .count_attempt(&key, now, GUESS_WINDOW_SECS)
        .await?;
    if attempts > GUESS_LIMIT {
        return Ok(Lookup::Throttled);
    }
    let found = match device::read_user_code(typed) {
        Some(user_code) => app.store.pending_device(&user_code, now).await?,
        None => None,
    };
    Ok(match found {
        Some(waiting) => {
            app.store.forgive_attempt(&key).await?;
            Lookup::Waiting(waiting)
        }
        None => Lookup::NotFound,
    })
}

/// The person's answer for the device showing `device.user_code`, signed
/// in with `session`: **Allow** hands the device this sign-in. `false`
/// when the authorization no longer waits (answered, or expired).
pub async fn answer(
    app: &AppState,
    device: &PendingDevice,
    session: &Session,
    user: &User,
    allow: bool,
    ip: Option<&str>,
) -> Result<bool, store::Error> {
    let now = app.clock.now();
    let sign_in = allow.then(|| DeviceSignIn {
        user_id: &user.id,
        sid: &session.sid,
        auth_time: session.auth_time,
        acr: session.acr.as_str(),
        amr: &session.amr,
    });
    // The consent first: without it a third-party client's tokens are
    // refused, so a failure between the two writes gives nothing away.
    if allow {
        let client = app.store.client(&device.client_id).await?;
        if client.is_some_and(|c| c.consent) {
            consent::allow(app, user, &device.client_id, &device.scope, ip).await?;
        }
    }
    if !app
        .store
        .answer_device(&device.user_code, sign_in, now)
        .await?
    {
        return Ok(false);
    }
    let detail = serde_json::json!({ "client_id": device.client_id, "scope": device.scope });
    if allow {
        user_event(app, "device_allowed", user, None, ip, detail).await?;
    } else {
        user_event(app, "device_denied", user, None, ip, detail).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::guesser;

    #[test]
    fn guesses_count_per_address_or_ipv6_prefix() {
        assert_eq!(guesser("192.0.2.7"), "192.0.2.7");
        assert_eq!(guesser("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            guesser("2001:db8:1:2:bbbb::9"),
            guesser("2001:db8:1:2:aaaa::1")
        );
        assert_ne!(guesser("2001:db8:1:3::1"), guesser("2001:db8:1:2::1"));
        assert_eq!(guesser("::ffff:192.0.2.7"), "::ffff:192.0.2.7");
    }
}
