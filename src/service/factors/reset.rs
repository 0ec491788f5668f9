//! Taking factors away: the user turning the app off, the operator's and the
//! console's reset, and clearing a lock.

use super::audit::audit;
use super::throttle::lock_key;
use crate::app::AppState;
use crate::store::{self, NewAuditEvent, User};

/// Turns the user's authenticator app off (self-service, after the checks);
/// the backup codes go too unless a security key remains.
pub async fn disable(app: &AppState, user: &User, ip: Option<&str>) -> Result<(), store::Error> {
    app.store.remove_totp(&user.id).await?;
    audit(
        app,
        "second_factor_disabled",
        user,
        ip,
        serde_json::json!({ "method": "totp" }),
    )
    .await
}

/// The operator's and the console's reset: every factor removed, sessions
/// ended, tokens revoked, remembered devices forgotten, the lock cleared,
/// enrolment due at next sign-in.
pub async fn reset(
    app_store: &store::Store,
    user: &User,
    actor: Option<(&str, &str)>,
    ip: Option<&str>,
    now: i64,
) -> Result<(), store::Error> {
    app_store.remove_second_factors(&user.id).await?;
    app_store.set_must_enroll(&user.id, true).await?;
    let sessions = app_store.end_sessions_of_user(&user.id, None, now).await?;
    let grants = app_store.revoke_grants_of_user(&user.id, None, now).await?;
    let devices = app_store.forget_devices_of(&user.id).await?;
    app_store.clear_failures(&lock_key(&user.id)).await?;
    app_store
        .audit(NewAuditEvent {
            kind: "second_factor_reset",
            account_id: Some(&user.account_id),
            user_id: Some(&user.id),
            actor_id: actor.map(|(id, _)| id),
            ip,
            detail: serde_json::json!({
                "username": user.username,
                "by": actor.map_or("operator command", |(_, name)| name),
                "sessions_ended": sessions,
                "grants_revoked": grants,
                "devices_forgotten": devices,
            }),
            now,
        })
        .await
}

/// Lifts a lock of the second step (an administrator saw the member is who they say).
pub async fn unlock(app_store: &store::Store, user: &User) -> Result<(), store::Error> {
    app_store.clear_failures(&lock_key(&user.id)).await
}
