//! Failed attempts counted per key in the database, with a lock at the
//! limit that doubles at each further lock: the password throttle's keys and
//! limits, and the second step's lock-out around any attempt (`gated`).

use super::audit::audit;
use super::check::{Check, Method, Refusal};
use crate::app::AppState;
use crate::auth::policy;
use crate::store::{self, Store, User};

/// A limit on failed attempts for one key: `limit` per `window_secs`, then
/// locked for `lock_secs`.
#[derive(Clone, Copy)]
pub(crate) struct Limit {
    pub(crate) limit: i64,
    pub(crate) window_secs: i64,
    pub(crate) lock_secs: i64,
}

/// Where an attempt stands before it is checked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// The attempt may go ahead; it is the `n`-th in the window.
    Open(i64),
    Locked {
        until: i64,
    },
}

/// Counts the attempt first, so that concurrent attempts cannot all pass
/// under the limit: at most `limit` are ever checked per lock period.
pub(crate) async fn open_gate(
    store: &Store,
    key: &str,
    limit: Limit,
    now: i64,
) -> Result<Gate, store::Error> {
    if let Some(until) = store.locked_until(key, now).await? {
        return Ok(Gate::Locked { until });
    }
    let (attempt, locked_until) = store.count_attempt(key, now, limit.window_secs).await?;
    if let Some(until) = locked_until.filter(|until| *until > now) {
        return Ok(Gate::Locked { until });
    }
    if attempt > limit.limit {
        let until = now + limit.lock_secs;
        store.lock(key, until).await?;
        return Ok(Gate::Locked { until });
    }
    Ok(Gate::Open(attempt))
}

/// After a failed attempt: locks the key when it was the last one allowed.
pub(super) async fn after_failure(
    store: &Store,
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
    let until = store.lock_escalating(key, now, limit.lock_secs).await?;
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
    let account = app.store.tenant_of(user).await?;
    let policy = policy::lock_policy(&app.config, &account.settings);
    let limit = Limit {
        limit: policy.failure_limit,
        window_secs: FAILURE_WINDOW_SECS,
        lock_secs: policy.lockout_secs,
    };
    let attempt = match open_gate(&app.store, &key, limit, now).await? {
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
    if let Some(until) = after_failure(&app.store, &key, attempt, limit, now).await? {
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

#[cfg(test)]
mod tests {
    //! The lock-out rules against a real SQLite store, with "now" given.
    use super::*;

    const LIMIT: Limit = Limit {
        limit: 3,
        window_secs: 600,
        lock_secs: 100,
    };

    async fn store(dir: &tempfile::TempDir) -> Store {
        let url = format!("sqlite://{}", dir.path().join("throttle.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// `n` failed attempts at `now`, as a check does them; the last lock.
    async fn fail(store: &Store, n: i64, now: i64) -> Option<i64> {
        let mut locked = None;
        for _ in 0..n {
            match open_gate(store, "k", LIMIT, now).await.unwrap() {
                Gate::Open(attempt) => {
                    locked = after_failure(store, "k", attempt, LIMIT, now)
                        .await
                        .unwrap();
                }
                Gate::Locked { until } => locked = Some(until),
            }
        }
        locked
    }

    #[tokio::test]
    async fn the_limit_locks_and_each_later_lock_lasts_twice_as_long() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        assert_eq!(fail(&store, 2, 1_000).await, None);
        assert_eq!(fail(&store, 1, 1_000).await, Some(1_100));
        // Locked: no attempt is checked, whatever it is.
        let gate = open_gate(&store, "k", LIMIT, 1_099).await.unwrap();
        assert_eq!(gate, Gate::Locked { until: 1_100 });
        // The lock over, a new window starts; its lock is twice as long.
        assert_eq!(
            open_gate(&store, "k", LIMIT, 1_100).await.unwrap(),
            Gate::Open(1)
        );
        assert_eq!(fail(&store, 2, 1_100).await, Some(1_300));
        // A success clears the count and the escalation.
        store.clear_failures("k").await.unwrap();
        assert_eq!(fail(&store, 3, 2_000).await, Some(2_100));
    }

    #[tokio::test]
    async fn failures_older_than_the_window_no_longer_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        assert_eq!(fail(&store, 2, 1_000).await, None);
        // A window later, the count starts again: two more do not lock.
        assert_eq!(fail(&store, 2, 1_000 + LIMIT.window_secs).await, None);
        assert_eq!(
            fail(&store, 1, 1_000 + LIMIT.window_secs).await,
            Some(1_700)
        );
    }

    #[tokio::test]
    async fn attempts_over_the_limit_are_refused_before_they_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        // Four attempts opened at once (concurrent requests): the fourth is
        // refused though none has failed yet.
        for n in 1..=3 {
            assert_eq!(
                open_gate(&store, "k", LIMIT, 5).await.unwrap(),
                Gate::Open(n)
            );
        }
        assert_eq!(
            open_gate(&store, "k", LIMIT, 5).await.unwrap(),
            Gate::Locked { until: 105 }
        );
    }
}
