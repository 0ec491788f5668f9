//! The password check: argon2id against the stored hash (or the dummy hash
//! for an unknown user, which costs the same), throttled per user and per
//! client address; a right password with a stale hash (other parameters,
//! or made before passwords were normalised) is hashed again.

use super::throttle::{after_failure, open_gate, Gate, Limit};
use crate::app::AppState;
use crate::auth::password::{self, Verdict};
use crate::store::{self, NewAuditEvent, User};

/// The outcome of a password check.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    Correct,
    Wrong,
    /// Too many recent failures for this user or this address.
    Throttled {
        until: i64,
    },
}

fn password_keys(username: &str, ip: Option<&str>) -> (String, Option<String>) {
    (
        format!("pwd:user:{}", username.to_lowercase()),
        ip.map(|ip| format!("pwd:ip:{ip}")),
    )
}

/// Checks a password for `username` (who may not exist: the dummy hash makes
/// that take as long), throttled per user and per client IP.
pub async fn check_password(
    app: &AppState,
    username: &str,
    user: Option<&User>,
    password: String,
    ip: Option<&str>,
) -> Result<PasswordCheck, store::Error> {
    let now = app.clock.now();
    let config = &app.config;
    let window_secs = config.password_failure_window_secs;
    let by_user = Limit {
        limit: config.password_failure_limit,
        window_secs,
        lock_secs: window_secs,
    };
    let by_ip = Limit {
        limit: config.password_ip_failure_limit,
        window_secs,
        lock_secs: window_secs,
    };
    let (user_key, ip_key) = password_keys(username, ip);
    // The address first: a throttled address cannot run up a user's count.
    let mut gates: Vec<(String, Limit)> =
        ip_key.clone().map(|key| (key, by_ip)).into_iter().collect();
    gates.push((user_key.clone(), by_user));
    let mut attempts = Vec::new();
    for (key, limit) in &gates {
        match open_gate(&app.store, key, *limit, now).await? {
            Gate::Open(attempt) => attempts.push(attempt),
            Gate::Locked { until } => {
                // The attempts already counted for this one were never checked.
                for (counted, _) in gates.iter().take(attempts.len()) {
                    app.store.forgive_attempt(counted).await?;
                }
                return Ok(PasswordCheck::Throttled { until });
            }
        }
    }
    let matches = verify(app, user, password).await?;
    if matches && user.is_some_and(|u| !u.is_disabled) {
        app.store.clear_failures(&user_key).await?;
        if let Some(ip_key) = &ip_key {
            app.store.forgive_attempt(ip_key).await?;
        }
        return Ok(PasswordCheck::Correct);
    }
    let mut locked = false;
    for ((key, limit), attempt) in gates.iter().zip(attempts) {
        locked |= after_failure(&app.store, key, attempt, *limit, now)
            .await?
            .is_some();
    }
    app.store
        .audit(NewAuditEvent {
            kind: if locked {
                "password_throttled"
            } else {
                "password_failed"
            },
            account_id: user.map(|u| u.account_id.as_str()),
            user_id: user.map(|u| u.id.as_str()),
            actor_id: None,
            ip,
            detail: serde_json::json!({}),
            now,
        })
        .await?;
    Ok(PasswordCheck::Wrong)
}

/// Verifies `password` against the user's hash (the dummy hash for none),
/// off the async runtime; a right password with a stale hash is hashed
/// again at the configured cost while it is at hand.
async fn verify(
    app: &AppState,
    user: Option<&User>,
    password: String,
) -> Result<bool, store::Error> {
    let stored = user.map_or_else(|| app.dummy_hash.to_string(), |u| u.password_hash.clone());
    let cost = app.config.hash_cost();
    let (verdict, fresh) = app
        .hash_blocking(move || {
            let verdict = password::check(&password, &stored, Some(cost));
            let fresh = (verdict == Verdict::RightButStale)
                .then(|| password::hash(&password, cost).ok())
                .flatten();
            (verdict, fresh)
        })
        .await
        .map_err(|e| store::Error::Corrupt(format!("password check: {e}")))?;
    if let (Some(fresh), Some(user)) = (fresh, user) {
        let store = &app.store;
        if store
            .replace_password_hash(&user.id, &user.password_hash, &fresh)
            .await?
        {
            tracing::info!(user_id = %user.id, "password hash upgraded");
        }
    }
    Ok(verdict != Verdict::Wrong)
}
