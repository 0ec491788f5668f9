//! Failed attempts counted per key in the database, with a lock at the
//! limit that doubles at each further lock: the password throttle's keys and
//! limits, and the second step's lock-out around any attempt (`gated`).

use super::audit::audit;
use super::check::{Check, Method, Refusal};
use crate::app::AppState;
use crate::auth::policy;
use crate::store::{self, User};

/// A limit on failed attempts for one key: `limit` per `window_secs`, then
/// locked for `lock_secs`.
#[derive(Clone, Copy)]
pub(super) struct Limit {
    pub(super) limit: i64,
    pub(super) window_secs: i64,
    pub(super) lock_secs: i64,
}

/// Where an attempt stands before it is checked.
pub(super) enum Gate {
    /// The attempt may go ahead; it is the `n`-th in the window.
    Open(i64),
    Locked {
        until: i64,
    },
}

/// Counts the attempt first, so that concurrent attempts cannot all pass
/// under the limit: at most `limit` are ever checked per lock period.
pub(super) async fn open_gate(
    app: &AppState,
    key: &str,
    limit: Limit,
    now: i64,
) -> Result<Gate, store::Error> {
    if let Some(until) = app.store.locked_until(key, now).await? {
        return Ok(Gate::Locked { until });
    }
    let (attempt, locked_until) = app.store.count_attempt(key, now, limit.window_secs).await?;
    if let Some(until) = locked_until.filter(|until| *until > now) {
        return Ok(Gate::Locked { until });
    }
    if attempt > limit.limit {
        let until = now + limit.lock_secs;
        app.store.lock(key, until).await?;
        return Ok(Gate::Locked { until });
    }
    Ok(Gate::Open(attempt))
}

/// After a failed attempt: locks the key when it was the last one allowed.
pub(super) async fn after_failure(
    app: &AppState,
    key: &str,
    attempt: i64,
    limit: Limit,
    now: i64,
) -> Result<Option<i64>, store::Error> {
    if attempt < limit.limit {
        return Ok(None);
    }
    // The checked attempt that reached the limit: each lock since the last
    // success lasts twice as long as the one before.
    let until = app.store.lock_escalating(key, now, limit.lock_secs).await?;
    Ok(Some(until))
}

pub(crate) fn lock_key(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// Consecutive failures are counted over this window (a success clears them).
const FAILURE_WINDOW_SECS: i64 = 24 * 3600;

/// Runs one second-factor attempt (`attempt`, given the time) behind the
/// lock-out: counted first, cleared on success, locking at the limit.
pub async fn gated<F, Fut>(
    app: &AppState,
    user: &User,
    ip: Option<&str>,
    attempt_with: F,
) -> Result<Check, store::Error>
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = Result<Result<Method, Refusal>, store::Error>>,
{
    let now = app.clock.now();
    let key = lock_key(&user.id);
    let account = app.store.account_of(user).await?;
    let policy = policy::lock_policy(&app.config, &account.settings);
    let limit = Limit {
        limit: policy.failure_limit,
        window_secs: FAILURE_WINDOW_SECS,
        lock_secs: policy.lockout_secs,
    };
    let attempt = match open_gate(app, &key, limit, now).await? {
        Gate::Open(attempt) => attempt,
        Gate::Locked { until } => {
            audit(
                app,
                "second_factor_refused_locked",
                user,
                ip,
                serde_json::json!({}),
            )
            .await?;
            return Ok(Check::Locked { until });
        }
    };
    let reason = match attempt_with(now).await? {
        Ok(method) => {
            app.store.clear_failures(&key).await?;
            audit(
                app,
                "second_factor_ok",
                user,
                ip,
                serde_json::json!({ "method": method.name() }),
            )
            .await?;
            return Ok(Check::Accepted(method));
        }
        Err(reason) => reason,
    };
    audit(
        app,
        "second_factor_failed",
        user,
        ip,
        serde_json::json!({ "reason": reason.reason() }),
    )
    .await?;
    if let Some(until) = after_failure(app, &key, attempt, limit, now).await? {
        audit(
            app,
            "second_factor_locked",
            user,
            ip,
            serde_json::json!({ "until": until }),
        )
        .await?;
        tracing::warn!(user_id = %user.id, "second factor locked after repeated failures");
        return Ok(Check::Locked { until });
    }
    Ok(Check::Refused(reason))
}
