//! Remembered devices: a browser that gave the second factor with "remember
//! this device" ticked signs in with the password alone for the account's
//! `remember_device_days`. The browser holds a random secret in its own
//! cookie; the store keeps only its hash, with the user. A device is
//! forgotten, for good, by any change to the user's factors or password, a
//! reset of their factors, signing out everywhere, or **Forget**; each is
//! audited.

use crate::app::AppState;
use crate::auth::{secret, user_agent};
use crate::service::audit::user_event;
use crate::store::{self, NewDevice, RememberedDevice, User};

/// The user's own events that forget every remembered device of theirs:
/// each change to their factors or password, and signing out everywhere.
pub const FORGOTTEN_BY: &[&str] = &[
    "totp_enrolled",
    "second_factor_disabled",
    "webauthn_registered",
    "webauthn_removed",
    "email_codes_on",
    "email_codes_off",
    "recovery_phone_added",
    "recovery_phone_changed",
    "recovery_phone_removed",
    "backup_codes_regenerated",
    "recovered_by_sms",
    "password_reset",
    "password_set",
    "password_changed",
    "signed_out_everywhere",
];

const DAY: i64 = 24 * 3600;

/// The new cookie's secret and lifetime in seconds, when `user`'s account
/// remembers devices; the device is stored and audited.
pub async fn remember(
    app: &AppState,
    user: &User,
    agent: Option<&str>,
    ip: Option<&str>,
) -> Result<Option<(String, i64)>, store::Error> {
    let days = app
        .store
        .tenant_of(user)
        .await?
        .settings
        .remember_device_days;
    if days <= 0 {
        return Ok(None);
    }
    let token = secret::random_token(32);
    let now = app.clock.now();
    let id = secret::random_id();
    let label = user_agent::short_name(agent);
    app.store
        .remember_device(NewDevice {
            id: &id,
            user_id: &user.id,
            secret_hash: &secret::token_hash(&token),
            label: &label,
            ip,
            now,
            expires_at: now + days * DAY,
        })
        .await?;
    let detail = serde_json::json!({ "device": id, "label": label, "days": days });
    user_event(app, "device_remembered", user, None, ip, detail).await?;
    Ok(Some((token, days * DAY)))
}

/// Whether the browser's device secret is a live remembered device of
/// `user` within `days`, the account's current period (a shorter period,
/// or 0, applies to devices remembered before); marks it used.
pub async fn recognise(
    app: &AppState,
    user: &User,
    days: i64,
    token: Option<&str>,
    ip: Option<&str>,
) -> Result<bool, store::Error> {
    let now = app.clock.now();
    match live_device(app, user, token).await? {
        Some(device) if device.created_at + days * DAY > now => {
            app.store.touch_device(&device.id, ip, now).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// The id of the device the browser's secret names, if it is `user`'s.
pub async fn this_device(
    app: &AppState,
    user: &User,
    token: Option<&str>,
) -> Result<Option<String>, store::Error> {
    Ok(live_device(app, user, token).await?.map(|d| d.id))
}

/// The live device of `user` the browser's secret names.
async fn live_device(
    app: &AppState,
    user: &User,
    token: Option<&str>,
) -> Result<Option<RememberedDevice>, store::Error> {
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 64) else {
        return Ok(None);
    };
    let hash = secret::token_hash(token);
    app.store
        .remembered_device(&hash, &user.id, app.clock.now())
        .await
}

/// The user's remembered devices.
pub async fn list(app: &AppState, user: &User) -> Result<Vec<RememberedDevice>, store::Error> {
    app.store
        .remembered_devices_of(&user.id, app.clock.now())
        .await
}

/// Forgets every device of `user` because of `reason` (audited when there
/// was one); `actor` is who did it, when not the user.
pub async fn forget_all(
    app: &AppState,
    user: &User,
    reason: &str,
    actor: Option<&str>,
    ip: Option<&str>,
) -> Result<u64, store::Error> {
    let forgotten = app.store.forget_devices_of(&user.id).await?;
    if forgotten > 0 {
        let detail = serde_json::json!({ "reason": reason, "devices": forgotten });
        user_event(app, "remembered_devices_forgotten", user, actor, ip, detail).await?;
    }
    Ok(forgotten)
}

/// Forgets device `id` of `user` (**Forget**); whether it was theirs.
pub async fn forget_one(
    app: &AppState,
    user: &User,
    id: &str,
    actor: Option<&str>,
    ip: Option<&str>,
) -> Result<bool, store::Error> {
    if id.is_empty() || id.len() > 64 || !app.store.forget_device(&user.id, id).await? {
        return Ok(false);
    }
    let detail = serde_json::json!({ "device": id });
    user_event(app, "remembered_device_forgotten", user, actor, ip, detail).await?;
    Ok(true)
}
